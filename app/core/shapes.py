"""Vector shapes (rectangle, circle) as polygons, and the point-count rules of each shape kind.

Coordinates: pixel-centre image pixels (app.core.model). A rectangle ((x0, y0), (x1, y1)) covers
the pixels whose centres lie inside or on it (labelme's inclusive rectangle for integer corners);
a circle (centre, rim point) is approximated by a polygon whose chords stay within ``tolerance``
pixels of the true circle (the rasterised masks of imported circles are kept exactly as the
producing tool drew them, in the annotation's RLE).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from app.core.model import AREA_SHAPES, LINE_SHAPES, Part, Point

__all__ = ["circle_parts", "normalized_rectangle", "rectangle_parts", "shape_parts", "is_axis_aligned_box"]


def normalized_rectangle(a: Point, b: Point) -> tuple[Point, Point]:
    """((xmin, ymin), (xmax, ymax)) of two opposite corners given in any order."""
    (xa, ya), (xb, yb) = a, b
    return (min(xa, xb), min(ya, yb)), (max(xa, xb), max(ya, yb))


def rectangle_parts(a: Point, b: Point) -> tuple[Part, ...]:
    """The ring of an axis-aligned rectangle with opposite corners a and b (clockwise from
    top-left); a degenerate (zero-width or zero-height) rectangle is kept as such: rings need three
    points, so it is a ring through its corners with a repeated vertex."""
    (x0, y0), (x1, y1) = normalized_rectangle(a, b)
    ring: tuple[Point, ...]
    if x0 == x1 and y0 == y1:
        ring = ((x0, y0), (x0, y0), (x0, y0))
    elif x0 == x1 or y0 == y1:
        ring = ((x0, y0), (x1, y1), (x0, y0))
    else:
        ring = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
    return (Part(exterior=tuple((float(x), float(y)) for x, y in ring)),)


def circle_parts(centre: Point, rim: Point, tolerance: float = 0.25) -> tuple[Part, ...]:
    """A polygon of the circle through ``rim`` around ``centre`` whose chords deviate at most
    ``tolerance`` px from the circle (at least 8 and at most 720 vertices)."""
    cx, cy = float(centre[0]), float(centre[1])
    r = math.hypot(float(rim[0]) - cx, float(rim[1]) - cy)
    if r <= 0:
        return (Part(exterior=((cx, cy), (cx, cy), (cx, cy))),)
    step = 2 * math.acos(max(-1.0, 1 - tolerance / r)) if tolerance < r else math.pi / 4
    n = min(720, max(8, math.ceil(2 * math.pi / step)))
    ring = tuple((cx + r * math.cos(2 * math.pi * k / n), cy + r * math.sin(2 * math.pi * k / n)) for k in range(n))
    return (Part(exterior=ring),)


def shape_parts(shape: str, points: Sequence[Point]) -> tuple[Part, ...]:
    """The polygons of a rectangle or circle from its defining points; () for line shapes;
    ValueError for polygon/mask (their parts are their own) or a wrong number of points."""
    pts = [(float(x), float(y)) for x, y in points]
    if shape in LINE_SHAPES:
        return ()
    if shape == "rectangle" and len(pts) == 2:
        return rectangle_parts(pts[0], pts[1])
    if shape == "circle" and len(pts) == 2:
        return circle_parts(pts[0], pts[1])
    if shape in AREA_SHAPES:
        raise ValueError(f"a {shape} annotation is not defined by points alone.")
    raise ValueError(f"unknown shape kind {shape!r}.")


def is_axis_aligned_box(points: Sequence[Point]) -> bool:
    """True when 4 points are the corners of an axis-aligned rectangle in ring order (each edge
    horizontal or vertical; X-AnyLabeling writes rectangles so)."""
    if len(points) != 4:
        return False
    for k in range(4):
        (xa, ya), (xb, yb) = points[k], points[(k + 1) % 4]
        if xa != xb and ya != yb:
            return False
    xs = {p[0] for p in points}
    ys = {p[1] for p in points}
    return len(xs) <= 2 and len(ys) <= 2
