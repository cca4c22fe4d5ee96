"""Fast route of the TinyViT image encoder (`sam_backend.models.tiny_vit`), same function.

BatchNorm folded into the convolutions (once, when the route is made), channels-last
convolutions, attention through SDPA, residuals and GELU in place on fresh intermediates.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from sam_backend.fast.ops import add_, gelu_
from sam_backend.models.tiny_vit import (
    BasicLayer,
    ConvLayer,
    Conv2dBN,
    MBConv,
    PatchMerging,
    TinyAttention,
    TinyViT,
    TinyViTBlock,
    windowed,
)


class FastTinyViT:
    """The fast route of a TinyViT: `route(x, check)` as `encoder(x, check)`.

    The folded convolution weights are computed from the encoder's parameters when the route
    is made (the predictor's weights do not change afterwards; make a new route after moving
    the encoder to another device or dtype).
    """

    def __init__(self, encoder: TinyViT) -> None:
        self.encoder = encoder
        self._folded: dict[Conv2dBN, tuple[torch.Tensor, torch.Tensor]] = {}
        with torch.no_grad():
            for m in encoder.modules():
                if isinstance(m, Conv2dBN):
                    bn = m.bn
                    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                    self._folded[m] = (m.c.weight * scale[:, None, None, None], bn.bias - bn.running_mean * scale)

    def conv(self, m: Conv2dBN, x: torch.Tensor) -> torch.Tensor:
        """m(x) as one convolution with the BatchNorm folded in."""
        weight, bias = self._folded[m]
        c = m.c
        return F.conv2d(x, weight, bias, c.stride, c.padding, c.dilation, c.groups)

    def mbconv(self, m: MBConv, x: torch.Tensor) -> torch.Tensor:
        """m(x), NCHW."""
        y = gelu_(self.conv(m.conv1, x))
        y = gelu_(self.conv(m.conv2, y))
        return gelu_(add_(self.conv(m.conv3, y), x))

    def merge(self, m: PatchMerging, x: torch.Tensor) -> torch.Tensor:
        """m(x): NCHW map or tokens -> tokens."""
        if x.ndim == 3:
            h, w = m.resolution
            x = x.transpose(1, 2).reshape(x.shape[0], -1, h, w)
        x = gelu_(self.conv(m.conv1, x))
        x = gelu_(self.conv(m.conv2, x))
        return self.conv(m.conv3, x).flatten(2).transpose(1, 2)

    @staticmethod
    def attention(m: TinyAttention, x: torch.Tensor) -> torch.Tensor:
        """m(x) through SDPA: window tokens (B', N, C) -> (B', N, C)."""
        b, n, _ = x.shape
        x = m.norm(x)
        qkv = m.qkv(x).view(b, n, m.num_heads, 3 * m.key_dim).transpose(1, 2)
        q, k, v = qkv.split(m.key_dim, dim=3)  # each (B', nh, N, kd)
        # a mask expanded to the full (B', nh, N, N) view takes torch's fast CPU kernel
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=m.bias().to(q.dtype).expand(b, -1, -1, -1))
        return m.proj(out.transpose(1, 2).reshape(b, n, -1))

    def block(self, m: TinyViTBlock, x: torch.Tensor) -> torch.Tensor:
        """m(x) for tokens (B, H*W, C)."""
        h, w = m.resolution
        b, n, c = x.shape
        x = add_(windowed(x, m.resolution, m.window, lambda t: self.attention(m.attn, t)), x)
        x = self.conv(m.local_conv, x.transpose(1, 2).reshape(b, c, h, w))
        x = x.reshape(b, c, n).transpose(1, 2)
        mlp = m.mlp
        return add_(mlp.fc2(gelu_(mlp.fc1(mlp.norm(x)))), x)

    def layer(self, layer: ConvLayer | BasicLayer, x: torch.Tensor, check: Callable[[], None] | None) -> torch.Tensor:
        """A stage: its blocks, then its patch merging (if any)."""
        for blk in layer.blocks:
            if check is not None:
                check()
            x = self.mbconv(blk, x) if isinstance(blk, MBConv) else self.block(blk, x)
        if layer.downsample is None:
            return x
        if check is not None:
            check()
        return self.merge(layer.downsample, x)

    def __call__(
        self, x: torch.Tensor, check: Callable[[], None] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Encode a normalised padded batch (B, 3, 1024, 1024) -> (embedding, early features)."""
        enc = self.encoder
        stem0, _, stem2 = enc.patch_embed.seq
        x = x.contiguous(memory_format=torch.channels_last)
        x = self.conv(stem2, gelu_(self.conv(stem0, x)))
        x = self.layer(enc.layers[0], x, check)
        early: list[torch.Tensor] = []
        for i in range(1, len(enc.layers)):
            x = self.layer(enc.layers[i], x, check)
            if i == 1 and enc.keep_early:
                early.append(x.reshape(x.shape[0], enc.grid, enc.grid, -1))
        if check is not None:
            check()
        b, _, c = x.shape
        x = x.view(b, enc.grid, enc.grid, c).permute(0, 3, 1, 2)
        return enc.neck(x), tuple(early)
