"""SAM's mask decoder and the SAM-HQ variant.

Both return ALL mask tokens' outputs; choosing multimask/single outputs is the predictor's job:
  masks (B, 4, 256, 256) low-res logits for the SAM tokens (0 = single-mask output, 1..3 =
  multimask outputs), iou (B, 4), and for SAM-HQ additionally the HQ logits (B, 1, 256, 256).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from sam_backend.models.common import GELU, MLP, LayerNorm2d
from sam_backend.models.transformer import TwoWayTransformer


@dataclass
class ImagePrep:
    """Prompt-independent decoder work for one image embedding and one dense prompt.

    src: image embedding + dense prompt embedding (1, 256, 64, 64); image_pre: the first
    transformer block's image projections; hq_features: SAM-HQ fused features (1, 32, 256, 256).
    """

    src: torch.Tensor
    image_pre: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
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
    ) -> ImagePrep:
        """Compute what does not depend on the sparse prompts (reusable for every click on an image)."""
        src = image_embeddings + dense
        return ImagePrep(src, self.transformer.image_projections(src, image_pe))

    def _run_transformer(
        self, prep: ImagePrep, image_pe: torch.Tensor, sparse: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns (hs tokens (B, T, C), upscaled SAM embedding (B, C/8, 256, 256), iou (B, 4))."""
        bs = sparse.shape[0]
        out_tokens = self._output_tokens().unsqueeze(0).expand(bs, -1, -1)
        tokens = torch.cat([out_tokens, sparse], dim=1)
        _, c, h, w = prep.src.shape
        hs, src_out = self.transformer(prep.src, image_pe, tokens, prep.image_pre)
        upscaled = self.output_upscaling(src_out.transpose(1, 2).reshape(-1, c, h, w))
        iou = self.iou_prediction_head(hs[:, 0, :])
        return hs, upscaled, iou

    def _sam_masks(self, hs: torch.Tensor, upscaled: torch.Tensor) -> torch.Tensor:
        hyper = torch.stack(
            [mlp(hs[:, 1 + i, :]) for i, mlp in enumerate(self.output_hypernetworks_mlps)], dim=1
        )
        b, c, h, w = upscaled.shape
        return (hyper @ upscaled.reshape(b, c, h * w)).reshape(b, -1, h, w)

    def forward(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse: torch.Tensor,
        dense: torch.Tensor,
        early_features: tuple[torch.Tensor, ...] = (),
        prep: ImagePrep | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """image_embeddings (1, 256, 64, 64), image_pe (1, 256, 64, 64), sparse (B, N, 256),
        dense (1|B, 256, 64, 64) -> (masks (B, 4, 256, 256), iou (B, 4), None).
        prep: `prepare(image_embeddings, image_pe, dense, early_features)` if already computed."""
        if prep is None:
            prep = self.prepare(image_embeddings, image_pe, dense, early_features)
        hs, upscaled, iou = self._run_transformer(prep, image_pe, sparse)
        return self._sam_masks(hs, upscaled), iou, None


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
    ) -> ImagePrep:
        """As MaskDecoder.prepare, plus the fused HQ features from the encoder's early features."""
        if not early_features:
            raise ValueError("a SAM-HQ decoder needs the encoder's early features; re-encode the image with this model")
        prep = super().prepare(image_embeddings, image_pe, dense, early_features)
        vit_features = early_features[0].permute(0, 3, 1, 2).to(image_embeddings.dtype)
        prep.hq_features = self.embedding_encoder(image_embeddings) + self.compress_vit_feat(vit_features)
        return prep

    def forward(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse: torch.Tensor,
        dense: torch.Tensor,
        early_features: tuple[torch.Tensor, ...] = (),
        prep: ImagePrep | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """As MaskDecoder, plus early_features[0] (1, 64, 64, vit_dim) channels-last;
        returns (masks (B, 4, 256, 256), iou (B, 4), hq logits (B, 1, 256, 256))."""
        if prep is None:
            prep = self.prepare(image_embeddings, image_pe, dense, early_features)
        hs, upscaled, iou = self._run_transformer(prep, image_pe, sparse)
        masks = self._sam_masks(hs, upscaled)
        assert prep.hq_features is not None
        upscaled_hq = self.embedding_maskfeature(upscaled) + prep.hq_features
        hyper_hq = self.hf_mlp(hs[:, 1 + self.num_mask_tokens, :]).unsqueeze(1)
        b, c, h, w = upscaled_hq.shape
        hq = (hyper_hq @ upscaled_hq.reshape(b, c, h * w)).reshape(b, 1, h, w)
        return masks, iou, hq
