"""The "boxes" automation on a model with predict_boxes (all boxes of an image decoded at once,
masks converted from their bounding boxes) stores exactly what the box-by-box path stored."""
from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from app.automation import boxes as boxes_module
from app.automation.api import AutomationInput
from app.automation.boxes import BOXES_AUTOMATION
from app.automation.context import LocalContext
from app.automation.store import convert_proposal
from app.core.formats.common import Cancelled
from app.core.mask_convert import convert_mask
from app.core.model import Annotation
from app.core.rle import mask_to_rle
from sam_backend.families import BoxPredictor

LABELS = {1: "car", 2: "person"}


class OneByOne:
    """The same model without predict_boxes: the box-by-box path (as before predict_boxes)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.model_id, self.prompt_kinds = inner.model_id, inner.prompt_kinds
        self.candidates, self.score_name, self.device_name = inner.candidates, inner.score_name, inner.device_name

    def encode(self, image, should_abort=None):
        return self.inner.encode(image, should_abort)

    def predict(self, emb, **kw):
        return self.inner.predict(emb, **kw)


def _rects(n: int) -> tuple[Annotation, ...]:
    rng = np.random.default_rng(5)
    out = []
    for i in range(n):
        x0, y0 = float(rng.integers(0, 90)), float(rng.integers(0, 60))
        out.append(Annotation(1, 1 + i % 2, (), None, id=i + 1, shape="rectangle",
                              points=((x0, y0), (x0 + float(rng.integers(3, 40)), y0 + float(rng.integers(3, 30))))))
    return tuple(out)


@pytest.mark.parametrize("multimask", [False, True])
def test_batched_path_stores_what_the_box_by_box_path_stored(small_sam, scene, multimask: bool) -> None:
    assert isinstance(small_sam, BoxPredictor) and not isinstance(OneByOne(small_sam), BoxPredictor)
    item = AutomationInput(scene, 1, _rects(7), LABELS)
    params = {"multimask": multimask}
    got = BOXES_AUTOMATION.propose(LocalContext(small_sam), item, params=params)
    one_by_one: Any = OneByOne(small_sam)
    want = BOXES_AUTOMATION.propose(LocalContext(one_by_one), item, params=params)
    assert len(got) == len(want) > 0
    emb = small_sam.encode(scene)
    for g, w in zip(got, want):
        assert (g.rle, g.label, g.score, g.extra) == (w.rle, w.label, w.score, w.extra)
        # and both are the full-image RLE of predict's mask, converted as the whole mask would be
        k = g.extra["candidate"]
        mask = small_sam.predict(emb, box=tuple(g.extra["box"]), multimask=multimask).masks[k]
        assert g.rle == mask_to_rle(mask)
        conv, full = convert_proposal(g), convert_mask(mask)
        assert conv is not None and (conv.geometry, conv.rle, conv.outline) == (full.geometry, full.rle, full.outline)


def test_cancel_between_decoder_calls(small_sam, scene, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(boxes_module, "BOXES_PER_CALL", 2)
    calls: list[int] = []
    real = type(small_sam).predict_boxes

    def counting(self, emb, boxes, multimask=False, batch=None):
        calls.append(len(boxes))
        return real(self, emb, boxes, multimask, batch)

    monkeypatch.setattr(type(small_sam), "predict_boxes", counting)
    cancel = threading.Event()
    item = AutomationInput(scene, 1, _rects(7), LABELS)
    with pytest.raises(Cancelled):
        BOXES_AUTOMATION.propose(LocalContext(small_sam), item, params={}, cancel=cancel,
                                 progress=lambda d, t: cancel.set() if d == 3 else None)
    assert calls == [2, 2]  # boxes 1-2, 3-4; stopped before decoding 5-6
    calls.clear()
    BOXES_AUTOMATION.propose(LocalContext(small_sam), item, params={})
    assert calls == [2, 2, 2, 1]
