"""Fast route of the TinyViT image encoder (`sam_backend.models.tiny_vit`), same function.

* BatchNorm folded into the convolutions (once, when the route is made);
* every map channels-last, so the tokens of the attention stages and the maps of the convolution
  stages are the same memory (no layout copies between them) and 1x1 convolutions are matrix
  products;
* activations and residual adds fused into the convolution / matrix product that produces them
  (`torch_private.conv2d_act`, `linear_add`, ...: one pass over each output instead of two or three);
* windowed attention on windows cut from the block input, with the residual added inside the
  output projection (padding tokens are computed and dropped, as in the plain module);
* the neck on channels-last tokens (`ops.neck`).
Measured on MobileSAM (2 cores): see benchmarks/bench_peers.py.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import torch
import torch.nn.functional as F

from sam_backend import torch_private as tp
from sam_backend.fast import strips
from sam_backend.fast.ops import gelu_, int_padding, linear, linear_add, neck
from sam_backend.models.tiny_vit import (
    BasicLayer,
    ConvLayer,
    Conv2dBN,
    MBConv,
    PatchMerging,
    TinyAttention,
    TinyViT,
    TinyViTBlock,
)


CHUNK_BYTES = 8 << 20  # largest intermediate of a chunk of tokens / windows


class FastTinyViT:
    """The fast route of a TinyViT: `route(x, check)` as `encoder(x, check)`.

    The folded convolution weights are computed from the encoder's parameters when the route
    is made (the predictor's weights do not change afterwards; make a new route after moving
    the encoder to another device or dtype).
    """

    def __init__(self, encoder: TinyViT) -> None:
        self.encoder = encoder
        self._folded: dict[Conv2dBN, tuple[torch.Tensor, torch.Tensor]] = {}
        self._bias: dict[TinyAttention, torch.Tensor] = {}
        self._win_index: dict[tuple[int, int, int, int, torch.device], tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
        with torch.no_grad():
            for m in encoder.modules():
                if isinstance(m, Conv2dBN):
                    bn = m.bn
                    mean, var = bn.running_mean, bn.running_var
                    if mean is None or var is None:
                        raise ValueError("a BatchNorm without running statistics cannot be folded")
                    scale = bn.weight / torch.sqrt(var + bn.eps)
                    weight = (m.c.weight * scale[:, None, None, None]).contiguous()
                    self._folded[m] = (weight, (bn.bias - mean * scale).contiguous())
                elif isinstance(m, TinyAttention):
                    self._bias[m] = m.bias().contiguous()

    def cast_(self, dtype: torch.dtype) -> None:
        """Cast the route's own tensors (folded weights, attention biases) to dtype, e.g. after
        casting the encoder's parameters: the BatchNorm folding itself was done in the encoder's
        original precision."""
        self._folded = {m: (w.to(dtype), b.to(dtype)) for m, (w, b) in self._folded.items()}
        self._bias = {m: b.to(dtype) for m, b in self._bias.items()}

    # ------------------------------------------------------------------ convolutions (NCHW views, channels-last memory)
    def conv(self, m: Conv2dBN, x: torch.Tensor, gelu: bool = False) -> torch.Tensor:
        """m(x) (then GELU) as one convolution with the BatchNorm folded in."""
        weight, bias = self._folded[m]
        c = m.c
        return tp.conv2d_act(x, weight, bias, c.stride, int_padding(c), c.groups, gelu)

    def row_op(self, m: Conv2dBN, gelu: bool = False) -> strips.RowOp:
        """m (then GELU) as an op of a strip chain (vertical padding left to the chain)."""
        weight, bias = self._folded[m]
        c = m.c
        pad = int_padding(c)
        k, s, p = c.kernel_size[0], c.stride[0], pad[0]
        stride, padding, groups = c.stride, (0, pad[1]), c.groups

        def fn(x: torch.Tensor) -> torch.Tensor:
            return tp.conv2d_act(x, weight, bias, stride, padding, groups, gelu)

        return strips.RowOp(fn, k, s, p, c.out_channels)

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        """The stem (two 3x3 stride-2 convolutions, GELU between) in strips: (1, 3, H, W) -> (1, C, H/4, W/4)."""
        # torch types a Sequential's items as Module: the stem is (Conv2dBN, GELU, Conv2dBN)
        stem0, _, stem2 = cast("tuple[Conv2dBN, torch.nn.GELU, Conv2dBN]", tuple(self.encoder.patch_embed.seq))
        return strips.run([self.row_op(stem0, gelu=True), self.row_op(stem2)], x)

    def mbconv(self, m: MBConv, x: torch.Tensor) -> torch.Tensor:
        """m(x) in strips: expand + GELU, depth-wise + GELU, project + residual, GELU."""
        weight, bias = self._folded[m.conv3]

        def project(y: torch.Tensor, a: int, b: int) -> torch.Tensor:
            return gelu_(tp.conv2d_add(y, x[:, :, a:b], weight, bias, (1, 1), (0, 0), 1))

        return strips.run([self.row_op(m.conv1, gelu=True), self.row_op(m.conv2, gelu=True)], x, project)

    def merge(self, m: PatchMerging, x: torch.Tensor) -> torch.Tensor:
        """m(x) in strips: channels-last map (B, C, H, W) -> tokens (B, H'*W', C')."""
        ops = [self.row_op(m.conv1, gelu=True), self.row_op(m.conv2, gelu=True), self.row_op(m.conv3)]
        x = strips.run(ops, x)
        b, c = x.shape[:2]
        return x.permute(0, 2, 3, 1).reshape(b, -1, c)

    # ------------------------------------------------------------------ attention stages (tokens (B, H*W, C))
    def attention(self, m: TinyAttention, windows: torch.Tensor) -> torch.Tensor:
        """windows + m(windows): window tokens (B', N, C) -> (B', N, C)."""
        b, n, c = windows.shape
        x = m.norm(windows)
        qkv = linear(m.qkv, x)
        q, k, v = qkv.view(b, n, m.num_heads, 3 * m.key_dim).transpose(1, 2).split(m.key_dim, dim=3)
        # a mask expanded to the full (B', nh, N, N) view takes torch's fast CPU kernel
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=self._bias[m].expand(b, -1, -1, -1))
        return linear_add(m.proj, out.transpose(1, 2).reshape(b, n, c), windows)

    def windowed_attention(self, m: TinyViTBlock, x: torch.Tensor) -> torch.Tensor:
        """x + attention over the block's windows (zero padding bottom/right, dropped afterwards),
        with one copy each way: the windows are gathered from the tokens (then their padding
        zeroed), and each chunk of windows' output is scattered straight to its tokens (padding to
        a spare row) — instead of pad, partition, concatenate, reverse and crop (six passes over
        the map; ~10 % of an encode in copies, profiled)."""
        h, w = m.resolution
        ws = m.window
        b, n, c = x.shape
        if h == ws and w == ws:
            return self.attention(m.attn, x)
        read, write, padding = self._window_index(b, h, w, ws, x.device)
        win = x.reshape(b * n, c).index_select(0, read)
        if padding.numel():
            win.index_fill_(0, padding, 0.0)
        win = win.view(-1, ws * ws, c)
        out = x.new_empty(b * n + 1, c)  # row b * n: where the padding tokens' outputs go
        step = max(1, CHUNK_BYTES // (ws * ws * 3 * c * win.element_size()))  # windows per chunk (qkv size)
        tokens = ws * ws
        for i in range(0, win.shape[0], step):
            part = self.attention(m.attn, win[i : i + step])
            out.index_copy_(0, write[i * tokens : i * tokens + part.shape[0] * tokens], part.reshape(-1, c))
        return out[: b * n].view(b, n, c)

    def _window_index(self, b: int, h: int, w: int, ws: int,
                      device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """For b (h, w) token maps cut into ws x ws windows (zero padding bottom/right), in window
        order (image, window row, window column, row, column): the token (of the b * h * w) each
        window token reads (padding reads token 0), the row each one writes back to (padding: row
        b * h * w, dropped), and the window tokens that are padding."""
        key = (b, h, w, ws, device)
        got = self._win_index.get(key)
        if got is None:
            n, nh, nw = h * w, -(-h // ws), -(-w // ws)
            y = (torch.arange(nh, device=device).view(nh, 1, 1, 1) * ws + torch.arange(ws, device=device).view(1, 1, ws, 1))
            x = (torch.arange(nw, device=device).view(1, nw, 1, 1) * ws + torch.arange(ws, device=device).view(1, 1, 1, ws))
            valid = ((y < h) & (x < w)).flatten().repeat(b)
            image = torch.arange(b, device=device).repeat_interleave(nh * nw * ws * ws)
            token = (y * w + x).expand(nh, nw, ws, ws).flatten().repeat(b) + image * n
            got = (torch.where(valid, token, 0), torch.where(valid, token, b * n), torch.nonzero(~valid).flatten())
            self._win_index[key] = got
        return got

    def block(self, m: TinyViTBlock, x: torch.Tensor) -> torch.Tensor:
        """m(x) for tokens (B, H*W, C)."""
        h, w = m.resolution
        b, n, c = x.shape
        x = self.windowed_attention(m, x)
        # the local depth-wise conv on the tokens seen as a channels-last map
        x = self.conv(m.local_conv, x.view(b, h, w, c).permute(0, 3, 1, 2))
        x = x.permute(0, 2, 3, 1).reshape(b, n, c)
        return self.mlp(m, x)

    @staticmethod
    def mlp(m: TinyViTBlock, x: torch.Tensor) -> torch.Tensor:
        """x + m.mlp(x) for tokens (B, N, C), in chunks of tokens whose hidden layer is at most
        CHUNK_BYTES (stays in cache, reuses freed heap memory)."""
        mlp = m.mlp
        b, n, c = x.shape
        step = max(1, CHUNK_BYTES // (mlp.fc1.out_features * x.element_size()))
        if b != 1 or step >= n:
            y = linear(mlp.fc1, mlp.norm(x), gelu=True)
            return linear_add(mlp.fc2, y, x)
        out = torch.empty_like(x)
        for i in range(0, n, step):
            part = x[:, i : i + step]
            y = linear(mlp.fc1, mlp.norm(part), gelu=True)
            out[:, i : i + step] = linear_add(mlp.fc2, y, part)
        return out

    def layer(self, layer: ConvLayer | BasicLayer, x: torch.Tensor, check: Callable[[], None] | None) -> torch.Tensor:
        """A stage: its blocks, then its patch merging (if any)."""
        for blk in cast("Sequence[MBConv | TinyViTBlock]", layer.blocks):  # ModuleList items are typed Module
            if check is not None:
                check()
            x = self.mbconv(blk, x) if isinstance(blk, MBConv) else self.block(blk, x)
        if layer.downsample is None:
            return x
        if check is not None:
            check()
        if x.ndim == 3:  # tokens -> channels-last map
            h, w = layer.downsample.resolution
            x = x.view(x.shape[0], h, w, -1).permute(0, 3, 1, 2)
        return self.merge(layer.downsample, x)

    def __call__(
        self, x: torch.Tensor, check: Callable[[], None] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Encode a normalised padded batch (B, 3, 1024, 1024) -> (embedding, early features)."""
        enc = self.encoder
        layers = cast("Sequence[ConvLayer | BasicLayer]", enc.layers)  # ModuleList items are typed Module
        x = self.stem(x.contiguous(memory_format=torch.channels_last))
        x = self.layer(layers[0], x, check)
        early: list[torch.Tensor] = []
        for i in range(1, len(layers)):
            x = self.layer(layers[i], x, check)
            if i == 1 and enc.keep_early:
                early.append(x.reshape(x.shape[0], enc.grid, enc.grid, -1))
        if check is not None:
            check()
        return neck(enc.neck, x, enc.grid), tuple(early)
