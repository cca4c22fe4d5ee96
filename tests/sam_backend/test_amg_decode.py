"""Batched single-point decoding (SamPointDecoder) and the generator on every model id."""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from sam_backend import MODELS, AutomaticMaskGenerator, ImageEmbedding, SamPredictor, build_model
from sam_backend.amg import SamPointDecoder
from sam_backend.transforms import postprocess_logits_reference

SMALL_VIT = dict(depth=2, embed_dim=64, num_heads=2, global_attn_indexes=[1], window_size=14)


@functools.lru_cache(maxsize=None)
def _predictor(model_id: str) -> SamPredictor:
    torch.manual_seed(0)
    overrides = SMALL_VIT if "tiny" not in model_id and model_id != "mobile_sam" else {}
    return SamPredictor(build_model(model_id, **overrides), model_id)


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return _image()


@functools.lru_cache(maxsize=None)
def _embedding(model_id: str) -> ImageEmbedding:
    return _predictor(model_id).encode(_image())


def _image() -> np.ndarray:
    rng = np.random.default_rng(0)
    img = np.zeros((120, 160, 3), np.uint8)
    img[20:80, 30:100] = (200, 40, 40)
    return np.clip(img + rng.integers(0, 30, img.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("model_id", ["mobile_sam", "sam_hq_vit_tiny"])
def test_batched_decode_equals_single_predictions(model_id: str, image: np.ndarray) -> None:
    predictor, emb = _predictor(model_id), _embedding(model_id)
    points = np.array([[10.5, 20.0], [80.0, 60.0], [159.0, 119.0], [0.0, 0.0], [40.25, 100.75]])
    out = SamPointDecoder(predictor).decode_points(emb, points, None)
    assert out.iou.shape == (5, 3) and out.low_res.shape == (5, 3, 256, 256) and out.decoded.tolist() == [0, 1, 2, 3, 4]
    for i, p in enumerate(points):
        single = predictor.predict(emb, points=[p], labels=[1])
        np.testing.assert_allclose(out.iou[i], single.scores, atol=1e-5, rtol=0)
        np.testing.assert_allclose(out.low_res[i], single.low_res_logits, atol=1e-4, rtol=0)


def test_iou_gating_decodes_only_passing_points(image: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    predictor, emb = _predictor("mobile_sam"), _embedding("mobile_sam")
    rng = np.random.default_rng(1)
    points = rng.random((12, 2)) * [160, 120]
    full = SamPointDecoder(predictor).decode_points(emb, points, None)
    threshold = float(np.median(full.iou.max(axis=1)))
    decoder = predictor.fast_decoder
    assert decoder is not None
    token_passes = []
    original = decoder.token_iou
    monkeypatch.setattr(decoder, "token_iou", lambda *a: token_passes.append(1) or original(*a))
    gated = SamPointDecoder(predictor).decode_points(emb, points, threshold)
    assert token_passes  # the cheap token pass ran on the whole batch
    wanted = np.flatnonzero((full.iou > np.float32(threshold)).any(axis=1))
    assert 0 < wanted.size < 12 and gated.decoded.tolist() == wanted.tolist()
    np.testing.assert_allclose(gated.iou, full.iou, atol=1e-5, rtol=0)
    np.testing.assert_allclose(gated.low_res, full.low_res[wanted], atol=1e-4, rtol=0)
    monkeypatch.setattr(SamPointDecoder, "_can_gate", lambda self: False)
    plain = SamPointDecoder(predictor).decode_points(emb, points, threshold)
    assert plain.decoded.tolist() == list(range(12))  # without the seam: everything decoded, still right
    np.testing.assert_allclose(plain.low_res, full.low_res, atol=1e-4, rtol=0)


def test_rejects_an_embedding_of_another_model(image: np.ndarray) -> None:
    emb = _embedding("mobile_sam")
    with pytest.raises(ValueError, match="re-encode"):
        SamPointDecoder(_predictor("sam_vit_b")).decode_points(emb, np.zeros((1, 2)), None)


@pytest.mark.parametrize("model_id", [m for m, spec in MODELS.items() if spec.family == "sam"])
def test_generator_on_every_model(model_id: str, image: np.ndarray) -> None:
    """Records = the model's own candidates (SamPredictor.predict) for every grid point, masks by
    the reference post-processing (ViT encoders shrunk for speed; decoders as the model id's)."""
    predictor = _predictor(model_id)
    records = AutomaticMaskGenerator(predictor, points_per_side=2, pred_iou_thresh=0.0, stability_score_thresh=0.0,
                                     box_nms_thresh=1.0, output_mode="binary_mask").generate(image)
    assert len(records) == 12
    emb = _embedding(model_id)
    predictions = {}
    for r in records:
        point = tuple(r["point_coords"][0])
        if point not in predictions:
            predictions[point] = predictor.predict(emb, points=[point], labels=[1])
        pred = predictions[point]
        k = int(np.argmin(np.abs(pred.scores - r["predicted_iou"])))
        assert abs(pred.scores[k] - r["predicted_iou"]) <= 1e-5
        logits = postprocess_logits_reference(torch.from_numpy(pred.low_res_logits[k : k + 1]), emb.input_size, emb.original_size)[0]
        differ = r["segmentation"] != (logits > 0).numpy()
        assert not differ.any() or float(logits.abs().numpy()[differ].max()) <= 1e-4
        inter, union = int((logits > 1).sum()), int((logits > -1).sum())
        assert abs(r["stability_score"] - inter / union) <= 1e-3
