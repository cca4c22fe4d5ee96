"""Where the automatic mask generator prompts: point grids and crop boxes (the SAM paper's
"segment everything" layout, with the parameter meanings of the reference generator)."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def point_grid(n_per_side: int) -> np.ndarray:
    """(n*n, 2) float64 x, y in [0, 1]: cell centres of an n x n grid, x varying fastest."""
    offset = 1.0 / (2 * n_per_side)
    side = np.linspace(offset, 1.0 - offset, n_per_side)
    xs = np.tile(side[None, :], (n_per_side, 1))
    ys = np.tile(side[:, None], (1, n_per_side))
    return np.stack([xs, ys], axis=-1).reshape(-1, 2)


def layer_grids(n_per_side: int, n_layers: int, downscale: int) -> list[np.ndarray]:
    """Grids of crop layers 0..n_layers: layer i has int(n_per_side / downscale**i) points per side."""
    return [point_grid(int(n_per_side / (downscale**i))) for i in range(n_layers + 1)]


def crop_boxes(image_size: tuple[int, int], n_layers: int, overlap_ratio: float) -> list[tuple[tuple[int, int, int, int], int]]:
    """[(crop box (x0, y0, x1, y1), layer)]: the whole image (layer 0), then for layer i >= 1 a
    2**i x 2**i grid of overlapping crops (x outer, y inner); the overlap is
    int(overlap_ratio * short side * 2 / crops per side) pixels."""
    h, w = image_size
    out = [((0, 0, w, h), 0)]
    for layer in range(1, n_layers + 1):
        per_side = 2**layer
        overlap = int(overlap_ratio * min(h, w) * (2 / per_side))
        crop_w = int(math.ceil((overlap * (per_side - 1) + w) / per_side))
        crop_h = int(math.ceil((overlap * (per_side - 1) + h) / per_side))
        xs = [int((crop_w - overlap) * i) for i in range(per_side)]
        ys = [int((crop_h - overlap) * i) for i in range(per_side)]
        out.extend(((x0, y0, min(x0 + crop_w, w), min(y0 + crop_h, h)), layer) for x0 in xs for y0 in ys)
    return out


def near_crop_edge(boxes: np.ndarray, crop_box: Sequence[int], image_size: tuple[int, int], tol: float = 20.0) -> np.ndarray:
    """bool (N,): a box (x0, y0, x1, y1 in the image frame) lies within tol pixels of an edge of
    the crop that is not also an edge of the image (float32, as the reference)."""
    h, w = image_size
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    crop = np.asarray(crop_box, dtype=np.float32)[None, :]
    image = np.asarray([0, 0, w, h], dtype=np.float32)[None, :]
    near_crop = np.abs(b - crop) <= np.float32(tol)
    near_image = np.abs(b - image) <= np.float32(tol)
    return np.any(near_crop & ~near_image, axis=1)
