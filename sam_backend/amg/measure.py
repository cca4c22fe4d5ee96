"""Exact pixel counts, boxes and masks of thresholded candidate masks, from low-res logits.

A candidate's full-resolution logits are the reference post-processing of its low-res logits
(`transforms.postprocess_logits_reference`); here they are only computed where needed
(`field`): blocks whose low-res support is clearly above or below a threshold are counted or
filled whole, only the undecided blocks along the contour are evaluated pixel by pixel. When a
candidate has very many undecided pixels (noise-like logits) the whole field is computed with
torch instead, which is then cheaper; both give the reference arithmetic's values.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from sam_backend.amg import field
from sam_backend.amg.rle import mask_box
from sam_backend.transforms import postprocess_logits_reference

PIECEWISE_MIN_PIXELS = 20_000  # undecided pixels evaluated piecewise at least up to this many ...
PIECEWISE_MAX_FRACTION = 0.02  # ... or this fraction of the image; beyond, the torch field is cheaper


@dataclass(frozen=True)
class Frame:
    """Post-processing geometry of one image or crop: model-input size (h, w), output size (H, W);
    `exact_pieces`: the piecewise evaluation reproduced torch's values bit for bit for these sizes
    (torch picks its resize kernel by size; when not, every exact value comes from torch)."""

    geo: field.Geometry
    input_size: tuple[int, int]
    size: tuple[int, int]
    exact_pieces: bool

    @property
    def piecewise_limit(self) -> int:
        """Most undecided pixels of one candidate evaluated piecewise."""
        if not self.exact_pieces:
            return -1
        return max(PIECEWISE_MIN_PIXELS, int(PIECEWISE_MAX_FRACTION * self.size[0] * self.size[1]))


@functools.lru_cache(maxsize=16)
def frame_for(input_size: tuple[int, int], size: tuple[int, int]) -> Frame:
    """The (cached) Frame of an image of `size` whose model input is `input_size`."""
    geo = field.build_geometry(input_size, size)
    return Frame(geo, input_size, size, _pieces_match_torch(geo, input_size, size))


def _pieces_match_torch(geo: field.Geometry, input_size: tuple[int, int], size: tuple[int, int]) -> bool:
    """Evaluate every row piece and every column piece (a cross through the image) of random
    logits piecewise and compare with torch's resize."""
    low = np.random.default_rng(0).standard_normal((1, field.LOW_RES, field.LOW_RES)).astype(np.float32) * 8
    ref = torch_field(low[0], input_size, size)
    rows, cols = geo.rows.piece_start.shape[0], geo.cols.piece_start.shape[0]
    some_r = np.unique([0, rows // 2, rows - 1])
    some_c = np.unique([0, cols // 2, cols - 1])
    pg = np.concatenate([np.repeat(np.arange(rows), some_c.size), np.tile(some_r, cols)])
    pk = np.concatenate([np.tile(some_c, rows), np.repeat(np.arange(cols), some_r.size)])
    values = field.eval_pieces(low, geo, np.zeros_like(pg), pg, pk)
    ys, xs, valid = _piece_pixels(geo, pg, pk)
    return bool(np.array_equal(values[valid], ref[ys[valid], xs[valid]]))


def torch_field(low: np.ndarray, input_size: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """Full-resolution float32 logits (H, W) of one candidate's low-res logits (rows/columns past
    those given are never read by the kept part and are taken as 0)."""
    full = np.zeros((field.LOW_RES, field.LOW_RES), dtype=np.float32)
    full[: low.shape[0], : low.shape[1]] = low
    with torch.inference_mode():
        return postprocess_logits_reference(torch.from_numpy(full[None]), input_size, size)[0].numpy()


def _piece_pixels(geo: field.Geometry, pg: np.ndarray, pk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row and column index (N, rows, cols) of every entry of `eval_pieces`, and the valid ones."""
    valid = field.piece_valid(geo, pg, pk)
    ys = geo.rows.piece_start[pg][:, None, None] + np.arange(valid.shape[1])[None, :, None]
    xs = geo.cols.piece_start[pk][:, None, None] + np.arange(valid.shape[2])[None, None, :]
    return np.broadcast_to(ys, valid.shape), np.broadcast_to(xs, valid.shape), valid


def _block_pixels(geo: field.Geometry, blocks: np.ndarray) -> np.ndarray:
    """float64 (B,): pixels covered by the marked blocks (B, G, K)."""
    per_row = blocks.astype(np.float32) @ geo.cols.run_count.astype(np.float32)  # exact: <= W per row run
    return per_row.astype(np.float64) @ geo.rows.run_count.astype(np.float64)


class Candidates:
    """A chunk of candidates of one Frame: low-res logits (B, >= n_low, >= n_low) float32 and
    the bounds of their blocks (memory ~ B * 8 bytes * row runs * column runs: keep B small)."""

    def __init__(self, low: np.ndarray, frame: Frame) -> None:
        self.frame = frame
        geo = frame.geo
        self.low = np.ascontiguousarray(low[:, : geo.rows.n_low, : geo.cols.n_low], dtype=np.float32)
        self.bounds = field.block_bounds(self.low, geo)

    def __len__(self) -> int:
        return int(self.low.shape[0])

    def subset(self, idx: np.ndarray) -> Candidates:
        """The candidates idx (bounds reused)."""
        out = object.__new__(Candidates)
        out.frame = self.frame
        out.low = self.low[idx]
        out.bounds = field.Bounds(self.bounds.low[idx], self.bounds.high[idx], self.bounds.margin[idx])
        return out

    def counts_above(self, thresholds: Sequence[float]) -> np.ndarray:
        """int64 (B, T): number of full-resolution pixels whose logit is > each threshold."""
        geo, frame = self.frame.geo, self.frame
        n = len(self)
        out = np.zeros((n, len(thresholds)), dtype=np.int64)
        decisions = [self.bounds.decide(t) for t in thresholds]
        undecided = [~(above | below) for above, below in decisions]
        some = [u.reshape(n, -1).any(axis=1) for u in undecided]
        whole = np.zeros(n, dtype=bool)
        for u, s in zip(undecided, some):
            if s.any():
                whole[s] |= _block_pixels(geo, u[s]) > frame.piecewise_limit
        for j, t in enumerate(thresholds):
            out[:, j] = np.rint(_block_pixels(geo, decisions[j][0])).astype(np.int64)
            pick = some[j] & ~whole
            if pick.any():
                b, g, k = np.nonzero(undecided[j][pick])
                out[pick, j] += self._count_blocks(np.flatnonzero(pick)[b], g, k, t, n)[pick]
        for i in np.flatnonzero(whole):
            values = torch_field(self.low[i], frame.input_size, frame.size)
            out[i] = [int(np.count_nonzero(values > t)) for t in thresholds]
        return out

    def _count_blocks(self, b: np.ndarray, g: np.ndarray, k: np.ndarray, t: float, n: int) -> np.ndarray:
        geo = self.frame.geo
        pb, pg, pk = field.expand_pieces(geo, b, g, k)
        hits = (field.eval_pieces(self.low, geo, pb, pg, pk) > t) & field.piece_valid(geo, pg, pk)
        return np.bincount(pb, weights=hits.sum(axis=(1, 2)), minlength=n).astype(np.int64)

    def boxes(self, t: float = 0.0) -> np.ndarray:
        """int64 (B, 4): x0, y0, x1, y1 (inclusive) of the pixels > t; zeros for an empty mask."""
        above, below = self.bounds.decide(t)
        possible = ~below
        out = np.zeros((len(self), 4), dtype=np.int64)
        for i in range(len(self)):
            if not self.frame.exact_pieces:
                out[i] = mask_box(torch_field(self.low[i], self.frame.input_size, self.frame.size) > t)
                continue
            top = self._edge(i, t, above[i], possible[i], rows=True, first=True)
            if top is None:
                continue
            bottom = self._edge(i, t, above[i], possible[i], rows=True, first=False)
            left = self._edge(i, t, above[i], possible[i], rows=False, first=True)
            right = self._edge(i, t, above[i], possible[i], rows=False, first=False)
            assert bottom is not None and left is not None and right is not None
            out[i] = (left, top, right, bottom)
        return out

    def _edge(self, i: int, t: float, above: np.ndarray, possible: np.ndarray, rows: bool, first: bool) -> int | None:
        """First/last row (rows=True) or column with a pixel > t, or None for an empty mask.
        Runs are visited in order: a run holding a block that is wholly above answers at once
        (each of its rows/columns has such a pixel), otherwise its rows/columns are evaluated
        one by one."""
        geo = self.frame.geo
        axis = geo.rows if rows else geo.cols
        poss = np.asarray(possible.any(axis=1) if rows else possible.any(axis=0))
        sure = np.asarray(above.any(axis=1) if rows else above.any(axis=0))
        runs = np.flatnonzero(poss)
        values = field.row_values if rows else field.column_values
        for r in runs if first else runs[::-1]:
            start, count = int(axis.run_start[r]), int(axis.run_count[r])
            if sure[r]:
                return start if first else start + count - 1
            for line in range(start, start + count) if first else range(start + count - 1, start - 1, -1):
                if np.any(values(self.low[i], geo, line) > t):
                    return line
        return None

    def mask(self, i: int, t: float = 0.0) -> np.ndarray:
        """bool (H, W): pixels of candidate i whose logit is > t."""
        frame, geo = self.frame, self.frame.geo
        above, below = (d[i : i + 1] for d in self.bounds.decide(t))
        und = ~(above | below)
        if _block_pixels(geo, und)[0] > frame.piecewise_limit:
            return torch_field(self.low[i], frame.input_size, frame.size) > t
        out = np.repeat(np.repeat(above[0], geo.rows.run_count, axis=0), geo.cols.run_count, axis=1)
        _, g, k = np.nonzero(und)
        if g.size:
            pb, pg, pk = field.expand_pieces(geo, np.full(g.shape, i), g, k)
            hits = field.eval_pieces(self.low, geo, pb, pg, pk) > t
            ys, xs, valid = _piece_pixels(geo, pg, pk)
            out[ys[valid], xs[valid]] = hits[valid]
        return out

