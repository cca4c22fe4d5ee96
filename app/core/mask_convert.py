"""Accepted mask -> what the store keeps, as picklable calls (the GUI's accept service,
app.services.geometry, runs them in its worker process; automations call them directly).

Converting a fragmented mask (thousands of parts) is mostly Python work: in a thread of the GUI
process it would hold the GIL for a second or more in small slices and make the event loop stutter.
`PackedMask` carries a mask as packed bits (1 bit per pixel) to a worker process.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core import codec
from app.core.density import Tolerance, mask_to_parts_at
from app.core.geometry import mask_to_parts, mask_to_rle
from app.core.masks import crop_of_mask, rle_crop
from app.core.model import Outline
from app.core.outline import outline_of_mask
from app.core.rle import window_to_rle


@dataclass(frozen=True)
class PackedMask:
    """A bool (H, W) mask as np.packbits bytes (row-major, big bit order) plus its shape."""

    bits: bytes
    shape: tuple[int, int]

    @classmethod
    def of(cls, mask: np.ndarray) -> "PackedMask":
        """Pack a bool (or 0/1) (H, W) mask."""
        m = np.asarray(mask, dtype=bool)
        if m.ndim != 2:
            raise ValueError(f"a mask must be 2-D, got shape {m.shape}")
        return cls(np.packbits(m, axis=None).tobytes(), (int(m.shape[0]), int(m.shape[1])))

    def unpack(self) -> np.ndarray:
        """The bool (H, W) mask."""
        h, w = self.shape
        flat = np.unpackbits(np.frombuffer(self.bits, np.uint8), count=h * w)
        return flat.reshape(h, w).view(bool)


@dataclass(frozen=True)
class ConvertedMask:
    """geometry: codec.encode_parts blob of mask_to_parts(mask) (None for an empty mask);
    rle: the exact mask as COCO compressed RLE (None for an empty mask);
    outline: its outline for the store (tied to ``rle``: pickled together, ``outline.source`` is
    this very dict again after unpickling); None for an empty mask."""

    geometry: bytes | None
    rle: dict | None
    outline: Outline | None = None


def convert_mask(mask: np.ndarray, tolerance: Tolerance = None) -> ConvertedMask:
    """Polygons (packed), exact RLE and outline of a bool (H, W) mask in image pixels.

    tolerance: the polygon density (app.core.density): None (Auto, the default), 0 for the exact
    outline, or a simplification distance in px. The RLE is exact whatever it is."""
    parts = mask_to_parts_at(mask, tolerance)
    if not parts:
        return ConvertedMask(None, None)
    rle = mask_to_rle(mask)
    return ConvertedMask(codec.encode_parts(parts), rle, outline_of_mask(mask, rle))


def convert_window(window: np.ndarray, x0: int, y0: int, height: int, width: int) -> ConvertedMask:
    """convert_mask of the height x width mask that is ``window`` at image pixel (x0, y0) and empty
    elsewhere (the same result), in time O(window): what the batch auto-labeller stores per object.

    Measured (1500x1000 image, ellipses of ~300x200 px, one thread, 2-core machine at load 7):
    9 ms per object for rle_to_mask + convert_mask of the whole mask (full-image copies, RLE
    encoding, contour scan), 4 ms for convert_rle (the simplification ladder is most of the rest)."""
    got = crop_of_mask(window)
    if got is None:
        return ConvertedMask(None, None)
    crop, cx, cy = got
    return _convert_crop(crop, x0 + cx, y0 + cy, height, width)


def convert_rle(rle: dict, tolerance: Tolerance = None) -> ConvertedMask:
    """convert_mask(rle_to_mask(rle), tolerance) (the same result); at the Auto density decoding
    only the mask's bounding box (app.core.masks.rle_crop). ValueError for a malformed RLE."""
    if tolerance is not None:
        from app.core.rle import rle_to_mask

        return convert_mask(rle_to_mask(rle), tolerance)
    h, w = (int(v) for v in rle["size"])
    got = rle_crop(rle)
    if got is None:
        return ConvertedMask(None, None)
    crop, x0, y0 = got
    return _convert_crop(crop, x0, y0, h, w)


def _convert_crop(crop: np.ndarray, x0: int, y0: int, height: int, width: int) -> ConvertedMask:
    """The conversion of a tight crop (every row and column holds foreground) at (x0, y0): the
    polygons are traced on it grown by 1 px (clipped to the image), as mask_to_parts requires."""
    ch, cw = crop.shape
    top, left = min(y0, 1), min(x0, 1)
    bottom, right = min(height - (y0 + ch), 1), min(width - (x0 + cw), 1)
    window = np.zeros((ch + top + bottom, cw + left + right), bool)
    window[top : top + ch, left : left + cw] = crop
    parts = mask_to_parts(window, origin=(x0 - left, y0 - top), image_size=(height, width))
    rle = window_to_rle(crop, x0, y0, height, width)
    return ConvertedMask(codec.encode_parts(parts), rle, outline_of_mask(crop, rle, x0, y0))


def convert_packed(packed: PackedMask, tolerance: Tolerance = None) -> ConvertedMask:
    """convert_mask of a PackedMask."""
    return convert_mask(packed.unpack(), tolerance)
