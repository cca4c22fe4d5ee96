"""SAM's mask decoder and the SAM-HQ variant.

Both return the masks of all four SAM mask tokens (0 = single-mask output, 1..3 = multimask
outputs; choosing is the predictor's job) as low-res logits (B, 4, 256, 256), the predicted IoU
(B, 4), and for SAM-HQ additionally the HQ logits (B, 1, 256, 256).
Plain arithmetic (the reference); the fast route is `sam_backend.fast.decoder`.
"""
from __future__ import annotations

import torch
from torch import nn

from sam_backend.models.common import MLP, LayerNorm2d
from sam_backend.models.transformer import TwoWayTransformer


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
            nn.GELU(),
            nn.ConvTranspose2d(d // 4, d // 8, kernel_size=2, stride=2),
            nn.GELU(),
        )
        self.output_hypernetworks_mlps = nn.ModuleList(MLP(d, d, d // 8, 3) for _ in range(self.num_mask_tokens))
        self.iou_prediction_head = MLP(d, 256, self.num_mask_tokens, 3)

    def output_tokens(self) -> torch.Tensor:
        """The learned output tokens (T, C): IoU token, the mask tokens (and SAM-HQ's HQ token)."""
        return torch.cat([self.iou_token.weight, self.mask_tokens.weight], dim=0)

    def run_transformer(
        self, image_embeddings: torch.Tensor, image_pe: torch.Tensor, sparse: torch.Tensor, dense: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The decoder up to the upscaling: (output tokens hs (B, T, C), upscaled image embedding
        (B, C/8, 4h, 4w), predicted IoU (B, 4))."""
        # output tokens followed by the sparse prompt tokens
        bs = sparse.shape[0]
        tokens = torch.cat([self.output_tokens().unsqueeze(0).expand(bs, -1, -1), sparse], dim=1)
        # image embedding plus the dense prompt (batch 1 broadcasts over the prompts)
        src = image_embeddings + dense
        _, c, h, w = src.shape
        hs, src_out = self.transformer(src, image_pe, tokens)
        # the image tokens back to a grid, upscaled 4x by two transposed convolutions
        upscaled = self.output_upscaling(src_out.transpose(1, 2).reshape(-1, c, h, w))
        # the IoU token's output predicts the quality of every mask
        return hs, upscaled, self.iou_prediction_head(hs[:, 0, :])

    def hyper_vectors(self, hs: torch.Tensor) -> torch.Tensor:
        """(B, 4, C/8): each mask token's output through its own hypernetwork MLP."""
        return torch.stack([self.output_hypernetworks_mlps[i](hs[:, 1 + i, :]) for i in range(self.num_mask_tokens)], dim=1)

    def forward(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse: torch.Tensor,
        dense: torch.Tensor,
        early_features: tuple[torch.Tensor, ...] = (),
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """image_embeddings (1, 256, 64, 64), image_pe (1, 256, 64, 64), sparse (B, N, 256),
        dense (1|B, 256, 64, 64) -> (masks (B, 4, 256, 256), iou (B, 4), None)."""
        hs, upscaled, iou = self.run_transformer(image_embeddings, image_pe, sparse, dense)
        # each mask = its hypernetwork vector . the upscaled embedding, per pixel
        b, c, h, w = upscaled.shape
        masks = (self.hyper_vectors(hs) @ upscaled.reshape(b, c, h * w)).reshape(b, -1, h, w)
        return masks, iou, None


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
            nn.GELU(),
            nn.ConvTranspose2d(d, d // 8, kernel_size=2, stride=2),
        )
        self.embedding_encoder = nn.Sequential(
            nn.ConvTranspose2d(d, d // 4, kernel_size=2, stride=2),
            LayerNorm2d(d // 4),
            nn.GELU(),
            nn.ConvTranspose2d(d // 4, d // 8, kernel_size=2, stride=2),
        )
        self.embedding_maskfeature = nn.Sequential(
            nn.Conv2d(d // 8, d // 4, 3, 1, 1),
            LayerNorm2d(d // 4),
            nn.GELU(),
            nn.Conv2d(d // 4, d // 8, 3, 1, 1),
        )

    def output_tokens(self) -> torch.Tensor:
        """IoU token, the four mask tokens, the HQ token (6, C)."""
        return torch.cat([self.iou_token.weight, self.mask_tokens.weight, self.hf_token.weight], dim=0)

    def hq_features(self, image_embeddings: torch.Tensor, early_features: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """(1, 32, 256, 256) fused features: embedding_encoder(embedding) + compress_vit_feat(early[0])."""
        if not early_features:
            raise ValueError("a SAM-HQ decoder needs the encoder's early features; re-encode the image with this model")
        vit_features = early_features[0].permute(0, 3, 1, 2).to(image_embeddings.dtype)
        return self.embedding_encoder(image_embeddings) + self.compress_vit_feat(vit_features)

    def forward(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse: torch.Tensor,
        dense: torch.Tensor,
        early_features: tuple[torch.Tensor, ...] = (),
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """As MaskDecoder, plus early_features[0] (1, 64, 64, vit_dim) channels-last;
        returns (masks (B, 4, 256, 256), iou (B, 4), hq logits (B, 1, 256, 256))."""
        # fused HQ features from the image embedding and the encoder's early features
        hq_features = self.hq_features(image_embeddings, early_features)
        # the SAM decoder, its masks as usual
        hs, upscaled, iou = self.run_transformer(image_embeddings, image_pe, sparse, dense)
        b, c, h, w = upscaled.shape
        masks = (self.hyper_vectors(hs) @ upscaled.reshape(b, c, h * w)).reshape(b, -1, h, w)
        # the HQ mask: the HQ token's vector . (refined upscaled embedding + fused HQ features)
        upscaled_hq = self.embedding_maskfeature(upscaled) + hq_features
        hyper_hq = self.hf_mlp(hs[:, 1 + self.num_mask_tokens, :]).unsqueeze(1)
        hq = (hyper_hq @ upscaled_hq.reshape(b, c, h * w)).reshape(b, 1, h, w)
        return masks, iou, hq
