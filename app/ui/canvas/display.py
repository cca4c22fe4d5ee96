"""Display settings of the canvas that change how things look, never what is stored: the image's
brightness / contrast / gamma, and the annotation masks' opacity, outline-only mode and visibility.

`ImageAdjust.apply` maps the image through one 256-entry table (cv2.LUT: ~10 ms for 12 MP), so the
pixels handed to the model are always the original ones (the controller keeps those).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

DEFAULT_OPACITY = 31          # % of full fill alpha (80 of 255: the look before the slider existed)
SELECTED_EXTRA_ALPHA = 50     # the selected annotation's fill is this much more opaque


@dataclass(frozen=True)
class ImageAdjust:
    """brightness, contrast: -100 .. 100 (0 = unchanged); gamma: 0.2 .. 5.0 (1 = unchanged, > 1 brightens
    the dark tones)."""

    brightness: int = 0
    contrast: int = 0
    gamma: float = 1.0

    def is_identity(self) -> bool:
        """True when the adjustment changes nothing."""
        return self.brightness == 0 and self.contrast == 0 and abs(self.gamma - 1.0) < 1e-6

    def lut(self) -> np.ndarray:
        """The 256-entry uint8 table: gamma first, then contrast around mid-grey, then brightness."""
        x = np.arange(256, dtype=np.float64) / 255.0
        gamma = min(max(float(self.gamma), 0.2), 5.0)
        y = np.power(x, 1.0 / gamma)
        c = min(max(int(self.contrast), -100), 100) / 100.0
        factor = (1.0 + c) / (1.0 - c) if c < 1.0 else 255.0  # -100 flattens to grey, +100 thresholds
        y = (y - 0.5) * factor + 0.5
        y = y + min(max(int(self.brightness), -100), 100) / 100.0
        return np.clip(np.round(y * 255.0), 0, 255).astype(np.uint8)

    def apply(self, image: np.ndarray) -> np.ndarray:
        """`image` (uint8, any channel count) through the table; the same array when identity."""
        if self.is_identity():
            return image
        return cv2.LUT(np.ascontiguousarray(image), self.lut())


@dataclass(frozen=True)
class MaskStyle:
    """How annotation shapes are drawn: fill opacity in % (0 .. 100), outline only (no fill), shown."""

    opacity: int = DEFAULT_OPACITY
    outline_only: bool = False
    shown: bool = True

    def fill_alpha(self, selected: bool) -> int:
        """The fill's alpha (0 .. 255) of a normal or the selected annotation."""
        if self.outline_only:
            return 0
        alpha = round(min(max(self.opacity, 0), 100) * 2.55)
        return min(255, alpha + SELECTED_EXTRA_ALPHA) if selected else alpha
