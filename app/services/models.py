"""What the user interface may know and do about models: the registry, install states, download,
import, the device self-check, model families and text detectors (layer rule 4: app.ui reaches
sam_backend only through app.services; tests/test_layers.py checks it).

Everything here is cheap to import: sam_backend modules that pull heavy machinery (HTTP, torch) are
imported inside the functions that need them.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable

from sam_backend.checkpoints import InstallState
from sam_backend.checkpoints import import_checkpoint as _import_checkpoint
from sam_backend.checkpoints import install_state
from sam_backend.detectors.locate import DEFAULT_DETECTOR, DETECTOR_IDS
from sam_backend.detectors.types import text_support_problem
from sam_backend.modes import EncoderMode as EncoderModeFacts
from sam_backend.paths import data_root
from sam_backend.registry import MODELS, ModelSpec
from sam_backend.types import Prediction

Progress = Callable[[int, int], None]
INSTALLED = ("verified", "unverified")  # install states in which a model can be loaded

__all__ = ["DEFAULT_DETECTOR", "DETECTOR_IDS", "INSTALLED", "MODELS", "EncoderModeFacts", "InstallState", "ModelSpec",
           "Prediction", "data_root", "device_report_text", "download", "encoder_modes", "family_lines",
           "import_checkpoint", "install_state", "is_installed", "text_support_problem"]


def is_installed(model_id: str) -> bool:
    """True when a checkpoint of `model_id` is in the model cache (verified or not); False when it is
    missing or its state cannot be read."""
    try:
        return install_state(model_id).status in INSTALLED
    except (KeyError, ValueError, OSError):
        return False


def download(model_id: str, progress: Progress | None = None, cancel: threading.Event | None = None) -> Path:
    """Download and verify `model_id`'s checkpoint into the model cache (resumable); its path."""
    from sam_backend.download import download as _download  # HTTP machinery only when downloading

    def report(done: int, total: int | None) -> None:
        if progress is not None:
            progress(int(done), int(total) if total else -1)

    return _download(model_id, progress=report, cancel=cancel)


def import_checkpoint(model_id: str, file: str | os.PathLike[str], progress: Progress | None = None) -> Path:
    """Verify a local checkpoint file as `model_id`'s and copy it into the model cache; its path."""
    def report(done: int, total: int | None) -> None:
        if progress is not None:
            progress(int(done), int(total) if total else -1)

    return _import_checkpoint(model_id, file, progress=report)


def device_report_text() -> str:
    """The device self-check as text (the same report as `sam-labeler doctor`)."""
    from sam_backend.device import device_report, format_report

    return format_report(device_report())


def family_lines() -> list[str]:
    """One entry per model family: its id, and why it is not available here when it is not."""
    from sam_backend.families import families

    out = []
    for fam in families():
        note = fam.available()
        out.append(fam.id + (f" (not available: {note})" if note else ""))
    return out


def encoder_modes(model_id: str, device: str) -> list[EncoderModeFacts]:
    """The encoder modes of `model_id` on `device` ("auto" is resolved to the device it picks), exact
    first, with whether each works there and its measured speed-up and mask IoU against exact.
    Imports torch (call it off the GUI thread)."""
    from sam_backend.device import resolve_device
    from sam_backend.modes import encoder_modes as modes

    resolved = str(resolve_device(device)) if device == "auto" else device
    return modes(model_id, device=resolved)
