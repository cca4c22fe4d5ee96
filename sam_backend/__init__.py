"""sam_backend: the Segment Anything model family without Qt.

Public API (see docs/design.md):
    MODELS, build_model, load_predictor, SamPredictor, ImageEmbedding, Prediction, and the errors.
"""
from sam_backend.errors import (
    CheckpointError,
    CheckpointMissing,
    DownloadCancelled,
    DownloadError,
    ImageFormatError,
    SamBackendError,
    UnknownModel,
)
from sam_backend.models import ModelConfig, build_model
from sam_backend.predictor import SamPredictor, load_predictor
from sam_backend.registry import MODELS, ModelSpec
from sam_backend.types import ImageEmbedding, Prediction

__all__ = [
    "MODELS",
    "CheckpointError",
    "CheckpointMissing",
    "DownloadCancelled",
    "DownloadError",
    "ImageEmbedding",
    "ImageFormatError",
    "ModelConfig",
    "ModelSpec",
    "Prediction",
    "SamBackendError",
    "SamPredictor",
    "UnknownModel",
    "build_model",
    "load_predictor",
]
