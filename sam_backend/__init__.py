"""sam_backend: the Segment Anything model family without Qt.

Public API (see docs/design.md):
    MODELS, build_model, load_predictor, SamPredictor, ImageEmbedding, Prediction, and the errors;
    sam_backend.modes.encoder_modes (the encoder modes with their measured speed and mask IoU).
"""
import os

# OpenMP worker threads that sleep at once when idle instead of spinning. With spinning (libgomp's
# default) a decode on 2 threads, with another process busy on one of the 2 cores, took 81-533 ms
# instead of 31-36 ms (and a 12 MP predict 215-1162 ms instead of 61-121 ms), because the spinning
# thread holds the core the working one needs; on a quiet machine the difference is within noise
# (benchmarks/bench_backend.py). Read by the OpenMP runtime when torch loads, so it only applies
# when sam_backend is imported first (the app and the CLI do); a value the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
from sam_backend.errors import (
    CheckpointError,
    CheckpointMissing,
    DownloadCancelled,
    DownloadError,
    ImageFormatError,
    SamBackendError,
    UnknownModel,
)
from sam_backend.registry import MODELS, ModelSpec

# The names below pull in torch (seconds to import): they are loaded on first use so that light
# commands (`models list`, `scan`, `export`) and `sam_backend.errors` users start fast.
_LAZY = {
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
