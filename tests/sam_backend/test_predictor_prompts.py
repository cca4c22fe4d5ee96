"""SamPredictor.predict: every prompt kind, output contract, invalid prompts, SAM-HQ composition.

Uses randomly initialised networks and synthetic embeddings (no image encoding: fast)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sam_backend import ImageEmbedding, Prediction, SamPredictor, build_model

SMALL = dict(depth=2, embed_dim=64, num_heads=2, global_attn_indexes=[1], window_size=14)
H, W = 300, 420


@pytest.fixture(scope="module")
def predictor() -> SamPredictor:
    torch.manual_seed(0)
    model = build_model("sam_vit_b", config=SMALL)
    return SamPredictor(model, model.config.name, "cpu")


@pytest.fixture(scope="module")
def emb(predictor: SamPredictor) -> ImageEmbedding:
    g = torch.Generator().manual_seed(1)
    return ImageEmbedding(predictor.model_id, torch.randn(1, 256, 64, 64, generator=g), (H, W), (731, 1024))


def _check_contract(pred: Prediction, n: int) -> None:
    assert pred.masks.shape == (n, H, W) and pred.masks.dtype == np.bool_
    assert pred.scores.shape == (n,) and pred.scores.dtype == np.float32
    assert pred.low_res_logits.shape == (n, 256, 256) and pred.low_res_logits.dtype == np.float32
    for k in range(n):
        full = pred.logits(k)
        assert full.shape == (H, W) and full.dtype == np.float32
        decided = np.abs(full) > 1e-3
        assert np.array_equal(pred.masks[k][decided], (full > 0)[decided])


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(points=[(100, 80)], labels=[1]),
        dict(points=np.array([[100.0, 80.0], [300.0, 200.0]]), labels=np.array([1, 0])),
        dict(box=(50, 40, 250, 200)),
        dict(points=[(120, 90)], labels=[1], box=[50, 40, 250, 200]),
        dict(points=[(-30, 500)], labels=[1]),  # outside the image: accepted, as SAM does
    ],
)
@pytest.mark.parametrize("multimask", [True, False])
def test_prompt_kinds(predictor: SamPredictor, emb: ImageEmbedding, kwargs: dict, multimask: bool) -> None:
    pred = predictor.predict(emb, multimask=multimask, **kwargs)
    _check_contract(pred, 3 if multimask else 1)


def test_multimask_false_is_output_zero_and_true_is_outputs_one_to_three(predictor: SamPredictor, emb: ImageEmbedding) -> None:
    single = predictor.predict(emb, points=[(100, 80)], labels=[1], multimask=False)
    multi = predictor.predict(emb, points=[(100, 80)], labels=[1], multimask=True)
    assert not np.allclose(single.low_res_logits[0], multi.low_res_logits[0])
    assert len({float(s) for s in multi.scores}) == 3


def test_mask_input_round_trip_changes_result(predictor: SamPredictor, emb: ImageEmbedding) -> None:
    first = predictor.predict(emb, points=[(100, 80)], labels=[1])
    best = first.low_res_logits[int(np.argmax(first.scores))]
    again = predictor.predict(emb, points=[(100, 80)], labels=[1], mask_input=best[None])
    flat = predictor.predict(emb, points=[(100, 80)], labels=[1], mask_input=best)
    _check_contract(again, 3)
    assert np.array_equal(again.low_res_logits, flat.low_res_logits)
    assert not np.allclose(again.low_res_logits, first.low_res_logits)
    mask_only = predictor.predict(emb, mask_input=best, multimask=False)
    _check_contract(mask_only, 1)


def test_lists_tuples_and_arrays_agree(predictor: SamPredictor, emb: ImageEmbedding) -> None:
    a = predictor.predict(emb, points=[(100, 80), (300, 200)], labels=[1, 0])
    b = predictor.predict(emb, points=np.array([[100, 80], [300, 200]], np.int32), labels=(1, 0))
    assert np.array_equal(a.low_res_logits, b.low_res_logits)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(), "no prompt given"),
        (dict(points=[], labels=[]), "no prompt given"),
        (dict(points=[(1, 2), (3, 4)], labels=[1]), "2 point.* but 1 label"),
        (dict(points=[(1, 2)]), "points need labels"),
        (dict(labels=[1]), "no points"),
        (dict(points=[(float("nan"), 2)], labels=[1]), "NaN or infinite"),
        (dict(points=[(1, float("inf"))], labels=[1]), "NaN or infinite"),
        (dict(points=[(1, 2)], labels=[2]), "must be 1 .* or 0"),
        (dict(points=[(1, 2, 3)], labels=[1]), r"\(x, y\) pairs"),
        (dict(box=(10, 10, 5, 20)), "reversed"),
        (dict(box=(10, 30, 20, 20)), "reversed"),
        (dict(box=(1, 2, 3)), "got 3 number"),
        (dict(box=(0, 0, float("nan"), 5)), "NaN or infinite"),
        (dict(mask_input=np.zeros((64, 64), np.float32)), "1x256x256 or 256x256"),
        (dict(mask_input=np.zeros((256, 256), bool)), "float low-res logits"),
        (dict(points=[("a", 2)], labels=[1]), "must be numbers"),
    ],
)
def test_invalid_prompts(predictor: SamPredictor, emb: ImageEmbedding, kwargs: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        predictor.predict(emb, **kwargs)


def test_degenerate_box_is_accepted(predictor: SamPredictor, emb: ImageEmbedding) -> None:
    _check_contract(predictor.predict(emb, box=(60, 60, 60, 60), multimask=False), 1)


def test_embedding_of_another_model_is_refused(predictor: SamPredictor, emb: ImageEmbedding) -> None:
    other = ImageEmbedding("mobile_sam", emb.features, emb.original_size, emb.input_size)
    with pytest.raises(ValueError, match="made by model mobile_sam"):
        predictor.predict(other, points=[(1, 1)], labels=[1])


def test_embedding_of_another_family_is_refused(predictor: SamPredictor, emb: ImageEmbedding) -> None:
    """predict takes the families.Embedding protocol: one that is not this engine's ImageEmbedding
    (another family's, same model id) is refused with one sentence, not an AttributeError."""
    from sam_backend.families import Embedding

    class Foreign:
        model_id = emb.model_id
        original_size = emb.original_size

        def nbytes(self) -> int:
            return 0

    foreign = Foreign()
    assert isinstance(foreign, Embedding)
    with pytest.raises(ValueError, match="not made by this predictor"):
        predictor.predict(foreign, points=[(1, 1)], labels=[1])


def test_float16_cached_embedding_is_accepted(predictor: SamPredictor, emb: ImageEmbedding) -> None:
    half = ImageEmbedding(emb.model_id, emb.features.half(), emb.original_size, emb.input_size)
    a = predictor.predict(half, points=[(100, 80)], labels=[1])
    b = predictor.predict(emb, points=[(100, 80)], labels=[1])
    assert np.allclose(a.low_res_logits, b.low_res_logits, atol=0.05)


def test_logits_index_out_of_range(predictor: SamPredictor, emb: ImageEmbedding) -> None:
    pred = predictor.predict(emb, points=[(100, 80)], labels=[1], multimask=False)
    with pytest.raises(IndexError, match="candidate 1 does not exist"):
        pred.logits(1)


def test_hq_candidates_are_sam_outputs_plus_hq_logits() -> None:
    torch.manual_seed(3)
    model = build_model("sam_hq_vit_tiny")
    predictor = SamPredictor(model, "sam_hq_vit_tiny", "cpu")
    g = torch.Generator().manual_seed(4)
    feats = torch.randn(1, 256, 64, 64, generator=g)
    early = (torch.randn(1, 64, 64, 160, generator=g),)
    emb = ImageEmbedding("sam_hq_vit_tiny", feats, (H, W), (731, 1024), early)
    pred = predictor.predict(emb, points=[(100, 80)], labels=[1])
    _check_contract(pred, 3)
    pe = model.prompt_encoder
    with torch.inference_mode():
        coords = torch.tensor([[[100 * 1024 / W, 80 * 731 / H]]], dtype=torch.float32)
        sparse, dense = pe((coords, torch.tensor([[1]])), None, None)
        sam, iou, hq = model.mask_decoder(feats, pe.get_dense_pe(), sparse, dense, early)
    assert hq is not None
    np.testing.assert_allclose(pred.low_res_logits, (sam[0, 1:] + hq[0]).numpy(), atol=1e-5)
    np.testing.assert_allclose(pred.scores, iou[0, 1:].numpy(), atol=1e-6)
    without_early = ImageEmbedding("sam_hq_vit_tiny", feats, (H, W), (731, 1024))
    with pytest.raises(ValueError, match="early features"):
        predictor.predict(without_early, points=[(100, 80)], labels=[1])


def test_cached_image_work_matches_fresh_and_is_never_stale(predictor: SamPredictor, emb: ImageEmbedding) -> None:
    first = predictor.predict(emb, points=[(100, 80)], labels=[1])
    again = predictor.predict(emb, points=[(100, 80)], labels=[1])  # served from the per-embedding cache
    assert np.array_equal(first.low_res_logits, again.low_res_logits)
    fresh = SamPredictor(predictor.model, predictor.model_id, "cpu")
    assert np.array_equal(fresh.predict(emb, points=[(100, 80)], labels=[1]).low_res_logits, first.low_res_logits)
    other = ImageEmbedding(emb.model_id, emb.features.flip(-1).contiguous(), emb.original_size, emb.input_size)
    changed = predictor.predict(other, points=[(100, 80)], labels=[1])
    assert not np.allclose(changed.low_res_logits, first.low_res_logits)
    assert np.array_equal(predictor.predict(emb, points=[(100, 80)], labels=[1]).low_res_logits, first.low_res_logits)


def test_naive_reference_path_computes_the_same(predictor: SamPredictor, emb: ImageEmbedding) -> None:
    image = np.random.default_rng(5).integers(0, 256, (200, 260, 3), dtype=np.uint8)
    fast_emb = predictor.encode(image)
    fast = predictor.predict(emb, points=[(100, 80)], labels=[1], box=(20, 20, 300, 250))
    reference = SamPredictor(predictor.model, predictor.model_id, "cpu", fast=False)
    slow_emb = reference.encode(image)
    slow = reference.predict(emb, points=[(100, 80)], labels=[1], box=(20, 20, 300, 250))
    np.testing.assert_allclose(fast_emb.features.numpy(), slow_emb.features.numpy(), atol=1e-4)
    assert not np.array_equal(fast_emb.features.numpy(), slow_emb.features.numpy())  # two routes, own rounding
    np.testing.assert_allclose(fast.low_res_logits, slow.low_res_logits, atol=1e-4)
    np.testing.assert_allclose(fast.scores, slow.scores, atol=1e-5)
    decided = np.abs(slow.logits(0)) > 1e-3
    assert np.array_equal(fast.masks[0][decided], slow.masks[0][decided])


def test_encode_accepts_grayscale_and_refuses_floats(predictor: SamPredictor) -> None:
    from sam_backend import ImageFormatError

    gray = np.random.default_rng(6).integers(0, 256, (90, 120), dtype=np.uint8)
    a = predictor.encode(gray)
    b = predictor.encode(np.repeat(gray[:, :, None], 3, axis=2))
    assert a.original_size == (90, 120) and a.input_size == (768, 1024)
    assert torch.equal(a.features, b.features)
    with pytest.raises(ImageFormatError, match="float32"):
        predictor.encode(gray.astype(np.float32))
