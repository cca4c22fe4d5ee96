"""Exact threshold tests on SAM's mask post-processing, mostly without full-resolution logits.

The reference turns low-res logits L (256x256) into full-resolution logits in two bilinear resizes
(align_corners=False, float32): 256 -> 1024 (factor 4), crop to the model-input size (h, w), then
(h, w) -> (H, W). Each resize is separable, so a full-resolution pixel (Y, X) reads the low-res
rows lo..hi of its row run and the columns of its column run (at most 3 each): `Axis` splits
every axis into runs of consecutive pixels sharing that support, and a block (row run, column
run) is a rectangle of pixels whose values are convex combinations of one <= 3x3 low-res patch.
torch's rounding makes these exact convex combinations only up to the margin below; torch also
picks its resize kernel by size, which `measure.frame_for` checks per image size.

Deciding a threshold `value > t` per block: when the patch minimum exceeds t + margin every pixel
of the block is above; when the maximum is below t - margin every pixel is below. The margin
covers float32 rounding (weights sum to 1 within 2**-24 and each of the four 1-D steps rounds
relative to the largest |logit|: at most ~1e-6 * max|L| in all; the margin is 1e-5 * (max|L| + |t|)).
Only the other, "undecided" blocks (along the contour at t) are evaluated pixel by pixel, with
torch's own arithmetic (`torch_linear_taps` and `_lerp`, checked bit for bit against
torch.nn.functional.interpolate by the tests): so counts, boxes and masks are those of the
reference arithmetic on the same low-res logits.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOW_RES = 256
PADDED = 1024
MARGIN_REL = 1e-5  # see the module docstring: ~10x the worst float32 rounding of the two resizes


@dataclass(frozen=True)
class Taps:
    """One 1-D bilinear resize n_in -> n_out as torch computes it: output k = w0[k] * in[i0[k]] +
    w1[k] * in[i1[k]] (see `_lerp` for the exact float32 operation order)."""

    i0: np.ndarray  # int64 (n_out,)
    i1: np.ndarray  # int64 (n_out,)
    w0: np.ndarray  # float32 (n_out,)
    w1: np.ndarray  # float32 (n_out,)


def torch_linear_taps(n_in: int, n_out: int) -> Taps:
    """Taps of torch's CPU bilinear resize (align_corners=False, output size given): scale =
    float32(n_in) / n_out; source = scale * (k + 0.5) - 0.5 rounded ONCE to float32 (torch's kernel
    is compiled with fused multiply-add), clamped at 0; lambda = source - floor(source)."""
    scale = np.float32(n_in) / np.float32(n_out)
    k = np.arange(n_out, dtype=np.float64)
    src = (np.float64(scale) * (k + 0.5) - 0.5).astype(np.float32)  # exact in float64, one rounding
    src = np.maximum(src, np.float32(0.0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    lam = np.clip(src - i0.astype(np.float32), np.float32(0.0), np.float32(1.0)).astype(np.float32)
    i1 = np.where(i0 < n_in - 1, i0 + 1, i0)
    return Taps(i0, i1, (np.float32(1.0) - lam).astype(np.float32), lam)


def _lerp(a: np.ndarray, w0: np.ndarray, b: np.ndarray, w1: np.ndarray) -> np.ndarray:
    """torch's float32 `a * w0 + b * w1`: the second product rounded, then one fused multiply-add
    (emulated in float64, where the product is exact)."""
    second = (b * w1).astype(np.float32)
    return (a.astype(np.float64) * w0 + second).astype(np.float32)


@dataclass(frozen=True)
class Axis:
    """One axis of the two-stage resize (low-res -> n1 of 1024 -> n2), split two ways.

    Runs: maximal ranges of consecutive output pixels with the same low-res support
    lo..lo+size-1 (size 1..3): run_start, run_count, lo, size (R,). Pieces: the runs cut into
    near-equal parts of at most `cap` pixels (a rectangle of pixels is evaluated as padded
    pieces, so short pieces waste less): piece_start, piece_count, piece_run (P,); per run its
    pieces are first_piece[r] .. first_piece[r] + n_pieces[r] - 1. Local tables per piece, padded
    to the largest: q0/q1 (P, S) low-res taps of its stage-1 samples relative to lo, a0/a1 their
    weights; r0/r1 (P, N) stage-1 taps of its output pixels relative to its first stage-1 sample,
    b0/b1 their weights.
    """

    n_low: int
    n1: int
    n2: int
    stage1: Taps
    stage2: Taps
    run_start: np.ndarray
    run_count: np.ndarray
    lo: np.ndarray
    size: np.ndarray
    first_piece: np.ndarray
    n_pieces: np.ndarray
    piece_start: np.ndarray
    piece_count: np.ndarray
    piece_run: np.ndarray
    q0: np.ndarray
    q1: np.ndarray
    a0: np.ndarray
    a1: np.ndarray
    r0: np.ndarray
    r1: np.ndarray
    b0: np.ndarray
    b1: np.ndarray

    @property
    def runs(self) -> int:
        """Number of runs."""
        return int(self.run_start.shape[0])


def build_axis(n1: int, n2: int) -> Axis:
    """Axis of a kept model-input length n1 (1..1024) resized to n2 >= 1 output pixels."""
    s1 = torch_linear_taps(LOW_RES, PADDED)
    q0, q1, a0, a1 = s1.i0[:n1], s1.i1[:n1], s1.w0[:n1], s1.w1[:n1]
    s2 = torch_linear_taps(n1, n2)
    lo_px = q0[s2.i0]
    hi_px = q1[s2.i1]
    run_start = np.concatenate([[0], np.flatnonzero((np.diff(lo_px) != 0) | (np.diff(hi_px) != 0)) + 1]).astype(np.int64)
    run_count = np.diff(np.concatenate([run_start, [n2]])).astype(np.int64)
    cap = max(1, -(-n2 // run_start.shape[0]))  # the mean run length, rounded up
    n_pieces = -(-run_count // cap)
    first_piece = np.concatenate([[0], np.cumsum(n_pieces)[:-1]]).astype(np.int64)
    piece_run = np.repeat(np.arange(run_start.shape[0]), n_pieces)
    part = np.arange(piece_run.shape[0]) - first_piece[piece_run]
    whole, rest = np.divmod(run_count[piece_run], n_pieces[piece_run])  # the first `rest` parts get one more
    piece_count = whole + (part < rest)
    piece_start = run_start[piece_run] + part * whole + np.minimum(part, rest)
    lo = lo_px[run_start]
    p_lo = lo[piece_run]
    s_start = s2.i0[piece_start]
    n_s = s2.i1[piece_start + piece_count - 1] - s_start + 1
    width_s, width_n = int(n_s.max()), int(piece_count.max())
    ss = np.minimum(s_start[:, None] + np.arange(width_s), n1 - 1)  # padded with the last sample
    px = np.minimum(piece_start[:, None] + np.arange(width_n), n2 - 1)
    return Axis(
        n_low=int(q1.max()) + 1,  # every kept stage-1 sample's taps (row/column evaluation reads them all)
        n1=n1,
        n2=n2,
        stage1=Taps(q0, q1, a0, a1),
        stage2=s2,
        run_start=run_start,
        run_count=run_count,
        lo=lo,
        size=hi_px[run_start] - lo + 1,
        first_piece=first_piece,
        n_pieces=n_pieces,
        piece_start=piece_start,
        piece_count=piece_count,
        piece_run=piece_run,
        q0=np.clip(q0[ss] - p_lo[:, None], 0, 2),
        q1=np.clip(q1[ss] - p_lo[:, None], 0, 2),
        a0=a0[ss],
        a1=a1[ss],
        r0=np.clip(s2.i0[px] - s_start[:, None], 0, width_s - 1),
        r1=np.clip(s2.i1[px] - s_start[:, None], 0, width_s - 1),
        b0=s2.w0[px],
        b1=s2.w1[px],
    )


@dataclass(frozen=True)
class Geometry:
    """Both axes of the post-processing of one image (or crop): input_size (h, w) of the model
    input, original_size (H, W) of the output."""

    rows: Axis
    cols: Axis

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the full-resolution output."""
        return self.rows.n2, self.cols.n2


def build_geometry(input_size: tuple[int, int], original_size: tuple[int, int]) -> Geometry:
    """Geometry for low-res logits -> (h, w) model input -> (H, W) image."""
    return Geometry(build_axis(input_size[0], original_size[0]), build_axis(input_size[1], original_size[1]))


def _window_reduce(x: np.ndarray, lo: np.ndarray, size: np.ndarray, reduce: np.ufunc) -> np.ndarray:
    """reduce of x (B, n, m) over the rows lo[g] .. lo[g] + size[g] - 1 (size 1..3) -> (B, G, m)
    (whole rows are gathered: contiguous copies). numpy, not torch: these arrays are small and
    torch's thread pool costs more than it saves on them, badly so on a loaded machine."""
    n = x.shape[1]
    parts = [x]
    if n > 1:
        parts.append(reduce(x[:, :-1], x[:, 1:]))
    if n > 2:
        parts.append(reduce(parts[1][:, :-1], x[:, 2:]))
    offsets = np.cumsum([0] + [p.shape[1] for p in parts])[:-1]
    index = offsets[np.minimum(size, len(parts)) - 1] + lo
    return np.take(np.concatenate(parts, axis=1), index, axis=1)


@dataclass
class Bounds:
    """Per candidate and block, the min and max low-res logit of the block's support (B, G row runs,
    K column runs), and the rounding margin per candidate (B,)."""

    low: np.ndarray
    high: np.ndarray
    margin: np.ndarray

    def decide(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """(above, below) bool (B, G, K): every pixel of the block is > t / every pixel is <= t.
        (The thresholds are rounded to float32: that moves them by < 1e-7 * |t|, far inside the margin.)"""
        m = self.margin + MARGIN_REL * abs(t)
        upper = (t + m).astype(np.float32)[:, None, None]
        lower = (t - m).astype(np.float32)[:, None, None]
        return self.low > upper, self.high < lower


def block_bounds(low_res: np.ndarray, geo: Geometry) -> Bounds:
    """Bounds of (B, >= n_low rows, >= n_low cols) float32 low-res logits."""
    rows, cols = geo.rows, geo.cols
    x = np.ascontiguousarray(low_res[:, : rows.n_low, : cols.n_low], dtype=np.float32)
    margin = MARGIN_REL * np.abs(x).reshape(x.shape[0], -1).max(axis=1, initial=0.0).astype(np.float64)
    xt = np.ascontiguousarray(x.transpose(0, 2, 1))  # columns first, so that every gather takes whole rows
    low, high = (
        _window_reduce(np.ascontiguousarray(_window_reduce(xt, cols.lo, cols.size, f).transpose(0, 2, 1)), rows.lo, rows.size, f)
        for f in (np.minimum, np.maximum)
    )
    return Bounds(low, high, margin + 1e-30)


ITEM_CHUNK = 4096  # pieces evaluated per vectorised step (bounds the float64 temporaries)


def expand_pieces(geo: Geometry, b: np.ndarray, g: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Blocks (candidate b, row run g, column run k) -> their pieces (b, row piece, column piece)."""
    rows, cols = geo.rows, geo.cols
    ng, nk = rows.n_pieces[g], cols.n_pieces[k]
    reps = ng * nk
    total = int(reps.sum())
    item = np.repeat(np.arange(b.shape[0]), reps)
    local = np.arange(total) - np.repeat(np.cumsum(reps) - reps, reps)
    pg = rows.first_piece[g][item] + local // nk[item]
    pk = cols.first_piece[k][item] + local % nk[item]
    return b[item], pg, pk


def eval_pieces(low_res: np.ndarray, geo: Geometry, b: np.ndarray, pg: np.ndarray, pk: np.ndarray) -> np.ndarray:
    """Exact full-resolution logits of pieces (candidate b, row piece pg, column piece pk) of
    low_res (B, >= n_low, >= n_low): float32 (N, rows, cols), padded past the pieces' counts
    (see `piece_valid`)."""
    rows, cols = geo.rows, geo.cols
    out = np.empty((b.shape[0], rows.b0.shape[1], cols.b0.shape[1]), dtype=np.float32)
    if b.shape[0] == 0:
        return out
    used = np.unique(b)
    padded = np.pad(low_res[used, : rows.n_low, : cols.n_low], ((0, 0), (0, 2), (0, 2)), mode="edge")
    local_b = np.searchsorted(used, b)
    for s in range(0, b.shape[0], ITEM_CHUNK):
        e = s + ITEM_CHUNK
        out[s:e] = _eval_chunk(padded, rows, cols, local_b[s:e], pg[s:e], pk[s:e])
    return out


def _eval_chunk(padded: np.ndarray, rows: Axis, cols: Axis, b: np.ndarray, g: np.ndarray, k: np.ndarray) -> np.ndarray:
    """See eval_pieces: the reference arithmetic on each piece's 3x3 low-res patch (gathers by
    flat indices: 3x faster than take_along_axis here)."""
    n = b.shape[0]
    width = padded.shape[2]
    base = (b * padded.shape[1] + rows.lo[rows.piece_run[g]]) * width + cols.lo[cols.piece_run[k]]
    flat = padded.reshape(-1)
    # stage 1, x first: the 3 patch rows at the piece's stage-1 columns (N, 3, Sc)
    row3 = base[:, None, None] + (np.arange(3) * width)[None, :, None]
    ux = _lerp(flat[row3 + cols.q0[k][:, None, :]], cols.a0[k][:, None, :], flat[row3 + cols.q1[k][:, None, :]], cols.a1[k][:, None, :])
    # stage 1, y: the piece's stage-1 rows (N, Sr, Sc)
    ux_flat, sc = ux.reshape(-1), ux.shape[2]
    at = (np.arange(n) * 3 * sc)[:, None, None] + np.arange(sc)[None, None, :]
    s1 = _lerp(ux_flat[at + rows.q0[g][:, :, None] * sc], rows.a0[g][:, :, None], ux_flat[at + rows.q1[g][:, :, None] * sc], rows.a1[g][:, :, None])
    # stage 2, x: those rows at the piece's output columns (N, Sr, Nc)
    s1_flat, sr = s1.reshape(-1), s1.shape[1]
    at = ((np.arange(n) * sr)[:, None] + np.arange(sr)[None, :])[:, :, None] * sc
    tx = _lerp(s1_flat[at + cols.r0[k][:, None, :]], cols.b0[k][:, None, :], s1_flat[at + cols.r1[k][:, None, :]], cols.b1[k][:, None, :])
    # stage 2, y: the output pixels (N, Nr, Nc)
    tx_flat, nc = tx.reshape(-1), tx.shape[2]
    at = (np.arange(n) * sr * nc)[:, None, None] + np.arange(nc)[None, None, :]
    return _lerp(tx_flat[at + rows.r0[g][:, :, None] * nc], rows.b0[g][:, :, None], tx_flat[at + rows.r1[g][:, :, None] * nc], rows.b1[g][:, :, None])


def piece_valid(geo: Geometry, pg: np.ndarray, pk: np.ndarray) -> np.ndarray:
    """bool (N, rows, cols): which entries of `eval_pieces` are real pixels."""
    nr, nc = geo.rows.b0.shape[1], geo.cols.b0.shape[1]
    return (np.arange(nr)[None, :, None] < geo.rows.piece_count[pg][:, None, None]) & (
        np.arange(nc)[None, None, :] < geo.cols.piece_count[pk][:, None, None]
    )


def row_values(low: np.ndarray, geo: Geometry, y: int) -> np.ndarray:
    """Exact full-resolution logits of row y of one candidate (low: (>= n_low, >= n_low)): (W,) float32."""
    rows, cols = geo.rows, geo.cols
    r0, r1 = int(rows.stage2.i0[y]), int(rows.stage2.i1[y])
    t0, t1 = (_x_stage2(_stage1_row(low, rows, cols, r), cols) for r in (r0, r1))
    return _lerp(t0, rows.stage2.w0[y], t1, rows.stage2.w1[y])


def _stage1_row(low: np.ndarray, rows: Axis, cols: Axis, r: int) -> np.ndarray:
    """Stage-1 row r (w,): x-interpolate the two low-res rows, then combine them."""
    s1 = cols.stage1
    q0, q1 = int(rows.stage1.i0[r]), int(rows.stage1.i1[r])
    u0 = _lerp(low[q0, s1.i0], s1.w0, low[q0, s1.i1], s1.w1)
    u1 = _lerp(low[q1, s1.i0], s1.w0, low[q1, s1.i1], s1.w1)
    return _lerp(u0, rows.stage1.w0[r], u1, rows.stage1.w1[r])


def _x_stage2(row: np.ndarray, cols: Axis) -> np.ndarray:
    s2 = cols.stage2
    return _lerp(row[s2.i0], s2.w0, row[s2.i1], s2.w1)


def column_values(low: np.ndarray, geo: Geometry, x: int) -> np.ndarray:
    """Exact full-resolution logits of column x of one candidate: (H,) float32."""
    rows, cols = geo.rows, geo.cols
    c0, c1 = int(cols.stage2.i0[x]), int(cols.stage2.i1[x])
    s1c = cols.stage1
    wx0, wx1 = cols.stage2.w0[x], cols.stage2.w1[x]
    # stage-1 columns c0 and c1 for every low-res row (x first), then every stage-1 row (y)
    ux = [_lerp(low[:, s1c.i0[c]], s1c.w0[c], low[:, s1c.i1[c]], s1c.w1[c]) for c in (c0, c1)]
    s1r = rows.stage1
    col = [_lerp(u[s1r.i0], s1r.w0, u[s1r.i1], s1r.w1) for u in ux]  # (h,) each
    tx = _lerp(col[0], wx0, col[1], wx1)  # stage 2, x: every stage-1 row at column x
    s2 = rows.stage2
    return _lerp(tx[s2.i0], s2.w0, tx[s2.i1], s2.w1)
