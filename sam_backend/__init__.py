"""sam_backend: the Segment Anything model family without Qt.

Public API (see docs/design.md):
    MODELS, build_model, load_predictor, SamPredictor, ImageEmbedding, Prediction,
    AutomaticMaskGenerator ("segment everything"), and the errors; sam_backend.modes.encoder_modes
    (the encoder modes with their measured speed and mask IoU).
"""
import os
from typing import TYPE_CHECKING

# OpenMP worker threads that sleep at once when idle instead of spinning. With libgomp's default
# (spin, then sleep) and another process busy on one of the 2 cores, the spinning thread holds
# the core the working one needs: measured on the 2-core machine at load 4-5, the 12 MP decoder
# took 730-800 ms instead of 31 ms (bench_backend decoder_only_12mp, same code), and a mobile_sam
# encode 3.2-3.5 s instead of 1.3 s. Read by the OpenMP runtime when torch loads, so it applies
# only when sam_backend is imported before torch (the app and the CLI do); a user's value is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
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

if TYPE_CHECKING:  # the real types of the lazily loaded names below, for type checkers
    from sam_backend.amg import AutomaticMaskGenerator
    from sam_backend.models import ModelConfig, build_model
    from sam_backend.predictor import SamPredictor, load_predictor
    from sam_backend.types import ImageEmbedding, Prediction

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
