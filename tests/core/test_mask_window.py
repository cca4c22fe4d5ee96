"""Masks converted from their bounding box only (the batch auto-labeller's store path): the same
RLE, polygons and outline as from the whole mask, character for character."""
from __future__ import annotations

import numpy as np
import pytest

from app.core.geometry import mask_to_parts
from app.core.mask_convert import convert_mask, convert_rle, convert_window
from app.core.rle import mask_to_rle, window_to_rle


def _random_windows(seed: int, n: int):
    """(mask, (x0, y0, x1, y1) window holding all of its foreground) of assorted kinds: pixel noise,
    disks with a hole and speckle, windows against every image edge and the full height."""
    rng = np.random.default_rng(seed)
    for t in range(n):
        h, w = (int(v) for v in rng.integers(1, 48, 2))
        y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
        y1, x1 = int(rng.integers(y0, h)) + 1, int(rng.integers(x0, w)) + 1
        if t % 4 == 1:
            y0, y1 = 0, h  # full height: runs continue from one column into the next
        if t % 4 == 2:
            x1, y1 = w, h  # against the bottom-right corner (the last pixel)
        m = np.zeros((h, w), bool)
        if t % 2 == 0:
            m[y0:y1, x0:x1] = rng.random((y1 - y0, x1 - x0)) < rng.random()
        else:
            yy, xx = np.mgrid[y0:y1, x0:x1]
            cx, cy, r = rng.uniform(x0, x1), rng.uniform(y0, y1), rng.uniform(1, 25)
            d = (xx - cx) ** 2 + (yy - cy) ** 2
            m[y0:y1, x0:x1] = ((d <= r * r) & (d > (r / 2) ** 2)) ^ (rng.random(d.shape) < 0.06)
        yield m, (x0, y0, x1, y1)


def test_window_rle_is_the_whole_mask_rle() -> None:
    for m, (x0, y0, x1, y1) in _random_windows(0, 400):
        assert window_to_rle(m[y0:y1, x0:x1], x0, y0, *m.shape) == mask_to_rle(m)


def test_window_rle_of_nothing_and_of_everything() -> None:
    assert window_to_rle(np.zeros((2, 3), bool), 1, 1, 5, 6) == mask_to_rle(np.zeros((5, 6), bool))
    assert window_to_rle(np.ones((5, 6), bool), 0, 0, 5, 6) == mask_to_rle(np.ones((5, 6), bool))


def test_window_must_fit_in_the_image() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        window_to_rle(np.ones((3, 3), bool), 4, 0, 5, 6)


def _same(a, b) -> bool:
    return a.geometry == b.geometry and a.rle == b.rle and a.outline == b.outline


def test_conversion_from_the_window_or_the_rle_is_the_whole_masks() -> None:
    for m, (x0, y0, x1, y1) in _random_windows(1, 300):
        want = convert_mask(m)
        assert _same(convert_window(m[y0:y1, x0:x1], x0, y0, *m.shape), want)
        assert _same(convert_rle(mask_to_rle(m)), want)


def test_conversion_of_a_large_object_with_simplified_outline() -> None:
    # large enough for the simplification ladder (>= 300 px), near the image edge (its clipping)
    h, w = 300, 400
    yy, xx = np.ogrid[0:h, 0:w]
    m = ((xx - 330) / 68.0) ** 2 + ((yy - 120) / 90.0) ** 2 <= 1
    m[100:110, 300:310] = False  # a hole
    want = convert_mask(m)
    assert _same(convert_rle(mask_to_rle(m)), want)
    assert _same(convert_window(m[20:220, 250:400], 250, 20, h, w), want)


def test_uncompressed_and_empty_rle() -> None:
    m = np.zeros((6, 7), bool)
    m[1:4, 2:6] = True
    flat = m.flatten(order="F").astype(np.int8)
    changes = np.flatnonzero(np.diff(np.concatenate(([0], flat))))
    counts = np.diff(np.concatenate(([0], changes, [flat.size]))).tolist()
    assert _same(convert_rle({"size": [6, 7], "counts": counts}), convert_mask(m))
    empty = convert_rle(mask_to_rle(np.zeros((6, 7), bool)))
    assert empty.geometry is None and empty.rle is None


def test_parts_of_a_window_are_in_image_coordinates() -> None:
    for m, (x0, y0, x1, y1) in _random_windows(2, 200):
        gx0, gy0 = max(x0 - 1, 0), max(y0 - 1, 0)
        gx1, gy1 = min(x1 + 1, m.shape[1]), min(y1 + 1, m.shape[0])
        got = mask_to_parts(m[gy0:gy1, gx0:gx1], origin=(gx0, gy0), image_size=m.shape)
        assert got == mask_to_parts(m)


def test_malformed_rle_is_refused() -> None:
    with pytest.raises(ValueError):
        convert_rle({"size": [4, 4], "counts": [3, 2]})
