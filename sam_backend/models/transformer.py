"""SAM's two-way transformer: tokens attend to the image embedding and the image attends back.

Shapes: image embedding (B, C, h, w) with position encoding of the same shape; tokens (B, N, C).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sam_backend.models.common import MLPBlock, fast_enabled


def _tokens(grid: torch.Tensor) -> torch.Tensor:
    """(B, C, h, w) -> (B, h*w, C); made contiguous on the fast path (saves copies in every Linear)."""
    tokens = grid.flatten(2).transpose(1, 2)
    return tokens.contiguous() if fast_enabled() else tokens


class Attention(nn.Module):
    """Multi-head attention with an optional internal down-projection (dim // downsample_rate)."""

    def __init__(self, embedding_dim: int, num_heads: int, downsample_rate: int = 1) -> None:
        super().__init__()
        internal = embedding_dim // downsample_rate
        self.num_heads = num_heads
        self.q_proj = nn.Linear(embedding_dim, internal)
        self.k_proj = nn.Linear(embedding_dim, internal)
        self.v_proj = nn.Linear(embedding_dim, internal)
        self.out_proj = nn.Linear(internal, embedding_dim)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        return x.reshape(b, n, self.num_heads, c // self.num_heads).transpose(1, 2)

    def heads_q(self, q: torch.Tensor) -> torch.Tensor:
        """Projected, head-split queries (B, heads, N, C'/heads)."""
        return self._heads(self.q_proj(q))

    def heads_k(self, k: torch.Tensor) -> torch.Tensor:
        """Projected, head-split keys (B, heads, N, C'/heads)."""
        return self._heads(self.k_proj(k))

    def heads_v(self, v: torch.Tensor) -> torch.Tensor:
        """Projected, head-split values (B, heads, N, C'/heads)."""
        return self._heads(self.v_proj(v))

    def forward(
        self,
        q: torch.Tensor | None,
        k: torch.Tensor | None,
        v: torch.Tensor | None,
        pre: tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None] = (None, None, None),
    ) -> torch.Tensor:
        """q (B, Nq, C), k and v (B, Nk, C) -> (B, Nq, C). `pre` may hold already projected,
        head-split q/k/v (e.g. prompt-independent image projections cached per embedding); an input
        is only read when its `pre` entry is None."""
        qh = pre[0] if pre[0] is not None else self.heads_q(q)
        kh = pre[1] if pre[1] is not None else self.heads_k(k)
        vh = pre[2] if pre[2] is not None else self.heads_v(v)
        if qh.shape[0] != kh.shape[0]:
            b = max(qh.shape[0], kh.shape[0])
            qh, kh, vh = qh.expand(b, -1, -1, -1), kh.expand(b, -1, -1, -1), vh.expand(b, -1, -1, -1)
        if fast_enabled():
            out = F.scaled_dot_product_attention(qh, kh, vh)
        else:
            attn = (qh @ kh.transpose(-2, -1)) / (qh.shape[-1] ** 0.5)
            out = attn.softmax(dim=-1) @ vh
        b, _, n, _ = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(b, n, -1))


class TwoWayAttentionBlock(nn.Module):
    """Token self-attention, token->image cross-attention, MLP, image->token cross-attention."""

    def __init__(self, embedding_dim: int, num_heads: int, mlp_dim: int, skip_first_layer_pe: bool) -> None:
        super().__init__()
        self.self_attn = Attention(embedding_dim, num_heads)
        self.norm1 = nn.LayerNorm(embedding_dim)
        self.cross_attn_token_to_image = Attention(embedding_dim, num_heads, downsample_rate=2)
        self.norm2 = nn.LayerNorm(embedding_dim)
        self.mlp = MLPBlock(embedding_dim, mlp_dim, nn.ReLU)
        self.norm3 = nn.LayerNorm(embedding_dim)
        self.norm4 = nn.LayerNorm(embedding_dim)
        self.cross_attn_image_to_token = Attention(embedding_dim, num_heads, downsample_rate=2)
        self.skip_first_layer_pe = skip_first_layer_pe

    def image_projections(self, keys: torch.Tensor, key_pe: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The projections of this block that depend on the image tokens only:
        (token->image keys, token->image values, image->token queries), head-split."""
        k = keys + key_pe
        t2i = self.cross_attn_token_to_image
        return t2i.heads_k(k), t2i.heads_v(keys), self.cross_attn_image_to_token.heads_q(k)

    def forward(
        self,
        queries: torch.Tensor,
        keys: torch.Tensor,
        query_pe: torch.Tensor,
        key_pe: torch.Tensor,
        image_pre: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """queries (B, Nq, C), keys (B|1, Nk, C) and their position encodings -> updated (queries, keys).
        image_pre: this block's `image_projections(keys, key_pe)`, if already computed."""
        if self.skip_first_layer_pe:
            queries = self.self_attn(queries, queries, queries)
        else:
            q = queries + query_pe
            queries = queries + self.self_attn(q, q, queries)
        queries = self.norm1(queries)
        if image_pre is None:
            image_pre = self.image_projections(keys, key_pe)
        k_t2i, v_t2i, q_i2t = image_pre
        q = queries + query_pe
        queries = self.norm2(queries + self.cross_attn_token_to_image(q, None, None, (None, k_t2i, v_t2i)))
        queries = self.norm3(queries + self.mlp(queries))
        q = queries + query_pe
        keys = self.norm4(keys + self.cross_attn_image_to_token(None, q, queries, (q_i2t, None, None)))
        return queries, keys


class TwoWayTransformer(nn.Module):
    """`depth` two-way blocks, then a final token->image attention and LayerNorm."""

    def __init__(self, depth: int = 2, embedding_dim: int = 256, num_heads: int = 8, mlp_dim: int = 2048) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            TwoWayAttentionBlock(embedding_dim, num_heads, mlp_dim, skip_first_layer_pe=(i == 0)) for i in range(depth)
        )
        self.final_attn_token_to_image = Attention(embedding_dim, num_heads, downsample_rate=2)
        self.norm_final_attn = nn.LayerNorm(embedding_dim)

    def image_projections(self, image_embedding: torch.Tensor, image_pe: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Prompt-independent part of the first block for (image embedding + dense prompt) (B, C, h, w)."""
        keys = _tokens(image_embedding)
        key_pe = _tokens(image_pe)
        return self.layers[0].image_projections(keys, key_pe)

    def forward(
        self,
        image_embedding: torch.Tensor,
        image_pe: torch.Tensor,
        point_embedding: torch.Tensor,
        image_pre: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """image_embedding/image_pe (B|1, C, h, w), tokens (B, N, C) -> (tokens (B, N, C), image (B, h*w, C)).
        image_pre: `image_projections(image_embedding, image_pe)` if already computed (same result)."""
        keys = _tokens(image_embedding)
        key_pe = _tokens(image_pe)
        queries = point_embedding
        for i, layer in enumerate(self.layers):
            queries, keys = layer(queries, keys, point_embedding, key_pe, image_pre if i == 0 else None)
        q = queries + point_embedding
        k = keys + key_pe
        queries = self.norm_final_attn(queries + self.final_attn_token_to_image(q, k, keys))
        return queries, keys
