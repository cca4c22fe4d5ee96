"""Mutable working copy of an annotation's geometry for the edit tool (pure Python, no Qt).

Coordinates are image px (pixel centres at integers). A vertex is addressed by a VertexRef
(part index, ring index (0 = exterior, 1.. = holes), vertex index).
"""
from __future__ import annotations

import math
from typing import Iterator, NamedTuple, Sequence

from app.core.model import Part

MIN_RING_POINTS = 3


class VertexRef(NamedTuple):
    """Address of one vertex: part, ring (0 = exterior, k = hole k-1), index in the ring."""

    part: int
    ring: int
    index: int  # type: ignore[assignment]  # the field's name shadows tuple.index, which nothing here uses


class EdgeHit(NamedTuple):
    """The nearest edge of a ring: the edge from vertex `after` to the next one, the projected
    point (x, y) on it and its distance in image px."""

    part: int
    ring: int
    after: int
    x: float
    y: float
    distance: float


class EditableShape:
    """A list-of-lists copy of tuple[Part, ...] that the edit tool can change in place."""

    def __init__(self, parts: Sequence[Part]) -> None:
        self.rings: list[list[list[tuple[float, float]]]] = [
            [[(float(x), float(y)) for x, y in ring] for ring in (p.exterior, *p.holes)] for p in parts
        ]

    def to_parts(self) -> tuple[Part, ...]:
        """The current geometry as immutable Parts."""
        return tuple(Part(exterior=tuple(r[0]), holes=tuple(tuple(h) for h in r[1:])) for r in self.rings)

    def vertices(self) -> Iterator[tuple[VertexRef, tuple[float, float]]]:
        """Every vertex with its address, parts in order, exterior before holes."""
        for p, rings in enumerate(self.rings):
            for r, ring in enumerate(rings):
                for i, pt in enumerate(ring):
                    yield VertexRef(p, r, i), pt

    def point(self, ref: VertexRef) -> tuple[float, float]:
        """The position of a vertex."""
        return self.rings[ref.part][ref.ring][ref.index]

    def move_vertex(self, ref: VertexRef, x: float, y: float) -> None:
        """Put a vertex at (x, y)."""
        self.rings[ref.part][ref.ring][ref.index] = (float(x), float(y))

    def insert_vertex(self, part: int, ring: int, after: int, x: float, y: float) -> VertexRef:
        """Insert (x, y) after vertex `after` of a ring; returns the new vertex's address."""
        self.rings[part][ring].insert(after + 1, (float(x), float(y)))
        return VertexRef(part, ring, after + 1)

    def remove_vertex(self, ref: VertexRef) -> bool:
        """Remove a vertex unless its ring would drop below 3 points; True when removed."""
        ring = self.rings[ref.part][ref.ring]
        if len(ring) <= MIN_RING_POINTS:
            return False
        del ring[ref.index]
        return True

    def translate(self, dx: float, dy: float) -> None:
        """Move every ring by (dx, dy)."""
        self.rings = [[[(x + dx, y + dy) for x, y in ring] for ring in rings] for rings in self.rings]

    def nearest_vertex(self, x: float, y: float, tolerance: float) -> VertexRef | None:
        """The vertex closest to (x, y) within `tolerance` image px, or None."""
        best: VertexRef | None = None
        best_d = tolerance
        for ref, (vx, vy) in self.vertices():
            d = math.hypot(vx - x, vy - y)
            if d <= best_d:
                best, best_d = ref, d
        return best

    def nearest_edge(self, x: float, y: float, tolerance: float) -> EdgeHit | None:
        """The edge (closed rings) closest to (x, y) within `tolerance` image px, or None."""
        best: EdgeHit | None = None
        for p, rings in enumerate(self.rings):
            for r, ring in enumerate(rings):
                n = len(ring)
                for i in range(n):
                    (ax, ay), (bx, by) = ring[i], ring[(i + 1) % n]
                    px, py, d = project_on_segment(x, y, ax, ay, bx, by)
                    if d <= tolerance and (best is None or d < best.distance):
                        best = EdgeHit(p, r, i, px, py, d)
        return best


def project_on_segment(x: float, y: float, ax: float, ay: float, bx: float,
                       by: float) -> tuple[float, float, float]:
    """The point of segment A-B closest to (x, y), and its distance: (px, py, distance)."""
    vx, vy = bx - ax, by - ay
    length2 = vx * vx + vy * vy
    t = 0.0 if length2 == 0.0 else ((x - ax) * vx + (y - ay) * vy) / length2
    t = min(max(t, 0.0), 1.0)
    px, py = ax + t * vx, ay + t * vy
    return px, py, math.hypot(x - px, y - py)
