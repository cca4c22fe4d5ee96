"""Removal of small holes and islands from a mask (the automatic mask generator's
`min_mask_region_area` step), with the reference's rules (8-connectivity)."""
from __future__ import annotations

import cv2
import numpy as np


def remove_small_regions(mask: np.ndarray, min_area: float, mode: str) -> tuple[np.ndarray, bool]:
    """mode "holes": fill the connected background regions smaller than min_area (the image border
    does not protect a region); mode "islands": drop the foreground regions smaller than min_area,
    keeping the largest one when all are smaller. Returns (mask, changed); changed is True as soon
    as a small region exists, and the mask is then a new bool array.
    """
    if mode not in ("holes", "islands"):
        raise ValueError(f"mode must be 'holes' or 'islands', not {mode!r}")
    holes = mode == "holes"
    work = (mask != holes).astype(np.uint8)  # holes: the background becomes the foreground
    n_labels, labels, stats, _ = cv2.connectedComponentsWithStats(work, connectivity=8)
    sizes = stats[1:, cv2.CC_STAT_AREA]
    small = np.flatnonzero(sizes < min_area) + 1
    if small.size == 0:
        return mask, False
    keep = np.zeros(n_labels, dtype=bool)
    if holes:  # the mask = label 0 of the background components, plus the small holes
        keep[0] = True
        keep[small] = True
    else:
        keep[1:] = True
        keep[small] = False
        if not keep.any():
            keep[int(np.argmax(sizes)) + 1] = True
    return keep[labels], True
