"""The local worker-process executor (app.automation.process_executor): same results as the
in-process executor, every worker used, load failures raised in the parent, a dying worker costs
only its image, cancel and every end stop the workers, and the default choice of workers."""
from __future__ import annotations

import multiprocessing
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app.automation.batch import LocalExecutor, ModelSpec, iter_jobs, plan_batch, run_batch
from app.automation.process_executor import AUTO_MIN_IMAGES, ProcessExecutor, WorkerError, auto_workers
from app.core.project import Project
from tests.automation.conftest import SMALL_SAM
from tests.automation.test_batch import SPEC, _auto, _project
from tests.automation.test_boxes import BoxPredictor

CRASH_VALUE = 60  # _project fills image i with 30 * i: image 2 kills its worker


def _small_sam(_spec: ModelSpec) -> object:
    import torch

    from sam_backend import SamPredictor, build_model

    torch.manual_seed(3)
    return SamPredictor(build_model("sam_vit_b", SMALL_SAM), "sam_vit_b", "cpu")


class _PidPredictor(BoxPredictor):
    """BoxPredictor that names its process in the proposals' scores (score = pid)."""

    def __init__(self) -> None:
        super().__init__(scores=(float(os.getpid()),) * 3)


class _CrashPredictor(BoxPredictor):
    def encode(self, image, should_abort=None):
        if int(image[0, 0, 0]) == CRASH_VALUE:
            os._exit(3)  # as the kernel's OOM killer would end it: no goodbye
        return super().encode(image, should_abort)


class _SlowPredictor(BoxPredictor):
    def encode(self, image, should_abort=None):
        time.sleep(0.4)
        return super().encode(image, should_abort)


def _pid_predictor(_spec: ModelSpec) -> object:
    return _PidPredictor()


def _crash_predictor(_spec: ModelSpec) -> object:
    return _CrashPredictor()


def _slow_predictor(_spec: ModelSpec) -> object:
    return _SlowPredictor()


def _no_model(spec: ModelSpec) -> object:
    raise ValueError(f"model {spec.model!r} does not exist here")


def _no_children_left() -> bool:
    deadline = time.monotonic() + 10
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not multiprocessing.active_children()


def test_worker_processes_store_what_this_process_stores(tmp_path: Path) -> None:
    """Bit for bit, given the same torch threads (1 here, as in each worker: float sums depend on
    how the work is split, and random weights answer with noise whose pixels sit near 0)."""
    import torch

    spec = ModelSpec("sam_vit_b", None, "cpu")
    inline = _project(tmp_path / "a", n=4)
    parallel = _project(tmp_path / "b", n=4)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        try:
            one = run_batch(inline, plan_batch(inline, "boxes", {}, spec), LocalExecutor(predictor=_small_sam(spec)),
                            spec)
        finally:
            torch.set_num_threads(threads)
        two = run_batch(parallel, plan_batch(parallel, "boxes", {}, spec), ProcessExecutor(workers=2, loader=_small_sam),
                        spec)
        assert one.labelled == two.labelled == 4 and one.annotations == two.annotations == 8
        a, b = _auto(inline), _auto(parallel)
        assert a.keys() == b.keys()
        for path in a:
            assert [(x.rle, x.label_id, x.score, x.parts) for x in a[path]] == \
                   [(y.rle, y.label_id, y.score, y.parts) for y in b[path]]
            assert all(x.rle is not None for x in a[path])
    finally:
        inline.close()
        parallel.close()
    assert _no_children_left()


def test_every_worker_labels_images_and_results_come_once_each(tmp_path: Path) -> None:
    project = _project(tmp_path, n=8)
    try:
        plan = plan_batch(project, "boxes", {}, SPEC)
        results = list(ProcessExecutor(workers=2, loader=_pid_predictor).run(
            iter_jobs(project, plan.todo), mode="boxes", params={}, model=SPEC))
    finally:
        project.close()
    assert sorted(r.image_id for r in results) == sorted(r.id for r in plan.todo)
    pids = {int(p.score) for r in results for p in r.proposals or []}
    assert len(pids) == 2 and os.getpid() not in pids
    assert _no_children_left()


def test_a_model_that_cannot_load_raises_its_error_in_the_caller(tmp_path: Path) -> None:
    project = _project(tmp_path, n=3)
    try:
        plan = plan_batch(project, "boxes", {}, SPEC)
        with pytest.raises(ValueError, match="model 'synthetic' does not exist here"):
            run_batch(project, plan, ProcessExecutor(workers=2, loader=_no_model), SPEC)
        assert _auto(project) == {r.path: [] for r in project.images()}
    finally:
        project.close()
    assert _no_children_left()


def test_a_dying_worker_costs_its_image_only(tmp_path: Path) -> None:
    project = _project(tmp_path, n=6)
    try:
        plan = plan_batch(project, "boxes", {}, SPEC)
        summary = run_batch(project, plan, ProcessExecutor(workers=2, loader=_crash_predictor), SPEC)
        crashed = [r.path for r in project.images() if r.path.endswith("s2.png") or r.path == "img2.png"]
        assert summary.labelled == 5 and len(summary.failures) == 1
        assert "worker process labelling this image stopped (exit code 3" in summary.failures[0]
        stored = _auto(project)
        assert all(len(anns) == 2 for path, anns in stored.items() if path not in crashed)
        assert all(stored[path] == [] for path in crashed)
    finally:
        project.close()
    assert _no_children_left()


def test_when_every_worker_dies_the_run_stops_with_one_sentence(tmp_path: Path) -> None:
    project = _project(tmp_path, n=6)
    try:
        jobs = [j for j in iter_jobs(project, plan_batch(project, "boxes", {}, SPEC).todo)]
        crash = next(j for j in jobs if j.path.endswith(("img2.png", "s2.png")))
        got = []
        with pytest.raises(WorkerError, match="the worker processes stopped"):
            for r in ProcessExecutor(workers=1, loader=_crash_predictor).run(
                    [crash] + [j for j in jobs if j is not crash], mode="boxes", params={}, model=SPEC):
                got.append(r)
        assert [r.image_id for r in got] == [crash.image_id] and got[0].error
    finally:
        project.close()
    assert _no_children_left()


def test_cancel_stops_the_run_and_its_workers(tmp_path: Path) -> None:
    project = _project(tmp_path, n=8)
    cancel = threading.Event()
    try:
        plan = plan_batch(project, "boxes", {}, SPEC)
        seen = []

        def progress(p) -> None:
            seen.append(p)
            if p.labelled >= 2:
                cancel.set()

        t = time.monotonic()
        summary = run_batch(project, plan, ProcessExecutor(workers=2, loader=_slow_predictor), SPEC, cancel=cancel,
                            on_progress=progress)
        assert summary.cancelled and 2 <= summary.labelled < 8
        assert time.monotonic() - t < 30
    finally:
        project.close()
    assert _no_children_left()


def test_kept_workers_serve_the_next_run_and_close_stops_them(tmp_path: Path) -> None:
    project = _project(tmp_path, n=4)
    try:
        plan = plan_batch(project, "boxes", {}, SPEC)
        with ProcessExecutor(workers=2, loader=_pid_predictor, keep=True) as ex:
            first = list(ex.run(iter_jobs(project, plan.todo), mode="boxes", params={}, model=SPEC))
            kept = {p.pid for p in multiprocessing.active_children()}
            second = list(ex.run(iter_jobs(project, plan.todo), mode="boxes", params={}, model=SPEC))
            assert {p.pid for p in multiprocessing.active_children()} == kept and len(kept) == 2
            pids = {int(p.score) for r in first + second for p in r.proposals or []}
            assert pids == kept
    finally:
        project.close()
    assert _no_children_left()


@pytest.mark.parametrize("case, expected", [
    (dict(mode="boxes", images=AUTO_MIN_IMAGES, cores=2), 2),
    (dict(mode="everything", images=1000, cores=16), 2),
    (dict(mode="boxes", images=AUTO_MIN_IMAGES - 1, cores=2), 1),   # start-up would cost more than it saves
    (dict(mode="text", images=1000, cores=2), 1),                   # a detector per worker
    (dict(mode="boxes", images=1000, cores=1), 1),
    (dict(mode="boxes", images=1000, cores=2, memory=200 * 2**20), 1),  # two 40 MB models x 4 do not fit
])
def test_the_default_number_of_workers(case: dict, expected: int) -> None:
    case.setdefault("memory", 8 * 2**30)
    assert auto_workers(ModelSpec("mobile_sam", None, "cpu"), **case) == expected


def test_no_worker_processes_off_the_cpu_or_for_an_unknown_model_size(tmp_path: Path) -> None:
    assert auto_workers(ModelSpec("mobile_sam", None, "cuda"), "boxes", 1000, cores=8, memory=2**40) == 1
    missing = ModelSpec("mobile_sam", str(tmp_path / "gone.pt"), "cpu")
    assert auto_workers(missing, "boxes", 1000, cores=8, memory=2**40) == 1
    ckpt = tmp_path / "w.pt"
    ckpt.write_bytes(np.zeros(1000, np.uint8).tobytes())
    assert auto_workers(ModelSpec("mobile_sam", str(ckpt), "cpu"), "boxes", 1000, cores=8, memory=2**40) == 2


def test_jobs_queued_behind_a_dying_worker_are_labelled_after_the_source_ran_out(tmp_path: Path) -> None:
    """Three jobs, two workers: the first takes two (the one that kills it, and one waiting in its
    pipe), the second takes the last and finds the source empty. The waiting job goes to the
    survivor even so (it was lost before: 1 run in ~6 of the test above)."""
    project = _project(tmp_path, n=4)
    try:
        jobs = [j for j in iter_jobs(project, plan_batch(project, "boxes", {}, SPEC).todo)]
        crash = next(j for j in jobs if j.path.endswith(("img2.png", "s2.png")))
        others = [j for j in jobs if j is not crash][:2]
        got = list(ProcessExecutor(workers=2, loader=_crash_predictor).run(
            [crash, *others], mode="boxes", params={}, model=SPEC))
    finally:
        project.close()
    by_id = {r.image_id: r for r in got}
    assert len(got) == 3 and set(by_id) == {crash.image_id, *(j.image_id for j in others)}
    assert by_id[crash.image_id].error and all(by_id[j.image_id].proposals for j in others)
    assert _no_children_left()
