"""Where a detector's files are: a ``save_pretrained`` snapshot folder, given directly or by model id.

Downloads and imports of hub snapshots are done by the model manager (``sam-labeler models
download ID`` / ``models import ID DIR``); this module only finds what is installed. The one place
that knows the install layout is ``installed_detector_dir`` (through sam_backend.hub).
"""
from __future__ import annotations

import os
from pathlib import Path

from sam_backend.detectors.types import DetectorMissing

DETECTOR_IDS: dict[str, str] = {
    "grounding-dino-tiny": "IDEA-Research/grounding-dino-tiny",
    "grounding-dino-base": "IDEA-Research/grounding-dino-base",
}
"""Detector model ids -> their Hugging Face hub repositories."""
DEFAULT_DETECTOR = "grounding-dino-tiny"
SNAPSHOT_MARKER = "config.json"


def installed_detector_dir(model_id: str) -> Path | None:
    """The installed, verified snapshot folder of ``model_id`` in the model cache (sam_backend.hub,
    which downloads, imports and verifies it), or None when not installed."""
    from sam_backend import hub
    from sam_backend.errors import CheckpointMissing

    try:
        return hub.installed_snapshot(model_id)
    except CheckpointMissing:
        return None


def resolve_detector(id_or_path: str | os.PathLike[str]) -> Path:
    """The snapshot folder of a detector given as a model id (looked up in the model cache) or as
    a folder written by ``save_pretrained``.

    DetectorMissing when a known id is not installed (the message says how to install it);
    FileNotFoundError / ValueError (one sentence) for a bad folder or an unknown id.
    """
    text = os.fspath(id_or_path).strip()
    if not text:
        raise ValueError(f"no detector given: use one of {', '.join(DETECTOR_IDS)} or a model folder.")
    if text in DETECTOR_IDS:
        found = installed_detector_dir(text)
        if found is None:
            raise DetectorMissing(
                f"the detector {text} is not installed: run `sam-labeler models download {text}` "
                f"(offline: `sam-labeler models import {text} DIR` with a downloaded snapshot folder)")
        return found
    path = Path(text).expanduser()
    if path.is_dir():
        if not (path / SNAPSHOT_MARKER).is_file():
            raise ValueError(f"{path} is not a detector model folder: it has no {SNAPSHOT_MARKER} "
                             "(give a folder written by save_pretrained or downloaded from the hub).")
        return path
    if path.exists():
        raise ValueError(f"{path} is a file: a detector is a model folder (with {SNAPSHOT_MARKER}).")
    if os.sep in text or (os.altsep and os.altsep in text) or text.startswith("."):
        raise FileNotFoundError(f"the detector folder {path} does not exist.")
    raise ValueError(f"unknown detector {text!r}: use one of {', '.join(DETECTOR_IDS)} or a model folder.")
