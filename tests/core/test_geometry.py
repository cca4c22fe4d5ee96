"""Mask <-> polygon conversion: conventions, holes, specks, simplification, boxes, IoU."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from shapely.geometry import Point as SPoint

from app.core.geometry import (
    annotation_mask,
    iou,
    mask_bbox,
    mask_to_parts,
    part_to_polygon,
    parts_area,
    parts_bbox,
    parts_to_mask,
    polygon_to_parts,
    translate_parts,
)
from app.core.model import Annotation, Part
from app.core.rle import mask_to_rle


def _disk(h: int, w: int, cx: int, cy: int, r: int) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    cv2.circle(m, (cx, cy), r, 1, -1)
    return m.astype(bool)


def _roundtrip(m: np.ndarray) -> tuple[Part, ...]:
    parts = mask_to_parts(m, simplify=False)
    back = parts_to_mask(parts, *m.shape)
    assert back.dtype == np.bool_ and back.shape == m.shape
    assert np.array_equal(back, m), f"{np.argwhere(back != m)[:5]}"
    for p in parts:
        assert len(p.exterior) >= 3 and all(len(h) >= 3 for h in p.holes)
        poly = part_to_polygon(p)
        assert poly.is_valid and poly.area > 0
    return parts


def test_square_outline_runs_through_boundary_pixel_centres() -> None:
    m = np.zeros((10, 12), bool)
    m[2:6, 3:9] = True  # rows 2..5, cols 3..8
    (part,) = _roundtrip(m)
    assert set(part.exterior) == {(3.0, 2.0), (8.0, 2.0), (8.0, 5.0), (3.0, 5.0)}
    assert part.holes == ()


def test_hole_ring_runs_through_hole_pixels_not_foreground() -> None:
    m = np.zeros((20, 20), bool)
    m[2:15, 3:17] = True
    m[6:9, 7:12] = False  # hole: rows 6..8, cols 7..11
    (part,) = _roundtrip(m)
    assert len(part.holes) == 1
    for x, y in part.holes[0]:
        assert not m[int(y), int(x)], "hole vertices must be background pixel centres"
    assert set(part.holes[0]) == {(7.0, 6.0), (11.0, 6.0), (11.0, 8.0), (7.0, 8.0)}
    # the foreground ring around the hole survives (the naive cv2 hole contour would erase it)
    assert parts_to_mask((part,), 20, 20)[5, 7:12].all()


def test_island_inside_hole_is_its_own_part() -> None:
    m = _disk(60, 60, 30, 30, 25)
    m &= ~_disk(60, 60, 30, 30, 15)
    m |= _disk(60, 60, 30, 30, 6)
    parts = _roundtrip(m)
    assert len(parts) == 2
    assert sorted(len(p.holes) for p in parts) == [0, 1]


@pytest.mark.parametrize(
    "pixels",
    [
        [(5, 5)],  # one pixel
        [(5, 5), (6, 5)],  # two, horizontal
        [(5, 5), (5, 6)],  # two, vertical
        [(5, 5), (6, 6)],  # two, diagonal
        [(2, 5), (3, 5), (4, 5), (5, 5), (6, 5)],  # one-pixel-wide line
        [(2, 2), (3, 3), (4, 4), (5, 5)],  # diagonal line
        [(2, 2), (3, 2), (4, 3), (4, 4), (4, 5)],  # bent line
    ],
)
def test_specks_and_lines_become_small_valid_rings(pixels: list[tuple[int, int]]) -> None:
    m = np.zeros((12, 12), bool)
    for x, y in pixels:
        m[y, x] = True
    parts = _roundtrip(m)
    poly = part_to_polygon(parts[0])
    for x, y in pixels:
        assert poly.covers(SPoint(x, y))
    # the ring stays within half a pixel of the pixel centres it outlines
    x0, y0, x1, y1 = parts_bbox(parts)
    assert x0 >= min(p[0] for p in pixels) - 0.5 - 1e-9 and x1 <= max(p[0] for p in pixels) + 0.5 + 1e-9
    assert y0 >= min(p[1] for p in pixels) - 0.5 - 1e-9 and y1 <= max(p[1] for p in pixels) + 0.5 + 1e-9


def test_one_pixel_hole_and_blob_with_spike() -> None:
    m = np.zeros((20, 20), bool)
    m[3:12, 3:12] = True
    m[7, 7] = False  # one-pixel hole
    m[7, 12:18] = True  # one-pixel-wide spike
    parts = _roundtrip(m)
    assert len(parts) == 1 and len(parts[0].holes) == 1


def test_one_part_per_8_connected_component() -> None:
    rng = np.random.default_rng(5)
    m = np.zeros((80, 80), np.uint8)
    for _ in range(8):
        cx, cy = (int(v) for v in rng.integers(5, 75, 2))
        cv2.circle(m, (cx, cy), int(rng.integers(2, 8)), 1, -1)
    n_components = cv2.connectedComponents(m, connectivity=8)[0] - 1
    parts = _roundtrip(m.astype(bool))
    assert len(parts) == n_components


def test_diagonal_touching_squares_round_trip() -> None:
    m = np.zeros((12, 12), bool)
    m[1:4, 1:4] = True
    m[4:8, 4:8] = True
    _roundtrip(m)


def test_empty_and_bad_masks() -> None:
    assert mask_to_parts(np.zeros((5, 5), bool)) == ()
    assert mask_to_parts(np.zeros((0, 0), bool)) == ()
    with pytest.raises(ValueError, match="2-D"):
        mask_to_parts(np.zeros((4, 4, 3), bool))
    with pytest.raises(ValueError, match="min_iou"):
        mask_to_parts(np.ones((4, 4), bool), min_iou=0.0)


def test_non_bool_masks_are_accepted() -> None:
    m = np.zeros((10, 10), np.uint8)
    m[2:5, 2:7] = 255
    assert np.array_equal(parts_to_mask(mask_to_parts(m, simplify=False), 10, 10), m > 0)


def test_simplify_reduces_vertices_and_keeps_iou() -> None:
    m = _disk(400, 400, 200, 200, 150)
    exact = mask_to_parts(m, simplify=False)
    simple = mask_to_parts(m, simplify=True)
    assert sum(len(p.exterior) for p in simple) < sum(len(p.exterior) for p in exact) / 3
    assert iou(parts_to_mask(simple, 400, 400), m) >= 0.98
    strict = mask_to_parts(m, simplify=True, min_iou=0.999)
    assert iou(parts_to_mask(strict, 400, 400), m) >= 0.999
    assert part_to_polygon(simple[0]).is_valid


def test_simplify_keeps_holes() -> None:
    m = _disk(300, 300, 150, 150, 120) & ~_disk(300, 300, 150, 150, 50)
    (part,) = mask_to_parts(m, simplify=True)
    assert len(part.holes) == 1
    assert iou(parts_to_mask((part,), 300, 300), m) >= 0.98


def test_tiny_objects_are_not_simplified() -> None:
    m = _disk(40, 40, 20, 20, 8)  # ~200 px
    assert mask_to_parts(m, simplify=True) == mask_to_parts(m, simplify=False)


def test_parts_to_mask_subtracts_holes_and_clips() -> None:
    part = Part(
        exterior=((-5.0, -5.0), (9.0, -5.0), (9.0, 9.0), (-5.0, 9.0)),
        holes=(((2.0, 2.0), (4.0, 2.0), (4.0, 4.0), (2.0, 4.0)),),
    )
    m = parts_to_mask([part], 8, 6)
    expected = np.ones((8, 6), bool)
    expected[2:5, 2:5] = False
    assert np.array_equal(m, expected)
    # overlapping parts are a union; an island in another part's hole is kept
    island = Part(exterior=((3.0, 3.0), (3.0, 3.0), (3.0, 3.0)))
    assert parts_to_mask([part, island], 8, 6)[3, 3]
    with pytest.raises(ValueError):
        parts_to_mask([part], -1, 5)


def test_parts_to_mask_float_triangle_matches_point_in_polygon() -> None:
    part = Part(exterior=((1.3, 1.7), (17.6, 4.2), (6.1, 15.9)))
    m = parts_to_mask([part], 20, 20)
    poly = part_to_polygon(part)
    for y in range(20):
        for x in range(20):
            d = poly.exterior.distance(SPoint(x, y))
            if d > 0.6:  # away from the edges the rule is plain point-in-polygon
                assert m[y, x] == poly.contains(SPoint(x, y)), (x, y)


def test_boxes_area_iou_translate() -> None:
    m = np.zeros((10, 10), bool)
    assert mask_bbox(m) is None
    m[2:5, 3:8] = True
    assert mask_bbox(m) == (3, 2, 7, 4)
    parts = mask_to_parts(m, simplify=False)
    assert parts_bbox(parts) == (3.0, 2.0, 7.0, 4.0)
    assert parts_area(parts) == pytest.approx(4.0 * 2.0)
    with pytest.raises(ValueError):
        parts_bbox(())
    moved = translate_parts(parts, 1.5, -2.0)
    assert parts_bbox(moved) == (4.5, 0.0, 8.5, 2.0)
    other = np.zeros((10, 10), bool)
    other[2:5, 3:6] = True
    assert iou(m, other) == pytest.approx(9 / 15)
    assert iou(np.zeros((3, 3), bool), np.zeros((3, 3), bool)) == 1.0
    with pytest.raises(ValueError, match="shape"):
        iou(m, np.zeros((3, 3), bool))


def test_annotation_mask_prefers_rle() -> None:
    m = _disk(30, 40, 20, 15, 9)
    m[15, 20] = False  # detail the polygon of a square would not have
    square = Part(exterior=((0.0, 0.0), (5.0, 0.0), (5.0, 5.0), (0.0, 5.0)))
    with_rle = Annotation(image_id=1, label_id=1, parts=(square,), rle=mask_to_rle(m))
    assert np.array_equal(annotation_mask(with_rle, 30, 40), m)
    without = Annotation(image_id=1, label_id=1, parts=(square,))
    assert annotation_mask(without, 30, 40).sum() == 36
    with pytest.raises(ValueError, match="40x30"):
        annotation_mask(with_rle, 40, 30)


def test_polygon_to_parts_keeps_polygons_and_drops_lines() -> None:
    from shapely.geometry import GeometryCollection, LineString, MultiPolygon, Polygon

    a = Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (2, 1), (2, 2)]])
    b = Polygon([(10, 10), (12, 10), (11, 12)])
    parts = polygon_to_parts(GeometryCollection([MultiPolygon([a, b]), LineString([(0, 0), (5, 5)])]))
    assert len(parts) == 2
    assert parts[0].exterior[0] != parts[0].exterior[-1]  # not closed
    assert len(parts[0].holes) == 1 and parts[1].holes == ()
    assert parts_area(parts) == pytest.approx(16 - 0.5 + 2)


def test_parts_with_many_holes_keep_their_exact_outline() -> None:
    """Topology-preserving simplification of a part with many holes costs seconds (and holds the GIL),
    so such parts are kept exact; parts with few holes are still simplified."""
    yy, xx = np.mgrid[0:400, 0:400]
    disk = (xx - 200) ** 2 + (yy - 200) ** 2 <= 180 ** 2
    many = disk.copy()
    for k in range(40):
        cx, cy = 80 + (k % 8) * 30, 110 + (k // 8) * 40
        many[cy:cy + 3, cx:cx + 3] = False
    few = disk.copy()
    few[190:195, 190:195] = False
    exact_many = mask_to_parts(many, simplify=False)
    assert len(exact_many[0].holes) == 40
    assert mask_to_parts(many, simplify=True) == exact_many
    assert np.array_equal(parts_to_mask(mask_to_parts(many), 400, 400), many)
    simple_few = mask_to_parts(few, simplify=True)
    exact_few = mask_to_parts(few, simplify=False)
    assert len(simple_few[0].exterior) < len(exact_few[0].exterior)
