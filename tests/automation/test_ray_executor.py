"""RayExecutor on a real Ray cluster on 127.0.0.1 (a head and two one-CPU worker nodes started for
this module): the same results as the local executor (modes boxes and everything, golden random
mobile_sam weights), images read from the URI their root maps to, every image stored once through
the batch driver, also when a worker process is killed in the middle of the run."""
from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.automation.batch import (BatchJob, BatchResult, LocalExecutor, ModelSpec, iter_jobs, plan_batch,
                                  run_batch)
from app.automation.ray_executor import RayExecutor, cluster_uri, read_key, worker_device
from app.cli.cluster_args import parse_roots
from app.core.model import Annotation
from app.core.project import Project
from app.core.shapes import rectangle_parts
from tests.automation.ray_cluster import LocalCluster
from tests.conftest import SAM_REFERENCE

pytestmark = pytest.mark.timeout(240)  # a stuck cluster fails the test instead of hanging the run
EVERYTHING = {"points_per_side": 4, "pred_iou_thresh": 0.0, "stability_score_thresh": 0.0}


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    import ray

    c = LocalCluster(workers=2)
    try:
        ray.init(address=c.address, logging_level=logging.ERROR, log_to_driver=False)
        yield c
    finally:
        ray.shutdown()
        c.stop()


@pytest.fixture(scope="module")
def spec() -> ModelSpec:
    weights = SAM_REFERENCE / "golden_mobile_sam_weights_fp16.pt"
    assert weights.is_file(), f"{weights} is missing (../shared beside the checkout)"
    return ModelSpec("mobile_sam", str(weights), "cpu")


def _make_project(folder: Path, n: int) -> Project:
    """n small images with two boxes each (a detection dataset to turn into masks)."""
    folder.mkdir(parents=True)
    project = Project.create(folder / "p.samlabel")
    car, person = project.add_label_class("car"), project.add_label_class("person")
    rng = np.random.default_rng(7)
    for i in range(n):
        arr = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
        arr[8:30, 6 + i:30 + i] = (240, 220, 30)
        Image.fromarray(arr).save(folder / f"im{i}.png")
        rec = project.add_image(f"im{i}.png", 64, 48)
        for k, (lab, box) in enumerate(((car, ((6 + i, 8), (30 + i, 30))), (person, ((34, 20), (60, 44 - i))))):
            project.add_annotation(Annotation(rec.id, lab.id, rectangle_parts(*box), None, shape="rectangle",
                                              points=box, source="import", z=k))
    return project


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Project, list[BatchJob]]]:
    project = _make_project(tmp_path_factory.mktemp("ray") / "data", 3)
    jobs = list(iter_jobs(project, project.images()))
    yield project, jobs
    project.close()


def _by_id(results: Iterator[BatchResult]) -> dict[int, BatchResult]:
    out: dict[int, BatchResult] = {}
    for r in results:
        assert r.image_id not in out, f"image {r.image_id} delivered twice"
        out[r.image_id] = r
    return out


@pytest.mark.parametrize("mode,params", [("boxes", {}), ("everything", EVERYTHING)])
def test_same_results_as_the_local_executor(cluster: LocalCluster, spec: ModelSpec, dataset, mode: str,
                                            params: dict) -> None:
    import torch

    _, jobs = dataset
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as many threads as each one-CPU actor has: the same float sums, bit for bit
    try:
        local = _by_id(LocalExecutor().run(jobs, mode=mode, params=params, model=spec))
    finally:
        torch.set_num_threads(threads)
    ray_exec = RayExecutor(cluster.address, workers=2)
    remote = _by_id(ray_exec.run(jobs, mode=mode, params=params, model=spec))
    assert set(remote) == {j.image_id for j in jobs}
    assert ray_exec.resubmitted == 0
    for image_id, want in local.items():
        got = remote[image_id]
        assert got.error is None and want.error is None
        assert (got.width, got.height) == (want.width, want.height) == (64, 48)
        assert got.proposals and want.proposals, "no proposals: the comparison would prove nothing"
        assert [p.rle for p in got.proposals] == [p.rle for p in want.proposals]  # the masks
        assert [p.score for p in got.proposals] == [p.score for p in want.proposals]
        assert got.proposals == want.proposals  # labels and extras too
    if mode == "boxes":  # masks keeping the boxes' labels
        assert {p.label for r in remote.values() for p in r.proposals or []} == {"car", "person"}


def test_cli_runs_on_the_cluster_reading_the_uri_of_each_root(cluster: LocalCluster, spec: ModelSpec,
                                                               tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from app.cli import main

    with _make_project(tmp_path / "data", 2) as project:
        paths = {r.id: str(project.image_path(r)) for r in project.images()}
    mirror = tmp_path / "mirror"
    shutil.copytree(tmp_path / "data", mirror)
    (mirror / "im1.png").write_bytes(b"not a png at all")  # the cluster's copy differs: proves where it reads
    assert spec.checkpoint is not None
    rc = main(["autolabel", str(tmp_path / "data" / "p.samlabel"), "--mode", "boxes", "--checkpoint", spec.checkpoint,
               "--executor", "ray", "--address", cluster.address, "--workers", "2",
               "--image-root", f"{tmp_path / 'data'}=file://{mirror}"])
    out, err = capsys.readouterr()
    assert rc == 1, err
    assert "labelled 1 of 2 images" in out and "on Ray (2 workers, CPU)" in out
    failed = [ln for ln in err.splitlines() if "skipped" in ln]
    assert len(failed) == 1 and paths[2] in failed[0] and str(mirror) not in failed[0]  # named by the project's path
    with Project.open(tmp_path / "data" / "p.samlabel", read_only=True) as project:
        done = {r.path for r in project.images() if "boxes" in r.extra.get("autolabel", {})}
        assert done == {"im0.png"}
        assert any(a.source == "auto" for a in project.annotations(1))


def test_every_image_stored_once_when_a_worker_is_killed(cluster: LocalCluster, spec: ModelSpec,
                                                         tmp_path: Path) -> None:
    n = 5
    with _make_project(tmp_path / "local", n) as ref:
        plan = plan_batch(ref, "boxes", {}, spec)
        assert run_batch(ref, plan, LocalExecutor(), spec).labelled == n
        want = {r.path: sorted((a.label_id, (a.rle or {})["counts"]) for a in ref.annotations(r.id) if a.source == "auto")
                for r in ref.images()}
    killed: list[int] = []

    def kill_one_worker(progress) -> None:
        if progress.done == 1 and not killed:  # the first image is stored: the others are in flight
            pids = cluster.worker_pids("ray::MapWorker")
            assert pids, "no actor process found to kill"
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    with _make_project(tmp_path / "ray", n) as project:
        plan = plan_batch(project, "boxes", {}, spec)
        summary = run_batch(project, plan, RayExecutor(cluster.address, workers=2), spec,
                            on_progress=kill_one_worker)
        assert killed
        assert summary.labelled == n and not summary.failures
        for rec in project.images():
            auto = [a for a in project.annotations(rec.id) if a.source == "auto"]
            assert sorted((a.label_id, (a.rle or {})["counts"]) for a in auto) == want[rec.path]  # once, not twice
            assert rec.extra["autolabel"]["boxes"]["annotations"] == len(want[rec.path])
        assert plan_batch(project, "boxes", {}, spec).todo == []  # a re-run has nothing left


def test_cancel_stops_the_stream(cluster: LocalCluster, spec: ModelSpec, dataset) -> None:
    _, jobs = dataset
    cancel = threading.Event()
    got = []
    for r in RayExecutor(cluster.address, workers=2).run(jobs, mode="boxes", params={}, model=spec, cancel=cancel):
        got.append(r)
        cancel.set()
    assert len(got) == 1


def test_cluster_uri_maps_the_longest_root() -> None:
    roots = {"/data": "s3://bucket/all", "/data/cam1": "gs://cams/one"}
    assert cluster_uri("/data/cam1/a/b.jpg", roots) == "gs://cams/one/a/b.jpg"
    assert cluster_uri("/data/cam2/x.jpg", roots) == "s3://bucket/all/cam2/x.jpg"
    assert cluster_uri("/database/x.jpg", roots) == "/database/x.jpg"  # a prefix of the name is no root
    assert cluster_uri("/elsewhere/x.jpg", roots) == "/elsewhere/x.jpg"  # a shared path by default
    assert read_key("file:///srv/x.png") == "/srv/x.png"
    assert read_key("s3://bucket/k/x.png") == "bucket/k/x.png"


def test_worker_device_follows_the_actors_gpus() -> None:
    assert worker_device(ModelSpec("mobile_sam", None, "auto"), [0]) == "cuda"
    assert worker_device(ModelSpec("mobile_sam", None, "cpu"), ["1"]) == "cuda"
    assert worker_device(ModelSpec("mobile_sam", None, "auto"), []) == "cpu"
    assert worker_device(ModelSpec("mobile_sam", None, "cuda:1"), []) == "cpu"
    assert worker_device(ModelSpec("mobile_sam", None, "mps"), []) == "mps"


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RayExecutor(workers=0)
    with pytest.raises(ValueError, match="LOCAL=URI"):
        parse_roots(["/data"])
    assert parse_roots(["/data = s3://b/imgs"]) == {"/data": "s3://b/imgs"}


def test_without_ray_the_option_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    from app.cli import main

    with _make_project(tmp_path / "data", 1):
        pass
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError, as when not installed
    rc = main(["autolabel", str(tmp_path / "data" / "p.samlabel"), "--mode", "boxes", "--executor", "ray"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and err == ['sam-labeler: error: the ray executor needs Ray: pip install "sam-labeler[cluster]"']


def test_local_executor_refuses_cluster_flags(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from app.cli import main

    with _make_project(tmp_path / "data", 1):
        pass
    rc = main(["autolabel", str(tmp_path / "data" / "p.samlabel"), "--mode", "boxes", "--address", "auto"])
    assert rc != 0 and "--address needs --executor ray" in capsys.readouterr().err
