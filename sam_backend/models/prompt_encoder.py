"""SAM's prompt encoder: random-Fourier position encoding of points and box corners, learned
point-type embeddings, and a small conv net that embeds a low-resolution mask prompt.

Coordinates given to it are in the 1024x1024 model-input frame (pixels, centres at integers).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import torch
from torch import nn

from sam_backend.models.common import LayerNorm2d


class PositionEmbeddingRandom(nn.Module):
    """Positional encoding with a fixed Gaussian projection `positional_encoding_gaussian_matrix` (2, F).

    Outputs 2F channels: sin and cos of 2*pi*((2*xy - 1) @ G).
    """

    positional_encoding_gaussian_matrix: torch.Tensor  # a buffer

    def __init__(self, num_pos_feats: int = 128) -> None:
        super().__init__()
        self.register_buffer("positional_encoding_gaussian_matrix", torch.randn(2, num_pos_feats))

    def encode(self, coords: torch.Tensor) -> torch.Tensor:
        """coords normalised to [0, 1], shape (..., 2) as (x, y) -> (..., 2F)."""
        coords = (2 * coords - 1) @ self.positional_encoding_gaussian_matrix
        coords = 2 * math.pi * coords
        return torch.cat([torch.sin(coords), torch.cos(coords)], dim=-1)

    def grid(self, size: tuple[int, int]) -> torch.Tensor:
        """Dense encoding of an (h, w) grid of cell centres -> (2F, h, w)."""
        h, w = size
        g = self.positional_encoding_gaussian_matrix
        ones = torch.ones((h, w), device=g.device, dtype=g.dtype)
        y = (ones.cumsum(dim=0) - 0.5) / h
        x = (ones.cumsum(dim=1) - 0.5) / w
        return self.encode(torch.stack([x, y], dim=-1)).permute(2, 0, 1)

    def with_coords(self, coords: torch.Tensor, image_size: tuple[int, int]) -> torch.Tensor:
        """coords (B, N, 2) in pixels of an image of size (H, W) -> (B, N, 2F)."""
        scale = torch.tensor([1.0 / image_size[1], 1.0 / image_size[0]], device=coords.device)
        return self.encode(coords.float() * scale)


class PromptEncoder(nn.Module):
    """Embeds points, boxes and mask prompts into sparse (B, N, 256) and dense (B, 256, 64, 64) tensors."""

    def __init__(
        self,
        embed_dim: int = 256,
        image_embedding_size: tuple[int, int] = (64, 64),
        input_image_size: tuple[int, int] = (1024, 1024),
        mask_in_chans: int = 16,
    ) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.input_image_size = input_image_size
        self.image_embedding_size = image_embedding_size
        self.pe_layer = PositionEmbeddingRandom(embed_dim // 2)
        self.point_embeddings = nn.ModuleList(nn.Embedding(1, embed_dim) for _ in range(4))
        self.not_a_point_embed = nn.Embedding(1, embed_dim)
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, mask_in_chans // 4, kernel_size=2, stride=2),
            LayerNorm2d(mask_in_chans // 4),
            nn.GELU(),
            nn.Conv2d(mask_in_chans // 4, mask_in_chans, kernel_size=2, stride=2),
            LayerNorm2d(mask_in_chans),
            nn.GELU(),
            nn.Conv2d(mask_in_chans, embed_dim, kernel_size=1),
        )
        self.no_mask_embed = nn.Embedding(1, embed_dim)

    def _point_kinds(self) -> Sequence[nn.Embedding]:
        """point_embeddings (negative, positive, box corner 1, box corner 2): torch types a
        ModuleList's items as Module; these are the Embeddings made in __init__."""
        return cast("Sequence[nn.Embedding]", self.point_embeddings)

    def get_dense_pe(self) -> torch.Tensor:
        """Position encoding of the image embedding grid, (1, 256, 64, 64)."""
        return self.pe_layer.grid(self.image_embedding_size).unsqueeze(0)

    def _embed_points(self, points: torch.Tensor, labels: torch.Tensor, pad: bool) -> torch.Tensor:
        """points (B, N, 2) model-input pixels, labels (B, N) in {-1, 0, 1} -> (B, N(+1), 256)."""
        points = points + 0.5
        if pad:
            points = torch.cat([points, torch.zeros_like(points[:, :1])], dim=1)
            labels = torch.cat([labels, -torch.ones_like(labels[:, :1])], dim=1)
        emb = self.pe_layer.with_coords(points, self.input_image_size)
        lab = labels[..., None]
        kinds = self._point_kinds()
        emb = torch.where(lab == -1, self.not_a_point_embed.weight, emb)
        emb = emb + torch.where(lab == 0, kinds[0].weight, 0.0)
        emb = emb + torch.where(lab == 1, kinds[1].weight, 0.0)
        return emb

    def _embed_boxes(self, boxes: torch.Tensor) -> torch.Tensor:
        """boxes (B, 4) as x0, y0, x1, y1 model-input pixels -> (B, 2, 256)."""
        corners = (boxes + 0.5).reshape(-1, 2, 2)
        emb = self.pe_layer.with_coords(corners, self.input_image_size)
        kinds = self._point_kinds()
        corner_types = torch.cat([kinds[2].weight, kinds[3].weight], dim=0)
        return emb + corner_types

    def forward(
        self,
        points: tuple[torch.Tensor, torch.Tensor] | None,
        boxes: torch.Tensor | None,
        masks: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (sparse (B, N, 256), dense (B, 256, 64, 64)); masks are (B, 1, 256, 256) logits."""
        if points is not None:
            bs = points[0].shape[0]
        elif boxes is not None:
            bs = boxes.shape[0]
        elif masks is not None:
            bs = masks.shape[0]
        else:
            bs = 1
        device = self.no_mask_embed.weight.device
        parts: list[torch.Tensor] = []
        if points is not None:
            parts.append(self._embed_points(points[0], points[1], pad=boxes is None))
        if boxes is not None:
            parts.append(self._embed_boxes(boxes))
        sparse = torch.cat(parts, dim=1) if parts else torch.empty((bs, 0, self.embed_dim), device=device)
        if masks is not None:
            dense = self.mask_downscaling(masks)
        else:
            h, w = self.image_embedding_size
            dense = self.no_mask_embed.weight.reshape(1, -1, 1, 1).expand(bs, -1, h, w)
        return sparse, dense
