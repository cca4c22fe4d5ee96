"""Mask encodings of the automatic mask generator's records, and the box of a mask.

uncompressed RLE: {"size": [H, W], "counts": [runs...]} over the mask in column-major order,
starting with a run of zeros (0 when the first pixel is set); compressed ("coco") RLE: the same
runs in pycocotools' string form, {"size": [H, W], "counts": str}.
"""
from __future__ import annotations

from typing import TypedDict

import numpy as np


class UncompressedRle(TypedDict):
    """Run lengths (column-major, zeros first) of an H x W mask."""

    size: list[int]
    counts: list[int]


class CocoRle(TypedDict):
    """pycocotools' compressed RLE, counts as str (JSON-ready)."""

    size: list[int]
    counts: str


def column_major_runs(mask: np.ndarray) -> np.ndarray:
    """int64 run lengths of a (H, W) bool mask in column-major order, starting with zeros."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    if flat.size == 0:
        return np.zeros((0,), dtype=np.int64)
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    edges = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(edges)
    return np.concatenate([[0], runs]) if flat[0] else runs


def uncompressed_rle(mask: np.ndarray) -> UncompressedRle:
    """The mask as uncompressed RLE."""
    h, w = mask.shape
    return {"size": [int(h), int(w)], "counts": column_major_runs(mask).tolist()}


def coco_rle(mask: np.ndarray) -> CocoRle:
    """The mask as pycocotools compressed RLE with str counts."""
    from pycocotools import mask as mask_utils

    h, w = mask.shape
    encoded = mask_utils.encode(np.asfortranarray(mask, dtype=np.uint8))
    return {"size": [int(h), int(w)], "counts": encoded["counts"].decode("ascii")}


def coco_rle_to_mask(rle: CocoRle) -> np.ndarray:
    """Decode a compressed RLE to a (H, W) bool mask (column-major memory)."""
    from pycocotools import mask as mask_utils

    obj = {"size": list(rle["size"]), "counts": rle["counts"].encode("ascii")}
    return mask_utils.decode(obj).astype(bool)


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the set pixels, inclusive; (0, 0, 0, 0) for an empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return 0, 0, 0, 0
    cols = np.flatnonzero(mask[rows[0] : rows[-1] + 1].any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1])
