"""SAM's two-way transformer: tokens attend to the image embedding and the image attends back.

Shapes: image embedding (B, C, h, w) with position encoding of the same shape; tokens (B, N, C).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from sam_backend.models import folded
from sam_backend.models.common import MLPBlock, add_, fast_enabled, layer_norm_into


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


def _token_to_image(attn: Attention, q: torch.Tensor, keys_pe: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """attn(q, keys_pe, keys) for tokens q (B, Nq, C) over image keys/values (1|B, Nk, C), by the
    folded route when that does fewer multiply-adds (few tokens)."""
    if folded.folding_pays(attn, q.shape[1]):
        return folded.token_to_image(attn, q, keys_pe, keys)
    return attn(q, keys_pe, keys)


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

    def image_projections(self, keys: torch.Tensor, keys_pe: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The projections of this block that depend on the image tokens only, from keys and
        keys_pe = keys + key_pe (B, Nk, C): token->image keys and values, head-split and
        contiguous (B, H, Nk, d), and image->token queries (B, Nk, I)."""
        t2i = self.cross_attn_token_to_image
        return (
            t2i.heads_k(keys_pe).contiguous(),
            t2i.heads_v(keys).contiguous(),
            self.cross_attn_image_to_token.q_proj(keys_pe),
        )

    def _token_self_attention(self, queries: torch.Tensor, query_pe: torch.Tensor) -> torch.Tensor:
        if self.skip_first_layer_pe:
            return self.norm1(self.self_attn(queries, queries, queries))
        q = queries + query_pe
        return self.norm1(queries + self.self_attn(q, q, queries))

    def forward(
        self,
        queries: torch.Tensor,
        keys: torch.Tensor,
        query_pe: torch.Tensor,
        key_pe: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The reference arithmetic. queries (B, Nq, C), keys (B|1, Nk, C) and their position
        encodings -> updated (queries (B, Nq, C), keys (B, Nk, C))."""
        queries = self._token_self_attention(queries, query_pe)
        q = queries + query_pe
        k = keys + key_pe
        queries = self.norm2(queries + self.cross_attn_token_to_image(q, k, keys))
        queries = self.norm3(queries + self.mlp(queries))
        q = queries + query_pe
        keys = self.norm4(keys + self.cross_attn_image_to_token(k, q, queries))
        return queries, keys

    def forward_fast(
        self,
        queries: torch.Tensor,
        query_pe: torch.Tensor,
        keys: torch.Tensor,
        keys_pe: torch.Tensor,
        projected: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
        update_out: torch.Tensor | None = None,
        norm_out: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Same function as `forward`, given keys_pe = keys + key_pe (B|1, Nk, C) contiguous and
        optionally this block's `image_projections(keys, keys_pe)`. Cross-attentions use the
        cached projections, else the folded route when it is cheaper (few tokens).

        update_out / norm_out: optional (B, Nk, C) tensors free to overwrite, receiving keys + the
        image->token attention (update_out may be keys itself) and its layer norm (norm_out may be
        keys_pe: read before). Returns (queries, new keys, the dead (B, Nk, C) pre-norm tensor)."""
        queries = self._token_self_attention(queries, query_pe)
        q = queries + query_pe
        t2i = self.cross_attn_token_to_image
        if projected is not None:
            attn = folded.attend_projected(t2i, q, projected[0], projected[1])
        else:
            attn = _token_to_image(t2i, q, keys_pe, keys)
        queries = self.norm2(add_(attn, queries))
        queries = self.norm3(add_(self.mlp(queries), queries))
        q = queries + query_pe
        i2t = self.cross_attn_image_to_token
        if folded.folding_pays(i2t, q.shape[1]):
            q_img = None if projected is not None else keys_pe
            q_proj = None if projected is None else projected[2]
            pre = folded.image_to_token(i2t, q_img, q, queries, q_proj, residual=keys, out=update_out)
        elif projected is not None:
            pre = add_(i2t(None, q, queries, (i2t._heads(projected[2]), None, None)), keys)
        else:
            pre = add_(i2t(keys_pe, q, queries), keys)
        return queries, layer_norm_into(pre, self.norm4, norm_out), pre


class TwoWayTransformer(nn.Module):
    """`depth` two-way blocks, then a final token->image attention and LayerNorm."""

    def __init__(self, depth: int = 2, embedding_dim: int = 256, num_heads: int = 8, mlp_dim: int = 2048) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            TwoWayAttentionBlock(embedding_dim, num_heads, mlp_dim, skip_first_layer_pe=(i == 0)) for i in range(depth)
        )
        self.final_attn_token_to_image = Attention(embedding_dim, num_heads, downsample_rate=2)
        self.norm_final_attn = nn.LayerNorm(embedding_dim)

    def image_side(self, image_embedding: torch.Tensor, image_pe: torch.Tensor, project: bool = True) -> ImageSide:
        """Prompt-independent image side for (image embedding + dense prompt) (B, C, h, w) and
        its position encoding (1, C, h, w); with project=True also the first block's projections."""
        keys = _tokens(image_embedding).contiguous()
        key_pe = _tokens(image_pe).contiguous()
        keys_pe = keys + key_pe
        projected = self.layers[0].image_projections(keys, keys_pe) if project else None
        return ImageSide(keys, key_pe, keys_pe, projected)

    def forward(
        self,
        image_embedding: torch.Tensor,
        image_pe: torch.Tensor,
        point_embedding: torch.Tensor,
        side: ImageSide | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """image_embedding/image_pe (B|1, C, h, w), tokens (B, N, C) -> (tokens (B, N, C), image (B, h*w, C)).

        With the fast path on, `side` (= `image_side(image_embedding, image_pe)`, computed here
        when None) supplies the image tokens; with it off, the reference arithmetic is used."""
        if fast_enabled():
            return self.forward_fast(side or self.image_side(image_embedding, image_pe), point_embedding)
        keys = _tokens(image_embedding)
        key_pe = _tokens(image_pe)
        queries = point_embedding
        for layer in self.layers:
            queries, keys = layer(queries, keys, point_embedding, key_pe)
        q = queries + point_embedding
        k = keys + key_pe
        queries = self.norm_final_attn(queries + self.final_attn_token_to_image(q, k, keys))
        return queries, keys

    def forward_fast(
        self, side: ImageSide, point_embedding: torch.Tensor, spare: list[torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`forward` from a precomputed image side: tokens (B, N, C) -> (tokens (B, N, C),
        image tokens (B, h*w, C) contiguous).

        Without autograd, the (B, h*w, C) intermediates live in two scratch tensors of `side`
        (reused by every call: no fresh multi-MB allocations): the returned image tokens are one
        of them, valid until the next call with the same side, and the other one is appended to
        `spare` when given (the caller may overwrite both)."""
        b = point_embedding.shape[0]
        scratch = side.scratch((b, *side.keys.shape[1:])) if fast_enabled() and not torch.is_grad_enabled() else None
        queries, keys, keys_pe = point_embedding, side.keys, side.keys_pe
        for i, layer in enumerate(self.layers):
            if scratch is None:
                update_out = norm_out = None
            elif i == 0:  # the cached side is read-only
                update_out, norm_out = scratch
            else:  # keys and keys_pe are scratch: update keys in place, normalise into keys_pe
                update_out, norm_out = keys, keys_pe
            queries, keys, dead = layer.forward_fast(
                queries, point_embedding, keys, keys_pe, side.projected if i == 0 else None, update_out, norm_out
            )
            if scratch is not None and dead.shape == keys.shape and dead.data_ptr() != keys.data_ptr():
                keys_pe = torch.add(keys, side.key_pe, out=dead)
            else:
                keys_pe = keys + side.key_pe
        q = queries + point_embedding
        attn = _token_to_image(self.final_attn_token_to_image, q, keys_pe, keys)
        if spare is not None and scratch is not None and keys_pe is not side.keys_pe:
            spare.append(keys_pe)
        return self.norm_final_attn(add_(attn, queries)), keys


@dataclass
class ImageSide:
    """The transformer's prompt-independent inputs for one image embedding + dense prompt.

    keys: image tokens (B, h*w, C) and key_pe: their position encoding (1, h*w, C), both
    contiguous, row-major over the (h, w) grid; keys_pe = keys + key_pe; projected: the first
    block's `image_projections` (None: computed/folded per call). Read-only once made, except
    for the scratch tensors handed out by `scratch`.
    """

    keys: torch.Tensor
    key_pe: torch.Tensor
    keys_pe: torch.Tensor
    projected: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None
    _scratch: dict[tuple[int, ...], tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict, repr=False)

    def scratch(self, shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        """Two tensors of `shape` (B, h*w, C) owned by this side for per-call intermediates (made
        once, then reused by every call, so their pages stay mapped; one thread at a time)."""
        pair = self._scratch.get(shape)
        if pair is None:
            with torch.inference_mode(False):  # normal tensors: writable under inference_mode and no_grad alike
                pair = (self.keys.new_empty(shape), self.keys.new_empty(shape))
            self._scratch = {shape: pair}  # keep only the latest batch size
        return pair
