"""Which fast route runs which plain module."""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from sam_backend.fast.tiny_vit import FastTinyViT
from sam_backend.fast.vit import FastViT
from sam_backend.models.tiny_vit import TinyViT
from sam_backend.models.vit import ImageEncoderViT

# (normalised padded image (B, 3, 1024, 1024), optional abort check) -> (embedding, early features)
EncoderRoute = Callable[[torch.Tensor, Callable[[], None] | None], tuple[torch.Tensor, tuple[torch.Tensor, ...]]]


def encoder_route(encoder: nn.Module) -> EncoderRoute:
    """The fast route of an image encoder (the plain module itself for unknown encoders)."""
    if isinstance(encoder, ImageEncoderViT):
        return FastViT(encoder)
    if isinstance(encoder, TinyViT):
        return FastTinyViT(encoder)
    return encoder
