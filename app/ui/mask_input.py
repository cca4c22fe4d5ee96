"""SAM's low-resolution mask prompt ("mask_input") made from an existing annotation mask.

SAM's mask decoder takes a (256, 256) float32 logit map in its padded low-resolution frame: the
image is resized so that its LONGEST side is 1024 and padded at the right/bottom to 1024x1024, then
the whole frame is downscaled 4x. So an original image of (H, W) occupies the top-left
(round(H * s), round(W * s)) block with s = 256 / max(H, W); the rest is padding (background).
"""
from __future__ import annotations

import cv2
import numpy as np

LOW_RES = 256
LOGIT_MAGNITUDE = 10.0


def low_res_frame(height: int, width: int, side: int = LOW_RES) -> tuple[int, int]:
    """(h, w) of the image inside the padded (side, side) low-res frame (longest side == side)."""
    scale = side / max(height, width)
    return max(1, int(height * scale + 0.5)), max(1, int(width * scale + 0.5))


def mask_to_logits(mask: np.ndarray, magnitude: float = LOGIT_MAGNITUDE) -> np.ndarray:
    """A bool mask (H, W) in original-image pixels -> float32 logits (256, 256) in SAM's padded frame.

    Inside the mask +magnitude, outside -magnitude (the padding is outside); area-averaged
    resampling keeps thin structures as partial values before thresholding at 0.5 coverage.
    """
    if mask.ndim != 2 or mask.size == 0:
        raise ValueError("a mask must be a non-empty 2-D array")
    h, w = low_res_frame(*mask.shape)
    small = cv2.resize(mask.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
    out = np.full((LOW_RES, LOW_RES), -magnitude, dtype=np.float32)
    out[:h, :w] = np.where(small >= 0.5, magnitude, -magnitude)
    return out
