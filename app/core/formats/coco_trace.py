"""Pixel-CORNER polygon tracing of mask crops for the COCO exporter (formats.md 0.1, 2.2)."""
from __future__ import annotations

import cv2
import numpy as np


def trace_corner_raw(crop: np.ndarray) -> tuple[list[np.ndarray], bool]:
    """(outer contours, has_holes) of a bool/uint8 crop (any strides): cv2 contours (int32
    (n, 1, 2) x, y) of the crop upsampled 2x with a 2-pixel border, outer ones only; the same cv2
    pass tells whether the mask encloses background. corner_rings turns them into polygons."""
    h, w = crop.shape
    up = np.zeros((2 * h + 4, 2 * w + 4), np.uint8)
    c8 = crop.view(np.uint8) if crop.dtype == np.bool_ else (crop != 0).view(np.uint8)
    doubled = (c8 * np.uint16(257)).view(np.uint8)  # each 0/1 byte twice: (h, 2w), any byte order
    up[2:2 + 2 * h:2, 2:2 + 2 * w] = doubled
    up[3:3 + 2 * h:2, 2:2 + 2 * w] = doubled
    contours, hier = cv2.findContours(up, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    parents = hier[0][:, 3]
    outer = parents == -1
    if outer.all():
        return list(contours), False
    return [c for c, o in zip(contours, outer) if o], True


def corner_rings(contours: list[np.ndarray], offsets: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-CORNER rings of many trace_corner_raw contours at once (``offsets[i]``: the (x0, y0)
    of contour i's crop): (flat int64 [x, y, x, y, ...] of all rings, int64 number of values of each
    ring). An upsampled index u maps to corner-convention x0 - 0.75 + u / 2 (= k + 0.25 or k + 0.75),
    rounded to the nearest corner; repeated consecutive corners (pinch points, cyclically) are dropped."""
    if not contours:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lens = np.fromiter((len(c) for c in contours), np.int64, len(contours))
    v = np.concatenate(contours).reshape(-1, 2)  # int32 x, y
    v += 1
    v >>= 1
    v += np.repeat(np.asarray(offsets, np.int32).reshape(-1, 2) - 1, lens, axis=0)
    key = v.view(np.int64).ravel()  # one (x, y) pair per int64: compare vertices in one pass
    ends = np.cumsum(lens)
    prev = np.arange(-1, key.size - 1)
    prev[ends - lens] = ends - 1
    keep = key != key[prev]
    kept = np.add.reduceat(keep.astype(np.int64), ends - lens) if keep.size else lens
    kept[lens == 0] = 0
    return v[keep].ravel().astype(np.int64), kept * 2


def trace_corner_arrays(crop: np.ndarray, x0: int, y0: int) -> tuple[list[np.ndarray], bool]:
    """(outer polygons, has_holes) of a bool/uint8 crop (any strides) whose top-left pixel is (x0, y0).

    Polygons are flat int64 arrays [x1, y1, ...] in the COCO pixel-CORNER convention: the exact
    outline of the union of the pixel squares (pixel (c, r) = [c, c+1] x [r, r+1]) of each
    8-connected part, holes filled. Every pixel centre is 0.5 px away from them, so pycocotools
    rasterises them back to exactly the hole-filled mask, and their extents equal ``toBbox``.
    They are app.core.geometry.mask_to_corner_polygons' rings (cv2 contours of the mask upsampled
    2x, 0.25 px inside the pixel edges) rounded onto the pixel corners; diagonally touching pixels
    give a ring that touches itself at a corner.
    """
    contours, holes = trace_corner_raw(crop)
    flat, sizes = corner_rings(contours, [(x0, y0)] * len(contours))
    return np.split(flat, np.cumsum(sizes)[:-1]) if len(contours) else [], holes


def filled_crop(crop: np.ndarray) -> np.ndarray:
    """The crop with every enclosed background region filled (what polygons rasterise to)."""
    padded = cv2.copyMakeBorder(crop.astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    contours, _ = cv2.findContours(padded, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = np.zeros_like(padded)
    cv2.drawContours(out, contours, -1, 1, thickness=-1)
    return out[1:-1, 1:-1].astype(bool) | crop.astype(bool)
