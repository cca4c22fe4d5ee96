"""Pre- and post-processing around the SAM networks (everything outside the neural network).

Frames:
  * original image: (H, W) pixels, x right, y down, pixel centres at integer coordinates;
  * model input: the image resized so its longest side is 1024 -> input_size (h, w), then
    zero-padded bottom/right to 1024x1024; prompt coordinates are scaled by (w/W, h/H);
  * low-res logits: (C, 256, 256) covering the padded 1024x1024 input.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from sam_backend.errors import ImageFormatError
from sam_backend.models.common import fast_enabled

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


def _mixed_cells(pos: np.ndarray) -> np.ndarray:
    """pos bool (C, h, w) -> bool (C, h, w): cell (i, j) has corners (i|i+1, j|j+1) of both signs
    (rows/columns beyond the edge repeat the last one).

    The corners c00-c10, c00-c01, c01-c11 form a chain through all four, so the cell is mixed
    iff one of these three neighbour pairs differs.
    """
    vert = np.zeros(pos.shape, dtype=np.bool_)  # vert[i, j]: pos[i, j] != pos[i + 1, j]
    np.not_equal(pos[:, :-1], pos[:, 1:], out=vert[:, :-1])
    mixed = np.zeros(pos.shape, dtype=np.bool_)
    np.not_equal(pos[:, :, :-1], pos[:, :, 1:], out=mixed[:, :, :-1])  # c00 != c01
    mixed |= vert  # c00 != c10
    mixed[:, :, :-1] |= vert[:, :, 1:]  # c01 != c11
    return mixed


SMALL_OUTPUT_FACTOR = 4  # outputs under 4x the resized input's pixels are resized plainly
SPARSE_MAX_MIXED = 0.03  # above this fraction of mixed-sign cells the dense route is faster
CV2_WEIGHT_ERROR = 2e-4  # bound on |cv2 INTER_LINEAR float32 weight - torch's weight| (measured 3.4e-5)
MASK_LOGIT_TOL = 1e-3  # mask pixels may differ from the reference only where |reference logit| <= this

Taps = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _exact_at(up: np.ndarray, taps: Taps, cc: np.ndarray, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """Exact bilinear values (torch's weights and order) of up (C, h, w) at output pixels (cc, yy, xx)."""
    y0, y1, ly, x0, x1, lx = taps
    w = up.shape[2]
    flat = up.reshape(up.shape[0], -1)
    wy1, wx1 = ly[yy], lx[xx]
    wy0, wx0 = np.float32(1.0) - wy1, np.float32(1.0) - wx1
    r0, r1, a, b = y0[yy] * w, y1[yy] * w, x0[xx], x1[xx]
    top = wx0 * flat[cc, r0 + a] + wx1 * flat[cc, r0 + b]
    bot = wx0 * flat[cc, r1 + a] + wx1 * flat[cc, r1 + b]
    return wy0 * top + wy1 * bot


def masks_from_logits(up: np.ndarray, original_size: tuple[int, int]) -> np.ndarray:
    """Threshold-at-0 masks of the bilinear (align_corners=False) resize of up (C, h, w) float32 to
    (C, H, W) bool, for H >= h and W >= w, without keeping full-resolution float logits.

    Every output pixel lies in a source cell spanned by its 4 bilinear taps; where the 4 taps have
    one sign the interpolated value has that sign too (a convex combination). Few mixed-sign
    cells (object-like masks): each pixel copies its cell's top-left tap sign and the pixels of
    mixed cells are interpolated exactly (equal to `torch resize(up) > 0` up to float rounding).
    Many (noise-like masks): cv2's fast float resize is thresholded (see `_dense_masks`): equal
    except, at most, where the reference logit is within MASK_LOGIT_TOL of 0.
    """
    c, h, w = up.shape
    H, W = original_size
    y0, y1, ly = linear_taps(h, H)
    x0, x1, lx = linear_taps(w, W)
    taps = (y0, y1, ly, x0, x1, lx)
    pos = up > 0
    mixed = _mixed_cells(pos)
    if np.count_nonzero(mixed) > SPARSE_MAX_MIXED * mixed.size:
        return _dense_masks(up, original_size, taps)
    out = np.take(np.take(pos, x0, axis=2), y0, axis=1)
    cc, ci, cj = np.nonzero(mixed)
    if cc.size == 0:
        return out
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
    return out


def _dense_masks(up: np.ndarray, original_size: tuple[int, int], taps: Taps) -> np.ndarray:
    """Masks for logits with very many sign changes: cv2's float resize per candidate, thresholded
    into a preallocated bool array. cv2 rounds its weights slightly differently from torch; its
    error is at most CV2_WEIGHT_ERROR * (largest row step + largest column step) of the logits
    (measured margin ~6x). When that bound exceeds MASK_LOGIT_TOL, the pixels within the bound of 0
    are recomputed exactly, so a mask pixel can only differ from the reference where the
    reference logit is within MASK_LOGIT_TOL of 0."""
    H, W = original_size
    out = np.empty((up.shape[0], H, W), dtype=np.bool_)
    steps = [float(np.abs(np.diff(up, axis=a)).max(initial=0.0)) for a in (1, 2)]
    tol = 2 * CV2_WEIGHT_ERROR * (steps[0] + steps[1])
    for k in range(up.shape[0]):
        val = cv2.resize(up[k], (W, H), interpolation=cv2.INTER_LINEAR)
        np.greater(val, 0, out=out[k])
        if tol <= MASK_LOGIT_TOL:
            continue
        yy, xx = np.nonzero(np.abs(val, out=val) <= np.float32(tol))
        if yy.size:
            cc = np.full(yy.shape, k)
            out[k, yy, xx] = _exact_at(up, taps, cc, yy, xx) > 0
    return out


def masks_from_low_res(low_res: torch.Tensor, input_size: tuple[int, int], original_size: tuple[int, int]) -> np.ndarray:
    """(C, 256, 256) low-res logits -> bool (C, H, W) masks (logit > 0) at the original resolution.

    Same arithmetic as the reference (256 -> 1024 bilinear, crop to input_size, bilinear to (H, W),
    threshold at 0); the last, largest step is done sparsely by `masks_from_logits` when upscaling.
    """
    if not fast_enabled():
        return (postprocess_logits_reference(low_res.float().cpu(), input_size, original_size) > 0).numpy()
    up = upscale_low_res(low_res.float().cpu(), input_size)
    H, W = original_size
    if H < input_size[0] or W < input_size[1] or H * W < SMALL_OUTPUT_FACTOR * input_size[0] * input_size[1]:
        # small outputs: one plain resize is cheaper than the bookkeeping of the sparse route
        out = torch.empty((up.shape[0], H, W), dtype=torch.bool)
        torch.gt(F.interpolate(up[None], original_size, mode="bilinear", align_corners=False)[0], 0, out=out)
        return out.numpy()
    return masks_from_logits(np.ascontiguousarray(up.numpy()), original_size)
