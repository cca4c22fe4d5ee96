"""Building blocks shared by the SAM-family networks (no learned-parameter layout of their own).

Every block keeps the parameter names of the official checkpoints, so `state_dict()` keys match
`layout_<id>.json` exactly.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn


_FAST = [True]


def fast_enabled() -> bool:
    """True (default) when the optimised inference path is on: SDPA attention, BatchNorm folded into
    convolutions, in-place activations/residuals, channels-last convolutions. Same function either way."""
    return _FAST[0]


@contextlib.contextmanager
def fast_path(enabled: bool) -> Iterator[None]:
    """Temporarily switch the optimised path on/off (off = the textbook reference arithmetic;
    used as the benchmark's naive baseline). Process-wide; not thread-safe."""
    old = _FAST[0]
    _FAST[0] = enabled
    try:
        yield
    finally:
        _FAST[0] = old


def can_modify(x: torch.Tensor) -> bool:
    """Whether an op may overwrite the freshly computed tensor x in place (no autograd, fast path)."""
    return _FAST[0] and (not torch.is_grad_enabled() or not x.requires_grad)


def gelu_(x: torch.Tensor) -> torch.Tensor:
    """Exact GELU, in place when allowed (x must be a fresh intermediate nobody else holds)."""
    if can_modify(x):
        return torch.ops.aten.gelu_(x)
    return F.gelu(x)


def add_(fresh: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """fresh + other, accumulated into `fresh` when allowed (same value either way)."""
    if can_modify(fresh) and fresh.shape == torch.broadcast_shapes(fresh.shape, other.shape):
        return fresh.add_(other)
    return fresh + other


def layer_norm_into(x: torch.Tensor, norm: nn.LayerNorm, out: torch.Tensor | None) -> torch.Tensor:
    """norm(x) over the last axis, written into `out` (same shape, not overlapping x) when given
    and allowed (saves a fresh allocation, i.e. page faults on a multi-MB tensor)."""
    if out is None or out.shape != x.shape or not can_modify(out) or torch.is_grad_enabled():
        return F.layer_norm(x, norm.normalized_shape, norm.weight, norm.bias, norm.eps)
    stats = x.new_empty((*x.shape[:-1], 1))
    torch.ops.aten.native_layer_norm.out(
        x, list(norm.normalized_shape), norm.weight, norm.bias, norm.eps, out0=out, out1=stats, out2=torch.empty_like(stats)
    )
    return out


class GELU(nn.Module):
    """nn.GELU (exact) that works in place on its (fresh) input on the fast inference path."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Elementwise GELU, same shape."""
        return gelu_(x)


class LayerNorm2d(nn.Module):
    """LayerNorm over the channel axis of an NCHW tensor (eps 1e-6, as in SAM).

    Input/output: float tensor (N, C, H, W).
    """

    def __init__(self, num_channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise each pixel's channel vector, then scale and shift per channel."""
        u = x.mean(1, keepdim=True)
        d = x - u
        s = (d * d).mean(1, keepdim=True)
        x = d * torch.rsqrt(s + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class MLPBlock(nn.Module):
    """Two-layer feed-forward block `lin2(act(lin1(x)))` on the last axis (..., dim)."""

    def __init__(self, embedding_dim: int, mlp_dim: int, act: type[nn.Module] = GELU) -> None:
        super().__init__()
        self.lin1 = nn.Linear(embedding_dim, mlp_dim)
        self.lin2 = nn.Linear(mlp_dim, embedding_dim)
        self.act = act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (..., embedding_dim) -> (..., embedding_dim)."""
        return self.lin2(self.act(self.lin1(x)))


class MLP(nn.Module):
    """`num_layers` Linear layers with ReLU between them (the decoder's hypernetwork / IoU heads).

    Input (..., input_dim) -> output (..., output_dim); optional sigmoid on the output.
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        output_dim: int,
        num_layers: int,
        sigmoid_output: bool = False,
    ) -> None:
        super().__init__()
        dims_in = [input_dim] + [hidden_dim] * (num_layers - 1)
        dims_out = [hidden_dim] * (num_layers - 1) + [output_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims_in, dims_out))
        self.sigmoid_output = sigmoid_output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the layers; ReLU after every layer except the last."""
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < last:
                x = F.relu(x)
        return torch.sigmoid(x) if self.sigmoid_output else x
