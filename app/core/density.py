"""Polygon density: how closely the polygons stored for a mask follow its pixels (issue 13).

A tolerance is None ("Auto", the default: app.core.geometry.mask_to_parts with its IoU-bounded
ladder of 1.5 .. 0.35 px) or a distance in image pixels: 0 keeps the exact outline (lossless,
parts_to_mask gives the mask back), t > 0 simplifies every part of the exact outline with
Douglas-Peucker at distance t (GEOS, topology preserving), as labelme / X-AnyLabeling / ISAT let
their users tune "epsilon". Only the polygon outline changes: the mask (RLE) stays exact.

Qt-free and picklable: the accept service's worker process runs these.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import shapely
from shapely.geometry import Polygon

from app.core.geometry import mask_to_parts, part_to_polygon, polygon_to_parts
from app.core.model import Part

Tolerance = float | None  # None: Auto

MAX_TOLERANCE = 50.0  # px; larger values would turn most objects into triangles
# Steps of the coarser / finer keys (Auto sits before the exact outline).
TOLERANCE_STEPS: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
# GEOS' topology-preserving simplifier grows steeply with the number of rings (app.core.geometry:
# ~3 s for a part with thousands of holes). Parts above these limits are simplified ring by ring
# without the topology check, then repaired (shapely.make_valid) when the result is not valid.
_HEAVY_HOLES = 32
_HEAVY_VERTICES = 20_000


def check_tolerance(tolerance: object) -> Tolerance:
    """The tolerance as a float (or None for Auto); ValueError for anything else (negative, NaN,
    above MAX_TOLERANCE, not a number)."""
    if tolerance is None:
        return None
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)):
        raise ValueError(f"a polygon tolerance must be a number of pixels or None, got {tolerance!r}")
    value = float(tolerance)
    if not math.isfinite(value) or not 0.0 <= value <= MAX_TOLERANCE:
        raise ValueError(f"a polygon tolerance must be between 0 and {MAX_TOLERANCE:g} px, got {tolerance!r}")
    return value


def vertex_count(parts: Sequence[Part]) -> int:
    """Vertices of every ring (exteriors and holes) of `parts`."""
    return sum(len(p.exterior) + sum(len(h) for h in p.holes) for p in parts)


def simplify_part(part: Part, tolerance: float) -> tuple[Part, ...]:
    """`part` simplified at `tolerance` px (> 0): one Part normally; the exact part when the
    simplification is not a valid polygon with area; several when a heavy part had to be repaired."""
    poly = part_to_polygon(part)
    heavy = len(part.holes) > _HEAVY_HOLES or vertex_count((part,)) > _HEAVY_VERTICES
    simple = poly.simplify(tolerance, preserve_topology=not heavy)
    if heavy and not simple.is_valid:
        simple = shapely.make_valid(simple)
    if isinstance(simple, Polygon) and simple.is_valid and simple.area > 0:
        out = polygon_to_parts(simple)
        if len(out) == 1:
            return out
    elif heavy and not simple.is_empty:
        out = polygon_to_parts(simple)
        if out:
            return out
    return (part,)


def mask_to_parts_at(mask: np.ndarray, tolerance: Tolerance) -> tuple[Part, ...]:
    """Polygons of a bool (H, W) mask at a polygon density (see the module docstring)."""
    tol = check_tolerance(tolerance)
    if tol is None:
        return mask_to_parts(mask)
    exact = mask_to_parts(mask, simplify=False)
    if tol == 0.0:
        return exact
    return tuple(p for part in exact for p in simplify_part(part, tol))


def step_tolerance(tolerance: Tolerance, step: int) -> Tolerance:
    """One step coarser (step > 0) or finer (step < 0) on the ladder Auto -> 0 (exact) -> 0.5 -> ...
    -> 10 px (TOLERANCE_STEPS); a value between steps goes to the neighbouring step; the ends stay."""
    ladder: list[Tolerance] = [None, *TOLERANCE_STEPS]
    if tolerance is None:
        k = 0
    elif step > 0:
        if tolerance >= TOLERANCE_STEPS[-1]:
            return tolerance
        k = max(i for i, v in enumerate(ladder) if v is not None and v <= tolerance)
    else:
        k = min([i for i, v in enumerate(ladder) if v is not None and v >= tolerance] or [len(ladder)])
    return ladder[max(0, min(len(ladder) - 1, k + (1 if step > 0 else -1)))]
