"""Cross-attention between a few tokens and many image tokens, with the projections folded
through the few tokens (same function as `Attention.forward`, fewer multiply-adds).

Notation: C = embedding dim, I = internal dim (C / downsample), H heads of d = I / H channels,
Nk image tokens (4096), Nt / Nq prompt-side tokens (5-10). Per head h, with W_q,h / W_k,h / W_v,h
the (d, C) row blocks of the projections and W_o,h the (C, d) column block of out_proj:

token -> image (few queries q_h (Nq, d), image keys X (Nk, C), image values V (Nk, C)):
    logits_h = q_h (X W_k,h^T + b_k,h)^T / sqrt(d) = (q_h W_k,h / sqrt(d)) X^T + const per row;
    a constant per row cancels in the softmax, so the key projection of the Nk image tokens is
    replaced by projecting the Nq queries back into C dims; and since softmax rows sum to 1,
    softmax(logits_h) (V W_v,h^T + b_v,h) = (softmax(logits_h) V) W_v,h^T + b_v,h.
image -> token (image queries X (Nk, C), few keys k_h (Nt, d), values v_h (Nt, d)):
    logits_h = (X W_q,h^T + b_q,h) k_h^T / sqrt(d) = X (W_q,h^T k_h^T) / sqrt(d) + b_q,h k_h^T / sqrt(d)
    (the bias term is one row vector added to every image token), and
    out = sum_h softmax(logits_h) v_h W_o,h^T + b_o = P (V W_o) + b_o with P (Nk, H*Nt) the
    heads' probabilities side by side and (V W_o) (H*Nt, C) the values pushed through out_proj.
Both cost ~2 * Nk * C * H * N multiply-adds instead of ~2 * Nk * C * I (+ the attention itself),
so they pay when H * N < I (`folding_pays`).

All tensors float, batch-first; image-side tensors may have batch 1 and are then broadcast.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from sam_backend.models.transformer import Attention


def split_heads(attn: Attention, x: torch.Tensor) -> torch.Tensor:
    """Projected tokens (B, N, C') -> head-split (B, heads, N, C'/heads) (a view)."""
    b, n, c = x.shape
    return x.reshape(b, n, attn.num_heads, c // attn.num_heads).transpose(1, 2)


def heads_columns(attn: Attention, proj: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """proj(x) for image tokens x (B, Nk, C), per head as columns (B, heads, C'/heads, Nk),
    contiguous: the layout of cached image projections (a head's (d, Nk) block is one sweep).
    Computed as W x^T + b, which lands in that layout (a transposing copy of proj(x) costs about
    as much as the projection itself, measured 2 ms each)."""
    b, n, _ = x.shape
    bias = proj.bias.view(1, -1, 1) if proj.bias is not None else None
    weight = proj.weight.unsqueeze(0).expand(b, -1, -1)
    out = torch.matmul(weight, x.transpose(1, 2)) if bias is None else torch.baddbmm(bias, weight, x.transpose(1, 2))
    return out.view(b, attn.num_heads, -1, n)


def _per_head(small: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """small (B, H, N, K) @ image (1|B, H, K, Nk) -> (B, H, N, Nk) contiguous; a batch-1 image is
    multiplied once per head for all B."""
    b, h, n, k = small.shape
    if image.shape[0] == 1 and b > 1:
        out = torch.matmul(small.transpose(0, 1).reshape(h, b * n, k), image[0])  # (H, B*N, Nk)
        return out.view(h, b, n, -1).transpose(0, 1).contiguous()
    return torch.matmul(small, image)


def heads_q(attn: Attention, x: torch.Tensor) -> torch.Tensor:
    """attn's projected, head-split queries of x (B, N, C) -> (B, heads, N, C'/heads)."""
    return split_heads(attn, attn.q_proj(x))


def heads_k(attn: Attention, x: torch.Tensor) -> torch.Tensor:
    """attn's projected, head-split keys of x (B, N, C) -> (B, heads, N, C'/heads)."""
    return split_heads(attn, attn.k_proj(x))


def heads_v(attn: Attention, x: torch.Tensor) -> torch.Tensor:
    """attn's projected, head-split values of x (B, N, C) -> (B, heads, N, C'/heads)."""
    return split_heads(attn, attn.v_proj(x))


def folding_pays(attn: Attention, n_tokens: int) -> bool:
    """Whether the folded route does fewer multiply-adds than projecting the image tokens."""
    return attn.num_heads * n_tokens < attn.q_proj.out_features


def _dims(attn: Attention) -> tuple[int, int, int]:
    """(heads H, head dim d, embedding dim C)."""
    internal, c = attn.q_proj.weight.shape
    return attn.num_heads, internal // attn.num_heads, c


def token_to_image(attn: Attention, q: torch.Tensor, image_k: torch.Tensor, image_v: torch.Tensor) -> torch.Tensor:
    """Folded `attn(q, image_k, image_v)` for few queries.

    q (B, Nq, C) tokens; image_k, image_v (1|B, Nk, C) unprojected image keys / values
    (contiguous). Returns (B, Nq, C), equal to the textbook attention up to float rounding.
    """
    heads, d, c = _dims(attn)
    b, nq, _ = q.shape
    qh = heads_q(attn, q)  # (B, H, Nq, d)
    w_k = attn.k_proj.weight.view(heads, d, c)
    q_img = torch.matmul(qh * (d**-0.5), w_k).reshape(b, heads * nq, c)  # (B, H*Nq, C)
    logits = _bmm_image(q_img, image_k.transpose(1, 2))  # (B, H*Nq, Nk)
    probs = logits.softmax(dim=-1)
    pooled = _bmm_image(probs, image_v).view(b, heads, nq, c)  # (B, H, Nq, C)
    w_v = attn.v_proj.weight.view(heads, d, c)
    out = torch.matmul(pooled, w_v.transpose(1, 2)).add_(attn.v_proj.bias.view(heads, 1, d))  # (B, H, Nq, d)
    return attn.out_proj(out.transpose(1, 2).reshape(b, nq, heads * d))


def _bmm_image(small: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """small (B, M, K) @ image (1|B, K, N) -> (B, M, N); a batch-1 image is multiplied once."""
    if image.shape[0] == 1 and small.shape[0] > 1:
        b, m, k = small.shape
        return torch.matmul(small.reshape(1, b * m, k), image).view(b, m, -1)
    return torch.matmul(small, image)


def image_to_token(
    attn: Attention,
    image_q: torch.Tensor | None,
    k: torch.Tensor,
    v: torch.Tensor,
    image_q_projected: torch.Tensor | None = None,
    residual: torch.Tensor | None = None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Folded `attn(image_q, k, v)` (+ residual) for few keys/values.

    image_q (1|B, Nk, C) unprojected image queries, or None when image_q_projected, the image
    queries already through q_proj (e.g. cached per embedding) as `heads_columns` (1|B, H, d, Nk), is given;
    k, v (B, Nt, C) tokens; residual: optional (1|B, Nk, C) added to the result (in the same
    matrix product); out: optional (B, Nk, C) tensor to write the result (with residual) into,
    which may be the residual itself. Returns (B, Nk, C), equal to the textbook attention up to rounding.
    The logits are laid out (B, H, Nt, Nk) so that the softmax over the few tokens runs along a
    strided axis (vectorised over the image tokens; a softmax along a contiguous axis of 7 is ~20x
    slower). out_proj's bias rides on the values: each head's probabilities sum to 1, so adding
    bias / H to every row of (V W_o) adds the bias once.
    """
    heads, d, c = _dims(attn)
    b, nt, _ = k.shape
    kh = heads_k(attn, k) * (d**-0.5)  # (B, H, Nt, d), softmax scale folded in
    if image_q_projected is not None:
        logits = _per_head(kh, image_q_projected).view(b, heads * nt, -1)  # (B, H*Nt, Nk)
    else:
        assert image_q is not None
        w_q = attn.q_proj.weight.view(heads, d, c)
        keys_c = torch.matmul(kh, w_q).reshape(b, heads * nt, c)  # (B, H*Nt, C): keys in C dims
        bias = torch.matmul(kh, attn.q_proj.bias.view(heads, d, 1)).reshape(b, heads * nt, 1)
        logits = _bmm_image(keys_c, image_q.transpose(1, 2)).add_(bias)  # (B, H*Nt, Nk)
    nk = logits.shape[2]
    probs = logits.view(b, heads, nt, nk).softmax(dim=2).view(b, heads * nt, nk)
    vh = heads_v(attn, v)  # (B, H, Nt, d)
    w_o = attn.out_proj.weight.view(c, heads, d).permute(1, 2, 0)  # (H, d, C)
    values_c = torch.matmul(vh, w_o).reshape(b, heads * nt, c)  # (B, H*Nt, C)
    if residual is None:
        return torch.baddbmm(attn.out_proj.bias.view(1, 1, c), probs.transpose(1, 2), values_c)
    values_c.add_(attn.out_proj.bias, alpha=1.0 / heads)
    if out is None:
        return torch.baddbmm(residual, probs.transpose(1, 2), values_c)
    if out is residual:
        return residual.baddbmm_(probs.transpose(1, 2), values_c)
    return torch.baddbmm(residual, probs.transpose(1, 2), values_c, out=out)


def attend_projected(attn: Attention, q: torch.Tensor, kh: torch.Tensor, vh: torch.Tensor) -> torch.Tensor:
    """`attn(q, k, v)` for already projected image keys as `heads_columns` kh (1|B, H, d, Nk),
    head-split values vh (1|B, H, Nk, d) and few queries q (B, Nq, C) -> (B, Nq, C)."""
    heads, d, _ = _dims(attn)
    b, nq, _ = q.shape
    qh = heads_q(attn, q) * (d**-0.5)  # (B, H, Nq, d)
    probs = _per_head(qh, kh).softmax(dim=-1)  # (B, H, Nq, Nk)
    out = torch.matmul(probs, vh)  # (B, H, Nq, d)
    return attn.out_proj(out.transpose(1, 2).reshape(b, nq, heads * d))
