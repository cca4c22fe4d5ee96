"""Value types exchanged between the GUI, the inference service and its worker thread (Qt-free)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import sys

import numpy as np

from app.core.errors import CoreError
from app.services.prompts import PromptSet
from sam_backend.errors import SamBackendError
from sam_backend.types import Prediction

ImageItem = tuple[str, Path]  # (image_key, file path)


@dataclass(frozen=True)
class DecodeRequest:
    """One decode posted by the GUI.

    request_id: increasing per service; the newest wins.
    mask_input: float32 (256, 256) low-res logits of a previous prediction, or None.
    posted_at: time.perf_counter() in the GUI thread when posted.
    """

    request_id: int
    image_key: str
    prompts: PromptSet
    mask_input: np.ndarray | None
    posted_at: float


@dataclass(frozen=True)
class DecodeResult:
    """The answer to the newest decode request.

    prediction: sam_backend Prediction (masks bool (3, H, W) in original-image pixels, scores float32 (3,),
        low_res_logits float32 (3, 256, 256)).
    elapsed_ms: from posting to the end of predict (includes waiting for an encode, if any).
    decode_ms: the predict call alone.
    posted_at / finished_at: time.perf_counter() stamps (same clock in every thread), for benchmarks.
    waited_for_encode: True when the image had to be encoded (or read from the disk cache) first.
    """

    request_id: int
    image_key: str
    prompts: PromptSet
    prediction: Prediction
    elapsed_ms: float
    decode_ms: float
    posted_at: float
    finished_at: float
    waited_for_encode: bool = False


class WorkerSink(Protocol):
    """What the worker reports; called from the worker (or download) thread, never blocking."""

    def model_state(self, state: str, text: str) -> None:
        """state "none" | "loading" | "ready" | "error" with a human text."""

    def encode_state(self, image_key: str, state: str) -> None:
        """state "encoding" | "ready" | "error"."""

    def decoded(self, result: DecodeResult) -> None:
        """A finished decode (the service drops it when a newer request exists)."""

    def failed(self, text: str) -> None:
        """One human sentence."""

    def progress(self, text: str, done: int, total: int) -> None:
        """Job progress; total -1 when unknown; done == total means finished."""


def describe_error(exc: BaseException, doing: str) -> str:
    """One human sentence for an exception raised while `doing` ("encoding photo.jpg")."""
    if isinstance(exc, (SamBackendError, CoreError)):
        return _sentence(str(exc))
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    torch = sys.modules.get("torch")  # an exception from torch means torch is loaded
    if torch is not None and isinstance(exc, torch.cuda.OutOfMemoryError):
        return f"The GPU ran out of memory while {doing}; choose the CPU device or a smaller model."
    if isinstance(exc, RuntimeError) and ("CUDA" in text or "cuda" in text):
        return _sentence(f"A CUDA error happened while {doing}: {text}")
    if isinstance(exc, OSError):
        return _sentence(f"A file could not be read while {doing}: {text}")
    if isinstance(exc, MemoryError):
        return f"The computer ran out of memory while {doing}."
    return _sentence(f"Unexpected error while {doing}: {type(exc).__name__}: {text}")


def _sentence(text: str) -> str:
    text = text.strip() or "Unknown error"
    return text if text.endswith((".", "!", "?")) else text + "."
