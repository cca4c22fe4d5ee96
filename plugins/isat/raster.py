"""ISAT's polygon rasteriser, exactly: what ``ISAT.formats.voc.VOC.fill_polygon`` paints.

ISAT truncates every vertex to int (``int(p[0])``: toward zero) and fills with
``skimage.draw.polygon``, whose point test (O'Rourke, "Computational Geometry in C", 7) takes a
pixel when it is a vertex, or when the crossings of the ray to its right (r) and to its left (l),
counted over the edges that straddle its row with the half-open rules (y0 > y) != (y1 > y) and
(y0 < y) != (y1 < y), have an odd r or an odd l (odd r: inside; r and l of different parity: on an
edge). Zero-area rings therefore cover their vertices only, and boundary pixels of ordinary rings
are included. The bounding box is clipped to the image (and to ``window``) before anything is
allocated. Written with numpy (skimage is not a dependency); tests compare it with skimage.
"""
from __future__ import annotations

import numpy as np

_CHUNK = 4_000_000  # (edge, row) pairs handled at once: bounds memory for hostile polygons


def _spans(r_lo: np.ndarray, r_hi: np.ndarray, n_max: int) -> list[np.ndarray]:
    """Edge indices split into chunks whose summed row spans stay below n_max."""
    spans = np.maximum(r_hi - r_lo + 1, 0)
    if spans.sum() <= n_max:
        return [np.arange(len(spans))]
    cuts = np.searchsorted(np.cumsum(spans), np.arange(n_max, int(spans.sum()) + n_max, n_max))
    out, start = [], 0
    for c in cuts:
        stop = max(int(c) + 1, start + 1)
        out.append(np.arange(start, min(stop, len(spans))))
        start = stop
        if start >= len(spans):
            break
    return out


def isat_polygon(points: np.ndarray, height: int, width: int,
                 window: tuple[int, int, int, int] | None = None) -> tuple[np.ndarray, int, int] | None:
    """ISAT's raster of one polygon as (bool crop, x0, y0) inside the image (and inside
    ``window`` = (x0, y0, x1, y1) inclusive, when given); None when it covers nothing there."""
    pts = np.trunc(np.asarray(points, np.float64).reshape(-1, 2))
    if pts.size == 0 or not np.isfinite(pts).all():
        return None
    xs, ys = pts[:, 0].astype(np.int64), pts[:, 1].astype(np.int64)
    c0, r0 = max(0, int(xs.min())), max(0, int(ys.min()))
    c1, r1 = min(width - 1, int(xs.max())), min(height - 1, int(ys.max()))
    if window is not None:
        c0, r0, c1, r1 = max(c0, window[0]), max(r0, window[1]), min(c1, window[2]), min(r1, window[3])
    if c1 < c0 or r1 < r0:
        return None
    rows, cols = r1 - r0 + 1, c1 - c0 + 1
    par_r = np.zeros((rows, cols + 1), np.uint8)
    par_l = np.zeros((rows, cols + 1), np.uint8)
    xa, ya = np.roll(xs, 1), np.roll(ys, 1)  # the previous vertex of each edge
    dy = ys - ya
    live = dy != 0
    xb, yb, xa, ya, dy = xs[live], ys[live], xa[live], ya[live], dy[live]
    lo, hi = np.minimum(ya, yb), np.maximum(ya, yb)
    for rule in ("r", "l"):
        # rows an edge straddles: r-rule [lo, hi - 1], l-rule [lo + 1, hi]
        e_lo = np.maximum(lo if rule == "r" else lo + 1, r0)
        e_hi = np.minimum(hi - 1 if rule == "r" else hi, r1)
        for idx in _spans(e_lo, e_hi, _CHUNK):
            span = np.maximum(e_hi[idx] - e_lo[idx] + 1, 0)
            if not span.any():
                continue
            edge = np.repeat(idx, span)
            y = np.arange(int(span.sum())) - np.repeat(np.cumsum(span) - span, span) + np.repeat(e_lo[idx], span)
            # crossing x = N / D exactly, D > 0
            den = ya[edge] - yb[edge]
            num = xb[edge] * den + (y - yb[edge]) * (xa[edge] - xb[edge])
            neg = den < 0
            num, den = np.where(neg, -num, num), np.where(neg, -den, den)
            if rule == "r":  # pixels x < crossing: x <= ceil(N/D) - 1
                last = -((-num) // den) - 1
                first = np.full_like(last, c0)
            else:  # pixels x > crossing: x >= floor(N/D) + 1
                first = num // den + 1
                last = np.full_like(first, c1)
            first, last = np.maximum(first, c0), np.minimum(last, c1)
            ok = first <= last
            target = par_r if rule == "r" else par_l
            np.bitwise_xor.at(target, (y[ok] - r0, first[ok] - c0), 1)
            np.bitwise_xor.at(target, (y[ok] - r0, last[ok] - c0 + 1), 1)
    inside = (np.bitwise_xor.accumulate(par_r, axis=1)[:, :cols] | np.bitwise_xor.accumulate(par_l, axis=1)[:, :cols])
    crop = inside.astype(bool)
    on = (xs >= c0) & (xs <= c1) & (ys >= r0) & (ys <= r1)
    crop[ys[on] - r0, xs[on] - c0] = True
    if not crop.any():
        return None
    return crop, c0, r0
