"""SamPredictor.predict_boxes: many boxes of one image in one call give what predict gives box by
box (bit for bit one box per decoder call, float rounding apart in batches), for plain SAM and
SAM-HQ, fast and reference routes. Random networks, synthetic embeddings (no encoding)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sam_backend import ImageEmbedding, SamPredictor, build_model
from sam_backend.families import BoxPredictor

SMALL = dict(depth=2, embed_dim=64, num_heads=2, global_attn_indexes=[1], window_size=14)
H, W = 300, 420
BOXES = [(10.0, 20.0, 200.0, 150.0), (150.5, 40.0, 410.0, 290.0), (0.0, 0.0, 419.0, 299.0), (60.0, 200.0, 61.0, 201.0)]


def _setup(model_id: str, fast: bool) -> tuple[SamPredictor, ImageEmbedding]:
    torch.manual_seed(0)
    model = build_model(model_id, config=SMALL) if model_id == "sam_vit_b" else build_model(model_id)
    pred = SamPredictor(model, model.config.name, "cpu", fast=fast)
    g = torch.Generator().manual_seed(1)
    early = (torch.randn(1, 64, 64, 160, generator=g),) if pred.is_hq else ()
    emb = ImageEmbedding(pred.model_id, torch.randn(1, 256, 64, 64, generator=g), (H, W), (731, 1024), early)
    return pred, emb


@pytest.fixture(scope="module", params=[("sam_vit_b", True), ("sam_vit_b", False), ("sam_hq_vit_tiny", True)],
                ids=["sam-fast", "sam-reference", "hq-fast"])
def setup(request: pytest.FixtureRequest) -> tuple[SamPredictor, ImageEmbedding]:
    return _setup(*request.param)


@pytest.mark.parametrize("multimask", [False, True])
def test_one_box_per_call_equals_predict_bit_for_bit(setup, multimask: bool) -> None:
    pred, emb = setup
    assert isinstance(pred, BoxPredictor)
    got = pred.predict_boxes(emb, BOXES, multimask=multimask, batch=1)
    c = 3 if multimask else 1
    assert len(got) == len(BOXES) and got.scores.shape == (len(BOXES), c) and got.scores.dtype == np.float32
    assert got.low_res_logits.shape == (len(BOXES), c, 256, 256)
    for i, box in enumerate(BOXES):
        want = pred.predict(emb, box=box, multimask=multimask)
        assert np.array_equal(got.scores[i], want.scores)
        assert np.array_equal(got.low_res_logits[i], want.low_res_logits)
        assert np.array_equal(got.masks(i), want.masks)


@pytest.mark.parametrize("multimask", [False, True])
def test_batched_decoder_call_equals_predict_to_float_rounding(setup, multimask: bool) -> None:
    pred, emb = setup
    got = pred.predict_boxes(emb, BOXES, multimask=multimask, batch=3)  # a call of 3 boxes, then one of 1
    for i, box in enumerate(BOXES):
        want = pred.predict(emb, box=box, multimask=multimask)
        np.testing.assert_allclose(got.scores[i], want.scores, atol=1e-5, rtol=0)
        np.testing.assert_allclose(got.low_res_logits[i], want.low_res_logits, atol=1e-4, rtol=0)
        masks = got.masks(i)
        for k in range(masks.shape[0]):
            decided = np.abs(want.logits(k)) > 1e-3  # pixels whose sign float rounding cannot flip
            assert np.array_equal(masks[k][decided], want.masks[k][decided])


def test_the_default_on_the_cpu_is_one_box_per_call() -> None:
    pred, emb = _setup("sam_vit_b", True)
    got = pred.predict_boxes(emb, BOXES)
    for i, box in enumerate(BOXES):
        assert np.array_equal(got.low_res_logits[i], pred.predict(emb, box=box, multimask=False).low_res_logits)


def test_invalid_input() -> None:
    pred, emb = _setup("sam_vit_b", True)
    with pytest.raises(ValueError, match="reversed"):
        pred.predict_boxes(emb, [BOXES[0], (5.0, 5.0, 1.0, 9.0)])
    other = ImageEmbedding("mobile_sam", emb.features, (H, W), (731, 1024))
    with pytest.raises(ValueError, match="re-encode"):
        pred.predict_boxes(other, BOXES)
    got = pred.predict_boxes(emb, [])
    assert len(got) == 0 and got.low_res_logits.shape == (0, 1, 256, 256)
    with pytest.raises(IndexError):
        pred.predict_boxes(emb, BOXES[:1]).masks(1)
