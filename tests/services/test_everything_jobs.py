"""Segment-everything jobs (app.services.everything_jobs): what the review panel gets from the
worker — scores, areas, boxes, outlines, overlaps with annotations and between proposals —,
progress, and cancel."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.automation.api import Proposal
from app.core.formats.common import Cancelled
from app.core.model import Annotation
from app.core.rle import mask_to_rle
from app.services.automation_jobs import DetectorCache, TaskContext, WorkerTask
from app.services.everything_jobs import CHANNEL, everything_job, overlaps, review_item
from tests.ui.everything_support import SPECS, RectAutomation, spec_mask


def _mask(x0: int, y0: int, x1: int, y1: int, h: int = 120, w: int = 160) -> np.ndarray:
    m = np.zeros((h, w), dtype=bool)
    m[y0:y1, x0:x1] = True
    return m


def test_overlap_is_the_larger_of_iou_and_the_share_inside() -> None:
    a = mask_to_rle(_mask(0, 0, 10, 10))      # 100 px
    b = mask_to_rle(_mask(5, 0, 15, 10))      # 100 px, half of a
    big = mask_to_rle(_mask(0, 0, 40, 40))    # holds a
    far = mask_to_rle(_mask(100, 100, 110, 110))
    got = overlaps([a, b], [b, big, far])
    assert got[0, 0] == pytest.approx(0.5)           # 50 / 100 inside > IoU 50 / 150
    assert got[0, 1] == pytest.approx(1.0)           # a lies in big (IoU only 100 / 1600)
    assert got[0, 2] == 0.0 and got[1, 0] == pytest.approx(1.0)
    assert overlaps([big], [a])[0, 0] == pytest.approx(100 / 1600)  # big is not inside a
    assert overlaps([], [a]).shape == (0, 1)


def test_review_item_of_a_proposal() -> None:
    item = review_item(Proposal(mask_to_rle(_mask(3, 4, 9, 8)), score=0.7, extra={"stability_score": 0.9}))
    assert item is not None
    assert item.area == 24 and item.box == (3.0, 4.0, 8.0, 7.0)
    assert item.predicted_iou == 0.7 and item.stability == 0.9  # predicted IoU from the score when not in extra
    assert len(item.outlines) == 1 and item.outlines[0][:, 0].min() == 3 and item.outlines[0][:, 1].max() == 7
    assert review_item(Proposal(mask_to_rle(np.zeros((5, 5), bool)))) is None
    assert review_item(Proposal(None, shape="rectangle")) is None


def _ctx(tmp_path: Path, events: list[tuple[str, int, int]]) -> TaskContext:
    path = tmp_path / "img.png"
    Image.fromarray(np.zeros((120, 160, 3), np.uint8)).save(path)
    task = WorkerTask(1, CHANNEL, "image-1", path, lambda ctx: None, image_id=1)
    return TaskContext(task, object(), lambda: None, DetectorCache(), lambda t, d, n: events.append((t, d, n)))  # type: ignore[arg-type]


def test_job_answers_items_and_overlaps(tmp_path: Path) -> None:
    events: list[tuple[str, int, int]] = []
    ctx = _ctx(tmp_path, events)
    existing = Annotation(1, 1, (), mask_to_rle(_mask(100, 10, 150, 30)), shape="mask")  # half of proposal 4
    auto = RectAutomation()
    answer = everything_job(auto, {}, [existing], {1: "car"}, "Segmenting", threading.Event())(ctx)
    assert answer.automation_id == "everything" and len(answer.items) == len(SPECS)
    assert [r.area for r in answer.items] == [int(spec_mask(s).sum()) for s in SPECS]
    assert [r.stability for r in answer.items] == [s[5] for s in SPECS]
    assert answer.existing == pytest.approx([0, 0, 0, 0, 0.5])
    assert answer.pairs[3, 2] == pytest.approx(1.0) and answer.pairs[2, 3] == pytest.approx(400 / 3000)
    assert np.all(np.diag(answer.pairs) == 0)
    assert auto.inputs[0].labels == {1: "car"} and len(auto.inputs[0].annotations) == 1
    assert events[0] == ("Segmenting", 0, -1) and events[-1] == ("Segmenting", 1, 1)
    assert ("Segmenting", 3, 5) in events


def test_job_stops_when_cancelled(tmp_path: Path) -> None:
    events: list[tuple[str, int, int]] = []
    ctx = _ctx(tmp_path, events)
    cancel = threading.Event()
    auto = RectAutomation(block=True)
    result: list[BaseException] = []

    def run() -> None:
        try:
            everything_job(auto, {}, [], {}, "Segmenting", cancel)(ctx)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            result.append(exc)

    t = threading.Thread(target=run)
    t.start()
    assert auto.started.wait(10)
    cancel.set()
    t.join(10)
    assert not t.is_alive() and len(result) == 1 and isinstance(result[0], Cancelled)
    assert events[-1] == ("Segmenting", 0, 0)  # the progress ends
