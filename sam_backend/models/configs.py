"""Architecture configurations of every supported model id, and the configurable ViT.

`ModelConfig` fully describes a network; `config_for(model_id)` gives the official ones and
`ModelConfig.with_overrides(...)` derives custom ViTs (e.g. the golden `sam_vit_small`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sam_backend.errors import UnknownModel


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a SAM-family network.

    Attributes:
        encoder: "vit" or "tiny_vit".
        hq: True for SAM-HQ (HQ token + early-feature fusion).
        depth, embed_dim, num_heads, global_attn_indexes, window_size: ViT encoder settings.
        tiny_*: TinyViT settings (per-stage widths, depths, heads, window sizes).
        name: a label for messages (the model id for official configs).
    """

    encoder: str
    hq: bool = False
    depth: int = 12
    embed_dim: int = 768
    num_heads: int = 12
    global_attn_indexes: tuple[int, ...] = (2, 5, 8, 11)
    window_size: int = 14
    tiny_embed_dims: tuple[int, ...] = (64, 128, 160, 320)
    tiny_depths: tuple[int, ...] = (2, 2, 6, 2)
    tiny_num_heads: tuple[int, ...] = (2, 4, 5, 10)
    tiny_window_sizes: tuple[int, ...] = (7, 7, 14, 7)
    name: str = field(default="custom", compare=False)

    @property
    def hq_vit_dim(self) -> int:
        """Channel width of the early features SAM-HQ fuses (ViT width, or TinyViT stage-2 width)."""
        return self.embed_dim if self.encoder == "vit" else self.tiny_embed_dims[2]

    def with_overrides(self, **overrides: Any) -> "ModelConfig":
        """Copy with some fields replaced; rejects unknown names and inconsistent ViT settings."""
        valid = set(self.__dataclass_fields__)
        unknown = sorted(set(overrides) - valid)
        if unknown:
            raise ValueError(f"unknown model config field(s) {', '.join(unknown)}: valid are {', '.join(sorted(valid))}")
        if "global_attn_indexes" in overrides:
            overrides["global_attn_indexes"] = tuple(int(i) for i in overrides["global_attn_indexes"])
        if "name" not in overrides:
            overrides["name"] = f"{self.name}-custom"
        cfg = replace(self, **overrides)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Raise ValueError with one sentence when the settings cannot form a network."""
        if self.encoder not in ("vit", "tiny_vit"):
            raise ValueError(f"encoder must be 'vit' or 'tiny_vit', not {self.encoder!r}")
        if self.encoder == "vit":
            if self.depth < 1 or self.embed_dim < 1 or self.num_heads < 1 or self.window_size < 1:
                raise ValueError("depth, embed_dim, num_heads and window_size must be positive")
            if self.embed_dim % self.num_heads:
                raise ValueError(f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")
            bad = [i for i in self.global_attn_indexes if not 0 <= i < self.depth]
            if bad:
                raise ValueError(f"global_attn_indexes {bad} are outside 0..{self.depth - 1}")


_VIT_B = ModelConfig("vit", depth=12, embed_dim=768, num_heads=12, global_attn_indexes=(2, 5, 8, 11))
_VIT_L = ModelConfig("vit", depth=24, embed_dim=1024, num_heads=16, global_attn_indexes=(5, 11, 17, 23))
_VIT_H = ModelConfig("vit", depth=32, embed_dim=1280, num_heads=16, global_attn_indexes=(7, 15, 23, 31))
_TINY = ModelConfig("tiny_vit")

CONFIGS: dict[str, ModelConfig] = {
    "sam_vit_b": replace(_VIT_B, name="sam_vit_b"),
    "sam_vit_l": replace(_VIT_L, name="sam_vit_l"),
    "sam_vit_h": replace(_VIT_H, name="sam_vit_h"),
    "mobile_sam": replace(_TINY, name="mobile_sam"),
    "sam_hq_vit_b": replace(_VIT_B, hq=True, name="sam_hq_vit_b"),
    "sam_hq_vit_l": replace(_VIT_L, hq=True, name="sam_hq_vit_l"),
    "sam_hq_vit_h": replace(_VIT_H, hq=True, name="sam_hq_vit_h"),
    "sam_hq_vit_tiny": replace(_TINY, hq=True, name="sam_hq_vit_tiny"),
}


def config_for(model_id: str) -> ModelConfig:
    """Official architecture of `model_id`; UnknownModel (one sentence listing valid ids) otherwise."""
    try:
        return CONFIGS[model_id]
    except KeyError:
        raise UnknownModel(f"unknown model id {model_id!r}: choose one of {', '.join(CONFIGS)}") from None
