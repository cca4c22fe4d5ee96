"""SAM's ViT image encoder: 16x16 patch embedding, absolute position embedding, windowed and global
attention blocks with decomposed relative position embeddings, and a 256-channel neck.

Frames: the encoder takes a normalised, padded image (B, 3, 1024, 1024) float32 and returns the
image embedding (B, 256, 64, 64). Inside the blocks tokens are kept channels-last (B, H, W, C).
Plain arithmetic (the reference); the fast route is `sam_backend.fast.vit`.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from sam_backend.models.common import LayerNorm2d, MLPBlock


def rel_pos_table(size: int, rel_pos: torch.Tensor) -> torch.Tensor:
    """Gather relative position embeddings for a square grid side `size`.

    rel_pos: (2*size-1, head_dim). Returns (size, size, head_dim) where entry [i, j] is the
    embedding of the offset i - j (query row/column i, key row/column j).
    """
    coords = torch.arange(size, device=rel_pos.device)
    index = coords[:, None] - coords[None, :] + (size - 1)
    return rel_pos[index]


class Attention(nn.Module):
    """Multi-head self-attention over a (B, H, W, C) grid with decomposed relative positions:
    softmax(q k^T * scale + rel_h + rel_w) v, as in SAM's image encoder."""

    def __init__(self, dim: int, num_heads: int, input_size: tuple[int, int], use_rel_pos: bool = True) -> None:
        super().__init__()
        self.num_heads = num_heads
        head_dim = dim // num_heads
        self.scale = head_dim**-0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)
        self.use_rel_pos = use_rel_pos
        if use_rel_pos:
            self.rel_pos_h = nn.Parameter(torch.zeros(2 * input_size[0] - 1, head_dim))
            self.rel_pos_w = nn.Parameter(torch.zeros(2 * input_size[1] - 1, head_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, H, W, C) -> (B, H, W, C)."""
        b, h, w, _ = x.shape
        # q, k, v with shape (B * nHeads, H * W, C / nHeads)
        qkv = self.qkv(x).reshape(b, h * w, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.reshape(3, b * self.num_heads, h * w, -1).unbind(0)
        # attention logits, plus the relative-position terms of the rows and of the columns
        attn = (q * self.scale) @ k.transpose(-2, -1)
        if self.use_rel_pos:
            attn = add_decomposed_rel_pos(attn, q, self.rel_pos_h, self.rel_pos_w, (h, w))
        attn = attn.softmax(dim=-1)
        # weighted values, heads put back side by side, output projection
        x = (attn @ v).view(b, self.num_heads, h, w, -1).permute(0, 2, 3, 1, 4).reshape(b, h, w, -1)
        return self.proj(x)


def add_decomposed_rel_pos(
    attn: torch.Tensor, q: torch.Tensor, rel_pos_h: torch.Tensor, rel_pos_w: torch.Tensor, size: tuple[int, int]
) -> torch.Tensor:
    """attn (B', h*w, h*w) + the relative-position terms of MViTv2: for query (qh, qw) and key
    (kh, kw), q . R_h[qh - kh] + q . R_w[qw - kw], with q (B', h*w, C) the unscaled queries."""
    h, w = size
    rh = rel_pos_table(h, rel_pos_h)  # (h, h, C)
    rw = rel_pos_table(w, rel_pos_w)  # (w, w, C)
    bn, _, c = q.shape
    r_q = q.reshape(bn, h, w, c)
    rel_h = torch.einsum("bhwc,hkc->bhwk", r_q, rh)  # (B', h, w, key rows)
    rel_w = torch.einsum("bhwc,wkc->bhwk", r_q, rw)  # (B', h, w, key columns)
    attn = attn.view(bn, h, w, h, w) + rel_h[:, :, :, :, None] + rel_w[:, :, :, None, :]
    return attn.view(bn, h * w, h * w)


def window_partition(x: torch.Tensor, ws: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Split (B, H, W, C) into non-overlapping ws x ws windows, zero-padding bottom/right.

    Returns windows (B * nWin, ws, ws, C) and the padded size (Hp, Wp).
    """
    b, h, w, c = x.shape
    pad_h = (ws - h % ws) % ws
    pad_w = (ws - w % ws) % ws
    if pad_h or pad_w:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    hp, wp = h + pad_h, w + pad_w
    x = x.view(b, hp // ws, ws, wp // ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, ws, ws, c), (hp, wp)


def window_unpartition(win: torch.Tensor, ws: int, pad_hw: tuple[int, int], hw: tuple[int, int]) -> torch.Tensor:
    """Inverse of `window_partition`: (B * nWin, ws, ws, C) -> (B, H, W, C), padding removed."""
    hp, wp = pad_hw
    h, w = hw
    b = win.shape[0] // (hp * wp // ws // ws)
    x = win.view(b, hp // ws, wp // ws, ws, ws, -1).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, -1)
    if hp > h or wp > w:
        x = x[:, :h, :w, :]
    return x


class Block(nn.Module):
    """Transformer block (pre-norm) with windowed (window_size > 0) or global attention."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, window_size: int, grid: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        size = (window_size, window_size) if window_size > 0 else (grid, grid)
        self.attn = Attention(dim, num_heads, size)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = MLPBlock(dim, int(dim * mlp_ratio), nn.GELU)
        self.window_size = window_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, H, W, C) -> (B, H, W, C)."""
        shortcut = x
        x = self.norm1(x)
        if self.window_size > 0:
            # windowed attention: attend within ws x ws windows (the grid zero-padded to whole windows)
            h, w = x.shape[1], x.shape[2]
            x, pad_hw = window_partition(x, self.window_size)
            x = self.attn(x)
            x = window_unpartition(x, self.window_size, pad_hw, (h, w))
        else:
            # global attention over the whole grid
            x = self.attn(x)
        # residual, then the pre-norm MLP with its residual
        x = shortcut + x
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    """16x16 stride-16 convolution: (B, 3, H, W) -> channels-last tokens (B, H/16, W/16, C)."""

    def __init__(self, embed_dim: int, patch: int = 16) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, embed_dim, kernel_size=patch, stride=patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Project patches and move channels last."""
        return self.proj(x).permute(0, 2, 3, 1)


class ImageEncoderViT(nn.Module):
    """SAM ViT encoder. forward(x: (B,3,1024,1024)) -> (embedding (B,256,64,64), early features).

    early features: tuple with the output of every global-attention block, each (B, 64, 64, C)
    channels-last (SAM-HQ uses the first one); empty when `keep_early` is False.
    """

    def __init__(
        self,
        depth: int,
        embed_dim: int,
        num_heads: int,
        global_attn_indexes: tuple[int, ...],
        window_size: int = 14,
        img_size: int = 1024,
        patch_size: int = 16,
        out_chans: int = 256,
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__()
        grid = img_size // patch_size
        self.patch_embed = PatchEmbed(embed_dim, patch_size)
        self.pos_embed = nn.Parameter(torch.zeros(1, grid, grid, embed_dim))
        self.blocks = nn.ModuleList(
            Block(embed_dim, num_heads, mlp_ratio, 0 if i in global_attn_indexes else window_size, grid)
            for i in range(depth)
        )
        self.neck = nn.Sequential(
            nn.Conv2d(embed_dim, out_chans, kernel_size=1, bias=False),
            LayerNorm2d(out_chans),
            nn.Conv2d(out_chans, out_chans, kernel_size=3, padding=1, bias=False),
            LayerNorm2d(out_chans),
        )
        self.keep_early = False

    def forward(
        self, x: torch.Tensor, check: Callable[[], None] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Encode a normalised padded batch (B, 3, 1024, 1024) float.

        check: optional callback run before every block and before the neck; it stops the encode by
        raising (cooperative abort, see SamPredictor.encode). It does not change the result.
        """
        # 16x16 patches -> tokens (B, 64, 64, C), plus the absolute position embedding
        x = self.patch_embed(x) + self.pos_embed
        early: list[torch.Tensor] = []
        for blk in self.blocks:
            if check is not None:
                check()
            x = blk(x)
            if self.keep_early and blk.window_size == 0 and not early:
                early.append(x)
        if check is not None:
            check()
        # neck: 1x1 conv to 256 channels, LayerNorm2d, 3x3 conv, LayerNorm2d
        return self.neck(x.permute(0, 3, 1, 2)), tuple(early)
