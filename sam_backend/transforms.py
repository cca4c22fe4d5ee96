"""Pre- and post-processing around the SAM networks (everything outside the neural network).

Frames:
  * original image: (H, W) pixels, x right, y down, pixel centres at integer coordinates;
  * model input: the image resized so its longest side is 1024 -> input_size (h, w), then
    zero-padded bottom/right to 1024x1024; prompt coordinates are scaled by (w/W, h/H);
  * low-res logits: (C, 256, 256) covering the padded 1024x1024 input.
"""
from __future__ import annotations

import math
import threading
from collections.abc import Iterator

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from sam_backend.errors import ImageFormatError
from sam_backend import torch_private

PREPROCESS_VERSION = 1  # bump when preprocessing changes: it is part of every embedding cache key
IMG_SIZE = 1024
LOW_RES = 256


def to_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """Convert an image array to the predictor's contract: C-contiguous (H, W, 3) uint8 RGB.

    Accepted inputs (anything else raises ImageFormatError with one sentence):
      * (H, W, 3) uint8 RGB: returned as is (made contiguous if needed);
      * (H, W) or (H, W, 1) grayscale: the channel is replicated to R, G and B;
      * (H, W, 4) RGBA: the alpha channel is DROPPED (colour kept as stored, not composited);
      * uint16 in any of the shapes above: scaled to 8 bit by `value >> 8` (keeps the high byte).
    Float or other dtypes, other channel counts, or empty images are refused.
    """
    if not isinstance(image, np.ndarray):
        raise ImageFormatError(f"the image must be a numpy array, not {type(image).__name__}")
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ImageFormatError(
            f"unsupported image dtype {image.dtype}: expected uint8 (or uint16) pixel values, not floats or other types"
        )
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    elif not (image.ndim == 3 and image.shape[2] == 3):
        raise ImageFormatError(
            f"unsupported image shape {image.shape}: expected HxWx3 RGB, HxW grayscale or HxWx4 RGBA"
        )
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ImageFormatError(f"the image is empty (shape {image.shape})")
    return np.ascontiguousarray(image)


def preprocess_shape(h: int, w: int, long_side: int = IMG_SIZE) -> tuple[int, int]:
    """Size (h', w') of an (h, w) image resized so its longest side is `long_side` (rounded half up)."""
    scale = long_side * 1.0 / max(h, w)
    return int(h * scale + 0.5), int(w * scale + 0.5)


def resize_longest(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (h, w, 3) uint8 with longest side 1024, PIL bilinear (as the reference)."""
    h, w = preprocess_shape(image.shape[0], image.shape[1])
    if (h, w) == image.shape[:2]:
        return image
    return np.asarray(Image.fromarray(image).resize((w, h), Image.Resampling.BILINEAR))


def preprocess(image: np.ndarray, device: torch.device) -> tuple[torch.Tensor, tuple[int, int]]:
    """(H, W, 3) uint8 RGB -> (normalised padded float32 tensor (1, 3, 1024, 1024) on device, input_size)."""
    resized = resize_longest(image)
    h, w = resized.shape[:2]
    x = torch.from_numpy(np.array(resized, copy=True)).to(device).permute(2, 0, 1).float()
    mean = torch.tensor([123.675, 116.28, 103.53], device=device).view(3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375], device=device).view(3, 1, 1)
    x = (x - mean) / std
    x = F.pad(x, (0, IMG_SIZE - w, 0, IMG_SIZE - h))
    return x.unsqueeze(0).contiguous(), (h, w)


def scale_coords(coords: np.ndarray, original_size: tuple[int, int], input_size: tuple[int, int]) -> np.ndarray:
    """Original-image (..., 2) x,y -> model-input coordinates, float64: x * w/W, y * h/H."""
    out = np.array(coords, dtype=np.float64, copy=True)
    out[..., 0] *= input_size[1] / original_size[1]
    out[..., 1] *= input_size[0] / original_size[0]
    return out


def upscale_low_res(low_res: torch.Tensor, input_size: tuple[int, int]) -> torch.Tensor:
    """(C, 256, 256) logits -> (C, h, w) float32: bilinear (align_corners=False) to 1024, crop to input_size."""
    up = F.interpolate(low_res[None].float(), (IMG_SIZE, IMG_SIZE), mode="bilinear", align_corners=False)[0]
    return up[:, : input_size[0], : input_size[1]]


def upscale_low_res_cropped(low_res: torch.Tensor, input_size: tuple[int, int]) -> torch.Tensor:
    """`upscale_low_res` (bit-identical) computing only the kept (h, w) part, contiguous: the
    resize is asked for an (h, w) output with the fixed scale factor 4, so every kept output
    pixel has the same source position and weights as in the full 1024x1024 resize.
    (C, 256, 256) -> (C, h, w) float32."""
    factor = float(IMG_SIZE // LOW_RES)
    return torch_private.upsample_bilinear2d_scaled(low_res[None].float(), input_size, factor, factor)[0]


STAGE1_REL_ERROR = 1e-6  # bound on |cv2 4x resize - torch's| / max |low-res logit| (measured 2e-7)


def upscale_low_res_cv2(low_res: np.ndarray, input_size: tuple[int, int]) -> np.ndarray:
    """`upscale_low_res` by cv2 (10x faster): (C, 256, 256) float32 -> (C, h, w) float32, each
    channel C-contiguous (the channel stride may be larger than h * w).

    For the exact factor 4 cv2's source positions and weights are the same as torch's (multiples
    of 1/8, exact in float) and so are the edge rules; only the summation rounding differs: the
    values differ by at most STAGE1_REL_ERROR * max |low_res|."""
    factor = IMG_SIZE // LOW_RES
    rows, cols = (min(LOW_RES, -(-n // factor) + 1) for n in input_size)
    buf = np.empty((low_res.shape[0], rows * factor, cols * factor), dtype=np.float32)
    for k in range(low_res.shape[0]):
        src = np.ascontiguousarray(low_res[k, :rows, :cols], dtype=np.float32)
        cv2.resize(src, None, buf[k], fx=float(factor), fy=float(factor), interpolation=cv2.INTER_LINEAR)
    return buf[:, : input_size[0], : input_size[1]]


def postprocess_logits_reference(low_res: torch.Tensor, input_size: tuple[int, int], original_size: tuple[int, int]) -> torch.Tensor:
    """The reference post-processing, all in torch: (C, 256, 256) -> (C, H, W) float32 logits."""
    up = upscale_low_res(low_res, input_size)
    return F.interpolate(up[None], original_size, mode="bilinear", align_corners=False)[0]


def linear_taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source taps of 1-D bilinear resampling n_in -> n_out with align_corners=False (as torch).

    Returns (i0 int64 (n_out,), i1 int64 (n_out,), lam float32 (n_out,)): output sample k is
    (1 - lam[k]) * in[i0[k]] + lam[k] * in[i1[k]], with i1 = min(i0 + 1, n_in - 1).
    """
    scale = np.float32(n_in / n_out)
    src = (np.arange(n_out, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    src = np.maximum(src, np.float32(0.0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    lam = np.clip(src - i0.astype(np.float32), 0.0, 1.0).astype(np.float32)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, lam


CV2_WEIGHT_ERROR = 2e-4  # bound on |cv2 INTER_LINEAR float32 weight - torch's weight| (measured 3.4e-5)
MASK_LOGIT_TOL = 1e-3  # mask pixels may differ from the reference only where |reference logit| <= this
CELLS_MAX_NEAR = 0.03  # recompute whole cells when at most this fraction of them may hold values near 0

Taps = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _exact_at(up: np.ndarray, taps: Taps, cc: np.ndarray, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """Exact bilinear values (torch's weights and order) of up (C, h, w) at output pixels (cc, yy, xx)."""
    y0, y1, ly, x0, x1, lx = taps
    wy1, wx1 = ly[yy], lx[xx]
    wy0, wx0 = np.float32(1.0) - wy1, np.float32(1.0) - wx1
    r0, r1, a, b = y0[yy], y1[yy], x0[xx], x1[xx]
    top = wx0 * up[cc, r0, a] + wx1 * up[cc, r0, b]
    bot = wx0 * up[cc, r1, a] + wx1 * up[cc, r1, b]
    return wy0 * top + wy1 * bot


def masks_from_logits(
    up: np.ndarray, original_size: tuple[int, int], steps: tuple[float, float] | None = None, up_error: float = 0.0,
    low: np.ndarray | None = None,
) -> np.ndarray:
    """Threshold-at-0 masks of the bilinear (align_corners=False) resize of up (C, h, w) float32 to
    (C, H, W) bool, for H >= h and W >= w, without keeping full-resolution float logits.
    steps: upper bounds of |up[:, i+1, j] - up[:, i, j]| and |up[:, i, j+1] - up[:, i, j]|
    (computed from up when None; see `_step_bounds` for a cheap bound); up_error: bound on how
    far `up` may be from the exact values; low: the (C, 256, 256) logits `up` was upscaled from,
    when known (the tiles of an object-like mask are then found from them, 16x fewer values).

    Every pixel is first cv2's float resize thresholded at 0, strip by strip (`_resized_signs`).
    cv2 rounds its weights slightly differently from torch: its values are within
    tol = 2 * CV2_WEIGHT_ERROR * (row step + column step) + up_error of the exact ones (measured
    margin ~6x), so a sign can only be wrong where |exact value| <= tol. When tol <= MASK_LOGIT_TOL
    that is the contract already. Otherwise the pixels that might be wrong are recomputed with
    torch's weights (`_exact_at`): all pixels of the cells whose 4 taps reach [-tol, tol] when such
    cells are few (object-like masks: the cells along the outline; every pixel is a convex
    combination of its cell's taps), else every pixel whose cv2 value is within tol of 0.
    Either way a mask pixel can differ from the reference only where |reference logit| <= MASK_LOGIT_TOL.
    """
    c, h, w = up.shape
    H, W = original_size
    y0, y1, ly = linear_taps(h, H)
    x0, x1, lx = linear_taps(w, W)
    taps = (y0, y1, ly, x0, x1, lx)
    if steps is None:
        steps = (_max_step(up, 1), _max_step(up, 2))
    tol = 2 * CV2_WEIGHT_ERROR * (steps[0] + steps[1]) + up_error
    from sam_backend.mask_tiles import tiled_signs  # (it builds on this module's strips)

    tiled = tiled_signs(up, original_size, taps, up_error, None if tol <= MASK_LOGIT_TOL else tol, low)
    if tiled is not None:  # an object-like mask: only the tiles along its outline were resized
        return tiled
    if tol <= MASK_LOGIT_TOL:
        return _resized_signs(up, original_size, taps)
    near = _cells_near_zero(up, tol)
    if np.count_nonzero(near) > CELLS_MAX_NEAR * near.size:
        return _resized_signs(up, original_size, taps, recompute_within=tol)
    out = _resized_signs(up, original_size, taps)
    _recompute_cells(out, up, taps, near)
    return out


def _cells_near_zero(up: np.ndarray, tol: float) -> np.ndarray:
    """bool (C, h, w): cell (i, j) — the output pixels whose taps are rows i|i+1, columns j|j+1
    (the last row/column repeated) — has taps that are neither all > tol nor all < -tol."""
    return ~(_all_four(up > tol) | _all_four(up < -tol))


def _all_four(a: np.ndarray) -> np.ndarray:
    """bool (C, h, w): a[i|i+1, j|j+1] all true (indices past the edge repeat the last one)."""
    rows = a.copy()
    rows[:, :-1] &= a[:, 1:]
    out = rows.copy()
    out[:, :, :-1] &= rows[:, :, 1:]
    return out


def _recompute_cells(out: np.ndarray, up: np.ndarray, taps: Taps, cells: np.ndarray) -> None:
    """Set out[c, y, x] = exact value > 0 for every output pixel of the marked cells (C, h, w)."""
    y0, x0 = taps[0], taps[3]
    H, W = out.shape[1:]
    cc, ci, cj = np.unravel_index(np.flatnonzero(cells), cells.shape)  # 20x faster than np.nonzero here
    if cc.size == 0:
        return
    ystart = np.searchsorted(y0, ci, side="left")
    yend = np.searchsorted(y0, ci, side="right")
    xstart = np.searchsorted(x0, cj, side="left")
    xend = np.searchsorted(x0, cj, side="right")
    for dy in range(int((yend - ystart).max(initial=0))):
        yy = ystart + dy
        row_ok = yy < yend
        yy = np.minimum(yy, H - 1)
        for dx in range(int((xend - xstart).max(initial=0))):
            xx = xstart + dx
            ok = row_ok & (xx < xend)
            xx = np.minimum(xx, W - 1)
            val = _exact_at(up, taps, cc, yy, xx)
            out[cc[ok], yy[ok], xx[ok]] = val[ok] > 0


def _max_step(x: np.ndarray, axis: int) -> float:
    """max |x[.., i+1, ..] - x[.., i, ..]| along `axis` (0.0 for a single sample)."""
    return float(np.abs(np.diff(x, axis=axis)).max(initial=0.0))


def _step_bounds(low_res: np.ndarray, input_size: tuple[int, int]) -> tuple[float, float]:
    """Bounds of the row / column steps of `upscale_low_res(low_res, input_size)` from the (C, 256, 256)
    low-res logits alone: the bilinear resize samples the piecewise-linear interpolant of the
    low-res values (slope <= its largest step) at positions LOW_RES / IMG_SIZE apart (100x cheaper
    than differencing the upscaled logits)."""
    factor = IMG_SIZE // LOW_RES
    rows, cols = (min(LOW_RES, -(-n // factor) + 1) for n in input_size)  # the part the crop depends on
    part = low_res[:, :rows, :cols]
    return tuple(_max_step(part, a) / factor * (1.0 + 1e-5) for a in (1, 2))  # type: ignore[return-value]


STRIP_SOURCE_ROWS = 64  # source rows per strip of `_resized_signs` (~4 MB of float32 output at 12 MP)


def _row_strips(h: int, H: int, rows: int = STRIP_SOURCE_ROWS) -> list[tuple[int, int, int, int]]:
    """Split the (h -> H) row resize into strips that cv2 can resize independently with the
    global row mapping: (src_start, src_stop, out_start, out_stop) each.

    cv2.resize(part, fx=.., fy=H/h) maps local output row y to source row (y + 0.5) * h/H - 0.5
    of `part`; for part = rows [a, ..) that is the global mapping when a * H/h is an integer, i.e.
    a is a multiple of q = h / gcd(h, H). A strip owns the output rows whose source position is
    >= a (up to the next strip's), and reads 2 rows past its end for their second tap. When q is
    large there is one strip (the whole image)."""
    q = h // math.gcd(h, H)
    step = q * max(1, round(rows / q))  # about `rows` source rows per strip
    if step >= h:
        return [(0, h, 0, H)]
    starts = list(range(0, h, step))
    outs = [0]
    for a in starts[1:]:
        y = max(0, math.floor((a + 0.5) * H / h - 0.5) - 2)
        while (y + 0.5) * h / H - 0.5 < a:  # first output row at or below source row a
            y += 1
        outs.append(y)
    outs.append(H)
    return [(a, min(h, a + step + 2), outs[k], outs[k + 1]) for k, a in enumerate(starts)]


PARALLEL_MIN_PIXELS = 4_000_000  # outputs of at least this many pixels per mask use two threads


def _resized_signs(
    up: np.ndarray, original_size: tuple[int, int], taps: Taps, recompute_within: float | None = None
) -> np.ndarray:
    """cv2's float resize of up (C, h, w) to (C, H, W), thresholded at 0 into a preallocated bool
    array strip by strip (`_row_strips`: the float values stay in cache, one strip buffer per
    thread). recompute_within: pixels whose cv2 value is within this of 0 are recomputed exactly.

    Large outputs are split between the calling thread and one helper thread by (strip, candidate)
    pieces: cv2 and numpy release the GIL, and the thresholding and page faults of the output,
    which cv2's own threads do not share, then run on both cores. Every piece writes its own
    rows of `out`, so the result is the same as in one thread.
    """
    H, W = original_size
    h, w = up.shape[1:]
    out = np.empty((up.shape[0], H, W), dtype=np.bool_)
    fy = H / h
    strips = _row_strips(h, H)
    rows = max(round((e - a) * fy) for a, e, _, _ in strips)
    pieces = [(strip, k) for strip in strips for k in range(up.shape[0])]
    if H * W < PARALLEL_MIN_PIXELS or len(pieces) < 2:
        _sign_pieces(up, out, taps, recompute_within, iter(pieces), threading.Lock(), rows)
        return out
    shared, lock = iter(pieces), threading.Lock()
    helper = threading.Thread(target=_sign_pieces, args=(up, out, taps, recompute_within, shared, lock, rows),
                              name="sam-masks", daemon=True)
    helper.start()
    try:
        _sign_pieces(up, out, taps, recompute_within, shared, lock, rows)
    finally:
        helper.join()
    return out


def _sign_pieces(
    up: np.ndarray,
    out: np.ndarray,
    taps: Taps,
    tol: float | None,
    pieces: Iterator[tuple[tuple[int, int, int, int], int]],
    lock: threading.Lock,
    rows: int,
) -> None:
    """Resize + threshold the (strip, candidate) pieces taken from the shared iterator (see
    `_resized_signs`), with a strip buffer of `rows` rows of this thread's own."""
    H, W = out.shape[1:]
    h, w = up.shape[1:]
    fx, fy = W / w, H / h
    buffer = np.empty((rows, W), dtype=np.float32)
    while True:
        with lock:
            piece = next(pieces, None)
        if piece is None:
            return
        (a, e, y0, y1), k = piece
        first = round(a * fy)  # global index of the strip's local output row 0
        n_rows = round((e - a) * fy)  # what cv2 makes of fy (same rounding): its output goes into `buffer`
        val = cv2.resize(up[k, a:e], None, buffer[:n_rows], fx=fx, fy=fy, interpolation=cv2.INTER_LINEAR)
        assert val.shape[1] == W and val.shape[0] >= y1 - first, "cv2 strip size"
        val = val[y0 - first : y1 - first]
        np.greater(val, 0, out=out[k, y0:y1])
        if tol is None:
            continue
        yy, xx = np.nonzero(np.abs(val, out=val) <= np.float32(tol))
        if yy.size:
            yy += y0
            out[k, yy, xx] = _exact_at(up, taps, np.full(yy.shape, k), yy, xx) > 0


def masks_from_low_res_reference(
    low_res: torch.Tensor, input_size: tuple[int, int], original_size: tuple[int, int]
) -> np.ndarray:
    """The reference masks: `postprocess_logits_reference` thresholded at 0 -> bool (C, H, W)."""
    return (postprocess_logits_reference(low_res.float().cpu(), input_size, original_size) > 0).numpy()


def masks_from_low_res(low_res: torch.Tensor, input_size: tuple[int, int], original_size: tuple[int, int]) -> np.ndarray:
    """(C, 256, 256) low-res logits -> bool (C, H, W) masks (logit > 0) at the original resolution.

    Same arithmetic as the reference (256 -> 1024 bilinear, crop to input_size, bilinear to (H, W),
    threshold at 0) within the MASK_LOGIT_TOL contract: the first step by cv2 when its rounding
    error (STAGE1_REL_ERROR) is small enough (else by torch), the last, largest one by
    `masks_from_logits` (cv2 strips + exact recomputation where needed) when upscaling.
    """
    low = low_res.float().cpu()
    H, W = original_size
    if H < input_size[0] or W < input_size[1]:  # downscaling (images under 1024 px): plain torch
        up = upscale_low_res_cropped(low, input_size)
        out = torch.empty((up.shape[0], H, W), dtype=torch.bool)
        torch.gt(F.interpolate(up[None], original_size, mode="bilinear", align_corners=False)[0], 0, out=out)
        return out.numpy()
    low_np = low.numpy()
    steps = _step_bounds(low_np, input_size)
    up_error = STAGE1_REL_ERROR * float(np.abs(low_np).max(initial=0.0))
    if up_error <= MASK_LOGIT_TOL / 2:  # logits within +-500: always in practice
        return masks_from_logits(upscale_low_res_cv2(low_np, input_size), original_size, steps, up_error, low_np)
    return masks_from_logits(upscale_low_res_cropped(low, input_size).numpy(), original_size, steps)
