"""Parameters of the automatic mask generator: the names, defaults and meanings of the reference
`SamAutomaticMaskGenerator` (segment-anything 1.0), checked up front."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sam_backend.amg.layout import layer_grids

OUTPUT_MODES = ("binary_mask", "uncompressed_rle", "coco_rle")


@dataclass(frozen=True)
class AmgParams:
    """See `AutomaticMaskGenerator` for each field's meaning."""

    points_per_side: int | None = 32
    points_per_batch: int = 64
    pred_iou_thresh: float = 0.88
    stability_score_thresh: float = 0.95
    stability_score_offset: float = 1.0
    box_nms_thresh: float = 0.7
    crop_n_layers: int = 0
    crop_nms_thresh: float = 0.7
    crop_overlap_ratio: float = 512 / 1500
    crop_n_points_downscale_factor: int = 1
    point_grids: Sequence[np.ndarray] | None = None
    min_mask_region_area: int = 0
    output_mode: str = "binary_mask"
    grids: tuple[np.ndarray, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.points_per_side is None) == (self.point_grids is None):
            raise ValueError("give exactly one of points_per_side and point_grids")
        _check_int("points_per_batch", self.points_per_batch, 1)
        _check_int("crop_n_layers", self.crop_n_layers, 0)
        _check_int("crop_n_points_downscale_factor", self.crop_n_points_downscale_factor, 1)
        _check_int("min_mask_region_area", self.min_mask_region_area, 0)
        for name in ("pred_iou_thresh", "stability_score_thresh", "stability_score_offset", "box_nms_thresh",
                     "crop_nms_thresh", "crop_overlap_ratio"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        if self.output_mode not in OUTPUT_MODES:
            raise ValueError(f"unknown output_mode {self.output_mode!r}: choose one of {', '.join(OUTPUT_MODES)}")
        if self.points_per_side is not None:
            _check_int("points_per_side", self.points_per_side, 1)
            last = int(self.points_per_side / self.crop_n_points_downscale_factor**self.crop_n_layers)
            if last < 1:
                raise ValueError(f"crop layer {self.crop_n_layers} would get no points: points_per_side "
                                 f"{self.points_per_side} / {self.crop_n_points_downscale_factor}**{self.crop_n_layers} < 1")
            grids = layer_grids(self.points_per_side, self.crop_n_layers, self.crop_n_points_downscale_factor)
        else:
            assert self.point_grids is not None
            grids = [_check_grid(i, g) for i, g in enumerate(self.point_grids)]
            if len(grids) < self.crop_n_layers + 1:
                raise ValueError(f"point_grids has {len(grids)} grid(s) but crop_n_layers={self.crop_n_layers} needs "
                                 f"{self.crop_n_layers + 1} (one per layer)")
        object.__setattr__(self, "grids", tuple(grids))


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_grid(i: int, grid: object) -> np.ndarray:
    arr = np.asarray(grid, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2 or not np.all(np.isfinite(arr)):
        raise ValueError(f"point_grids[{i}] must be an (N, 2) array of finite x, y in [0, 1], got shape {arr.shape}")
    return arr
