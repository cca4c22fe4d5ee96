"""SAM-family network definitions (ViT SAM, MobileSAM's TinyViT, SAM-HQ) and `build_model`."""
from sam_backend.models.build import build_model, resolve_config
from sam_backend.models.configs import CONFIGS, ModelConfig, config_for
from sam_backend.models.sam import Sam

__all__ = ["CONFIGS", "ModelConfig", "Sam", "build_model", "config_for", "resolve_config"]
