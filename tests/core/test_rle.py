"""COCO RLE encode/decode: exact round trip, JSON-ready output, uncompressed counts, bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as coco_mask

from app.core.rle import mask_to_rle, rle_to_mask


def _uncompressed(m: np.ndarray) -> dict:
    """Column-major runs starting with zeros, written independently of pycocotools."""
    flat = m.astype(np.uint8).ravel(order="F")
    counts: list[int] = []
    current, run = 0, 0
    for v in flat:
        if v == current:
            run += 1
        else:
            counts.append(run)
            current, run = int(v), 1
    counts.append(run)
    return {"size": [m.shape[0], m.shape[1]], "counts": counts}


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**31), st.floats(0, 1))
def test_round_trip_is_exact(h: int, w: int, seed: int, density: float) -> None:
    m = np.random.default_rng(seed).random((h, w)) < density
    rle = mask_to_rle(m)
    assert rle["size"] == [h, w] and isinstance(rle["counts"], str)
    back = rle_to_mask(json.loads(json.dumps(rle)))
    assert back.dtype == np.bool_ and back.flags.c_contiguous
    assert np.array_equal(back, m)
    assert np.array_equal(rle_to_mask(_uncompressed(m)), m)


def test_matches_pycocotools_and_accepts_bytes() -> None:
    m = np.zeros((30, 20), bool)
    m[3:9, 4:15] = True
    m[20, 0] = True
    rle = mask_to_rle(m)
    ref = coco_mask.encode(np.asfortranarray(m.astype(np.uint8)))
    assert rle["counts"] == ref["counts"].decode("ascii")
    assert int(coco_mask.area(ref)) == int(m.sum())
    assert np.array_equal(rle_to_mask({"size": [30, 20], "counts": ref["counts"]}), m)
    # non-bool input: non-zero is foreground
    assert mask_to_rle(m.astype(np.uint8) * 7) == rle


def test_uncompressed_counts_must_add_up() -> None:
    with pytest.raises(ValueError, match="add up to 5, expected 2x3 = 6"):
        rle_to_mask({"size": [2, 3], "counts": [2, 3]})
    with pytest.raises(ValueError, match="add up to 7"):
        rle_to_mask({"size": [2, 3], "counts": [4, 3]})
    with pytest.raises(ValueError, match="negative"):
        rle_to_mask({"size": [2, 3], "counts": [7, -1]})
    assert rle_to_mask({"size": [2, 3], "counts": [1, 2, 3]}).tolist() == [[False, True, False], [True, False, False]]


def test_compressed_counts_must_match_size() -> None:
    m = np.ones((4, 5), bool)
    rle = mask_to_rle(m)
    with pytest.raises(ValueError, match="expected 5x5"):
        rle_to_mask({"size": [5, 5], "counts": rle["counts"]})
    with pytest.raises(ValueError, match="alphabet"):
        rle_to_mask({"size": [4, 5], "counts": "!!"})


@pytest.mark.parametrize(
    "bad",
    [None, {}, {"size": [3], "counts": ""}, {"size": [3, -1], "counts": []}, {"size": [2, 2], "counts": 5}],
)
def test_malformed_rle_is_a_value_error(bad: object) -> None:
    with pytest.raises(ValueError):
        rle_to_mask(bad)  # type: ignore[arg-type]


def test_empty_and_non_2d() -> None:
    assert rle_to_mask({"size": [0, 0], "counts": []}).shape == (0, 0)
    with pytest.raises(ValueError, match="2-D"):
        mask_to_rle(np.zeros((2, 2, 2), bool))
