"""Counts, boxes and masks of candidates from low-res logits equal those of the reference
post-processing (torch, full resolution) on every path: blocks decided at low resolution,
undecided blocks evaluated piecewise, and the whole field when that is cheaper."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from sam_backend.amg import measure
from sam_backend.amg.rle import mask_box
from sam_backend.transforms import postprocess_logits_reference

SIZES = [((683, 1024), (1000, 1500)), ((768, 1024), (375, 500)), ((1024, 683), (1100, 733)), ((1024, 768), (64, 48))]


def _logits(kind: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "noise":  # like random weights: the contour is everywhere
        return (rng.standard_normal((n, 256, 256)) * 0.3).astype(np.float32)
    if kind == "smooth":  # object-like: long contours at every threshold
        raw = rng.standard_normal((n, 256, 256)).astype(np.float32)
        return np.stack([cv2.GaussianBlur(a, (0, 0), 6) * 60 for a in raw]).astype(np.float32)
    yy, xx = np.mgrid[0:256, 0:256]
    if kind == "blob":  # one small blob: a few pixels above 0
        return np.stack([(0.6 - np.hypot(yy - 40 - 7 * i, xx - 90 - 3 * i)) * 2.0 for i in range(n)]).astype(np.float32)
    if kind == "empty":
        return np.full((n, 256, 256), -3.0, np.float32)
    assert kind == "full"
    return np.full((n, 256, 256), 2.5, np.float32)


def _reference(low: np.ndarray, input_size: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    return postprocess_logits_reference(torch.from_numpy(low), input_size, size).numpy()


@pytest.mark.parametrize("input_size, size", SIZES)
@pytest.mark.parametrize("kind", ["noise", "smooth", "blob", "empty", "full"])
def test_counts_boxes_masks_equal_reference(input_size: tuple[int, int], size: tuple[int, int], kind: str) -> None:
    low = _logits(kind, 3, seed=len(kind))
    ref = _reference(low, input_size, size)
    cands = measure.Candidates(low, measure.frame_for(input_size, size))
    thresholds = [1.0, -1.0, 0.0, 0.25]
    counts = cands.counts_above(thresholds)
    boxes = cands.boxes(0.0)
    for i in range(3):
        assert counts[i].tolist() == [int((ref[i] > t).sum()) for t in thresholds]
        assert tuple(boxes[i]) == mask_box(ref[i] > 0)
        assert np.array_equal(cands.mask(i), ref[i] > 0)
    sub = cands.subset(np.array([2, 0]))
    assert sub.counts_above([0.0])[:, 0].tolist() == [int((ref[2] > 0).sum()), int((ref[0] > 0).sum())]


@pytest.mark.parametrize("piecewise", [True, False])
def test_piecewise_and_whole_field_paths_agree(monkeypatch: pytest.MonkeyPatch, piecewise: bool) -> None:
    """Force each path for every candidate (smooth logits would pick the piecewise one)."""
    monkeypatch.setattr(measure, "PIECEWISE_MIN_PIXELS", 10**9 if piecewise else 0)
    monkeypatch.setattr(measure, "PIECEWISE_MAX_FRACTION", 1.0 if piecewise else 0.0)
    calls = []
    whole_field = measure.torch_field
    monkeypatch.setattr(measure, "torch_field", lambda *a: calls.append(1) or whole_field(*a))
    input_size, size = SIZES[0]
    low = np.concatenate([_logits("smooth", 2, 5), _logits("noise", 1, 6)])
    ref = _reference(low, input_size, size)
    cands = measure.Candidates(low, measure.frame_for(input_size, size))
    counts = cands.counts_above([1.0, -1.0, 0.0])
    for i in range(3):
        assert counts[i].tolist() == [int((ref[i] > 1).sum()), int((ref[i] > -1).sum()), int((ref[i] > 0).sum())]
        assert np.array_equal(cands.mask(i), ref[i] > 0)
    assert len(calls) == (0 if piecewise else 6)  # counts once per candidate, masks once each


def test_frames_are_cached_and_checked() -> None:
    a = measure.frame_for((768, 1024), (375, 500))
    assert measure.frame_for((768, 1024), (375, 500)) is a
    assert a.exact_pieces  # a size whose torch kernel the piecewise evaluation reproduces
    assert a.piecewise_limit >= measure.PIECEWISE_MIN_PIXELS
