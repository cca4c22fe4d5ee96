"""Where sam_backend keeps its data: models, embeddings, settings.

The data root is `$SAM_LABELER_HOME` when set (and non-empty), else the platform's user data folder
for "sam-labeler" (platformdirs). Every folder is created on demand when asked for, except with
``create=False``: commands that only read (listing, verifying, self-check) pass it, so a read-only
data root (a shared, read-only model cache) works for them.
"""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

HOME_ENV = "SAM_LABELER_HOME"
MIRROR_ENV = "SAM_LABELER_MODEL_MIRROR"


def data_root(create: bool = True) -> Path:
    """The data root folder (created if missing, unless ``create`` is False)."""
    env = os.environ.get(HOME_ENV, "").strip()
    root = Path(env).expanduser() if env else Path(platformdirs.user_data_dir("sam-labeler"))
    return _ensure(root) if create else root


def models_dir(create: bool = True) -> Path:
    """Folder of installed checkpoints, partial downloads and the checkpoint manifest."""
    path = data_root(create) / "models"
    return _ensure(path) if create else path


def embeddings_dir(create: bool = True) -> Path:
    """Folder of the persistent embedding cache."""
    path = data_root(create) / "embeddings"
    return _ensure(path) if create else path


def settings_dir(create: bool = True) -> Path:
    """Folder of settings files."""
    path = data_root(create) / "settings"
    return _ensure(path) if create else path


def _ensure(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"cannot create the data folder {path}: {exc.strerror or exc}") from exc
    return path
