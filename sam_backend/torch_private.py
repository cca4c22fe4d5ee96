"""The private torch entry points sam_backend relies on, in one place.

Each one is an ATen operator (or a torch-internal function) that the public API does not offer
with the needed arguments; each is used only by the fast routes (`sam_backend.fast`) and the fast
post-processing, never by the plain models. Every wrapper is resolved when this module is
imported: when an operator is missing (a torch upgrade removed or renamed it), the wrapper falls
back to a public equivalent (same values, slower or with an extra allocation) and the operator's
name is listed in `MISSING`. `tests/sam_backend/test_torch_private.py` asserts that `MISSING` is
empty and that every operator still computes what its public equivalent computes, so an upgrade
that breaks one fails the test suite loudly instead of silently slowing the app down.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F


def _resolve(path: str) -> Any | None:
    """The object at a dotted path below `torch` ("ops.aten.gelu_"), or None when it is gone."""
    obj: Any = torch
    try:
        for part in path.split("."):
            obj = getattr(obj, part)
    except (AttributeError, RuntimeError):  # torch.ops raises RuntimeError for unknown operators
        return None
    return obj


_OPS: dict[str, str] = {
    "gelu_": "ops.aten.gelu_.default",
    "native_layer_norm.out": "ops.aten.native_layer_norm.out",
    "upsample_bilinear2d": "ops.aten.upsample_bilinear2d.default",
}
RESOLVED: dict[str, Callable[..., Any] | None] = {name: _resolve(path) for name, path in _OPS.items()}
MISSING: tuple[str, ...] = tuple(sorted(name for name, op in RESOLVED.items() if op is None))


def gelu_(x: torch.Tensor) -> torch.Tensor:
    """Exact (erf) GELU of x computed in place; returns x. The public API has no in-place GELU
    (nn.GELU and F.gelu always allocate a result of x's size)."""
    op = RESOLVED["gelu_"]
    if op is not None:
        return op(x)
    return x.copy_(F.gelu(x))


def layer_norm_into(
    x: torch.Tensor, normalized_shape: Sequence[int], weight: torch.Tensor | None, bias: torch.Tensor | None,
    eps: float, out: torch.Tensor,
) -> torch.Tensor:
    """F.layer_norm(x, ...) written into `out` (same shape as x, not overlapping it); returns out.
    Saves the fresh allocation (i.e. the page faults) of a multi-MB result."""
    op = RESOLVED["native_layer_norm.out"]
    if op is None:
        return out.copy_(F.layer_norm(x, list(normalized_shape), weight, bias, eps))
    stats = x.new_empty((*x.shape[: x.ndim - len(normalized_shape)], 1))
    op(x, list(normalized_shape), weight, bias, eps, out0=out, out1=stats, out2=torch.empty_like(stats))
    return out


def upsample_bilinear2d_scaled(x: torch.Tensor, size: Sequence[int], scale_h: float, scale_w: float) -> torch.Tensor:
    """Bilinear resize (align_corners=False) of x (N, C, h, w) to `size` with the source position of
    output pixel (i, j) computed from the given scale factors, not from the size ratio: a crop of
    a larger resize, computed alone. F.interpolate takes a size or scale factors, never both."""
    op = RESOLVED["upsample_bilinear2d"]
    if op is not None:
        return op(x, list(size), False, scale_h, scale_w)
    full = (round(x.shape[2] * scale_h), round(x.shape[3] * scale_w))
    return F.interpolate(x, full, mode="bilinear", align_corners=False)[:, :, : size[0], : size[1]].contiguous()

