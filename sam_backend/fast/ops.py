"""In-place helpers of the fast routes, for fresh intermediates that nobody else holds.

Each helper falls back to the out-of-place operation when autograd records x (so the fast
routes stay differentiable, just without the memory savings).
"""
from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from sam_backend import torch_private
from sam_backend.models.common import LayerNorm2d


def can_modify(x: torch.Tensor) -> bool:
    """Whether an op may overwrite the freshly computed tensor x in place (autograd does not record it)."""
    return not torch.is_grad_enabled() or not x.requires_grad


def gelu_(x: torch.Tensor) -> torch.Tensor:
    """Exact GELU, in place when allowed (x must be a fresh intermediate nobody else holds)."""
    if can_modify(x):
        return torch_private.gelu_(x)
    return F.gelu(x)


def add_(fresh: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """fresh + other, accumulated into `fresh` when allowed (same value either way)."""
    if can_modify(fresh) and fresh.shape == torch.broadcast_shapes(fresh.shape, other.shape):
        return fresh.add_(other)
    return fresh + other


def int_padding(conv: nn.Conv2d) -> tuple[int, ...]:
    """conv.padding as ints (torch also allows the strings "same"/"valid", which the fused
    convolutions do not take; the SAM-family networks are built with int padding only)."""
    padding = conv.padding
    if isinstance(padding, str):
        raise ValueError(f"a convolution with padding {padding!r} has no fast route")
    return padding


def linear(mod: nn.Module, x: torch.Tensor, gelu: bool = False) -> torch.Tensor:
    """mod(x) for a Linear layer (then exact GELU when `gelu`), fused where torch allows. mod may
    also be a dynamically quantised Linear (int8 mode), which is called as it is."""
    if isinstance(mod, nn.Linear):
        return torch_private.linear_act(x, mod.weight, mod.bias, gelu)
    y = mod(x)
    return gelu_(y) if gelu else y


def linear_add(mod: nn.Module, x: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """mod(x) + other (a new tensor), fused where torch allows (see `linear`)."""
    if isinstance(mod, nn.Linear):
        return torch_private.linear_add(x, other, mod.weight, mod.bias)
    return mod(x).add_(other)


def neck(neck: nn.Sequential, x: torch.Tensor, grid: int) -> torch.Tensor:
    """SAM's encoder neck (1x1 conv, LayerNorm2d, 3x3 conv, LayerNorm2d) on channels-last tokens
    x (B, grid*grid, C) -> embedding (B, 256, grid, grid), contiguous: the 1x1 conv as a matrix
    product and each LayerNorm2d as a LayerNorm over the channels-last rows (no layout copies)."""
    # torch types a Sequential's items as Module: these are the neck's layers (models/vit.py, tiny_vit.py)
    conv1, norm1, conv2, norm2 = cast("tuple[nn.Conv2d, LayerNorm2d, nn.Conv2d, LayerNorm2d]", tuple(neck))
    b = x.shape[0]
    y = torch_private.linear_act(x, conv1.weight.flatten(1), conv1.bias, gelu=False)
    y = F.layer_norm(y, (y.shape[-1],), norm1.weight, norm1.bias, norm1.eps)
    y = y.view(b, grid, grid, -1).permute(0, 3, 1, 2)
    y = torch_private.conv2d_act(y, conv2.weight, conv2.bias, conv2.stride, int_padding(conv2), conv2.groups,
                               gelu=False)
    y = F.layer_norm(y.permute(0, 2, 3, 1), (y.shape[1],), norm2.weight, norm2.bias, norm2.eps)
    return y.permute(0, 3, 1, 2).contiguous()
