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
    "upsample_bilinear2d": "ops.aten.upsample_bilinear2d.default",
    "conv_pointwise": "ops.mkldnn._convolution_pointwise.default",
    "conv_pointwise.binary": "ops.mkldnn._convolution_pointwise.binary",
    "linear_pointwise": "ops.mkldnn._linear_pointwise.default",
    "linear_pointwise.binary": "ops.mkldnn._linear_pointwise.binary",
    "bf16_supported": "ops.mkldnn._is_mkldnn_bf16_supported.default",
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


def upsample_bilinear2d_scaled(x: torch.Tensor, size: Sequence[int], scale_h: float, scale_w: float) -> torch.Tensor:
    """Bilinear resize (align_corners=False) of x (N, C, h, w) to `size` with the source position of
    output pixel (i, j) computed from the given scale factors, not from the size ratio: a crop of
    a larger resize, computed alone. F.interpolate takes a size or scale factors, never both."""
    op = RESOLVED["upsample_bilinear2d"]
    if op is not None:
        return op(x, list(size), False, scale_h, scale_w)
    full = (round(x.shape[2] * scale_h), round(x.shape[3] * scale_w))
    return F.interpolate(x, full, mode="bilinear", align_corners=False)[:, :, : size[0], : size[1]].contiguous()



# oneDNN convolutions / matrix products with the activation or the residual add fused into the
# same pass over the output (what inductor emits for CPU). Used on CPU float32 / bfloat16 tensors
# without autograd; anything else takes the public route.
_ONEDNN_DTYPES = (torch.float32, torch.bfloat16)


def _onednn(x: torch.Tensor, weight: torch.Tensor, name: str) -> Callable[..., Any] | None:
    op = RESOLVED[name]
    if op is None or x.device.type != "cpu" or x.dtype not in _ONEDNN_DTYPES or weight.dtype != x.dtype:
        return None
    if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad):
        return None
    return op


def conv2d_act(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
    stride: Sequence[int], padding: Sequence[int], groups: int, gelu: bool,
) -> torch.Tensor:
    """F.conv2d(x, weight, bias, stride, padding, 1, groups), then exact GELU when `gelu`, in one pass."""
    op = _onednn(x, weight, "conv_pointwise")
    if op is None:
        y = F.conv2d(x, weight, bias, list(stride), list(padding), 1, groups)
        return F.gelu(y) if gelu else y
    return op(x, weight, bias, list(padding), list(stride), [1, 1], groups, "gelu" if gelu else "none", [], "none" if gelu else "")


def conv2d_add(
    x: torch.Tensor, other: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
    stride: Sequence[int], padding: Sequence[int], groups: int,
) -> torch.Tensor:
    """F.conv2d(x, weight, bias, stride, padding, 1, groups) + other, in one pass."""
    op = _onednn(x, weight, "conv_pointwise.binary")
    if op is None or other.dtype != x.dtype:
        return F.conv2d(x, weight, bias, list(stride), list(padding), 1, groups) + other
    return op(x, other, weight, bias, list(padding), list(stride), [1, 1], groups, "add", None, None, [], None)


def linear_act(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, gelu: bool) -> torch.Tensor:
    """F.linear(x, weight, bias), then exact GELU when `gelu`, in one pass (x (..., K))."""
    op = _onednn(x, weight, "linear_pointwise")
    if op is None:
        y = F.linear(x, weight, bias)
        return F.gelu(y) if gelu else y
    return op(x, weight, bias, "gelu" if gelu else "none", [], "none" if gelu else "")


def linear_add(x: torch.Tensor, other: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """F.linear(x, weight, bias) + other (same shape as the result), in one pass."""
    op = _onednn(x, weight, "linear_pointwise.binary")
    if op is None or other.dtype != x.dtype:
        return F.linear(x, weight, bias) + other
    return op(x, other, weight, bias, "add")


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 matrix products natively (AVX512-BF16 / AMX / ARM BF16),
    as oneDNN reports it; without it bfloat16 is emulated and slower than float32."""
    op = RESOLVED["bf16_supported"]
    if op is None:
        return False
    try:
        return bool(op())
    except RuntimeError:
        return False
