"""Fast route of the mask decoder and SAM-HQ's (`sam_backend.models.mask_decoder`), same function.

The prompt-independent image side is cached in an `ImagePrep` (one per image embedding and dense
prompt); cross-attentions are folded (`folded`); the upscaling runs as matrix products in tree
order with the hypernetwork projection fused into its last stage (`upscaling`); masks are
computed only for the requested tokens, and the transformer's final attention only for the tokens
in use (IoU, requested mask tokens, HQ token); for SAM-HQ the HQ vector is folded into the last
3x3 convolution.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from sam_backend.fast import transformer as fast_transformer
from sam_backend.fast import upscaling
from sam_backend.fast.ops import gelu_
from sam_backend.models.common import LayerNorm2d
from sam_backend.models.mask_decoder import MaskDecoder, MaskDecoderHQ
from sam_backend.models.transformer import TwoWayAttentionBlock

ALL_MASK_TOKENS = (0, 1, 2, 3)


@dataclass
class ImagePrep:
    """Prompt-independent decoder work for one image embedding and one dense prompt.

    grid: (h, w) of the embedding (64, 64); side: the transformer's image side (image embedding
    + dense prompt as tokens, position encoding, first-block projections); hq_features: SAM-HQ
    fused features (1, 32, 256, 256).
    """

    grid: tuple[int, int]
    side: fast_transformer.ImageSide
    hq_features: torch.Tensor | None = None


class FastDecoder:
    """The fast route of a (plain) MaskDecoder or MaskDecoderHQ; reads its parameters, never
    changes them. Falls back to the plain module for upscaling stacks it cannot run."""

    def __init__(self, decoder: MaskDecoder) -> None:
        self.decoder = decoder
        self.is_hq = isinstance(decoder, MaskDecoderHQ)
        self.supported = upscaling.supports(decoder.output_upscaling)

    def prepare(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        dense: torch.Tensor,
        early_features: tuple[torch.Tensor, ...] = (),
        project: bool = True,
    ) -> ImagePrep:
        """Compute what does not depend on the sparse prompts (reusable for every click on an image).
        project=False skips the first block's image projections (worth it only when reused)."""
        src = image_embeddings + dense
        # torch types a ModuleList's items as Module: the transformer's layers are TwoWayAttentionBlocks
        first = cast("Sequence[TwoWayAttentionBlock]", self.decoder.transformer.layers)[0] if project else None
        prep = ImagePrep((src.shape[2], src.shape[3]), fast_transformer.image_side(src, image_pe, first))
        if self.is_hq:
            assert isinstance(self.decoder, MaskDecoderHQ)
            prep.hq_features = self.decoder.hq_features(image_embeddings, early_features)
        return prep

    def __call__(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse: torch.Tensor,
        dense: torch.Tensor,
        early_features: tuple[torch.Tensor, ...] = (),
        prep: ImagePrep | None = None,
        mask_tokens: Sequence[int] = ALL_MASK_TOKENS,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """As the plain decoder's forward, for the masks of `mask_tokens` only (0 = single-mask
        output, 1..3 = multimask outputs): (masks (B, M, 256, 256), iou (B, 4), SAM-HQ logits
        (B, 1, 256, 256) or None). prep: `prepare(...)` of the same inputs, if already computed."""
        dec = self.decoder
        if not self.supported:
            masks, iou, hq = dec(image_embeddings, image_pe, sparse, dense, early_features)
            return masks[:, list(mask_tokens)], iou, hq
        if prep is None:
            prep = self.prepare(image_embeddings, image_pe, dense, early_features, project=False)
        # the transformer from the cached image side
        bs = sparse.shape[0]
        tokens = torch.cat([dec.output_tokens().unsqueeze(0).expand(bs, -1, -1), sparse], dim=1)
        scratch: list[torch.Tensor] = []
        # output tokens: IoU, the requested mask tokens (then SAM-HQ's HQ token), in that order
        outputs = [0, *(1 + i for i in mask_tokens)] + ([1 + dec.num_mask_tokens] if self.is_hq else [])
        hs, keys = fast_transformer.transformer_forward(dec.transformer, prep.side, tokens, scratch, outputs)
        if scratch and keys is not prep.side.keys:  # keys is then scratch too: the upscaling may consume it
            scratch.append(keys)
        iou = dec.iou_prediction_head(hs[:, 0, :])
        hyper = torch.stack([dec.output_hypernetworks_mlps[i](hs[:, 1 + j, :]) for j, i in enumerate(mask_tokens)], dim=1)
        if not self.is_hq:
            # upscaling and hypernetwork projection, the last stage block by block
            maps, levels = upscaling.project_upscaled(dec.output_upscaling, keys, hyper, scratch)
            return upscaling.tree_to_grid(maps, prep.grid, levels), iou, None
        assert prep.hq_features is not None
        tree, levels = upscaling.upscale_tokens(dec.output_upscaling, keys, scratch)  # (B, 16*h*w, C/8)
        masks = upscaling.tree_to_grid(torch.matmul(tree, hyper.transpose(1, 2)), prep.grid, levels)
        upscaled = upscaling.tree_to_grid(tree, prep.grid, levels, channels_last=True)  # (B, C/8, 256, 256)
        return masks, iou, self._hq_logits(hs[:, -1, :], upscaled, prep.hq_features)

    def token_iou(self, prep: ImagePrep, sparse: torch.Tensor) -> torch.Tensor:
        """Predicted IoU (B, 4) of the prompts, from the token pass alone (transformer + IoU head,
        the cheap half of the decoder): the automatic mask generator gates the expensive mask
        upscaling on it. Needs a supported upscaling stack (``supported``)."""
        dec = self.decoder
        bs = sparse.shape[0]
        tokens = torch.cat([dec.output_tokens().unsqueeze(0).expand(bs, -1, -1), sparse], dim=1)
        hs, _ = fast_transformer.transformer_forward(dec.transformer, prep.side, tokens, [], outputs=(0,))
        return dec.iou_prediction_head(hs[:, 0, :])

    def _hq_logits(self, hq_token: torch.Tensor, upscaled: torch.Tensor, hq_features: torch.Tensor) -> torch.Tensor:
        """HQ logits (B, 1, H, W) from the upscaled SAM embedding (B, C/8, H, W) (channels-last
        memory best), with the HQ token's hypernetwork vector folded into the last 3x3 conv:
        hyper . (conv(a) + bias + f) = conv_{hyper W}(a) + hyper . bias + hyper . f."""
        dec = self.decoder
        assert isinstance(dec, MaskDecoderHQ)
        hyper = dec.hf_mlp(hq_token)  # (B, C/8)
        # torch types a Sequential's items as Module: (Conv2d, LayerNorm2d, GELU, Conv2d), models/mask_decoder.py
        conv1, norm, _, conv2 = cast("tuple[nn.Conv2d, LayerNorm2d, nn.GELU, nn.Conv2d]", tuple(dec.embedding_maskfeature))
        a = conv1(upscaled).permute(0, 2, 3, 1)  # (B, H, W, C/4)
        a = gelu_(nn.functional.layer_norm(a, (a.shape[-1],), norm.weight, norm.bias, norm.eps))
        weight = torch.einsum("bo,ocij->bijc", hyper, conv2.weight)  # (B, 3, 3, C/4)
        out = upscaling.one_channel_conv(a, weight)  # (B, H, W)
        if conv2.bias is not None:
            out.add_(torch.matmul(hyper, conv2.bias).view(-1, 1, 1))
        b, h, w = out.shape
        out.view(b, 1, h * w).baddbmm_(hyper.unsqueeze(1), hq_features.flatten(2).expand(b, -1, -1))
        return out.view(b, 1, h, w)
