"""The top-level SAM module: image encoder + prompt encoder + mask decoder (parameter names as in
the official checkpoints: `image_encoder.*`, `prompt_encoder.*`, `mask_decoder.*`)."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Union

import torch
from torch import nn

from sam_backend.models.mask_decoder import MaskDecoder
from sam_backend.models.prompt_encoder import PromptEncoder
from sam_backend.models.tiny_vit import TinyViT
from sam_backend.models.vit import ImageEncoderViT

if TYPE_CHECKING:
    from sam_backend.models.configs import ModelConfig

ImageEncoder = Union[ImageEncoderViT, TinyViT]
"""The image encoders of the SAM family (ViT: SAM, SAM-HQ; TinyViT: MobileSAM, SAM-HQ tiny)."""

PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)


class Sam(nn.Module):
    """SAM-family network. `is_hq` tells whether the decoder needs the encoder's early features.

    The pixel mean/std are non-persistent buffers (not part of any checkpoint).
    """

    pixel_mean: torch.Tensor  # buffers
    pixel_std: torch.Tensor
    config: ModelConfig  # set by build_model

    def __init__(self, image_encoder: ImageEncoder, prompt_encoder: PromptEncoder, mask_decoder: MaskDecoder, is_hq: bool) -> None:
        super().__init__()
        self.image_encoder = image_encoder
        self.prompt_encoder = prompt_encoder
        self.mask_decoder = mask_decoder
        self.is_hq = is_hq
        self.image_encoder.keep_early = is_hq
        self.register_buffer("pixel_mean", torch.tensor(PIXEL_MEAN).view(-1, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(PIXEL_STD).view(-1, 1, 1), persistent=False)

    def init_buffers(self) -> None:
        """(Re)create every non-persistent buffer on the CPU, e.g. after building on the meta device."""
        self.pixel_mean = torch.tensor(PIXEL_MEAN, device="cpu").view(-1, 1, 1)
        self.pixel_std = torch.tensor(PIXEL_STD, device="cpu").view(-1, 1, 1)
        for mod in self.modules():
            reset = getattr(mod, "reset_index_buffers", None)
            if callable(reset):
                reset()

    def encode(
        self, image: torch.Tensor, check: Callable[[], None] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """image: normalised, padded (B, 3, 1024, 1024) float -> (embedding (B, 256, 64, 64), early features).

        check: optional callback the encoder runs between its blocks; raising from it aborts the encode.
        """
        if check is None:
            return self.image_encoder(image)
        return self.image_encoder(image, check)
