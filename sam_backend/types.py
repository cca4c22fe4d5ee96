"""Value types exchanged through the sam_backend public API.

Coordinate frame everywhere: original-image pixels, x to the right, y down, pixel centres at
integer coordinates.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch takes ~1.5 s to import; the GUI must not wait for it to show an image
    import torch


@dataclass
class ImageEmbedding:
    """The encoder's output for one image: everything `predict` needs, nothing else.

    Attributes:
        model_id: registry id of the model that produced it (e.g. "mobile_sam").
        features: float tensor (1, 256, 64, 64) on the predictor's device (float32, or float16
            when restored from the disk cache before being cast back).
        original_size: (H, W) of the image given to `encode`.
        input_size: (h, w) of the resized image before padding to 1024x1024 (longest side 1024).
        early_features: SAM-HQ only: tuple of float tensors (1, 64, 64, C) — the ViT's first
            global-attention block output, or TinyViT's second-stage output as (1, 64, 64, 160);
            empty tuple for other models.
        preprocess_version: bumps when preprocessing changes; part of every cache key.
    """

    model_id: str
    features: torch.Tensor
    original_size: tuple[int, int]
    input_size: tuple[int, int]
    early_features: tuple[torch.Tensor, ...] = ()
    preprocess_version: int = 1

    def nbytes(self) -> int:
        """Bytes held by the tensors (used by the memory LRU)."""
        total = self.features.element_size() * self.features.nelement()
        for t in self.early_features:
            total += t.element_size() * t.nelement()
        return int(total)


@dataclass
class Prediction:
    """Result of one `predict` call.

    Attributes:
        masks: bool array (C, H, W) at the original resolution; C = 3 with multimask else 1.
        scores: float32 array (C,) — predicted IoU of each candidate.
        low_res_logits: float32 array (C, 256, 256) — suitable as the next `mask_input`.
    """

    masks: np.ndarray
    scores: np.ndarray
    low_res_logits: np.ndarray
    _logits_fn: Callable[[int], np.ndarray] | None = field(default=None, repr=False)

    def logits(self, k: int) -> np.ndarray:
        """Full-resolution float32 logits (H, W) of candidate k, computed on demand."""
        if self._logits_fn is None:
            raise RuntimeError("this prediction was made without full-resolution logits support")
        return self._logits_fn(k)


@dataclass(frozen=True)
class BoxPredictions:
    """Result of one `predict_boxes` call: N boxes on one image.

    Attributes:
        scores: float32 (N, C) predicted IoU of each box's candidates (C = 3 with multimask else 1).
        low_res_logits: float32 (N, C, 256, 256).
    ``masks(i)``: box i's bool (C, H, W) masks at the original resolution, upsampled on demand (only
    for the boxes asked), the same as ``predict(emb, box=boxes[i], multimask=...).masks``.
    """

    scores: np.ndarray
    low_res_logits: np.ndarray
    _masks_fn: Callable[[int], np.ndarray] = field(repr=False)

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def masks(self, i: int) -> np.ndarray:
        """bool (C, H, W) masks of box i."""
        if not 0 <= i < len(self):
            raise IndexError(f"box {i} does not exist: {len(self)} box(es) were decoded")
        return self._masks_fn(i)
