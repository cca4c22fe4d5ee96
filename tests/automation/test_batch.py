"""The batch driver (app.automation.batch): image selection, done marks, resume and redo, min score,
storing per image, failures, progress/ETA, cancel, the executor seam and LocalExecutor's prefetch.
A synthetic box predictor with known answers; a real project on disk."""
from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.automation import batch
from app.automation.batch import (BatchJob, BatchResult, LocalExecutor, ModelSpec, compute, plan_batch, run_batch,
                                  select_images)
from app.automation.boxes import BOXES_AUTOMATION
from app.automation.context import LocalContext
from app.core.model import Annotation
from app.core.project import Project
from app.core.rle import rle_to_mask
from app.core.shapes import rectangle_parts
from tests.automation.test_boxes import BoxPredictor

SPEC = ModelSpec("synthetic", None, "cpu")


def _project(tmp_path: Path, n: int = 4, sub: bool = True) -> Project:
    folder = tmp_path / "data"
    (folder / "sub").mkdir(parents=True)
    project = Project.create(folder / "data.samlabel")
    car = project.add_label_class("car")
    person = project.add_label_class("person")
    for i in range(n):
        rel = f"sub/s{i}.png" if sub and i % 2 else f"img{i}.png"
        Image.fromarray(np.full((40, 60, 3), 30 * i, np.uint8)).save(folder / rel)
        rec = project.add_image(rel, 60, 40)
        for k, (lab, box) in enumerate(((car, ((2, 3), (20, 15))), (person, ((30, 10), (50, 30 - i))))):
            project.add_annotation(Annotation(rec.id, lab.id, rectangle_parts(*box), None, shape="rectangle", points=box,
                                              source="import", z=k))
    return project


def _auto(project: Project) -> dict[str, list[Annotation]]:
    return {r.path: [a for a in project.annotations(r.id) if a.source == "auto"] for r in project.images()}


def test_select_images_by_glob_and_ids(tmp_path: Path) -> None:
    with _project(tmp_path) as project:
        paths = [r.path for r in select_images(project)]
        assert paths == ["img0.png", "img2.png", "sub/s1.png", "sub/s3.png"]  # project order
        assert [r.path for r in select_images(project, "s*.png")] == ["sub/s1.png", "sub/s3.png"]  # file name
        assert [r.path for r in select_images(project, "img*")] == ["img0.png", "img2.png"]
        assert [r.path for r in select_images(project, "sub/*")] == ["sub/s1.png", "sub/s3.png"]  # path
        ids = {r.path: r.id for r in project.images()}
        assert [r.path for r in select_images(project, "*.png", [ids["img0.png"], ids["sub/s3.png"]])] == \
            ["img0.png", "sub/s3.png"]
        assert select_images(project, "*.jpg") == []


def test_run_stores_masks_marks_done_and_resumes(tmp_path: Path) -> None:
    pred = BoxPredictor()
    with _project(tmp_path) as project:
        plan = plan_batch(project, "boxes", {}, SPEC, images="img*")
        assert [r.path for r in plan.todo] == ["img0.png", "img2.png"] and plan.skipped == 0
        seen = []
        summary = run_batch(project, plan, LocalExecutor(predictor=pred), SPEC, on_progress=seen.append)
        assert summary.labelled == 2 and not summary.failures and summary.stored == {"car": 2, "person": 2}
        assert not summary.cancelled
        auto = _auto(project)
        assert [len(auto[p]) for p in ("img0.png", "img2.png", "sub/s1.png", "sub/s3.png")] == [2, 2, 0, 0]
        names = {lc.id: lc.name for lc in project.label_classes()}
        first = auto["img0.png"]
        assert [names[a.label_id] for a in first] == ["car", "person"]
        want = np.zeros((40, 60), bool)
        want[3:16, 2:21] = True
        assert np.array_equal(rle_to_mask(first[0].rle), want) and first[0].shape == "mask"
        rects = [a for a in project.annotations(project.images()[0].id) if a.shape == "rectangle"]
        assert first[0].extra["source_annotation"] == rects[0].id and first[0].score == pytest.approx(0.5)
        mark = project.images()[0].extra["autolabel"]["boxes"]
        assert mark["annotations"] == 2 and mark["settings"] == {"params": {}, "model": "synthetic"}
        # progress: once before, then after each image, with an ETA once something is done
        assert [(p.done, p.total) for p in seen] == [(0, 2), (1, 2), (2, 2)]
        assert seen[0].eta_s is None and seen[1].eta_s is not None and seen[2].eta_s == 0
        assert seen[2].stored == 4
        # a second run skips them; the rest of the project is still to do
        again = plan_batch(project, "boxes", {}, SPEC)
        assert [r.path for r in again.todo] == ["sub/s1.png", "sub/s3.png"] and again.skipped == 2
        # other settings do not count as done
        assert len(plan_batch(project, "boxes", {"multimask": True}, SPEC, images="img*").todo) == 2


def test_redo_replaces_only_untouched_auto_annotations(tmp_path: Path) -> None:
    pred = BoxPredictor()
    with _project(tmp_path, n=1) as project:
        run_batch(project, plan_batch(project, "boxes", {}, SPEC), LocalExecutor(predictor=pred), SPEC)
        rid = project.images()[0].id
        auto = [a for a in project.annotations(rid) if a.source == "auto"]
        import time
        time.sleep(0.01)
        project.update_annotation(auto[0].with_(description="checked"))  # a person looked at it: kept
        assert plan_batch(project, "boxes", {}, SPEC).todo == []
        run_batch(project, plan_batch(project, "boxes", {}, SPEC, redo=True), LocalExecutor(predictor=pred), SPEC)
        after = [a for a in project.annotations(rid) if a.source == "auto"]
        assert len(after) == 3 and sum(a.description == "checked" for a in after) == 1
        assert auto[0].id in {a.id for a in after} and auto[1].id not in {a.id for a in after}
        assert len([a for a in project.annotations(rid) if a.shape == "rectangle"]) == 2


def test_min_score_and_failures(tmp_path: Path) -> None:
    pred = BoxPredictor(scores=(0.5, 0.9, 0.99))
    with _project(tmp_path, n=3) as project:
        (project.path.parent / "img2.png").write_bytes(b"not an image")
        plan = plan_batch(project, "boxes", {"multimask": True}, SPEC, min_score=0.95)
        summary = run_batch(project, plan, LocalExecutor(predictor=pred), SPEC)
        assert summary.labelled == 2 and summary.annotations == 0  # best non-empty scores 0.9 < 0.95
        assert len(summary.failures) == 1 and summary.failures[0].startswith("img2.png: ")
        recs = {r.path: r for r in project.images()}
        assert "autolabel" in recs["img0.png"].extra and "autolabel" not in recs["img2.png"].extra
        assert recs["img0.png"].extra["autolabel"]["boxes"]["settings"]["min_score"] == 0.95
        plan = plan_batch(project, "boxes", {"multimask": True}, SPEC, min_score=0.8)
        assert len(plan.todo) == 3  # another min score is another setting
        assert run_batch(project, plan, LocalExecutor(predictor=pred), SPEC).annotations == 4


def test_cancel_stops_after_the_image_in_flight(tmp_path: Path) -> None:
    cancel = threading.Event()
    with _project(tmp_path, n=4) as project:
        plan = plan_batch(project, "boxes", {}, SPEC)
        summary = run_batch(project, plan, LocalExecutor(predictor=BoxPredictor()), SPEC, cancel=cancel,
                            on_progress=lambda p: cancel.set() if p.done == 1 else None)
        # image 2 was already labelled (its masks being converted) when image 1's storing set cancel
        assert summary.cancelled and summary.labelled == 2
        assert sum(bool(v) for v in _auto(project).values()) == 2
        assert len(plan_batch(project, "boxes", {}, SPEC).todo) == 2


class OutOfOrder:
    """An executor (the seam a cluster executor uses): computes every job with ``compute`` on its own
    context and yields the results in reverse order."""

    def __init__(self) -> None:
        self.pred = BoxPredictor()

    def run(self, jobs: Iterable[BatchJob], *, mode: str, params: Mapping, model: ModelSpec,
            cancel: threading.Event | None) -> Iterator[BatchResult]:
        assert mode == "boxes" and model == SPEC
        ctx = LocalContext(self.pred)
        results = [compute(job, BOXES_AUTOMATION, ctx, params) for job in jobs]
        yield from reversed(results)


def test_any_executor_plugs_in(tmp_path: Path) -> None:
    with _project(tmp_path, n=3) as project:
        summary = run_batch(project, plan_batch(project, "boxes", {}, SPEC), OutOfOrder(), SPEC)
        assert summary.labelled == 3 and summary.annotations == 6
        assert all(len(v) == 2 for v in _auto(project).values())


def test_local_executor_prefetches_a_bounded_number_of_images(tmp_path: Path, monkeypatch) -> None:
    decoded: list[tuple[str, str]] = []
    real = batch.load_job_image

    def spy(job: BatchJob) -> np.ndarray:
        decoded.append((Path(job.path).name, threading.current_thread().name))
        return real(job)

    monkeypatch.setattr(batch, "load_job_image", spy)
    with _project(tmp_path, n=4, sub=False) as project:
        jobs = list(batch.iter_jobs(project, project.images()))
    ex = LocalExecutor(predictor=BoxPredictor(), prefetch=2)
    it = ex.run(iter(jobs), mode="boxes", params={}, model=SPEC)
    first = next(it)
    assert first.image_id == jobs[0].image_id and first.proposals and first.width == 60
    # while the first image was labelled, at most prefetch more were submitted for decoding
    assert len(decoded) <= 3 and all(t.startswith("autolabel-prefetch") for _, t in decoded)
    rest = list(it)
    assert [r.image_id for r in rest] == [j.image_id for j in jobs[1:]]
    assert [n for n, _ in decoded] == ["img0.png", "img1.png", "img2.png", "img3.png"]


def test_local_executor_loads_the_model_once_per_spec() -> None:
    loads: list[ModelSpec] = []
    pred = BoxPredictor()
    ex = LocalExecutor(loader=lambda spec: loads.append(spec) or pred)
    assert ex.predictor(SPEC) is pred and ex.predictor(SPEC) is pred
    ex.predictor(ModelSpec("other"))
    assert loads == [SPEC, ModelSpec("other")]
    with pytest.raises(ValueError, match="prefetch"):
        LocalExecutor(prefetch=0)


def test_plan_refuses_bad_parameters_before_any_model(tmp_path: Path) -> None:
    with _project(tmp_path, n=1) as project:
        with pytest.raises(ValueError, match="box_nms_thresh"):
            plan_batch(project, "everything", {"box_nms_thresh": 2.0}, SPEC)
        with pytest.raises(ValueError, match="unknown option 'radius'"):
            plan_batch(project, "boxes", {"radius": 2}, SPEC)
        with pytest.raises(ValueError, match="unknown automation"):
            plan_batch(project, "paint", {}, SPEC)


def test_prepared_results_store_the_same_annotations(tmp_path: Path) -> None:
    """prepare_result (a worker thread's half) + store_result(converted=) == store_result alone."""
    pred = BoxPredictor(scores=(0.5, 0.9, 0.99))
    stored = []
    for how in ("direct", "prepared"):
        with _project(tmp_path / how, n=1) as project:
            plan = plan_batch(project, "boxes", {"multimask": True}, SPEC, min_score=0.6)
            [job] = list(batch.iter_jobs(project, plan.todo))
            result = compute(job, BOXES_AUTOMATION, LocalContext(pred), plan.params)
            if how == "prepared":
                result, converted = batch.prepare_result(result, plan.min_score)
                assert len(converted) == len(result.proposals) == 2
                anns = batch.store_result(project, plan, result, converted)
            else:
                anns = batch.store_result(project, plan, result)
            stored.append([(a.label_id, a.rle, a.parts, a.score, a.extra["candidate"]) for a in anns])
    assert stored[0] == stored[1] and len(stored[0]) == 2


def test_batch_annotations_get_their_label_class_defaults(tmp_path: Path) -> None:
    """A class's flag/attribute defaults reach the annotations a batch run stores (as the GUI's)."""
    from dataclasses import replace

    from app.core.attributes import spec

    project = _project(tmp_path, n=2)
    try:
        car = next(c for c in project.label_classes() if c.name == "car")
        project.update_label_class(replace(car, attributes=(spec("occluded", "flag", True),
                                                         spec("make", "choice", "audi", ("audi", "fiat")))))
        run_batch(project, plan_batch(project, "boxes", {}, SPEC), LocalExecutor(predictor=BoxPredictor()), SPEC)
        cars = [a for anns in _auto(project).values() for a in anns if a.label_id == car.id]
        assert len(cars) == 2
        assert all(a.flags == {"occluded": True} and a.attributes == {"make": "audi"} for a in cars)
    finally:
        project.close()
