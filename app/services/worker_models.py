"""The inference worker's view of a model: the predictor protocol it relies on, loading, warming
up, CUDA fallback, and the file hashes of embedding cache keys (helpers of app.services.worker)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol, cast, runtime_checkable

import numpy as np

from sam_backend.cache import sha1_of_file
from sam_backend.families import Predictor
from sam_backend.types import ImageEmbedding

if TYPE_CHECKING:  # sam_backend.encoders imports torch: only the worker thread loads it
    from sam_backend.encoders import EncoderSetup


class WorkerPredictor(Predictor, Protocol):
    """sam_backend.families.Predictor plus the version of its preprocessing (part of the embedding
    cache key: a changed preprocessing must not reuse old embeddings)."""

    preprocess_version: int

    def encode(self, image: np.ndarray, should_abort: Callable[[], bool] | None = None) -> ImageEmbedding:
        """A SAM-family embedding (what the embedding cache keeps); EncodeAborted on should_abort()."""


@runtime_checkable
class FallsBack(Protocol):
    """A predictor that may move itself to the CPU (sam_backend.SamPredictor after CUDA out-of-memory)."""

    fallback_reason: str | None


@runtime_checkable
class ReportsSetup(Protocol):
    """A predictor that says what its encoder really runs (sam_backend.SamPredictor)."""

    @property
    def encoder_setup(self) -> EncoderSetup: ...


def precision_in_effect(predictor: WorkerPredictor, asked: str) -> str:
    """The encoder precision the predictor really runs ("fp32" exact, "bf16", "int8", "fp16"): its own
    report when it gives one (a mode may fall back, e.g. fp16 on a CPU), else the one asked for."""
    return predictor.encoder_setup.precision if isinstance(predictor, ReportsSetup) else asked


def cache_model_id(model_id: str, precision: str) -> str:
    """The embedding cache's model id: the model id for exact embeddings; a fast mode's embeddings
    (approximate) are kept apart, e.g. "mobile_sam.bf16", so an exact run never reads them."""
    return model_id if precision == "fp32" else f"{model_id}.{precision}"


def fallback_reason(predictor: WorkerPredictor | None) -> str | None:
    """Why the predictor moved to the CPU, or None."""
    return predictor.fallback_reason if isinstance(predictor, FallsBack) else None


def warm_up(predictor: WorkerPredictor) -> None:
    """Run one encode and one predict on a small blank image, as part of loading a model.

    A network's first calls pay one-time costs (kernel selection, buffer set-up, the thread pool);
    parts of that hold the GIL, stalling the event loop for 100-300 ms (measured). Paying them while
    "Loading" is shown keeps them away from the first click. The outputs are discarded.
    """
    blank = np.zeros((64, 64, 3), np.uint8)
    emb = predictor.encode(blank)
    predictor.predict(emb, points=[[32.0, 32.0]], labels=[1])


def load_predictor(*args: Any, **kwargs: Any) -> WorkerPredictor:
    """sam_backend.load_predictor, imported on first use (in the worker thread: torch takes seconds
    to import, and the window shows its first image before any model is needed)."""
    from sam_backend.predictor import load_predictor as load

    # cast: SamPredictor.predict is typed for its own ImageEmbedding (narrower than the protocol's
    # Embedding); the worker only ever hands it embeddings that its own encode made
    return cast(WorkerPredictor, load(*args, **kwargs))


class FileHashes:
    """sha1 of image files, remembered by (path, mtime, size) so an unchanged file is hashed once."""

    def __init__(self) -> None:
        self._memo: dict[str, tuple[int, int, str]] = {}

    def sha1(self, path: Path) -> str:
        """The file's sha1 (hex)."""
        st = os.stat(path)
        memo = self._memo.get(str(path))
        if memo is not None and memo[0] == st.st_mtime_ns and memo[1] == st.st_size:
            return memo[2]
        digest = sha1_of_file(path)
        self._memo[str(path)] = (st.st_mtime_ns, st.st_size, digest)
        return digest
