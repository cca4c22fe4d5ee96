"""The decoder's 2x2-stride-2 transposed-convolution upscaling as plain matrix products on
channels-last pixels (same function as the nn.Sequential, fewer copies).

A ConvTranspose2d with kernel 2, stride 2 maps every input pixel (i, j) to the 2x2 output block
(2i + a, 2j + b) independently: out[(i, j), (a, b), o] = bias[o] + sum_c x[(i, j), c] W[c, o, a, b],
one (C_in, 4 * C_out) matrix product. LayerNorm2d and GELU act per pixel. So the whole stack runs
on a (pixels, channels) matrix whose rows stay in "tree order": input pixel (i, j) first, then the
sub-pixel (a1, b1) of the first layer, (a2, b2) of the second, ... Only the final (few-channel)
result is put back into image order (`tree_to_grid`).
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from sam_backend import torch_private
from sam_backend.fast.ops import can_modify, gelu_
from sam_backend.models.common import LayerNorm2d


def supports(seq: nn.Sequential) -> bool:
    """Whether `upscale_tokens` can run this stack (2x2/2 transposed convs, LayerNorm2d, GELU)."""
    for m in seq:
        if isinstance(m, nn.ConvTranspose2d):
            plain = m.padding == (0, 0) and m.output_padding == (0, 0) and m.dilation == (1, 1) and m.groups == 1
            if not (plain and m.kernel_size == (2, 2) and m.stride == (2, 2)):
                return False
        elif isinstance(m, nn.GELU):
            if m.approximate != "none":
                return False
        elif not isinstance(m, LayerNorm2d):
            return False
    return True


class _Scratch:
    """Tensors whose memory the stack may overwrite (flat views by size), so that its multi-MB
    intermediates reuse memory that is already mapped instead of faulting in fresh pages."""

    def __init__(self, tensors: list[torch.Tensor]) -> None:
        usable = not torch.is_grad_enabled()  # out= arguments do not support autograd
        self.free = [t for t in tensors if usable and can_modify(t) and t.is_contiguous()]

    def take(self, numel: int, avoid: torch.Tensor) -> torch.Tensor | None:
        for i, t in enumerate(self.free):
            if t.numel() == numel and t.data_ptr() != avoid.data_ptr():
                return self.free.pop(i).view(-1)
        return None


def _layer(m: nn.Module, x: torch.Tensor, scratch: _Scratch | None = None) -> torch.Tensor:
    """One layer of the stack on (pixels, C) rows in tree order -> (pixels', C'); the output goes
    into a scratch tensor of the right size when there is one."""
    if isinstance(m, nn.ConvTranspose2d):
        c_in, c_out = m.weight.shape[:2]
        weight = m.weight.permute(0, 2, 3, 1).reshape(c_in, 4 * c_out)  # columns (a, b, o)
        out = scratch.take(x.shape[0] * 4 * c_out, x) if scratch is not None else None
        bias = m.bias.repeat(4) if m.bias is not None else None
        if out is not None:
            out = out.view(x.shape[0], 4 * c_out)
            return (torch.mm(x, weight, out=out) if bias is None else torch.addmm(bias, x, weight, out=out)).view(-1, c_out)
        return (torch.mm(x, weight) if bias is None else torch.addmm(bias, x, weight)).view(-1, c_out)
    if isinstance(m, LayerNorm2d):
        return F.layer_norm(x, (x.shape[1],), m.weight, m.bias, m.eps)
    return gelu_(x)


def _run(layers: list[nn.Module], x: torch.Tensor, scratch: _Scratch | None) -> torch.Tensor:
    """Apply layers in order. With scratch, every layer output is taken from it when possible and
    every input a layer leaves behind (x itself if it was listed, later the intermediates) joins it."""
    if scratch is None:
        for m in layers:
            x = _layer(m, x)
        return x
    n_free = len(scratch.free)
    scratch.free = [t for t in scratch.free if t.data_ptr() != x.data_ptr()]
    owned = len(scratch.free) < n_free  # the caller gave x up
    for m in layers:
        y = _layer(m, x, scratch)
        if owned and y.data_ptr() != x.data_ptr():
            scratch.free.append(x)
        x, owned = y, True
    return x


def _levels(seq: nn.Sequential) -> int:
    return sum(isinstance(m, nn.ConvTranspose2d) for m in seq)


def upscale_tokens(
    seq: nn.Sequential, tokens: torch.Tensor, scratch: list[torch.Tensor] | None = None
) -> tuple[torch.Tensor, int]:
    """Run `seq` on channels-last pixels.

    tokens: float (B, N, C_in) with rows = the N input pixels (row-major over an (h, w) grid);
    scratch: tensors the computation may overwrite (`tokens` itself may be one of them).
    Returns (out (B, N * 4**L, C_out) in tree order, L = number of transposed convs).
    """
    b, n, c = tokens.shape
    x = _run(list(seq), tokens.reshape(b * n, c), _Scratch(scratch) if scratch else None)
    return x.view(b, -1, x.shape[1]), _levels(seq)


TAIL_ROWS = 2048  # rows per block of the last stage in `project_upscaled` (~1 MB of float32 output)


def project_upscaled(
    seq: nn.Sequential, tokens: torch.Tensor, vectors: torch.Tensor, scratch: list[torch.Tensor] | None = None
) -> tuple[torch.Tensor, int]:
    """Per-pixel dot products of `vectors` with the upscaled features, without materialising them:
    the stack up to its last transposed conv runs on everything, the rest (the largest, last
    stage) block by block, each block projected at once while it is in cache.

    tokens (B, N, C_in) and scratch as in `upscale_tokens`; vectors (B, M, C_out).
    Returns (maps (B, N * 4**L, M) in tree order, a transposed view of (B, M, N * 4**L) memory, L);
    maps[b, p, m] = vectors[b, m] . features[b, p].
    """
    last = max(i for i, m in enumerate(seq) if isinstance(m, nn.ConvTranspose2d))
    b, n, c = tokens.shape
    x = _run(list(seq)[:last], tokens.reshape(b * n, c), _Scratch(scratch) if scratch else None)
    x = x.view(b, -1, x.shape[1])
    tail = list(seq)[last:]
    conv = tail[0]
    assert isinstance(conv, nn.ConvTranspose2d)
    c_out = conv.weight.shape[1]
    # the last transposed conv as a Linear layer (weight rows (a, b, o)), with its GELU fused in
    weight = conv.weight.permute(2, 3, 1, 0).reshape(4 * c_out, conv.weight.shape[0])
    bias = conv.bias.repeat(4) if conv.bias is not None else None
    fused = len(tail) >= 2 and isinstance(tail[1], nn.GELU)
    maps = []
    for i in range(b):
        blocks = []
        for r in range(0, x.shape[1], TAIL_ROWS):
            y = torch_private.linear_act(x[i, r : r + TAIL_ROWS], weight, bias, gelu=fused).view(-1, c_out)
            for m in tail[2 if fused else 1 :]:
                y = _layer(m, y)
            blocks.append(torch.mm(vectors[i], y.t()))  # (M, rows): the maps come out channel-first
        maps.append(torch.cat(blocks, dim=1))
    # (B, P, M) as a view of (B, M, P) memory: tree_to_grid's channel-first copy is then a view
    return (maps[0].unsqueeze(0) if b == 1 else torch.stack(maps)).transpose(1, 2), _levels(seq)


@functools.lru_cache(maxsize=8)
def _grid_order(h: int, w: int, levels: int, device: torch.device) -> torch.Tensor:
    """int64 (h * w * 4**levels,): tree index of every output pixel, in row-major image order.
    A normal tensor even when first asked for under inference_mode (it is cached for autograd use too)."""
    with torch.inference_mode(False):
        tree = torch.arange(h * w * 4**levels, device=device).view(h, w, *([2, 2] * levels))  # i, j, a1, b1, ...
        rows = [0] + [2 + 2 * k for k in range(levels)]
        cols = [1] + [3 + 2 * k for k in range(levels)]
        return tree.permute(*rows, *cols).reshape(-1)


def tree_to_grid(x: torch.Tensor, grid: tuple[int, int], levels: int, channels_last: bool = False) -> torch.Tensor:
    """x (B, h * w * 4**levels, M) channels-last in tree order over an (h, w) input grid
    -> (B, M, h * 2**L, w * 2**L) in image order: a contiguous copy, or with channels_last=True
    a copy in channels-last memory format (cheaper for many channels)."""
    b, _, m = x.shape
    size = (grid[0] * 2**levels, grid[1] * 2**levels)
    order = _grid_order(grid[0], grid[1], levels, x.device)
    if channels_last:
        return x.index_select(1, order).view(b, *size, m).permute(0, 3, 1, 2)
    flat = x.transpose(1, 2).reshape(b * m, -1)  # 2-D: index_select along the last of 3 dims is ~20x slower
    return flat.index_select(1, order).view(b, m, *size)


def one_channel_conv(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """A stride-1, zero-padded ("same") convolution with ONE output channel per batch item, on
    channels-last data: x (B, H, W, C), weight (B, k, k, C) with k odd -> (B, H, W).

    One matrix product gives every tap's response p[y, x, i, j] = weight[i, j] . x[y, x]; the output
    is the sum of the k*k shifted tap planes, out[y, x] = sum_ij p[y + i - k//2, x + j - k//2, i, j]
    (a one-channel convolution is ~20x slower through the convolution primitives)."""
    b, h, w, c = x.shape
    k = weight.shape[1]
    r = k // 2
    taps = torch.matmul(x.reshape(b, h * w, c), weight.reshape(b, k * k, c).transpose(1, 2))
    taps = taps.view(b, h, w, k, k)
    out = taps[:, :, :, r, r].clone()
    for i in range(k):
        for j in range(k):
            if i == r and j == r:
                continue
            dy, dx = i - r, j - r  # out[y, x] += taps[y + dy, x + dx, i, j] where inside
            out[:, max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)] += taps[
                :, max(0, dy) : h + min(0, dy), max(0, dx) : w + min(0, dx), i, j
            ]
    return out
