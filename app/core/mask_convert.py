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
from app.core.geometry import mask_to_rle
from app.core.model import Outline
from app.core.outline import outline_of_mask


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


def convert_packed(packed: PackedMask, tolerance: Tolerance = None) -> ConvertedMask:
    """convert_mask of a PackedMask."""
    return convert_mask(packed.unpack(), tolerance)
