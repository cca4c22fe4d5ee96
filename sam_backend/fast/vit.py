"""Fast route of SAM's ViT image encoder (`sam_backend.models.vit`), same function.

Attention through SDPA with the decomposed relative positions as a float mask; residuals and
GELU computed in place on fresh intermediates.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from sam_backend.fast.ops import add_, gelu_
from sam_backend.models.vit import Attention, Block, ImageEncoderViT, rel_pos_table, window_partition, window_unpartition


def _rel_bias(attn: Attention, q: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Relative-position bias (B*nh, h*w, h*w) from unscaled queries q: (B*nh, h*w, head_dim)."""
    rh = rel_pos_table(h, attn.rel_pos_h)
    rw = rel_pos_table(w, attn.rel_pos_w)
    bn, _, c = q.shape
    r_q = q.reshape(bn, h, w, c)
    rel_h = torch.einsum("bhwc,hkc->bhwk", r_q, rh)
    rel_w = torch.einsum("bhwc,wkc->bhwk", r_q, rw)
    return (rel_h[:, :, :, :, None] + rel_w[:, :, :, None, :]).reshape(bn, h * w, h * w)


def attention(attn: Attention, x: torch.Tensor) -> torch.Tensor:
    """attn(x) through SDPA: x (B, H, W, C) -> (B, H, W, C)."""
    b, h, w, _ = x.shape
    n = h * w
    qkv = attn.qkv(x).reshape(b, n, 3, attn.num_heads, -1).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)  # each (B, nh, N, hd)
    mask = None
    if attn.use_rel_pos:
        mask = _rel_bias(attn, q.reshape(b * attn.num_heads, n, q.shape[-1]), h, w).view(b, attn.num_heads, n, n)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return attn.proj(out.transpose(1, 2).reshape(b, h, w, -1))


def block(blk: Block, x: torch.Tensor) -> torch.Tensor:
    """blk(x) for x (B, H, W, C), residuals and GELU in place."""
    shortcut = x
    x = blk.norm1(x)
    if blk.window_size > 0:
        h, w = x.shape[1], x.shape[2]
        x, pad_hw = window_partition(x, blk.window_size)
        x = attention(blk.attn, x)
        x = window_unpartition(x, blk.window_size, pad_hw, (h, w))
    else:
        x = attention(blk.attn, x)
    x = add_(x, shortcut)
    mlp = blk.mlp
    return add_(mlp.lin2(gelu_(mlp.lin1(blk.norm2(x)))), x)


class FastViT:
    """The fast route of an ImageEncoderViT: `route(x, check)` as `encoder(x, check)`."""

    def __init__(self, encoder: ImageEncoderViT) -> None:
        self.encoder = encoder

    def __call__(
        self, x: torch.Tensor, check: Callable[[], None] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Encode a normalised padded batch (B, 3, 1024, 1024) -> (embedding, early features)."""
        enc = self.encoder
        x = enc.patch_embed(x) + enc.pos_embed
        early: list[torch.Tensor] = []
        for blk in enc.blocks:
            if check is not None:
                check()
            x = block(blk, x)
            if enc.keep_early and blk.window_size == 0 and not early:
                early.append(x)
        if check is not None:
            check()
        return enc.neck(x.permute(0, 3, 1, 2)), tuple(early)
