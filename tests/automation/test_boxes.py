"""The "boxes" automation: rectangles -> SAM masks keeping their labels (a synthetic predictor with
known answers, and the small random SAM)."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from app.automation.api import AutomationInput
from app.automation.boxes import BOXES_AUTOMATION
from app.automation.context import LocalContext
from app.core.formats.common import Cancelled
from app.core.model import Annotation, Part
from app.core.rle import rle_to_mask
from app.extensions.registry import get_automation
from sam_backend.types import Prediction

H, W = 40, 60


class BoxPredictor:
    """Predictor whose candidates for a box are: 0 the box filled, 1 its left half, 2 empty, with
    scores ``scores``; counts encodes and predicts."""

    model_id = "synthetic"
    prompt_kinds = frozenset({"box"})
    candidates, score_name = 3, "predicted IoU"
    device_name = "cpu"

    def __init__(self, scores=(0.5, 0.9, 0.99)) -> None:
        self.scores = np.asarray(scores, np.float32)
        self.encoded = 0
        self.boxes: list[tuple[float, ...]] = []

    def encode(self, image, should_abort=None):
        self.encoded += 1
        return ("emb", image.shape[:2])

    def predict(self, emb, points=None, labels=None, box=None, mask_input=None, multimask=True):
        assert emb[0] == "emb" and box is not None
        self.boxes.append(tuple(box))
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        masks = np.zeros((3, *emb[1]), bool)
        masks[0, y0:y1 + 1, x0:x1 + 1] = True
        masks[1, y0:y1 + 1, x0:(x0 + x1) // 2 + 1] = True
        if not multimask:
            return Prediction(masks[:1], self.scores[:1], np.zeros((1, 256, 256), np.float32))
        return Prediction(masks, self.scores, np.zeros((3, 256, 256), np.float32))


def _rect(aid: int, label: int, p0, p1, group=None) -> Annotation:
    return Annotation(1, label, (), None, id=aid, shape="rectangle", points=(p0, p1), group_id=group)


def _polygon(aid: int) -> Annotation:
    return Annotation(1, 1, (Part(((1.0, 1.0), (5.0, 1.0), (5.0, 5.0))),), id=aid)


LABELS = {1: "car", 2: "person"}
IMAGE = np.zeros((H, W, 3), np.uint8)


def test_registered() -> None:
    auto = get_automation("boxes")
    assert auto is BOXES_AUTOMATION and auto.needs == frozenset({"box"})
    assert [o.name for o in auto.options] == ["multimask"]


def test_each_rectangle_becomes_its_mask_with_its_label() -> None:
    pred = BoxPredictor()
    anns = (_rect(11, 1, (2, 3), (20, 15)), _polygon(12), _rect(13, 2, (50, 30), (30, 10), group=4))
    props = BOXES_AUTOMATION.propose(LocalContext(pred), AutomationInput(IMAGE, 1, anns, LABELS), params={})
    assert pred.encoded == 1 and pred.boxes == [(2, 3, 20, 15), (30, 10, 50, 30)]  # corners ordered
    assert [p.label for p in props] == ["car", "person"]
    assert [p.extra["source_annotation"] for p in props] == [11, 13]
    assert props[1].group_id == 4 and props[0].group_id is None
    want = np.zeros((H, W), bool)
    want[3:16, 2:21] = True
    assert np.array_equal(rle_to_mask(props[0].rle), want)
    assert props[0].score == pytest.approx(0.5) and props[0].extra["candidate"] == 0
    assert props[0].extra["automation"] == "boxes" and props[0].extra["box"] == [2, 3, 20, 15]


def test_multimask_takes_the_best_nonempty_candidate() -> None:
    pred = BoxPredictor(scores=(0.5, 0.9, 0.99))  # candidate 2 scores best but is empty
    anns = (_rect(11, 1, (2, 3), (20, 15)),)
    [prop] = BOXES_AUTOMATION.propose(LocalContext(pred), AutomationInput(IMAGE, 1, anns, LABELS),
                                      params={"multimask": True})
    assert prop.extra["candidate"] == 1 and prop.score == pytest.approx(0.9)
    assert rle_to_mask(prop.rle).sum() == 13 * 10


def test_empty_answer_gives_no_proposal_and_no_rectangles_no_encode() -> None:
    pred = BoxPredictor()
    ctx = LocalContext(pred)
    assert BOXES_AUTOMATION.propose(ctx, AutomationInput(IMAGE, 1, (_polygon(1),), LABELS), params={}) == []
    assert pred.encoded == 0
    pred.scores = np.asarray((0.1, 0.2, 0.3), np.float32)
    outside = (_rect(5, 1, (200, 200), (220, 230)),)  # beyond the image: the filled box is empty
    assert BOXES_AUTOMATION.propose(ctx, AutomationInput(IMAGE, 1, outside, LABELS), params={}) == []


def test_progress_and_cancel_between_boxes() -> None:
    anns = tuple(_rect(i, 1, (i, i), (i + 5, i + 5)) for i in range(1, 5))
    calls: list[tuple[int, int]] = []
    BOXES_AUTOMATION.propose(LocalContext(BoxPredictor()), AutomationInput(IMAGE, 1, anns, LABELS), params={},
                             progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    cancel = threading.Event()
    pred = BoxPredictor()
    with pytest.raises(Cancelled):
        BOXES_AUTOMATION.propose(LocalContext(pred), AutomationInput(IMAGE, 1, anns, LABELS), params={},
                                 progress=lambda d, t: cancel.set() if d == 2 else None, cancel=cancel)
    assert len(pred.boxes) == 2


def test_small_sam_single_answer(small_sam, scene) -> None:
    ann = _rect(3, 2, (20.0, 25.0), (50.0, 55.0))
    [prop] = BOXES_AUTOMATION.propose(LocalContext(small_sam), AutomationInput(scene, 1, (ann,), LABELS), params={})
    want = small_sam.predict(small_sam.encode(scene), box=(20.0, 25.0, 50.0, 55.0), multimask=False)
    assert np.array_equal(rle_to_mask(prop.rle), want.masks[0])
    assert prop.score == pytest.approx(float(want.scores[0]))
    assert prop.label == "person"
