"""Threshold-at-0 masks of a large bilinear upscale, computed only where the sign is in question.

A SAM mask is an object: most of a 12 MP candidate is far inside or far outside it. Every output
pixel of the (align_corners=False) bilinear resize is a convex combination of its 4 source taps, so
a pixel whose taps are all > 0 is inside whatever the weights, and one whose taps are all < 0 is
outside. The output is cut into tiles (source blocks aligned so that cv2 can resize each block with
the global mapping, see `sam_backend.transforms._row_strips`); a tile whose source block is all
clearly positive (or negative) is filled with True (False) without computing a single value, and
only the tiles along the outline are resized and thresholded as before (cv2, with the exact
recomputation of values near 0 when cv2's rounding could flip them).

The result is bit-identical to `transforms._resized_signs` on every pixel whose taps decide it and,
elsewhere, the same computation; tests/sam_backend/test_mask_tiles.py checks both.
Measured on object-like logits at 4000x3000 (2 cores): benchmarks/bench_peers.py `point_to_3_masks_4000x3000_object_like`.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator

import cv2
import numpy as np

from sam_backend import transforms
from sam_backend.transforms import Taps, _exact_at, _row_strips

MAX_MIXED = 0.5  # when more of the tiles than this hold the outline, tiling does not pay: None
TILE_SOURCE_PX = 32  # tile side in source pixels (about 125 output pixels at 12 MP)
Strip = tuple[int, int, int, int]


def _starts(strips: list[Strip], n: int) -> np.ndarray:
    """Source index where each strip's owned outputs start, then n (the end)."""
    return np.array([s[0] for s in strips] + [n], dtype=np.int64)


def _extrema(a: np.ndarray, rows: np.ndarray, cols: np.ndarray, reach: int) -> tuple[np.ndarray, np.ndarray]:
    """(min, max) of a (C, h, w) over every block [rows[i], rows[i+1] + reach] x [cols[j], cols[j+1]
    + reach] (inclusive, clamped at the edges) -> two (C, len(rows)-1, len(cols)-1) arrays."""
    c, h, w = a.shape
    n_r = len(rows) - 1
    lo = np.empty((c, n_r, w), dtype=a.dtype)
    hi = np.empty((c, n_r, w), dtype=a.dtype)
    for i in range(n_r):  # per strip of rows: contiguous reductions (reduceat across rows is 20x slower)
        slab = a[:, rows[i] : min(int(rows[i + 1]) + reach + 1, h)]
        np.min(slab, axis=1, out=lo[:, i])
        np.max(slab, axis=1, out=hi[:, i])
    # extrema of windows of reach + 2 neighbouring columns; reduceat over them then covers
    # cols[j] .. cols[j+1] + reach, the last block up to its end (the windows past it are cut off)
    for _ in range(reach + 1):
        if lo.shape[2] > 1:
            lo = np.concatenate([np.minimum(lo[:, :, :-1], lo[:, :, 1:]), lo[:, :, -1:]], axis=2)
            hi = np.concatenate([np.maximum(hi[:, :, :-1], hi[:, :, 1:]), hi[:, :, -1:]], axis=2)
    end = min(w, max(int(cols[-1]), int(cols[-2]) + 1))
    starts = np.minimum(cols[:-1], end - 1)
    return np.minimum.reduceat(lo[:, :, :end], starts, axis=2), np.maximum.reduceat(hi[:, :, :end], starts, axis=2)


def _block_extrema(up: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(min, max) of up (C, h, w) over every block [rows[i], rows[i+1]] x [cols[j], cols[j+1]]
    (both ends included: an output pixel owned by a block reads one source row and column past it,
    clamped at the edge) -> two (C, len(rows)-1, len(cols)-1) arrays."""
    return _extrema(up, rows, cols, 0)


def _low_span(starts: np.ndarray, factor: int, n_low: int) -> np.ndarray:
    """First low-res row (column) read by the up-grid rows [starts[i], ...]: an up row y of the
    factor-`factor` bilinear upscale (align_corners=False) reads low rows floor(s), floor(s) + 1 at
    s = (y + 0.5) / factor - 0.5, clamped at the edges."""
    s = np.floor(np.maximum((starts + 0.5) / factor - 0.5, 0.0)).astype(np.int64)
    return np.minimum(s, n_low - 1)


def _low_block_extrema(low: np.ndarray, factor: int, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of the up-grid values over every block of `_block_extrema` from the low-res logits
    (C, n, n) they are upsampled from: each up value is a convex combination of its 2x2 low taps,
    so the extrema of the taps of a block bound it. Block [rows[i], rows[i+1]] reads low rows
    span[i] .. span[i+1] + 1 (the taps of its last row); same for columns. 16x fewer values than
    reading the up grid (3 x 768 x 1024 at 4000x3000: 1.4 ms -> 0.1 ms)."""
    r, c = _low_span(rows, factor, low.shape[1]), _low_span(cols, factor, low.shape[2])
    return _extrema(low, r, c, 1)


def tiled_signs(up: np.ndarray, original_size: tuple[int, int], taps: Taps, decided_beyond: float,
                recompute_within: float | None, low: np.ndarray | None = None) -> np.ndarray | None:
    """Bool (C, H, W) masks of the resize of up (C, h, w) to original_size, or None when tiling
    does not pay (the outline crosses most tiles, or the sizes admit no aligned tiles).

    decided_beyond: a source value > this (< -this) is surely > 0 (< 0) in the reference's own
    upscale (`up`'s error bound); recompute_within: as `_resized_signs` (values of cv2 within this
    of 0 are recomputed exactly; None when cv2's rounding cannot flip a decided sign).
    """
    H, W = original_size
    c, h, w = up.shape
    row_strips, col_strips = _row_strips(h, H, TILE_SOURCE_PX), _row_strips(w, W, TILE_SOURCE_PX)
    if len(row_strips) < 2 or len(col_strips) < 2:
        return None
    rows, cols = _starts(row_strips, h), _starts(col_strips, w)
    if low is not None:
        lo, hi = _low_block_extrema(low, transforms.IMG_SIZE // transforms.LOW_RES, rows, cols)
        decided_beyond = 0.0
    else:
        lo, hi = _block_extrema(up, rows, cols)
    thr = np.float32(max(decided_beyond, 1e-30))  # > 0: weights times tap values cannot underflow to 0
    inside, outside = lo > thr, hi < -thr
    mixed = ~(inside | outside)
    if mixed.mean() > MAX_MIXED:
        return None
    # zeroed by the allocator (fresh zero pages from the kernel for large arrays): the tiles outside
    # the mask are never written, which is most of the cost saved at 12 MP (the page faults of writing)
    out = np.zeros((c, H, W), dtype=np.bool_)
    pieces = [(k, i) for k in range(c) for i in range(len(row_strips))]
    work = _TileWork(up, out, taps, recompute_within, row_strips, col_strips, inside, mixed)
    shared, lock = iter(pieces), threading.Lock()
    if H * W < transforms.PARALLEL_MIN_PIXELS or len(pieces) < 2:
        work.run(shared, lock)
        return out
    helper = threading.Thread(target=work.run, args=(shared, lock), name="sam-masks", daemon=True)
    helper.start()
    try:
        work.run(shared, lock)
    finally:
        helper.join()
    return out


class _TileWork:
    """One tiled resize: pieces (candidate, row strip) taken from a shared iterator by one or two
    threads; each writes its own rows of `out`."""

    def __init__(self, up: np.ndarray, out: np.ndarray, taps: Taps, tol: float | None, row_strips: list[Strip],
                 col_strips: list[Strip], inside: np.ndarray, mixed: np.ndarray) -> None:
        self.up, self.out, self.taps, self.tol = up, out, taps, tol
        self.row_strips, self.col_strips = row_strips, col_strips
        self.inside, self.mixed = inside, mixed

    def run(self, pieces: Iterator[tuple[int, int]], lock: threading.Lock) -> None:
        """Take pieces until none is left."""
        while True:
            with lock:
                piece = next(pieces, None)
            if piece is None:
                return
            self._strip(*piece)

    def _strip(self, k: int, i: int) -> None:
        a, e, y0, y1 = self.row_strips[i]
        out_rows = self.out[k, y0:y1]
        mixed, inside = self.mixed[k, i], self.inside[k, i]
        j, n = 0, len(self.col_strips)
        while j < n:
            if not mixed[j]:  # a run of decided tiles: one fill (False is already there)
                stop = j
                while stop < n and not mixed[stop] and inside[stop] == inside[j]:
                    stop += 1
                if inside[j]:
                    out_rows[:, self.col_strips[j][2] : self.col_strips[stop - 1][3]] = True
            else:  # a run of outline tiles: one resize of their source block
                stop = j
                while stop < n and mixed[stop]:
                    stop += 1
                self._resize(k, (a, e, y0, y1), self.col_strips[j][0], self.col_strips[stop - 1][1],
                             self.col_strips[j][2], self.col_strips[stop - 1][3])
            j = stop

    def _resize(self, k: int, strip: Strip, ca: int, ce: int, x0: int, x1: int) -> None:
        """cv2's resize of source block rows strip, columns [ca, ce) into the output block, thresholded."""
        a, e, y0, y1 = strip
        H, W = self.out.shape[1:]
        h, w = self.up.shape[1:]
        fx, fy = W / w, H / h
        val = cv2.resize(np.ascontiguousarray(self.up[k, a:e, ca:ce]), None, fx=fx, fy=fy,
                         interpolation=cv2.INTER_LINEAR)
        top, left = round(a * fy), round(ca * fx)  # global indices of the block's local row / column 0
        assert val.shape[0] >= y1 - top and val.shape[1] >= x1 - left, "cv2 block size"
        val = val[y0 - top : y1 - top, x0 - left : x1 - left]
        target = self.out[k, y0:y1, x0:x1]
        np.greater(val, 0, out=target)
        if self.tol is None:
            return
        yy, xx = np.nonzero(np.abs(val) <= np.float32(self.tol))
        if yy.size:
            yy += y0
            xx += x0
            self.out[k, yy, xx] = _exact_at(self.up, self.taps, np.full(yy.shape, k), yy, xx) > 0
