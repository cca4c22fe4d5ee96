"""Fast route of SAM's ViT image encoder (`sam_backend.models.vit`), same function.

* Global attention by query rows: SDPA over a strip of query rows at a time, with the
  decomposed relative-position bias of that strip only (the plain module builds the bias of all
  4096 x 4096 pairs: 805 MB per image for ViT-B, written, then read by the softmax). The strip's
  bias goes into a buffer the route keeps, so its pages are faulted in once, not per block.
* Windowed attention on chunks of windows, the bias per chunk.
* MLP on chunks of tokens, GELU fused into the first matrix product and the residual into the
  second (`torch_private.linear_act` / `linear_add`); the hidden layer of a chunk (a few MB)
  stays in cache, where the plain module writes a 50 MB one.
* Output projection of global attention with its residual fused; the neck on channels-last
  tokens (`ops.neck`).
Measured on SAM ViT-B (2 cores): see benchmarks/bench_peers.py.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from sam_backend import torch_private as tp
from sam_backend.fast.ops import int_padding, linear, linear_add, neck
from sam_backend.models.vit import Attention, Block, ImageEncoderViT, rel_pos_table, window_partition, window_unpartition

CHUNK_BYTES = 8 << 20  # largest intermediate of a chunk of tokens / windows
BIAS_BYTES = 64 << 20  # the bias strip of global attention (kept by the route between calls)


class FastViT:
    """The fast route of an ImageEncoderViT: `route(x, check)` as `encoder(x, check)`.

    Holds one work buffer (the global-attention bias strip, at most BIAS_BYTES), reused by every
    call; one thread at a time, as the predictor."""

    def __init__(self, encoder: ImageEncoderViT) -> None:
        self.encoder = encoder
        self._work: torch.Tensor | None = None

    def _buffer(self, numel: int, like: torch.Tensor) -> torch.Tensor:
        work = self._work
        if work is None or work.numel() < numel or work.dtype != like.dtype or work.device != like.device:
            with torch.inference_mode(False):
                work = torch.empty(numel, dtype=like.dtype, device=like.device)
            self._work = work
        return work[:numel]

    # --------------------------------------------------------------------------------- attention
    @staticmethod
    def _rel_terms(attn: Attention, q: torch.Tensor, h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
        """q (B', h*w, hd) unscaled -> (rel_h (B', h, w, h), rel_w (B', h, w, w)) (see add_decomposed_rel_pos)."""
        r_q = q.reshape(q.shape[0], h, w, q.shape[-1])
        rel_h = torch.einsum("bhwc,hkc->bhwk", r_q, rel_pos_table(h, attn.rel_pos_h))
        rel_w = torch.einsum("bhwc,wkc->bhwk", r_q, rel_pos_table(w, attn.rel_pos_w))
        return rel_h, rel_w

    def windows(self, attn: Attention, win: torch.Tensor, out: torch.Tensor) -> None:
        """attn(win) for windows (B', ws, ws, C), written into out (B', ws, ws, C), chunk by chunk."""
        nwin, ws, _, c = win.shape
        n, nh = ws * ws, attn.num_heads
        hd = c // nh
        step = max(1, CHUNK_BYTES // (n * n * nh * win.element_size()))  # windows per chunk (bias size)
        for i in range(0, nwin, step):
            part = win[i : i + step].reshape(-1, n, c)
            k = part.shape[0]
            qkv = linear(attn.qkv, part)
            q, kk, v = qkv.view(k, n, 3, nh, hd).permute(2, 0, 3, 1, 4).unbind(0)  # (k, nh, n, hd)
            mask = None
            if attn.use_rel_pos:
                rel_h, rel_w = self._rel_terms(attn, q.reshape(k * nh, n, hd), ws, ws)
                mask = (rel_h[..., :, None] + rel_w[..., None, :]).reshape(k, nh, n, n)
            o = F.scaled_dot_product_attention(q, kk, v, attn_mask=mask)
            o = o.transpose(1, 2).reshape(k, n, c)
            out[i : i + k] = linear(attn.proj, o).view(k, ws, ws, c)

    def global_attention(self, attn: Attention, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        """residual + attn(x) for x (B, H, W, C) normalised tokens -> (B, H, W, C), query rows by strips."""
        b, h, w, c = x.shape
        n, nh = h * w, attn.num_heads
        hd = c // nh
        tokens = x.reshape(b, n, c)
        if isinstance(attn.qkv, nn.Linear):  # q, k and v apart: three 12 MB results instead of one 38 MB
            parts = zip(attn.qkv.weight.split(c), attn.qkv.bias.split(c))
            qkv = [tp.linear_act(tokens, wt, bs, gelu=False) for wt, bs in parts]
        else:
            qkv = list(linear(attn.qkv, tokens).split(c, dim=-1))
        q, k, v = (t.reshape(b, n, nh, hd).transpose(1, 2) for t in qkv)  # (B, nh, N, hd)
        out = torch.empty((b, n, nh, hd), dtype=x.dtype, device=x.device)
        if attn.use_rel_pos:
            rel_h, rel_w = self._rel_terms(attn, q.reshape(b * nh, n, hd), h, w)  # (B*nh, h, w, h|w)
            rows = max(1, min(h, BIAS_BYTES // (b * nh * w * n * x.element_size())))
            grad = torch.is_grad_enabled() and q.requires_grad  # out= has no backward
            buf = None if grad else self._buffer(b * nh * rows * w * n, x)
            for r in range(0, h, rows):
                e = min(r + rows, h)
                if buf is None:
                    mask = rel_h[:, r:e, :, :, None] + rel_w[:, r:e, :, None, :]
                else:
                    mask = buf[: b * nh * (e - r) * w * n].view(b * nh, e - r, w, h, w)
                    torch.add(rel_h[:, r:e, :, :, None], rel_w[:, r:e, :, None, :], out=mask)
                o = F.scaled_dot_product_attention(q[:, :, r * w : e * w], k, v, attn_mask=mask.reshape(b, nh, (e - r) * w, n))
                out[:, r * w : e * w] = o.transpose(1, 2)
        else:
            out.copy_(F.scaled_dot_product_attention(q, k, v).transpose(1, 2))
        o = linear_add(attn.proj, out.view(b, n, c), residual.reshape(b, n, c))
        return o.view(b, h, w, c)

    # ------------------------------------------------------------------------------------- block
    @staticmethod
    def mlp(blk: Block, x: torch.Tensor) -> torch.Tensor:
        """x + blk.mlp(blk.norm2(x)) for x (B, H, W, C), in chunks of tokens."""
        mlp, norm = blk.mlp, blk.norm2
        shape = x.shape
        tokens = x.reshape(-1, shape[-1])
        out = torch.empty_like(tokens)
        step = max(1, CHUNK_BYTES // (mlp.lin1.out_features * x.element_size()))
        for i in range(0, tokens.shape[0], step):
            part = tokens[i : i + step]
            y = linear(mlp.lin1, norm(part), gelu=True)
            out[i : i + step] = linear_add(mlp.lin2, y, part)
        return out.view(shape)

    def block(self, blk: Block, x: torch.Tensor) -> torch.Tensor:
        """blk(x) for x (B, H, W, C) contiguous -> a new (B, H, W, C) tensor (x is left untouched)."""
        xn = blk.norm1(x)
        if blk.window_size > 0:
            h, w = x.shape[1], x.shape[2]
            win, pad_hw = window_partition(xn, blk.window_size)
            out = torch.empty_like(win)
            self.windows(blk.attn, win, out)
            x = window_unpartition(out, blk.window_size, pad_hw, (h, w)) + x
        else:
            x = self.global_attention(blk.attn, xn, x)
        return self.mlp(blk, x)

    def __call__(
        self, x: torch.Tensor, check: Callable[[], None] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Encode a normalised padded batch (B, 3, 1024, 1024) -> (embedding, early features)."""
        enc = self.encoder
        proj = enc.patch_embed.proj
        x = tp.conv2d_act(x.contiguous(memory_format=torch.channels_last), proj.weight, proj.bias,
                          proj.stride, int_padding(proj), 1, gelu=False)
        x = x.permute(0, 2, 3, 1) + enc.pos_embed  # (B, 64, 64, C) contiguous
        early: list[torch.Tensor] = []
        for blk in cast("Sequence[Block]", enc.blocks):  # torch types a ModuleList's items as Module
            if check is not None:
                check()
            x = self.block(blk, x)
            if enc.keep_early and blk.window_size == 0 and not early:
                early.append(x)
        if check is not None:
            check()
        b, h, w, c = x.shape
        return neck(enc.neck, x.reshape(b, h * w, c), h), tuple(early)
