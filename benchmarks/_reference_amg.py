"""Benchmark-only glue around the reference generator (segment-anything 1.0 from PyPI):
`pip download segment-anything --no-deps` and unzip the wheel somewhere, then pass that folder
as --reference. Never imported by shipped code.

The reference imports torchvision for `batched_nms`, `box_area`, `resize` and `to_pil_image`;
torchvision has no working CPU build here, so a tiny shim module provides those four in plain
torch / PIL (NMS: torchvision's CPU rules with a stable sort; resize: PIL bilinear, which is what
torchvision does for a PIL image). The reference model gets OUR image encoder (the reference
package has no TinyViT; it is the same module for both generators) and the reference prompt
encoder and mask decoder loaded with the same weights.
"""
from __future__ import annotations

import sys
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from sam_backend.amg.decode import DecodedPoints


def install_torchvision_shim() -> None:
    """Register the four torchvision names the reference uses (no-op when already there)."""
    if "torchvision.ops.boxes" in sys.modules:
        return
    tv = types.ModuleType("torchvision")
    ops = types.ModuleType("torchvision.ops")
    boxes = types.ModuleType("torchvision.ops.boxes")
    transforms = types.ModuleType("torchvision.transforms")
    functional = types.ModuleType("torchvision.transforms.functional")

    def box_area(b: torch.Tensor) -> torch.Tensor:
        return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])

    def batched_nms(b: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor, iou_threshold: float) -> torch.Tensor:
        assert bool((idxs == idxs[0]).all()) if idxs.numel() else True, "the shim handles one category"
        order = torch.sort(scores, descending=True, stable=True)[1]
        bf = b[order].float()
        area = box_area(bf)
        suppressed = torch.zeros(len(bf), dtype=torch.bool)
        keep = []
        for i in range(len(bf)):
            if suppressed[i]:
                continue
            keep.append(i)
            w = (torch.minimum(bf[i, 2], bf[:, 2]) - torch.maximum(bf[i, 0], bf[:, 0])).clamp(min=0)
            h = (torch.minimum(bf[i, 3], bf[:, 3]) - torch.maximum(bf[i, 1], bf[:, 1])).clamp(min=0)
            inter = w * h
            suppressed |= (inter / (area[i] + area - inter)).double() > iou_threshold
        return order[torch.tensor(keep, dtype=torch.int64)]

    boxes.batched_nms = batched_nms  # type: ignore[attr-defined]
    boxes.box_area = box_area  # type: ignore[attr-defined]
    functional.to_pil_image = Image.fromarray  # type: ignore[attr-defined]
    functional.resize = lambda im, size: im.resize((size[1], size[0]), Image.Resampling.BILINEAR)  # type: ignore[attr-defined]
    ops.boxes = boxes  # type: ignore[attr-defined]
    transforms.functional = functional  # type: ignore[attr-defined]
    tv.ops = ops  # type: ignore[attr-defined]
    tv.transforms = transforms  # type: ignore[attr-defined]
    sys.modules.update({"torchvision": tv, "torchvision.ops": ops, "torchvision.ops.boxes": boxes,
                        "torchvision.transforms": transforms, "torchvision.transforms.functional": functional})


class _Encoder(torch.nn.Module):
    """Our image encoder with the reference's interface (returns the embedding only)."""

    def __init__(self, encoder: torch.nn.Module) -> None:
        super().__init__()
        self.enc = encoder
        self.img_size = 1024

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.enc(x)[0]


def reference_model(model: torch.nn.Module, reference_dir: Path) -> torch.nn.Module:
    """segment_anything's Sam with our encoder and the reference prompt encoder/decoder,
    loaded with `model`'s weights (mobile_sam / SAM layouts)."""
    install_torchvision_shim()
    sys.path.insert(0, str(reference_dir))
    from segment_anything.modeling import MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    pe = PromptEncoder(embed_dim=256, image_embedding_size=(64, 64), input_image_size=(1024, 1024), mask_in_chans=16)
    md = MaskDecoder(num_multimask_outputs=3, transformer=TwoWayTransformer(depth=2, embedding_dim=256, mlp_dim=2048, num_heads=8),
                     transformer_dim=256, iou_head_depth=3, iou_head_hidden_dim=256)
    encoder = model.image_encoder
    assert isinstance(encoder, torch.nn.Module)
    sam = Sam(_Encoder(encoder), pe, md)
    state = {k: v for k, v in model.state_dict().items() if k.startswith(("prompt_encoder.", "mask_decoder."))}
    state.update({"image_encoder.enc." + k[len("image_encoder."):]: v for k, v in model.state_dict().items()
                  if k.startswith("image_encoder.")})
    sam.load_state_dict(state, strict=True)
    return sam.eval()


def reference_generator(sam: torch.nn.Module, params: Mapping[str, object]) -> Any:
    from segment_anything import SamAutomaticMaskGenerator

    return SamAutomaticMaskGenerator(sam, **params)


class ReferenceDecoder:
    """A PointDecoder running the reference's own prompt encoder + mask decoder on the reference
    predictor's embedding, batch by batch as the reference generator does: our generator driven
    by it must give the reference's records bit for bit."""

    def __init__(self, sam: torch.nn.Module) -> None:
        from segment_anything import SamPredictor

        self.predictor = SamPredictor(sam)

    def encode_image(self, image: np.ndarray, should_abort: Callable[[], bool] | None) -> tuple[int, int]:
        self.predictor.set_image(image)
        return int(image.shape[0]), int(image.shape[1])

    def decode_points(self, embedding: object, points: np.ndarray, min_iou: float | None) -> DecodedPoints:
        p = self.predictor
        with torch.no_grad():
            coords = torch.as_tensor(p.transform.apply_coords(points, p.original_size), device=p.device)
            labels = torch.ones(coords.shape[0], dtype=torch.int, device=p.device)
            sparse, dense = p.model.prompt_encoder(points=(coords[:, None, :], labels[:, None]), boxes=None, masks=None)
            low, iou = p.model.mask_decoder(image_embeddings=p.features, image_pe=p.model.prompt_encoder.get_dense_pe(),
                                            sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense, multimask_output=True)
        return DecodedPoints(iou.numpy(), np.arange(points.shape[0], dtype=np.int64), low.numpy())
