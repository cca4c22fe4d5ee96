"""CVAT's mask run-length encoding (CVAT for images 1.1 ``<mask rle=... left top width height>``).

The runs cover the mask's box (``width`` x ``height`` pixels from ``left``, ``top``, image pixels)
in row-major order and alternate background / foreground, starting with background (a first run
of 0 when the box's first pixel is set). CVAT writes them separated by ", " and its importer
splits on "," (cvat/apps/dataset_manager/formats/cvat.py; issue cvat-ai/cvat#6487).
"""
from __future__ import annotations

import numpy as np


def encode(crop: np.ndarray) -> str:
    """The rle attribute of a bool box crop (height x width)."""
    flat = np.ascontiguousarray(crop, bool).ravel()
    if flat.size == 0:
        return "0"
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    runs = np.diff(bounds)
    if flat[0]:
        runs = np.concatenate(([0], runs))
    return ", ".join(str(int(r)) for r in runs)


def decode(text: str, width: int, height: int) -> np.ndarray | str:
    """The bool (height, width) crop of an rle attribute, or why it is not valid."""
    try:
        runs = np.array([int(t) for t in text.split(",")], np.int64)
    except ValueError:
        return "its rle is not a list of whole numbers"
    if runs.size == 0 or runs.min() < 0:
        return "its rle has a negative or no run"
    if int(runs.sum()) != width * height:
        return f"its rle covers {int(runs.sum())} pixels, not its {width}x{height} box"
    values = np.zeros(runs.size, bool)
    values[1::2] = True
    return np.repeat(values, runs).reshape(height, width)
