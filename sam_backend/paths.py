"""Where sam_backend keeps its data: models, embeddings, settings.

The data root is `$SAM_LABELER_HOME` when set (and non-empty), else the platform's user data folder
for "sam-labeler" (platformdirs). Every folder is created on demand when asked for.
"""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

HOME_ENV = "SAM_LABELER_HOME"
MIRROR_ENV = "SAM_LABELER_MODEL_MIRROR"


def data_root() -> Path:
    """The data root folder (created if missing)."""
    env = os.environ.get(HOME_ENV, "").strip()
    root = Path(env).expanduser() if env else Path(platformdirs.user_data_dir("sam-labeler"))
    return _ensure(root)


def models_dir() -> Path:
    """Folder of installed checkpoints, partial downloads and the checkpoint manifest."""
    return _ensure(data_root() / "models")


def embeddings_dir() -> Path:
    """Folder of the persistent embedding cache."""
    return _ensure(data_root() / "embeddings")


def settings_dir() -> Path:
    """Folder of settings files."""
    return _ensure(data_root() / "settings")


def _ensure(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"cannot create the data folder {path}: {exc.strerror or exc}") from exc
    return path
