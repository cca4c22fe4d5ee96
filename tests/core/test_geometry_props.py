"""Property tests (hypothesis): exact mask -> polygons -> mask round trip, validity, simplification
bounds, and COCO corner outlines reproduced by pycocotools."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycocotools import mask as coco_mask

from shapely.geometry import Point as SPoint

from app.core.geometry import (
    iou,
    mask_to_corner_polygons,
    mask_to_parts,
    part_to_polygon,
    parts_to_corner_polygons,
    parts_to_mask,
)
from app.core.model import Part

# pycocotools' decode under numpy 2 warns on every call; not this project's code
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_shape = st.tuples(st.integers(1, 70), st.integers(1, 70))
_item = st.tuples(
    st.sampled_from(["rect", "disk"]),
    st.booleans(),  # add (True) or cut a hole (False)
    st.floats(0, 1),
    st.floats(0, 1),
    st.integers(0, 25),
    st.integers(0, 25),
)


@st.composite
def blob_masks(draw: st.DrawFn) -> np.ndarray:
    """Unions of rectangles and disks, minus rectangles and disks (holes, islands, several parts)."""
    h, w = draw(_shape)
    m = np.zeros((h, w), np.uint8)
    for kind, add, fx, fy, a, b in draw(st.lists(_item, min_size=1, max_size=8)):
        x, y = int(fx * w), int(fy * h)
        if kind == "rect":
            cv2.rectangle(m, (x, y), (x + a, y + b), int(add), -1)
        else:
            cv2.circle(m, (x, y), a // 2, int(add), -1)
    return m.astype(bool)


@st.composite
def noise_masks(draw: st.DrawFn) -> np.ndarray:
    """Pure random pixels: specks, one-pixel lines, diagonal-only contacts everywhere."""
    h, w = draw(st.tuples(st.integers(1, 24), st.integers(1, 24)))
    seed = draw(st.integers(0, 2**31))
    density = draw(st.floats(0.05, 0.95))
    return np.random.default_rng(seed).random((h, w)) < density


def _check_exact(m: np.ndarray) -> None:
    parts = mask_to_parts(m, simplify=False)
    assert np.array_equal(parts_to_mask(parts, *m.shape), m)
    for p in parts:
        poly = part_to_polygon(p)
        assert len(p.exterior) >= 3 and all(len(r) >= 3 for r in p.holes)
        assert poly.is_valid and poly.area > 0


@SETTINGS
@given(blob_masks())
def test_blob_round_trip_is_exact(m: np.ndarray) -> None:
    _check_exact(m)


@SETTINGS
@given(noise_masks())
def test_noise_round_trip_is_exact(m: np.ndarray) -> None:
    _check_exact(m)


@SETTINGS
@given(blob_masks(), st.sampled_from([0.95, 0.98, 0.995]))
def test_simplified_parts_keep_min_iou(m: np.ndarray, min_iou: float) -> None:
    parts = mask_to_parts(m, simplify=True, min_iou=min_iou)
    for p in parts:
        assert part_to_polygon(p).is_valid
    # every part keeps IoU >= min_iou with its own pixels, so the whole mask does too (up to the
    # pixels where two simplified neighbours overlap)
    assert iou(parts_to_mask(parts, *m.shape), m) >= min_iou - 0.01


def _filled(m: np.ndarray) -> np.ndarray:
    cs, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    out = np.zeros(m.shape, np.uint8)
    cv2.drawContours(out, cs, -1, 1, thickness=-1)
    return out.astype(bool)


def _coco_decode(polys: list[list[float]], h: int, w: int) -> np.ndarray:
    rle = coco_mask.merge(coco_mask.frPyObjects(polys, h, w))
    return coco_mask.decode(rle).astype(bool)


@SETTINGS
@given(st.one_of(blob_masks(), noise_masks()))
def test_corner_polygons_reproduce_mask_under_pycocotools(m: np.ndarray) -> None:
    polys = mask_to_corner_polygons(m)
    if not m.any():
        assert polys == []
        return
    for ring in polys:
        assert len(ring) >= 6 and len(ring) % 2 == 0
    assert np.array_equal(_coco_decode(polys, *m.shape), _filled(m))


def test_corner_polygons_of_disks_of_every_size_are_exact() -> None:
    for r in (0, 1, 2, 4, 10, 25, 60):
        m = np.zeros((130, 130), np.uint8)
        cv2.circle(m, (64, 64), r, 1, -1)
        mask = m.astype(bool)
        got = _coco_decode(mask_to_corner_polygons(mask), 130, 130)
        assert iou(got, mask) == 1.0, r


def test_parts_to_corner_polygons_matches_pycocotools() -> None:
    m = np.zeros((50, 60), np.uint8)
    cv2.circle(m, (20, 20), 9, 1, -1)
    cv2.rectangle(m, (35, 30), (55, 45), 1, -1)
    mask = m.astype(bool)
    parts = mask_to_parts(mask, simplify=False)
    polys = parts_to_corner_polygons(parts, 50, 60)
    assert len(polys) == 2
    assert np.array_equal(_coco_decode(polys, 50, 60), mask)


@st.composite
def star_polygons(draw: st.DrawFn) -> Part:
    """Simple polygons (vertices sorted by angle around a centre) with integer, half-integer or
    arbitrary float vertices: general slopes, vertices and edges exactly on pixel centres."""
    step = draw(st.sampled_from([1.0, 0.5, 0.0]))
    n = draw(st.integers(3, 9))
    angles = sorted(draw(st.lists(st.floats(0, 2 * np.pi, exclude_max=True), min_size=n, max_size=n, unique=True)))
    radii = draw(st.lists(st.floats(0.5, 9), min_size=n, max_size=n))
    cx, cy = draw(st.floats(2, 14)), draw(st.floats(2, 14))
    pts = []
    for a, r in zip(angles, radii):
        x, y = cx + r * np.cos(a), cy + r * np.sin(a)
        if step:
            x, y = round(x / step) * step, round(y / step) * step
        pts.append((float(x), float(y)))
    return Part(exterior=tuple(pts))


@SETTINGS
@given(star_polygons())
def test_float_rasterisation_is_exact_point_in_polygon(part: Part) -> None:
    poly = part_to_polygon(part)
    if not poly.is_valid or poly.area == 0:
        return
    m = parts_to_mask([part], 18, 18)
    for y in range(18):
        for x in range(18):
            assert m[y, x] == poly.covers(SPoint(x, y)), (x, y)
