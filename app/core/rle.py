"""COCO run-length encoding of binary masks (via pycocotools), with input checks.

A COCO RLE is {"size": [height, width], "counts": ...}; counts run over the column-major (Fortran)
flattening of the mask and start with a run of zeros. Compressed counts are an ASCII string (or
bytes); uncompressed counts are a list of non-negative ints that must sum to height * width.
"""
from __future__ import annotations

import warnings

import numpy as np
from pycocotools import mask as _coco_mask


def _as_mask(mask: np.ndarray) -> np.ndarray:
    """The mask as a 2-D bool array; ValueError for any other shape."""
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ValueError(f"a mask must be a 2-D array, got shape {arr.shape}")
    return arr if arr.dtype == np.bool_ else arr != 0


def mask_to_rle(mask: np.ndarray) -> dict:
    """Encode a mask as COCO compressed RLE.

    mask: H x W array (bool, or any dtype where non-zero is foreground).
    Returns {"size": [H, W], "counts": str} (ASCII counts, JSON-ready, plain Python ints).
    """
    m = _as_mask(mask)
    rle = _coco_mask.encode(np.asfortranarray(m.astype(np.uint8)))
    counts = rle["counts"]
    return {
        "size": [int(rle["size"][0]), int(rle["size"][1])],
        "counts": counts.decode("ascii") if isinstance(counts, bytes) else str(counts),
    }


def _rle_size(rle: object) -> tuple[int, int]:
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise ValueError("an RLE must be a dict with 'size' and 'counts'")
    size = rle["size"]
    if (
        not isinstance(size, (list, tuple))
        or len(size) != 2
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in size)
        or min(size) < 0
    ):
        raise ValueError(f"RLE 'size' must be [height, width] with non-negative ints, got {size!r}")
    return int(size[0]), int(size[1])


def _compressed_total(raw: bytes) -> int:
    """Sum of the runs of a COCO compressed counts string (same decoding as pycocotools'
    rleFrString); ValueError when a run is negative or the string ends inside a number."""
    runs: list[int] = []
    p = 0
    n = len(raw)
    while p < n:
        x = 0
        k = 0
        more = True
        while more:
            if p >= n:
                raise ValueError("compressed RLE counts end in the middle of a number")
            c = raw[p] - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(runs) > 2:
            x += runs[-2]
        if x < 0:
            raise ValueError("compressed RLE counts contain a negative run")
        runs.append(x)
    return sum(runs)


def rle_to_mask(rle: dict) -> np.ndarray:
    """Decode a COCO RLE to a C-contiguous bool H x W mask.

    Accepts compressed counts (str or bytes) and uncompressed counts (list of ints). Raises
    ValueError with a one-sentence reason for malformed input (wrong size, counts that do not add
    up to height * width, negative runs, undecodable strings).
    """
    h, w = _rle_size(rle)
    counts = rle["counts"]
    if isinstance(counts, (list, tuple)):
        if not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in counts):
            raise ValueError("uncompressed RLE counts must be integers")
        if any(int(c) < 0 for c in counts):
            raise ValueError("uncompressed RLE counts must not be negative")
        total = sum(int(c) for c in counts)
        if total != h * w:
            raise ValueError(f"uncompressed RLE counts add up to {total}, expected {h}x{w} = {h * w}")
        if h * w == 0:
            return np.zeros((h, w), dtype=bool)
        compressed = _coco_mask.frPyObjects({"size": [h, w], "counts": [int(c) for c in counts]}, h, w)
    elif isinstance(counts, (str, bytes)):
        raw = counts.encode("ascii", errors="replace") if isinstance(counts, str) else counts
        if any(b < 48 or b > 111 for b in raw):
            raise ValueError("compressed RLE counts contain characters outside the COCO alphabet")
        total = _compressed_total(raw)
        if total != h * w:
            raise ValueError(f"compressed RLE counts add up to {total}, expected {h}x{w} = {h * w}")
        compressed = {"size": [h, w], "counts": raw}
    else:
        raise ValueError(f"RLE 'counts' must be a string or a list of ints, got {type(counts).__name__}")
    if h * w == 0:
        return np.zeros((h, w), dtype=bool)
    try:
        with warnings.catch_warnings():  # pycocotools + numpy 2 emit a DeprecationWarning per call
            warnings.simplefilter("ignore", DeprecationWarning)
            decoded = _coco_mask.decode(compressed)
    except Exception as exc:  # pycocotools raises bare ValueError/Exception on bad data
        raise ValueError(f"RLE counts cannot be decoded ({exc})") from None
    if decoded.shape != (h, w):
        raise ValueError(f"RLE decodes to shape {decoded.shape}, expected ({h}, {w})")
    return np.ascontiguousarray(decoded.astype(bool))


def window_to_rle(window: np.ndarray, x0: int, y0: int, height: int, width: int) -> dict:
    """mask_to_rle of the height x width mask that is ``window`` at image pixel (x0, y0) and empty
    elsewhere (the same dict, character for character), in time O(window) instead of O(image).

    The runs are found on the window's columns (column-major, as COCO's), then pycocotools
    compresses them. ValueError when the window does not fit in the image.
    """
    m = _as_mask(window)
    wh, ww = m.shape
    if x0 < 0 or y0 < 0 or x0 + ww > width or y0 + wh > height:
        raise ValueError(f"a {ww}x{wh} window at ({x0}, {y0}) does not fit in a {width}x{height} mask")
    cols = np.zeros((ww, wh + 2), np.int8)  # each column of the window, with a background pixel above and below
    cols[:, 1:-1] = m.T
    step = np.diff(cols, axis=1)  # +1 where a run of foreground starts, -1 after it ends
    j, r = np.nonzero(step)  # row-major over (column, row): the column-major order of the image
    changes = (x0 + j).astype(np.int64) * height + y0 + r  # image index of each change
    if wh == height:  # a run ending at the foot of a column and one starting at the next one's head join
        joined = np.flatnonzero(changes[1:] == changes[:-1])
        changes = np.delete(changes, np.concatenate((joined, joined + 1)))
    changes = changes[changes < height * width]  # a run reaching the last pixel ends there
    counts = np.diff(np.concatenate(([0], changes, [height * width])))
    compressed = _coco_mask.frPyObjects({"size": [height, width], "counts": counts}, height, width)
    text = compressed["counts"]
    return {"size": [int(height), int(width)], "counts": text.decode("ascii") if isinstance(text, bytes) else str(text)}
