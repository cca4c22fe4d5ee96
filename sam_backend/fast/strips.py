"""Chains of convolutions computed in horizontal strips of output rows.

A high-resolution stage (TinyViT's stem and MBConv blocks: 256 channels at 256x256 px, 67 MB per
map) computed op by op streams every intermediate map through main memory and, for maps above
glibc's 32 MB mmap threshold, pays ~16 000 fresh page faults per map and op (measured: 19 ms per
64 MB map on this VM, more than the convolution's arithmetic). Computed strip by strip, each
intermediate is a few MB that stays in cache and reuses freed heap memory; only the stage's
input and output maps are whole. Same arithmetic per output pixel, so the same values.

Maps are (1, C, H, W) (channels-last memory preferred: a strip of rows is then one contiguous
block). Each op of a chain knows its vertical kernel size, stride and padding; a strip of output
rows needs a strip of input rows, cut from the op's input with zero rows where the strip reaches
past the map's edge (the op itself pads horizontally only).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

STRIP_BYTES = 4 << 20  # target size of the largest intermediate strip (measured best 2-4 MB)


@dataclass(frozen=True)
class RowOp:
    """One op of a chain: fn maps an input strip (rows already padded) to its output strip;
    k, s, p: vertical kernel size, stride and zero padding of the op; channels: output channels
    (sizes the strips)."""

    fn: Callable[[torch.Tensor], torch.Tensor]
    k: int = 1
    s: int = 1
    p: int = 0
    channels: int = 0


def out_height(ops: Sequence[RowOp], h: int) -> int:
    """Height of the chain's output for an input of height h."""
    for op in ops:
        h = (h + 2 * op.p - op.k) // op.s + 1
    return h


def _heights(ops: Sequence[RowOp], h: int) -> list[int]:
    heights = [h]
    for op in ops:
        heights.append((heights[-1] + 2 * op.p - op.k) // op.s + 1)
    return heights


def rows(ops: Sequence[RowOp], x: torch.Tensor, a: int, b: int, heights: list[int] | None = None) -> torch.Tensor:
    """Output rows [a, b) of the chain `ops` applied to the whole map x (1, C, H, W)."""
    heights = heights if heights is not None else _heights(ops, x.shape[2])
    if not ops:
        return x[:, :, a:b]
    *head, last = ops
    h_in = heights[len(ops) - 1]
    lo, hi = a * last.s - last.p, (b - 1) * last.s - last.p + last.k
    clo, chi = max(lo, 0), min(hi, h_in)
    part = rows(head, x, clo, chi, heights)
    if clo > lo or chi < hi:
        part = _pad_rows(part, clo - lo, hi - chi)
    return last.fn(part)


def _pad_rows(part: torch.Tensor, top: int, bottom: int) -> torch.Tensor:
    """part (B, C, h, W) with `top` and `bottom` zero rows, channels-last. Only the new rows are
    zeroed (F.pad zero-fills the whole strip before copying it in: 5 ms per 8 MB strip, ~10 per
    MobileSAM encode, profiled)."""
    b, c, h, w = part.shape
    out = torch.empty((b, c, top + h + bottom, w), dtype=part.dtype, device=part.device,
                      memory_format=torch.channels_last)
    out[:, :, :top] = 0
    out[:, :, top : top + h] = part
    out[:, :, top + h :] = 0
    return out


def run(
    ops: Sequence[RowOp],
    x: torch.Tensor,
    finish: Callable[[torch.Tensor, int, int], torch.Tensor] | None = None,
) -> torch.Tensor:
    """The chain applied to x (B, C, H, W), strip by strip, into one channels-last output map.
    finish(strip, a, b): optional last step on output rows [a, b) (e.g. a residual add)."""
    heights = _heights(ops, x.shape[2])
    h_out, w = heights[-1], x.shape[3]
    widest = max(op.channels for op in ops) * max(w, 1) * x.element_size()
    step = max(1, min(h_out, STRIP_BYTES // max(widest, 1)))
    out: torch.Tensor | None = None
    for a in range(0, h_out, step):
        b = min(a + step, h_out)
        strip = rows(ops, x, a, b, heights)
        if finish is not None:
            strip = finish(strip, a, b)
        if out is None:
            # made channels-last directly (new_empty(...).contiguous(channels_last) copied a whole
            # uninitialised map: 13.6 ms at 64 x 256 x 256, profiled)
            out = torch.empty((strip.shape[0], strip.shape[1], h_out, strip.shape[3]), dtype=strip.dtype,
                              device=strip.device, memory_format=torch.channels_last)
        out[:, :, a:b] = strip
    assert out is not None
    return out
