"""SAM's mask decoder and the SAM-HQ variant.

Both return the masks of the requested SAM mask tokens (default all four; 0 = single-mask
output, 1..3 = multimask outputs; choosing is the predictor's job): masks (B, M, 256, 256)
low-res logits, iou (B, 4), and for SAM-HQ additionally the HQ logits (B, 1, 256, 256).

Two arithmetic routes compute the same function: with `fast_path(False)` the textbook one
(the reference); by default the fast one: the prompt-independent image side cached in an
`ImagePrep`, folded cross-attentions (`folded`), the upscaling as matrix products in tree
order with the hypernetwork projection fused into its last stage (`upscaling`), masks only for
the requested tokens, and for SAM-HQ the HQ vector folded into the last 3x3 convolution.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from sam_backend.models import upscaling
from sam_backend.models.common import GELU, MLP, LayerNorm2d, fast_enabled, gelu_
from sam_backend.models.transformer import ImageSide, TwoWayTransformer

ALL_MASK_TOKENS = (0, 1, 2, 3)


@dataclass
class ImagePrep:
    """Prompt-independent decoder work for one image embedding and one dense prompt (fast path).

    grid: (h, w) of the embedding (64, 64); side: the transformer's image side (image embedding
    + dense prompt as tokens, position encoding, first-block projections); hq_features: SAM-HQ
    fused features (1, 32, 256, 256).
    """

    grid: tuple[int, int]
    side: ImageSide
    hq_features: torch.Tensor | None = None


class MaskDecoder(nn.Module):
    """Predicts masks and IoU from image embedding + prompt embeddings via a two-way transformer."""

    def __init__(self, transformer_dim: int = 256, num_multimask_outputs: int = 3) -> None:
        super().__init__()
        d = transformer_dim
        self.transformer = TwoWayTransformer(depth=2, embedding_dim=d, num_heads=8, mlp_dim=2048)
        self.num_mask_tokens = num_multimask_outputs + 1
        self.iou_token = nn.Embedding(1, d)
        self.mask_tokens = nn.Embedding(self.num_mask_tokens, d)
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(d, d // 4, kernel_size=2, stride=2),
            LayerNorm2d(d // 4),
            GELU(),
            nn.ConvTranspose2d(d // 4, d // 8, kernel_size=2, stride=2),
            GELU(),
        )
        self.output_hypernetworks_mlps = nn.ModuleList(MLP(d, d, d // 8, 3) for _ in range(self.num_mask_tokens))
        self.iou_prediction_head = MLP(d, 256, self.num_mask_tokens, 3)

    def _output_tokens(self) -> torch.Tensor:
        return torch.cat([self.iou_token.weight, self.mask_tokens.weight], dim=0)

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
        return ImagePrep((src.shape[2], src.shape[3]), self.transformer.image_side(src, image_pe, project))

    def _masks(self, hs: torch.Tensor, upscaled: torch.Tensor, mask_tokens: Sequence[int]) -> torch.Tensor:
        """Reference: hs (B, T, C), upscaled (B, C/8, 256, 256) -> low-res logits (B, M, 256, 256)."""
        hyper = self._hyper(hs, mask_tokens)
        b, c, h, w = upscaled.shape
        return (hyper @ upscaled.reshape(b, c, h * w)).reshape(b, -1, h, w)

    def _reference(
        self, image_embeddings: torch.Tensor, image_pe: torch.Tensor, sparse: torch.Tensor, dense: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The textbook decoder: (hs tokens (B, T, C), upscaled SAM embedding (B, C/8, 256, 256), iou (B, 4))."""
        bs = sparse.shape[0]
        tokens = torch.cat([self._output_tokens().unsqueeze(0).expand(bs, -1, -1), sparse], dim=1)
        src = image_embeddings + dense
        _, c, h, w = src.shape
        hs, src_out = self.transformer(src, image_pe, tokens)
        upscaled = self.output_upscaling(src_out.transpose(1, 2).reshape(-1, c, h, w))
        return hs, upscaled, self.iou_prediction_head(hs[:, 0, :])

    def _fast(self, prep: ImagePrep, sparse: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Fast path up to the upscaling: (hs (B, T, C), image tokens (B, h*w, C), iou (B, 4),
        scratch: tensors the upscaling may overwrite (the image tokens among them unless cached))."""
        bs = sparse.shape[0]
        tokens = torch.cat([self._output_tokens().unsqueeze(0).expand(bs, -1, -1), sparse], dim=1)
        scratch: list[torch.Tensor] = []
        hs, keys = self.transformer.forward_fast(prep.side, tokens, scratch)
        if scratch and keys is not prep.side.keys:  # keys is then scratch too: the upscaling may consume it
            scratch.append(keys)
        return hs, keys, self.iou_prediction_head(hs[:, 0, :]), scratch

    def _hyper(self, hs: torch.Tensor, mask_tokens: Sequence[int]) -> torch.Tensor:
        """Hypernetwork vectors of the chosen mask tokens (B, M, C/8)."""
        return torch.stack([self.output_hypernetworks_mlps[i](hs[:, 1 + i, :]) for i in mask_tokens], dim=1)

    def forward(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse: torch.Tensor,
        dense: torch.Tensor,
        early_features: tuple[torch.Tensor, ...] = (),
        prep: ImagePrep | None = None,
        mask_tokens: Sequence[int] = ALL_MASK_TOKENS,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """image_embeddings (1, 256, 64, 64), image_pe (1, 256, 64, 64), sparse (B, N, 256),
        dense (1|B, 256, 64, 64) -> (masks (B, M, 256, 256), iou (B, 4), None), where the M masks
        are those of `mask_tokens` (0 = single-mask output, 1..3 = multimask outputs).
        prep (fast path only): `prepare(image_embeddings, image_pe, dense, early_features)` if
        already computed."""
        if not (fast_enabled() and upscaling.supports(self.output_upscaling)):
            hs, upscaled, iou = self._reference(image_embeddings, image_pe, sparse, dense)
            return self._masks(hs, upscaled, mask_tokens), iou, None
        if prep is None:
            prep = self.prepare(image_embeddings, image_pe, dense, early_features, project=False)
        hs, keys, iou, scratch = self._fast(prep, sparse)
        maps, levels = upscaling.project_upscaled(self.output_upscaling, keys, self._hyper(hs, mask_tokens), scratch)
        return upscaling.tree_to_grid(maps, prep.grid, levels), iou, None


class MaskDecoderHQ(MaskDecoder):
    """SAM-HQ decoder: an extra HQ output token whose mask is read from a fused feature map.

    Fusion: hq_features = embedding_encoder(image embedding) + compress_vit_feat(early features);
    the HQ mask = hf_mlp(hq token) . (embedding_maskfeature(upscaled SAM embedding) + hq_features).
    """

    def __init__(self, vit_dim: int, transformer_dim: int = 256, num_multimask_outputs: int = 3) -> None:
        super().__init__(transformer_dim, num_multimask_outputs)
        d = transformer_dim
        self.hf_token = nn.Embedding(1, d)
        self.hf_mlp = MLP(d, d, d // 8, 3)
        self.compress_vit_feat = nn.Sequential(
            nn.ConvTranspose2d(vit_dim, d, kernel_size=2, stride=2),
            LayerNorm2d(d),
            GELU(),
            nn.ConvTranspose2d(d, d // 8, kernel_size=2, stride=2),
        )
        self.embedding_encoder = nn.Sequential(
            nn.ConvTranspose2d(d, d // 4, kernel_size=2, stride=2),
            LayerNorm2d(d // 4),
            GELU(),
            nn.ConvTranspose2d(d // 4, d // 8, kernel_size=2, stride=2),
        )
        self.embedding_maskfeature = nn.Sequential(
            nn.Conv2d(d // 8, d // 4, 3, 1, 1),
            LayerNorm2d(d // 4),
            GELU(),
            nn.Conv2d(d // 4, d // 8, 3, 1, 1),
        )

    def _output_tokens(self) -> torch.Tensor:
        return torch.cat([self.iou_token.weight, self.mask_tokens.weight, self.hf_token.weight], dim=0)

    def prepare(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        dense: torch.Tensor,
        early_features: tuple[torch.Tensor, ...] = (),
        project: bool = True,
    ) -> ImagePrep:
        """As MaskDecoder.prepare, plus the fused HQ features from the encoder's early features."""
        prep = super().prepare(image_embeddings, image_pe, dense, early_features, project)
        prep.hq_features = self._hq_features(image_embeddings, early_features)
        return prep

    def _hq_features(self, image_embeddings: torch.Tensor, early_features: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """(1, 32, 256, 256) fused features: embedding_encoder(embedding) + compress_vit_feat(early[0])."""
        if not early_features:
            raise ValueError("a SAM-HQ decoder needs the encoder's early features; re-encode the image with this model")
        vit_features = early_features[0].permute(0, 3, 1, 2).to(image_embeddings.dtype)
        return self.embedding_encoder(image_embeddings) + self.compress_vit_feat(vit_features)

    def _hq_fast(self, hs: torch.Tensor, upscaled: torch.Tensor, hq_features: torch.Tensor) -> torch.Tensor:
        """HQ logits (B, 1, H, W) from the upscaled SAM embedding (B, C/8, H, W) (channels-last
        memory best), with the HQ token's hypernetwork vector folded into the last 3x3 conv:
        hyper . (conv(a) + bias + f) = conv_{hyper W}(a) + hyper . bias + hyper . f."""
        hyper = self.hf_mlp(hs[:, 1 + self.num_mask_tokens, :])  # (B, C/8)
        conv1, norm, _, conv2 = self.embedding_maskfeature
        a = conv1(upscaled).permute(0, 2, 3, 1)  # (B, H, W, C/4)
        a = gelu_(nn.functional.layer_norm(a, (a.shape[-1],), norm.weight, norm.bias, norm.eps))
        weight = torch.einsum("bo,ocij->bijc", hyper, conv2.weight)  # (B, 3, 3, C/4)
        out = upscaling.one_channel_conv(a, weight)  # (B, H, W)
        out.add_(torch.matmul(hyper, conv2.bias).view(-1, 1, 1))
        b, h, w = out.shape
        out.view(b, 1, h * w).baddbmm_(hyper.unsqueeze(1), hq_features.flatten(2).expand(b, -1, -1))
        return out.view(b, 1, h, w)

    def forward(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse: torch.Tensor,
        dense: torch.Tensor,
        early_features: tuple[torch.Tensor, ...] = (),
        prep: ImagePrep | None = None,
        mask_tokens: Sequence[int] = ALL_MASK_TOKENS,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """As MaskDecoder, plus early_features[0] (1, 64, 64, vit_dim) channels-last;
        returns (masks (B, M, 256, 256), iou (B, 4), hq logits (B, 1, 256, 256))."""
        if not (fast_enabled() and upscaling.supports(self.output_upscaling)):
            hq_features = self._hq_features(image_embeddings, early_features)
            hs, upscaled, iou = self._reference(image_embeddings, image_pe, sparse, dense)
            masks = self._masks(hs, upscaled, mask_tokens)
            upscaled_hq = self.embedding_maskfeature(upscaled) + hq_features
            hyper_hq = self.hf_mlp(hs[:, 1 + self.num_mask_tokens, :]).unsqueeze(1)
            b, c, h, w = upscaled_hq.shape
            hq = (hyper_hq @ upscaled_hq.reshape(b, c, h * w)).reshape(b, 1, h, w)
            return masks, iou, hq
        if prep is None:
            prep = self.prepare(image_embeddings, image_pe, dense, early_features, project=False)
        assert prep.hq_features is not None
        hs, keys, iou, scratch = self._fast(prep, sparse)
        tree, levels = upscaling.upscale_tokens(self.output_upscaling, keys, scratch)  # (B, 16*h*w, C/8)
        masks = upscaling.tree_to_grid(torch.matmul(tree, self._hyper(hs, mask_tokens).transpose(1, 2)), prep.grid, levels)
        upscaled = upscaling.tree_to_grid(tree, prep.grid, levels, channels_last=True)  # (B, C/8, 256, 256)
        return masks, iou, self._hq_fast(hs, upscaled, prep.hq_features)
