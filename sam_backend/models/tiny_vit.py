"""TinyViT-5M image encoder as used by MobileSAM and SAM-HQ Tiny.

Structure: conv stem (two 3x3 stride-2 Conv-BN, 1024 -> 256 px), an MBConv stage, three stages of
windowed attention blocks (attention biases indexed by |dy|,|dx| offsets, a depth-wise 3x3 local
conv, a LayerNorm MLP), patch merging between stages and a 256-channel neck.
Input (B, 3, 1024, 1024) normalised float -> embedding (B, 256, 64, 64).
Plain arithmetic (the reference); the fast route is `sam_backend.fast.tiny_vit`.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from sam_backend.models.common import LayerNorm2d


class Conv2dBN(nn.Sequential):
    """Conv2d without bias (`c`) followed by BatchNorm2d (`bn`)."""

    c: nn.Conv2d  # children added by name below
    bn: nn.BatchNorm2d

    def __init__(self, a: int, b: int, ks: int = 1, stride: int = 1, pad: int = 0, groups: int = 1) -> None:
        super().__init__()
        self.add_module("c", nn.Conv2d(a, b, ks, stride, pad, groups=groups, bias=False))
        self.add_module("bn", nn.BatchNorm2d(b))


class PatchEmbed(nn.Module):
    """Stem: (B, 3, H, W) -> (B, dim, H/4, W/4)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.seq = nn.Sequential(Conv2dBN(3, dim // 2, 3, 2, 1), nn.GELU(), Conv2dBN(dim // 2, dim, 3, 2, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the two strided convolutions."""
        return self.seq(x)


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand, 3x3 depth-wise, 1x1 project, residual, GELU. NCHW in/out."""

    def __init__(self, dim: int, expand_ratio: float) -> None:
        super().__init__()
        hidden = int(dim * expand_ratio)
        self.conv1 = Conv2dBN(dim, hidden, 1)
        self.conv2 = Conv2dBN(hidden, hidden, 3, 1, 1, groups=hidden)
        self.conv3 = Conv2dBN(hidden, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, C, H, W) -> (B, C, H, W)."""
        y = F.gelu(self.conv1(x))  # expand
        y = F.gelu(self.conv2(y))  # depth-wise 3x3
        return F.gelu(self.conv3(y) + x)  # project, residual


class PatchMerging(nn.Module):
    """1x1 conv, depth-wise 3x3 (stride 2, or 1 for output widths 320/448/576), 1x1 conv.

    Input: NCHW (B, C, H, W) or tokens (B, H*W, C) with `resolution` = (H, W);
    output tokens (B, H'*W', out_dim).
    """

    def __init__(self, resolution: tuple[int, int], dim: int, out_dim: int) -> None:
        super().__init__()
        self.resolution = resolution
        stride = 1 if out_dim in (320, 448, 576) else 2
        self.conv1 = Conv2dBN(dim, out_dim, 1)
        self.conv2 = Conv2dBN(out_dim, out_dim, 3, stride, 1, groups=out_dim)
        self.conv3 = Conv2dBN(out_dim, out_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Merge patches; returns channels-last tokens."""
        if x.ndim == 3:
            h, w = self.resolution
            x = x.transpose(1, 2).reshape(x.shape[0], -1, h, w)
        x = F.gelu(self.conv1(x))
        x = F.gelu(self.conv2(x))
        x = self.conv3(x)
        return x.flatten(2).transpose(1, 2)


class ConvLayer(nn.Module):
    """Stage 0: MBConv blocks on NCHW maps, then patch merging to tokens."""

    def __init__(self, dim: int, resolution: tuple[int, int], depth: int, out_dim: int, expand_ratio: float) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(MBConv(dim, expand_ratio) for _ in range(depth))
        self.downsample = PatchMerging(resolution, dim, out_dim)

    def forward(self, x: torch.Tensor, check: Callable[[], None] | None = None) -> torch.Tensor:
        """(B, C, H, W) -> tokens (B, H'*W', out_dim); `check` (raises to abort) runs before each block/merging."""
        for blk in self.blocks:
            if check is not None:
                check()
            x = blk(x)
        if check is not None:
            check()
        return self.downsample(x)


class TinyAttention(nn.Module):
    """Windowed attention with learned per-head biases shared by equal |dy|,|dx| offsets.

    Input tokens (B', N, C) of one window (N = ws*ws), LayerNorm inside (as TinyViT does).
    """

    def __init__(self, dim: int, num_heads: int, window: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.key_dim = dim // num_heads
        self.scale = self.key_dim**-0.5
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.window = window
        idxs, n_offsets = self._bias_index(window)
        self.attention_biases = nn.Parameter(torch.zeros(num_heads, n_offsets))
        self.register_buffer("attention_bias_idxs", idxs, persistent=False)

    @staticmethod
    def _bias_index(window: int) -> tuple[torch.Tensor, int]:
        """(N, N) long index into the bias table (N = window**2; same |dy|,|dx| -> same entry), #offsets."""
        points = list(itertools.product(range(window), range(window)))
        offsets: dict[tuple[int, int], int] = {}
        idxs: list[int] = []
        for p1 in points:
            for p2 in points:
                off = (abs(p1[0] - p2[0]), abs(p1[1] - p2[1]))
                idxs.append(offsets.setdefault(off, len(offsets)))
        n = len(points)
        return torch.tensor(idxs, dtype=torch.long, device="cpu").view(n, n), len(offsets)

    def reset_index_buffers(self) -> None:
        """Recreate the (non-persistent) bias index on the CPU."""
        self.attention_bias_idxs = self._bias_index(self.window)[0]

    def bias(self) -> torch.Tensor:
        """Dense bias (nh, N, N) gathered from the learned table."""
        return self.attention_biases[:, self.attention_bias_idxs]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B', N, C) -> (B', N, C)."""
        b, n, _ = x.shape
        x = self.norm(x)
        # q, k, v (B', nh, N, kd): per head, the channels are laid out q | k | v
        qkv = self.qkv(x).view(b, n, self.num_heads, 3 * self.key_dim).transpose(1, 2)
        q, k, v = qkv.split(self.key_dim, dim=3)
        # logits plus the learned offset biases, softmax, weighted values
        attn = (q @ k.transpose(-2, -1)) * self.scale + self.bias()
        out = attn.softmax(dim=-1) @ v
        # heads side by side, output projection
        return self.proj(out.transpose(1, 2).reshape(b, n, -1))


class TinyMlp(nn.Module):
    """LayerNorm -> Linear -> GELU -> Linear on tokens (..., C)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., C) -> (..., C)."""
        return self.fc2(F.gelu(self.fc1(self.norm(x))))


def windowed(
    x: torch.Tensor, resolution: tuple[int, int], ws: int, attend: Callable[[torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """Apply `attend` to every ws x ws window of tokens x (B, H*W, C) over an (H, W) grid
    zero-padded bottom/right to whole windows; returns (B, H*W, C), the padding dropped."""
    h, w = resolution
    b, n, c = x.shape
    if h == ws and w == ws:
        return attend(x)
    grid = x.view(b, h, w, c)
    pad_b = (ws - h % ws) % ws
    pad_r = (ws - w % ws) % ws
    if pad_b or pad_r:
        grid = F.pad(grid, (0, 0, 0, pad_r, 0, pad_b))
    ph, pw = h + pad_b, w + pad_r
    nh, nw = ph // ws, pw // ws
    win = grid.view(b, nh, ws, nw, ws, c).transpose(2, 3).reshape(b * nh * nw, ws * ws, c)
    win = attend(win)
    grid = win.view(b, nh, nw, ws, ws, c).transpose(2, 3).reshape(b, ph, pw, c)
    if pad_b or pad_r:
        grid = grid[:, :h, :w]
    return grid.reshape(b, n, c)


class TinyViTBlock(nn.Module):
    """Windowed attention (zero-padded before the attention's LayerNorm) + local conv + MLP.

    Tokens (B, H*W, C) in and out, with (H, W) = `resolution`.
    """

    def __init__(self, dim: int, resolution: tuple[int, int], num_heads: int, window: int, mlp_ratio: float) -> None:
        super().__init__()
        self.resolution = resolution
        self.window = window
        self.attn = TinyAttention(dim, num_heads, window)
        self.mlp = TinyMlp(dim, int(dim * mlp_ratio))
        self.local_conv = Conv2dBN(dim, dim, 3, 1, 1, groups=dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, H*W, C) -> (B, H*W, C)."""
        h, w = self.resolution
        b, n, c = x.shape
        # windowed attention with residual
        x = x + windowed(x, self.resolution, self.window, self.attn)
        # depth-wise 3x3 convolution on the (H, W) grid
        x = self.local_conv(x.transpose(1, 2).reshape(b, c, h, w))
        x = x.reshape(b, c, n).transpose(1, 2)
        # MLP with residual
        return x + self.mlp(x)


class BasicLayer(nn.Module):
    """A stage of TinyViT blocks, optionally followed by patch merging."""

    def __init__(
        self,
        dim: int,
        resolution: tuple[int, int],
        depth: int,
        num_heads: int,
        window: int,
        mlp_ratio: float,
        out_dim: int | None,
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(TinyViTBlock(dim, resolution, num_heads, window, mlp_ratio) for _ in range(depth))
        self.downsample = PatchMerging(resolution, dim, out_dim) if out_dim is not None else None

    def forward(self, x: torch.Tensor, check: Callable[[], None] | None = None) -> torch.Tensor:
        """Tokens (B, H*W, C) -> tokens (merged when present); `check` runs before each block/merging."""
        for blk in self.blocks:
            if check is not None:
                check()
            x = blk(x)
        if self.downsample is None:
            return x
        if check is not None:
            check()
        return self.downsample(x)


class TinyViT(nn.Module):
    """TinyViT encoder. forward(x: (B,3,1024,1024)) -> (embedding (B,256,64,64), early features).

    early features: (stage-1 output as (B, 64, 64, C1),) when `keep_early` (SAM-HQ), else ().
    `norm_head`/`head` exist only so the official checkpoints load; they are never evaluated.
    """

    def __init__(
        self,
        embed_dims: tuple[int, ...] = (64, 128, 160, 320),
        depths: tuple[int, ...] = (2, 2, 6, 2),
        num_heads: tuple[int, ...] = (2, 4, 5, 10),
        window_sizes: tuple[int, ...] = (7, 7, 14, 7),
        img_size: int = 1024,
        mlp_ratio: float = 4.0,
        mbconv_expand_ratio: float = 4.0,
        num_classes: int = 1000,
    ) -> None:
        super().__init__()
        self.patch_embed = PatchEmbed(embed_dims[0])
        base = img_size // 4
        self.layers = nn.ModuleList()
        last = len(embed_dims) - 1
        for i, dim in enumerate(embed_dims):
            div = 2 ** (i - 1 if i == 3 else i)
            res = (base // div, base // div)
            out_dim = embed_dims[min(i + 1, last)] if i < last else None
            if i == 0:
                assert out_dim is not None
                self.layers.append(ConvLayer(dim, res, depths[i], out_dim, mbconv_expand_ratio))
            else:
                self.layers.append(BasicLayer(dim, res, depths[i], num_heads[i], window_sizes[i], mlp_ratio, out_dim))
        self.norm_head = nn.LayerNorm(embed_dims[-1])
        self.head = nn.Linear(embed_dims[-1], num_classes)
        self.neck = nn.Sequential(
            nn.Conv2d(embed_dims[-1], 256, kernel_size=1, bias=False),
            LayerNorm2d(256),
            nn.Conv2d(256, 256, kernel_size=3, padding=1, bias=False),
            LayerNorm2d(256),
        )
        self.grid = img_size // 16
        self.keep_early = False

    def forward(
        self, x: torch.Tensor, check: Callable[[], None] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Encode a normalised padded batch (B, 3, 1024, 1024) float.

        check: optional callback run before every block, patch merging and the neck; it stops the
        encode by raising (cooperative abort, see SamPredictor.encode). It does not change the result.
        """
        # stem (1024 -> 256 px), then the MBConv stage, which ends in patch merging to tokens
        x = self.layers[0](self.patch_embed(x), check)
        early: list[torch.Tensor] = []
        for i in range(1, len(self.layers)):
            x = self.layers[i](x, check)
            if i == 1 and self.keep_early:
                early.append(x.reshape(x.shape[0], self.grid, self.grid, -1))
        if check is not None:
            check()
        # tokens back to a (B, C, 64, 64) map, then the neck (as in SAM's ViT)
        b, _, c = x.shape
        x = x.view(b, self.grid, self.grid, c).permute(0, 3, 1, 2)
        return self.neck(x), tuple(early)
