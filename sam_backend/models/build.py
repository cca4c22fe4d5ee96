"""`build_model`: randomly initialised SAM-family networks in eval mode."""
from __future__ import annotations

from typing import Any

from sam_backend.models.configs import ModelConfig, config_for
from sam_backend.models.mask_decoder import MaskDecoder, MaskDecoderHQ
from sam_backend.models.prompt_encoder import PromptEncoder
from sam_backend.models.sam import ImageEncoder, Sam
from sam_backend.models.tiny_vit import TinyViT
from sam_backend.models.vit import ImageEncoderViT


def resolve_config(model: str | ModelConfig, config: ModelConfig | dict[str, Any] | None = None, **overrides: Any) -> ModelConfig:
    """Combine a model id (or config) with an optional config object / override dict / keywords."""
    cfg = config_for(model) if isinstance(model, str) else model
    if isinstance(config, ModelConfig):
        cfg = config
    elif isinstance(config, dict):
        overrides = {**config, **overrides}
    elif config is not None:
        raise TypeError(f"config must be a ModelConfig or a dict of overrides, not {type(config).__name__}")
    if overrides:
        cfg = cfg.with_overrides(**overrides)
    cfg.validate()
    return cfg


def build_model(model: str | ModelConfig = "sam_vit_b", config: ModelConfig | dict[str, Any] | None = None, **overrides: Any) -> Sam:
    """Build a randomly initialised network (eval mode) whose state_dict matches the official layout.

    Args:
        model: a model id ("sam_vit_b", "mobile_sam", "sam_hq_vit_tiny", ...) or a ModelConfig.
        config: a ModelConfig replacing the id's, or a dict of overrides (depth, embed_dim, num_heads,
            global_attn_indexes, window_size, ...).
        overrides: more overrides as keywords.
    Build under `with torch.device("meta"):` to get shapes without allocating memory.
    """
    cfg = resolve_config(model, config, **overrides)
    encoder: ImageEncoder
    if cfg.encoder == "vit":
        encoder = ImageEncoderViT(cfg.depth, cfg.embed_dim, cfg.num_heads, cfg.global_attn_indexes, cfg.window_size)
    else:
        encoder = TinyViT(cfg.tiny_embed_dims, cfg.tiny_depths, cfg.tiny_num_heads, cfg.tiny_window_sizes)
    decoder = MaskDecoderHQ(cfg.hq_vit_dim) if cfg.hq else MaskDecoder()
    sam = Sam(encoder, PromptEncoder(), decoder, is_hq=cfg.hq)
    sam.config = cfg
    return sam.eval()
