"""Many single-point prompts decoded at once: what the automatic mask generator asks of a model.

`PointDecoder` is the boundary: anything that can encode an image and decode a batch of
one-point prompts (3 candidates each) into predicted IoUs and low-res logits can drive the
generator (tests inject synthetic ones). `SamPointDecoder` adapts a `SamPredictor`, through the
network's public modules: prompt encoder on all points at once, `MaskDecoder.prepare` once per
image, the decoder on a whole batch.

IoU gating: when the generator filters on predicted IoU, the decoder's token pass (transformer +
IoU head, the cheap half) runs first on the whole batch, and the masks (the upscaling, the
expensive half) only for the points with a candidate above the threshold; without that filter
one pass does both.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from sam_backend import transforms
from sam_backend.fast.decoder import ImagePrep
from sam_backend.predictor import SamPredictor
from sam_backend.types import ImageEmbedding

MULTIMASK_TOKENS = (1, 2, 3)


@dataclass(frozen=True)
class DecodedPoints:
    """Decoder output for N points.

    iou: float32 (N, 3) predicted IoU of the 3 candidates of every point; decoded: int64 (M,)
    the points whose masks were computed (all of them unless gated by min_iou); low_res: float32
    (M, 3, 256, 256) their low-res logits over the padded 1024x1024 model input.
    """

    iou: np.ndarray
    decoded: np.ndarray
    low_res: np.ndarray


@runtime_checkable
class PointDecoder(Protocol):
    """What the automatic mask generator needs from a model."""

    def encode_image(self, image: np.ndarray, should_abort: Callable[[], bool] | None) -> object:
        """Encode an (H, W, 3) uint8 RGB image; raise EncodeAborted when should_abort() says so."""

    def decode_points(self, embedding: object, points: np.ndarray, min_iou: float | None) -> DecodedPoints:
        """Decode one foreground point per prompt: points float64 (N, 2) x, y image pixels.
        With min_iou, masks may be skipped for points none of whose candidates has iou > min_iou."""


class SamPointDecoder:
    """PointDecoder over a SamPredictor (any model id of the engine)."""

    def __init__(self, predictor: SamPredictor) -> None:
        self.predictor = predictor
        self._prep: tuple[ImageEmbedding, torch.device, ImagePrep, torch.Tensor] | None = None

    def encode_image(self, image: np.ndarray, should_abort: Callable[[], bool] | None) -> ImageEmbedding:
        """The predictor's encode."""
        return self.predictor.encode(image, should_abort)

    def decode_points(self, embedding: object, points: np.ndarray, min_iou: float | None) -> DecodedPoints:
        """See PointDecoder. Points are scaled to the model input in float64 (as the reference)."""
        if not isinstance(embedding, ImageEmbedding):
            raise TypeError(f"expected an ImageEmbedding, got {type(embedding).__name__}")
        emb = embedding
        if emb.model_id != self.predictor.model_id:
            raise ValueError(f"this embedding was made by model {emb.model_id}, not {self.predictor.model_id}: re-encode the image")
        n = int(points.shape[0])
        dev = self.predictor.device
        model = self.predictor.model
        with torch.inference_mode():
            coords = transforms.scale_coords(np.asarray(points, dtype=np.float64), emb.original_size, emb.input_size)
            pts = torch.as_tensor(coords[:, None, :], dtype=torch.float64, device=dev)
            labels = torch.ones((n, 1), dtype=torch.int64, device=dev)
            sparse, dense = model.prompt_encoder((pts, labels), None, None)
            feats = emb.features.to(dev, torch.float32)
            early = tuple(e.to(dev, torch.float32) for e in emb.early_features)
            prep, dense_pe = self._image_prep(emb, feats, dense[:1], early)
            iou_all: np.ndarray | None = None
            decoded = np.arange(n)
            if min_iou is not None and self._can_gate():
                iou_all = self._token_iou(prep, sparse)
                decoded = np.flatnonzero((iou_all > np.float32(min_iou)).any(axis=1))
            low, iou = self._masks(feats, dense_pe, sparse[torch.from_numpy(decoded).to(dev)], dense[:1], early, prep)
        if iou_all is None:
            iou_all = iou
        else:
            iou_all[decoded] = iou
        return DecodedPoints(iou_all, decoded.astype(np.int64), low)

    def _image_prep(
        self, emb: ImageEmbedding, feats: torch.Tensor, dense: torch.Tensor, early: tuple[torch.Tensor, ...]
    ) -> tuple[ImagePrep | None, torch.Tensor]:
        """(prompt-independent decoder work, dense position encoding), kept for the last embedding."""
        pe = self.predictor.model.prompt_encoder
        fast = self.predictor.fast_decoder
        if fast is None:
            return None, pe.get_dense_pe()
        cached = self._prep
        if cached is None or cached[0] is not emb or cached[1] != self.predictor.device:
            dense_pe = pe.get_dense_pe()
            prep = fast.prepare(feats, dense_pe, dense, early)
            cached = (emb, self.predictor.device, prep, dense_pe)
            self._prep = cached
        return cached[2], cached[3]

    def _can_gate(self) -> bool:
        """The predictor runs the fast decoder route, which exposes its token pass (token_iou)."""
        fast = self.predictor.fast_decoder
        return fast is not None and fast.supported

    def _token_iou(self, prep: ImagePrep | None, sparse: torch.Tensor) -> np.ndarray:
        """float32 (N, 3) predicted IoU of the multimask candidates, without computing masks."""
        fast = self.predictor.fast_decoder
        if prep is None or fast is None:
            raise RuntimeError("the token pass needs the fast decoder route's image preparation")
        iou = fast.token_iou(prep, sparse)
        return iou[:, list(MULTIMASK_TOKENS)].float().cpu().numpy()

    def _masks(
        self,
        feats: torch.Tensor,
        dense_pe: torch.Tensor,
        sparse: torch.Tensor,
        dense: torch.Tensor,
        early: tuple[torch.Tensor, ...],
        prep: ImagePrep | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(low-res logits float32 (M, 3, 256, 256), iou float32 (M, 3)) of the given prompts; for
        SAM-HQ candidate k = SAM output k + the HQ logits (as `SamPredictor.predict`)."""
        m = int(sparse.shape[0])
        if m == 0:
            return np.zeros((0, 3, 256, 256), np.float32), np.zeros((0, 3), np.float32)
        fast = self.predictor.fast_decoder
        if fast is not None:
            masks, iou, hq = fast(feats, dense_pe, sparse, dense.expand(m, -1, -1, -1), early, prep,
                                  mask_tokens=MULTIMASK_TOKENS)
        else:  # the plain reference route: all four outputs, the multimask ones taken
            masks, iou, hq = self.predictor.model.mask_decoder(feats, dense_pe, sparse, dense.expand(m, -1, -1, -1),
                                                               early)
            masks = masks[:, list(MULTIMASK_TOKENS)]
        if hq is not None:
            masks = masks + hq
        return masks.float().cpu().numpy(), iou[:, list(MULTIMASK_TOKENS)].float().cpu().numpy()
