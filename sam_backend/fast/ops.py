"""In-place helpers of the fast routes, for fresh intermediates that nobody else holds.

Each helper falls back to the out-of-place operation when autograd records x (so the fast
routes stay differentiable, just without the memory savings).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sam_backend import torch_private


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


def layer_norm_into(x: torch.Tensor, norm: nn.LayerNorm, out: torch.Tensor | None) -> torch.Tensor:
    """norm(x) over the last axis, written into `out` (same shape, not overlapping x) when given
    and allowed (saves a fresh allocation, i.e. page faults on a multi-MB tensor)."""
    if out is None or out.shape != x.shape or torch.is_grad_enabled():
        return F.layer_norm(x, norm.normalized_shape, norm.weight, norm.bias, norm.eps)
    return torch_private.layer_norm_into(x, norm.normalized_shape, norm.weight, norm.bias, norm.eps, out)
