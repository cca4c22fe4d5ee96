"""Vectorised (numpy) geometry of one annotation for fast painting decisions and hit-testing.

Coordinates are image px (pixel centres at integers). Rings are numbered in drawing order: for
each part its exterior, then its holes. All vertices are stored in one float64 array so that
per-mouse-move queries (nearest vertex, point-in-shape, bounding boxes) need no Python loop over
the parts of an annotation with thousands of parts.
"""
from __future__ import annotations

from itertools import chain
from typing import Sequence

import numpy as np

from app.core.model import Part
from app.ui.canvas.editing import EdgeHit


class ShapeIndex:
    """Arrays over all rings of `parts`.

    verts:      (N, 2) float64 vertex coordinates, ring after ring.
    ring_start: (R + 1,) int64 offsets: ring r is verts[ring_start[r]:ring_start[r + 1]].
    ring_part, ring_local: (R,) int64 the part index and ring index within the part (0 = exterior).
    vert_ring:  (N,) int64 ring of each vertex; vert_next: (N,) index of the next vertex of its ring.
    part_bbox:  (P, 4) float64 x0, y0, x1, y1 of each part's exterior (rings with no points: NaN).
    part_extent: (P,) float64 the larger side of each part's bbox (image px).
    part_vertex_count: (P,) int64 number of vertices (= edges) of each part's rings.
    """

    def __init__(self, parts: Sequence[Part]) -> None:
        rings = [ring for part in parts for ring in (part.exterior, *part.holes)]
        lens = np.fromiter((len(r) for r in rings), dtype=np.int64, count=len(rings))
        per_part = np.fromiter((1 + len(p.holes) for p in parts), dtype=np.int64, count=len(parts))
        n = int(lens.sum())
        flat = np.fromiter(chain.from_iterable(chain.from_iterable(rings)), dtype=np.float64, count=2 * n)
        self._build(per_part, lens, flat.reshape(n, 2))

    @classmethod
    def from_arrays(cls, rings_per_part: np.ndarray, ring_lens: np.ndarray, verts: np.ndarray) -> "ShapeIndex":
        """The index of geometry given as arrays (app.core.codec.unpack_arrays of its blob): int64 (P,)
        rings per part, int64 (R,) vertices per ring, float64 (N, 2) vertices. Equal to
        ShapeIndex(parts) of the same geometry, built without touching a Python object per vertex."""
        index = cls.__new__(cls)
        index._build(np.asarray(rings_per_part, np.int64), np.asarray(ring_lens, np.int64),
                     np.ascontiguousarray(verts, dtype=np.float64).reshape(-1, 2))
        return index

    def _build(self, per_part: np.ndarray, lens: np.ndarray, verts: np.ndarray) -> None:
        n_parts, n_rings = len(per_part), len(lens)
        self.ring_part = np.repeat(np.arange(n_parts, dtype=np.int64), per_part)
        first_ring = np.cumsum(per_part) - per_part
        self.ring_local = np.arange(n_rings, dtype=np.int64) - np.repeat(first_ring, per_part)
        n = int(verts.shape[0])
        self.verts = verts
        self.ring_start = np.zeros(n_rings + 1, dtype=np.int64)
        np.cumsum(lens, out=self.ring_start[1:])
        self.vert_ring = np.repeat(np.arange(n_rings, dtype=np.int64), lens)
        idx = np.arange(n, dtype=np.int64)
        ends = self.ring_start[1:][self.vert_ring] if n else idx
        self.vert_next = np.where(idx + 1 == ends, self.ring_start[:-1][self.vert_ring] if n else idx, idx + 1)
        self.part_count = n_parts
        self._vertex_extent: np.ndarray | None = None
        self.part_bbox = np.full((n_parts, 4), np.nan)
        ext_rings = np.flatnonzero(self.ring_local == 0) if n_rings else np.zeros(0, np.int64)
        nonempty = ext_rings[lens[ext_rings] > 0] if len(ext_rings) else ext_rings
        if len(nonempty):
            starts = self.ring_start[nonempty]
            # reduceat runs to the next start: an exterior's segment also holds its holes (inside it)
            mins = np.minimum.reduceat(self.verts, starts, axis=0)
            maxs = np.maximum.reduceat(self.verts, starts, axis=0)
            self.part_bbox[self.ring_part[nonempty]] = np.hstack([mins, maxs])
        ring_lens = np.diff(self.ring_start)
        self.part_vertex_count = np.bincount(self.ring_part, weights=ring_lens,
                                             minlength=n_parts).astype(np.int64)
        self.part_extent = np.nan_to_num(np.maximum(self.part_bbox[:, 2] - self.part_bbox[:, 0],
                                                    self.part_bbox[:, 3] - self.part_bbox[:, 1]), nan=0.0)
        if n:
            lo, hi = self.verts.min(axis=0), self.verts.max(axis=0)
            self.bbox: tuple[float, float, float, float] | None = (float(lo[0]), float(lo[1]),
                                                                   float(hi[0]), float(hi[1]))
        else:
            self.bbox = None

    @property
    def vertex_count(self) -> int:
        """Number of vertices over all rings."""
        return int(self.verts.shape[0])

    def ring_count(self) -> int:
        """Number of rings (exteriors and holes)."""
        return int(self.ring_start.shape[0] - 1)

    def ring(self, r: int) -> np.ndarray:
        """The (n, 2) vertices of ring r (a view)."""
        return self.verts[self.ring_start[r]:self.ring_start[r + 1]]

    def vertex_ref(self, i: int) -> tuple[int, int, int]:
        """(part, ring within the part, index within the ring) of flat vertex i."""
        r = int(self.vert_ring[i])
        return int(self.ring_part[r]), int(self.ring_local[r]), int(i - self.ring_start[r])

    def vertex_index(self, part: int, ring: int, index: int) -> int:
        """Flat index of a vertex addressed by (part, ring within the part, index), or -1."""
        rings = np.flatnonzero((self.ring_part == part) & (self.ring_local == ring))
        if len(rings) != 1:
            return -1
        r = int(rings[0])
        start, stop = int(self.ring_start[r]), int(self.ring_start[r + 1])
        return start + index if 0 <= index < stop - start else -1

    def nearest_vertex(self, x: float, y: float, tolerance: float) -> int:
        """Flat index of the vertex closest to (x, y) within `tolerance` image px, or -1
        (the last one in ring order on ties, like EditableShape.nearest_vertex)."""
        if not self.vertex_count:
            return -1
        d2 = (self.verts[:, 0] - x) ** 2 + (self.verts[:, 1] - y) ** 2
        i = self.vertex_count - 1 - int(np.argmin(d2[::-1]))
        return i if d2[i] <= tolerance * tolerance else -1

    def contains(self, x: float, y: float) -> bool:
        """True when (x, y) is inside an odd number of rings (odd-even fill over the whole annotation:
        holes excluded). Only parts whose bbox contains the point are tested."""
        if self.bbox is None:
            return False
        x0, y0, x1, y1 = self.bbox
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return False
        b = self.part_bbox
        cand = np.flatnonzero((b[:, 0] <= x) & (x <= b[:, 2]) & (b[:, 1] <= y) & (y <= b[:, 3]))
        if not len(cand):
            return False
        rings = np.flatnonzero(np.isin(self.ring_part, cand))
        sel = np.isin(self.vert_ring, rings)
        a = self.verts[sel]
        b2 = self.verts[self.vert_next[sel]]
        ay, by = a[:, 1], b2[:, 1]
        crosses = (ay > y) != (by > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xs = a[:, 0] + (y - ay) * (b2[:, 0] - a[:, 0]) / (by - ay)
        return bool(np.count_nonzero(crosses & (x < xs)) % 2)

    def visible_parts(self, rect: tuple[float, float, float, float], min_extent: float) -> np.ndarray:
        """Indices of parts whose bbox meets rect (x0, y0, x1, y1) and whose extent >= min_extent."""
        x0, y0, x1, y1 = rect
        b = self.part_bbox
        ok = (b[:, 2] >= x0) & (b[:, 0] <= x1) & (b[:, 3] >= y0) & (b[:, 1] <= y1) & (self.part_extent >= min_extent)
        return np.flatnonzero(ok)

    def largest_within(self, parts: np.ndarray, max_segments: int) -> np.ndarray:
        """The largest (by extent) of `parts` whose rings have at most `max_segments` edges in all."""
        if not len(parts):
            return parts
        counts = self.part_vertex_count[parts]
        if int(counts.sum()) <= max_segments:
            return parts
        order = parts[np.argsort(-self.part_extent[parts], kind="stable")]
        keep = np.cumsum(self.part_vertex_count[order]) <= max_segments
        return order[keep]

    def segments(self, parts: np.ndarray) -> np.ndarray:
        """(2M, 2) endpoints of every edge of every ring of `parts` (pairs for QPainter.drawLines)."""
        sel = np.isin(self.vert_ring, np.flatnonzero(np.isin(self.ring_part, parts)))
        idx = np.flatnonzero(sel)
        out = np.empty((2 * len(idx), 2), dtype=np.float64)
        out[0::2] = self.verts[idx]
        out[1::2] = self.verts[self.vert_next[idx]]
        return out

    def vertex_extent(self) -> np.ndarray:
        """(N,) the extent of each vertex's part (image px), for level-of-detail of handles
        (computed once; the same array object on every call)."""
        if self._vertex_extent is None:
            self._vertex_extent = (self.part_extent[self.ring_part[self.vert_ring]] if self.vertex_count
                                   else np.zeros(0))
        return self._vertex_extent

    def nearest_edge(self, x: float, y: float, tolerance: float) -> EdgeHit | None:
        """The ring edge closest to (x, y) within `tolerance` image px (the first one on ties)."""
        if not self.vertex_count:
            return None
        a, b = self.verts, self.verts[self.vert_next]
        v = b - a
        len2 = (v * v).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(len2 > 0, ((x - a[:, 0]) * v[:, 0] + (y - a[:, 1]) * v[:, 1]) / len2, 0.0)
        t = np.clip(t, 0.0, 1.0)
        px, py = a[:, 0] + t * v[:, 0], a[:, 1] + t * v[:, 1]
        d = np.hypot(x - px, y - py)
        i = int(np.argmin(d))
        if d[i] > tolerance:
            return None
        part, ring, after = self.vertex_ref(i)
        return EdgeHit(part, ring, after, float(px[i]), float(py[i]), float(d[i]))
