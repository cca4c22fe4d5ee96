"""Parity: HfSamPredictor (our encode + predict) equals the transformers model called directly.

The reference is the library's ``model(pixel_values=..., input_points=..., ...)`` forward on the same
pixel values, with prompt coordinates normalised by the library's own processor rule
(``Sam2Processor._normalize_coordinates``) and masks post-processed as its ``post_process_masks``
(bilinear to the original size, align_corners=False, > 0). Tiny random models from the library's
config classes (tests/sam_backend/_hf_tiny.py), no network.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

pytest.importorskip("transformers", reason="the sam2 extra (transformers) is not installed")

from transformers.models.sam2.processing_sam2 import Sam2Processor  # noqa: E402

from sam_backend.hf.predictor import HfSamPredictor  # noqa: E402
from tests.sam_backend import _hf_tiny  # noqa: E402

H, W = 90, 150
CASES = {
    "point": dict(points=[[30.0, 40.0]], labels=[1]),
    "fg_bg_points": dict(points=[[30.0, 40.0], [120.0, 10.0], [75.0, 60.0]], labels=[1, 0, 1]),
    "box": dict(box=[10.0, 12.0, 100.0, 80.0]),
    "box_and_point": dict(box=[10.0, 12.0, 100.0, 80.0], points=[[50.0, 50.0]], labels=[0]),
}


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, (H, W, 3), dtype=np.uint8)


@pytest.fixture(scope="module", params=["sam2", "sam3"])
def predictor(request: pytest.FixtureRequest) -> HfSamPredictor:
    if request.param == "sam2":
        return HfSamPredictor(_hf_tiny.sam2_image_model(seed=3), "sam2.1_hiera_tiny", "sam2")
    return HfSamPredictor(_hf_tiny.sam3_tracker_model(seed=4), "sam3", "sam3")


def _reference(p: HfSamPredictor, rgb: np.ndarray, case: dict, mask_input: np.ndarray | None,
               multimask: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(masks, scores, low-res logits) from the library's forward on pixel values."""
    size = p.image_size
    kwargs: dict = {}
    if "points" in case:
        pts = Sam2Processor._normalize_coordinates(None, size, torch.tensor(case["points"]), (H, W))
        kwargs["input_points"] = pts[None, None]
        kwargs["input_labels"] = torch.tensor(case["labels"], dtype=torch.int32)[None, None]
    if "box" in case:
        box = Sam2Processor._normalize_coordinates(None, size, torch.tensor([case["box"]]), (H, W),
                                                   is_bounding_box=True)
        kwargs["input_boxes"] = box[None]
    if mask_input is not None:
        kwargs["input_masks"] = torch.from_numpy(mask_input)[None, None]
    with torch.no_grad():
        out = p.model(pixel_values=p.pixel_values(rgb), multimask_output=multimask, **kwargs)
    low = out.pred_masks[0, 0]
    full = F.interpolate(low[None], (H, W), mode="bilinear", align_corners=False)[0]
    return (full > 0).numpy(), out.iou_scores[0, 0].numpy(), low.numpy()


@pytest.mark.parametrize("multimask", [True, False])
@pytest.mark.parametrize("case", list(CASES))
def test_prompts_match_the_library(predictor: HfSamPredictor, image: np.ndarray, case: str, multimask: bool) -> None:
    emb = predictor.encode(image)
    pred = predictor.predict(emb, multimask=multimask, **CASES[case])
    masks, scores, low = _reference(predictor, image, CASES[case], None, multimask)
    assert pred.masks.shape == (3 if multimask else 1, H, W)
    np.testing.assert_allclose(pred.low_res_logits, low, rtol=0, atol=1e-5)
    np.testing.assert_allclose(pred.scores, scores, rtol=0, atol=1e-6)
    assert np.array_equal(pred.masks, masks)
    assert 0.0 < pred.masks.mean() < 1.0  # random weights, but not a degenerate all/nothing mask


@pytest.mark.parametrize("with_point", [False, True])
def test_mask_input_matches_the_library(predictor: HfSamPredictor, image: np.ndarray, with_point: bool) -> None:
    emb = predictor.encode(image)
    first = predictor.predict(emb, points=[[30.0, 40.0]], labels=[1])
    mask_input = first.low_res_logits[int(np.argmax(first.scores))]
    assert mask_input.shape == (predictor.low_res, predictor.low_res)
    case = CASES["point"] if with_point else {}
    pred = predictor.predict(emb, mask_input=mask_input, **case)
    masks, scores, low = _reference(predictor, image, case, mask_input, True)
    np.testing.assert_allclose(pred.low_res_logits, low, rtol=0, atol=1e-5)
    np.testing.assert_allclose(pred.scores, scores, rtol=0, atol=1e-6)
    assert np.array_equal(pred.masks, masks)
    assert not np.allclose(pred.low_res_logits, first.low_res_logits, atol=1e-3)  # the mask prompt changed it


def test_full_resolution_logits_threshold_to_the_masks(predictor: HfSamPredictor, image: np.ndarray) -> None:
    pred = predictor.predict(predictor.encode(image), points=[[30.0, 40.0]], labels=[1])
    for k in range(3):
        logits = pred.logits(k)
        assert logits.shape == (H, W) and logits.dtype == np.float32
        assert np.array_equal(logits > 0, pred.masks[k])
    with pytest.raises(IndexError):
        pred.logits(3)


def test_preprocessing_stretches_the_whole_image(predictor: HfSamPredictor) -> None:
    """SAM 2 resizes to a square without keeping the aspect ratio (no padding, unlike SAM 1): a
    left-dark / right-bright image keeps its edge in the middle of the model input."""
    rgb = np.zeros((60, 200, 3), np.uint8)
    rgb[:, 100:] = 255
    x = predictor.pixel_values(rgb)[0]
    s = predictor.image_size
    assert x.shape == (3, s, s)
    mean = torch.tensor(predictor.family.image_mean).view(3, 1)
    std = torch.tensor(predictor.family.image_std).view(3, 1)
    np.testing.assert_allclose(x[:, :, 2], ((0.0 - mean) / std).expand(3, s), atol=1e-5)
    np.testing.assert_allclose(x[:, :, s - 3], ((1.0 - mean) / std).expand(3, s), atol=1e-5)
    assert torch.all(x[:, :, s // 2 - 2] < x[:, :, s // 2 + 1])


def test_invalid_prompts_are_one_sentence(predictor: HfSamPredictor, image: np.ndarray) -> None:
    emb = predictor.encode(image)
    with pytest.raises(ValueError, match="no prompt"):
        predictor.predict(emb)
    with pytest.raises(ValueError, match=f"{predictor.low_res}x{predictor.low_res}"):
        predictor.predict(emb, mask_input=np.zeros((300, 300), np.float32))
    other = type(emb)(model_id="mobile_sam", features=emb.features, original_size=emb.original_size,
                      input_size=emb.input_size, early_features=emb.early_features)
    with pytest.raises(ValueError, match="re-encode"):
        predictor.predict(other, points=[[1.0, 1.0]], labels=[1])


def test_encode_stops_when_asked(predictor: HfSamPredictor, image: np.ndarray) -> None:
    from sam_backend.errors import EncodeAborted

    calls = []

    def abort_on_third() -> bool:
        calls.append(1)
        return len(calls) >= 3

    with pytest.raises(EncodeAborted):
        predictor.encode(image, should_abort=abort_on_third)
    assert len(calls) == 3  # polled between encoder blocks, not only before the encode
    emb = predictor.encode(image, should_abort=lambda: False)  # usable again afterwards
    assert emb.features.shape[0] == 1
