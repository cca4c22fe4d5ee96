"""Index PNGs: the VOC colormap, writing palette PNGs and reading index PNGs with size checks.

The VOC colormap is the bit-interleaved one of the VOC devkit (index 1 = (128, 0, 0), 15 =
(192, 128, 128), 255 = (224, 224, 192)); loaders use the indices, not the colours (formats.md 5).
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image


def voc_colormap(n: int = 256) -> np.ndarray:
    """(n, 3) uint8: colour k spreads the bits of k over the high bits of R, G and B in turn."""
    k = np.arange(n)
    cmap = np.zeros((n, 3), np.int64)
    for j in range(8):
        for c in range(3):
            cmap[:, c] |= ((k >> (3 * j + c)) & 1) << (7 - j)
    return cmap.astype(np.uint8)


def palette_png(index: np.ndarray, palette: np.ndarray | None = None) -> bytes:
    """PNG bytes of a uint8 HxW index array as a palette ("P") image (default: the VOC colormap)."""
    h, w = index.shape
    im = Image.frombytes("P", (w, h), np.ascontiguousarray(index, np.uint8).tobytes())
    pal = voc_colormap(256) if palette is None else palette
    im.putpalette(np.asarray(pal, np.uint8).ravel().tolist())
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def uint16_png(ids: np.ndarray) -> bytes:
    """PNG bytes of a HxW array of ids 0..65535 as a 16-bit greyscale PNG."""
    h, w = ids.shape
    im = Image.frombytes("I;16", (w, h), np.ascontiguousarray(ids, "<u2").tobytes())
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def read_index_png(path: Path, size: tuple[int, int]) -> np.ndarray | str:
    """The index array (uint8 or uint16/int32) of a single-channel PNG whose size is ``size``
    (height, width), or a one-sentence reason it cannot be used. The size is checked from the
    header before any pixel is decoded (a hostile PNG cannot make it allocate more)."""
    try:
        with Image.open(path) as im:
            if im.format != "PNG":
                return f"it is a {im.format} file, not a PNG"
            if (im.height, im.width) != tuple(size):
                return f"it is {im.width}x{im.height} but its image is {size[1]}x{size[0]}"
            if im.mode not in ("P", "L", "I;16", "I;16B", "I;16L", "I", "1"):
                return f"its pixels are {im.mode}, not class or instance indices (save it as a palette or grey PNG)"
            arr = np.asarray(im)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        return f"it cannot be read as a PNG ({exc})"
    if arr.ndim != 2:
        return "it is not a single-channel image"
    return arr
