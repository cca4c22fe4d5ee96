"""The "everything" automation: the generator's records as proposals, the context's embedding
reused, progress and cancel between point batches (small random SAM)."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from app.automation.api import AutomationInput
from app.automation.context import LocalContext
from app.automation.everything import EVERYTHING_AUTOMATION, OPTIONS, generator_params
from app.core.formats.common import Cancelled
from app.core.rle import rle_to_mask
from app.extensions.registry import get_automation
from sam_backend import AutomaticMaskGenerator
from sam_backend.amg.params import AmgParams

PERMISSIVE = {"points_per_side": 6, "pred_iou_thresh": 0.0, "stability_score_thresh": 0.0, "box_nms_thresh": 1.0}


def test_registered_with_the_generator_defaults() -> None:
    auto = get_automation("everything")
    assert auto is EVERYTHING_AUTOMATION and auto.needs == frozenset({"points"})
    defaults = AmgParams()
    for opt in OPTIONS:
        assert opt.default == getattr(defaults, opt.name), opt.name


def test_params_are_checked() -> None:
    assert generator_params({})["points_per_side"] == 32
    assert generator_params({"points_per_side": 8.0})["points_per_side"] == 8
    with pytest.raises(ValueError, match="between 0 and 1"):
        generator_params({"box_nms_thresh": 1.5})
    with pytest.raises(ValueError, match="whole number"):
        generator_params({"points_per_side": 2.5})
    with pytest.raises(ValueError, match="at least 1"):
        generator_params({"points_per_side": 0})
    with pytest.raises(ValueError, match="unknown option"):
        generator_params({"points_per_batch": 4})


def test_proposals_are_the_generators_records(small_sam, scene) -> None:
    ctx = LocalContext(small_sam)
    item = AutomationInput(scene, 7)
    props = EVERYTHING_AUTOMATION.propose(ctx, item, params=PERMISSIVE)
    records = AutomaticMaskGenerator(small_sam, points_per_side=6, pred_iou_thresh=0.0, stability_score_thresh=0.0,
                                     box_nms_thresh=1.0).generate(scene)
    assert len(records) > 3 and len(props) == len(records)
    for prop, rec in zip(props, records):
        assert np.array_equal(rle_to_mask(prop.rle), rec["segmentation"])
        assert prop.score == pytest.approx(rec["predicted_iou"], abs=0)
        assert prop.label is None and prop.shape == "mask"
        assert prop.extra == {"automation": "everything", "predicted_iou": rec["predicted_iou"],
                              "stability_score": rec["stability_score"], "point_coords": rec["point_coords"],
                              "crop_box": rec["crop_box"]}


def test_thresholds_reach_the_generator(small_sam, scene) -> None:
    ctx = LocalContext(small_sam)
    item = AutomationInput(scene)
    loose = EVERYTHING_AUTOMATION.propose(ctx, item, params=PERMISSIVE)
    cut = float(np.median([p.score for p in loose if p.score > 0]))  # a threshold <= 0 disables the filter
    strict = EVERYTHING_AUTOMATION.propose(ctx, item, params={**PERMISSIVE, "pred_iou_thresh": cut})
    assert 0 < len(strict) < len(loose)
    assert all(p.score > cut for p in strict)


def test_whole_image_embedding_comes_from_the_context(small_sam, scene, monkeypatch) -> None:
    shapes: list[tuple[int, int]] = []
    encode = small_sam.encode

    def counting(image, should_abort=None):
        shapes.append(image.shape[:2])
        return encode(image, should_abort)

    monkeypatch.setattr(small_sam, "encode", counting)
    ctx = LocalContext(small_sam)
    item = AutomationInput(scene)
    ctx.embedding(item)  # e.g. the GUI's cached embedding of the image
    assert ctx.encodes == 1
    EVERYTHING_AUTOMATION.propose(ctx, item, params=PERMISSIVE)
    EVERYTHING_AUTOMATION.propose(ctx, item, params={**PERMISSIVE, "points_per_side": 4})
    assert ctx.encodes == 1
    # crop layers encode their crops through the predictor, the whole image still from the context
    EVERYTHING_AUTOMATION.propose(ctx, item, params={**PERMISSIVE, "crop_n_layers": 1, "points_per_side": 4})
    assert ctx.encodes == 1
    assert shapes[0] == (90, 120) and len(shapes) == 5  # the context's one encode, then the 4 crops of layer 1
    assert all(h < 90 and w < 120 for h, w in shapes[1:])


def test_progress_and_cancel_between_point_batches(small_sam, scene) -> None:
    ctx = LocalContext(small_sam)
    item = AutomationInput(scene)
    calls: list[tuple[int, int]] = []
    EVERYTHING_AUTOMATION.propose(ctx, item, params={**PERMISSIVE, "points_per_side": 12}, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (144, 144) and len(calls) == 3  # 64-point batches
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)

    cancel = threading.Event()
    seen: list[int] = []

    def stop_after_first(done: int, total: int) -> None:
        seen.append(done)
        cancel.set()

    with pytest.raises(Cancelled):
        EVERYTHING_AUTOMATION.propose(ctx, item, params={**PERMISSIVE, "points_per_side": 12},
                                      progress=stop_after_first, cancel=cancel)
    assert seen == [64]


def test_refuses_a_predictor_outside_the_engine(scene) -> None:
    class Other:
        model_id = "other"
        prompt_kinds = frozenset({"points"})
        candidates, score_name = 3, "predicted IoU"
        device_name = "cpu"

        def encode(self, image, should_abort=None):
            raise AssertionError("not reached")

        def predict(self, emb, **kw):
            raise AssertionError("not reached")

    with pytest.raises(ValueError, match="other is not one"):
        EVERYTHING_AUTOMATION.propose(LocalContext(Other()), AutomationInput(scene), params={})
