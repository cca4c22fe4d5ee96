"""sam_backend: the Segment Anything model family without Qt.

Public API (see docs/design.md):
    MODELS, build_model, load_predictor, SamPredictor, ImageEmbedding, Prediction,
    AutomaticMaskGenerator ("segment everything"), and the errors.
"""
from sam_backend.errors import (
    CheckpointError,
    CheckpointMissing,
    DownloadCancelled,
    DownloadError,
    ImageFormatError,
    MaskGenerationCancelled,
    SamBackendError,
    UnknownModel,
)
from sam_backend.registry import MODELS, ModelSpec

# The names below pull in torch (seconds to import): they are loaded on first use so that light
# commands (`models list`, `scan`, `export`) and `sam_backend.errors` users start fast.
_LAZY = {
    "AutomaticMaskGenerator": "sam_backend.amg",
    "ModelConfig": "sam_backend.models",
    "build_model": "sam_backend.models",
    "SamPredictor": "sam_backend.predictor",
    "load_predictor": "sam_backend.predictor",
    "ImageEmbedding": "sam_backend.types",
    "Prediction": "sam_backend.types",
}


def __getattr__(name: str) -> object:
    """Import the torch-backed parts of the public API on first access (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sam_backend' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

__all__ = [
    "MODELS",
    "AutomaticMaskGenerator",
    "CheckpointError",
    "CheckpointMissing",
    "DownloadCancelled",
    "DownloadError",
    "ImageEmbedding",
    "ImageFormatError",
    "MaskGenerationCancelled",
    "ModelConfig",
    "ModelSpec",
    "Prediction",
    "SamBackendError",
    "SamPredictor",
    "UnknownModel",
    "build_model",
    "load_predictor",
]
