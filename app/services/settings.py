"""User settings: one JSON file in `sam_backend.paths.settings_dir()`, written atomically.

Usage::

    settings = Settings.load()          # defaults when the file is absent; never raises for a bad file
    settings.prefetch_count = 3
    settings.save()                     # temp file + os.replace: a crash never leaves half a file

A file that is not valid JSON is kept aside as `settings.json.corrupt` and defaults are used; the
reason is in `settings.load_error` (one sentence, for the window's message area). A field with a
wrong type falls back to its default; unknown keys are preserved across load/save (`get`/`set`).
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from sam_backend.modes import MODE_IDS
from sam_backend.paths import settings_dir

SETTINGS_FILE = "settings.json"
MAX_RECENT = 10
PRECISIONS = MODE_IDS  # the encoder modes ("fp32" exact first)

DEFAULTS: dict[str, Any] = {
    "shortcuts": {},          # action id -> list of key sequence strings (overrides of actions.ACTIONS)
    "prefetch_count": 2,      # neighbours pre-encoded on each side of the current image
    "recent_projects": [],    # newest first, at most MAX_RECENT
    "model_id": "mobile_sam",
    "device": "auto",
    "precision": "fp32",      # the encoder's mode (sam_backend.modes): "fp32" exact, or an opt-in fast mode
    "memory_cache_mb": 1024,  # memory LRU of embeddings
    "disk_cache": True,       # persistent embedding cache in sam_backend.paths.embeddings_dir()
    "last_export_dir": "",
    "language": "",           # "" = follow the system; else a code of app.ui.i18n.LANGUAGES ("en", "zh_CN")
    "theme": "dark",          # "dark" | "light" (app.ui.theme)
    "reuse_window": True,     # a project opened from the desktop goes to the running window
    "watch_folder": True,     # images added to / removed from the open project's folder show at once
}


def default_path() -> Path:
    """The settings file of the current data root (`$SAM_LABELER_HOME/settings/settings.json`)."""
    return settings_dir() / SETTINGS_FILE


class Settings:
    """The application's settings; attributes mirror DEFAULTS.

    Attributes:
        shortcuts: dict action id -> tuple of key sequence strings (PortableText, e.g. "Ctrl+Shift+Z");
            only the actions the user remapped (see app.services.actions).
        prefetch_count: int >= 0.
        recent_projects: list of path strings, newest first, at most 10.
        model_id, device: the model to load at start ("auto" | "cpu" | "cuda" | "cuda:N" | "mps").
        precision: its encoder's mode, one of PRECISIONS ("fp32" exact, the default; the others are the
            opt-in fast modes the model manager offers with their measured speed and mask agreement).
        memory_cache_mb: int >= 0; disk_cache: bool; last_export_dir: str.
        language: "" (follow the system) or a language code; theme: "dark" | "light";
        reuse_window: a project opened from the desktop while the app runs goes to the running window.
        watch_folder: images added to or removed from the open project's image folder appear in the
            list without reopening (app.ui.folder_watch).
        path: the JSON file; load_error: None or one sentence about a file that could not be read.
    """

    def __init__(self, path: Path | None = None) -> None:
        """Defaults, bound to `path` (default: `default_path()`); does not read the file."""
        self.path: Path = Path(path) if path is not None else default_path()
        self.load_error: str | None = None
        self.shortcuts: dict[str, tuple[str, ...]] = {}
        self.prefetch_count: int = DEFAULTS["prefetch_count"]
        self.recent_projects: list[str] = []
        self.model_id: str = DEFAULTS["model_id"]
        self.device: str = DEFAULTS["device"]
        self.precision: str = DEFAULTS["precision"]
        self.memory_cache_mb: int = DEFAULTS["memory_cache_mb"]
        self.disk_cache: bool = DEFAULTS["disk_cache"]
        self.last_export_dir: str = DEFAULTS["last_export_dir"]
        self.language: str = DEFAULTS["language"]
        self.theme: str = DEFAULTS["theme"]
        self.reuse_window: bool = DEFAULTS["reuse_window"]
        self.watch_folder: bool = DEFAULTS["watch_folder"]
        self._extra: dict[str, Any] = {}

    # ----------------------------------------------------------------------------------- file io
    @classmethod
    def load(cls, path: Path | None = None) -> "Settings":
        """Settings read from `path` (default file when None); defaults for whatever is missing or bad."""
        settings = cls(path)
        try:
            text = settings.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return settings
        except OSError as exc:
            settings.load_error = f"Settings file {settings.path} cannot be read ({exc.strerror or exc}); using defaults."
            return settings
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            backup = settings.path.with_name(settings.path.name + ".corrupt")
            try:
                os.replace(settings.path, backup)
                kept = f"; it was kept as {backup.name}"
            except OSError:
                kept = ""
            settings.load_error = f"Settings file {settings.path} is damaged ({exc}){kept}; using defaults."
            return settings
        settings._apply_dict(data)
        return settings

    def save(self) -> None:
        """Write the settings atomically (temp file in the same folder, fsync, os.replace).

        Raises OSError with the file name when the folder is not writable.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True)
        fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".tmp", dir=str(self.path.parent))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    # ------------------------------------------------------------------------------ conversions
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the known fields plus preserved unknown keys."""
        data = dict(self._extra)
        data.update({
            "shortcuts": {k: list(v) for k, v in sorted(self.shortcuts.items())},
            "prefetch_count": self.prefetch_count,
            "recent_projects": list(self.recent_projects),
            "model_id": self.model_id,
            "device": self.device,
            "precision": self.precision,
            "memory_cache_mb": self.memory_cache_mb,
            "disk_cache": self.disk_cache,
            "last_export_dir": self.last_export_dir,
            "language": self.language,
            "theme": self.theme,
            "reuse_window": self.reuse_window,
            "watch_folder": self.watch_folder,
        })
        return data

    def _apply_dict(self, data: dict[str, Any]) -> None:
        for key, value in data.items():
            if key not in DEFAULTS:
                self._extra[key] = value
        self.shortcuts = _shortcuts(data.get("shortcuts"))
        self.prefetch_count = _int(data.get("prefetch_count"), DEFAULTS["prefetch_count"], 0, 50)
        recent = data.get("recent_projects")
        if isinstance(recent, list):
            self.recent_projects = [str(p) for p in recent if isinstance(p, str) and p][:MAX_RECENT]
        self.model_id = _str(data.get("model_id"), DEFAULTS["model_id"])
        self.device = _str(data.get("device"), DEFAULTS["device"])
        precision = data.get("precision")
        self.precision = precision if precision in PRECISIONS else DEFAULTS["precision"]
        self.memory_cache_mb = _int(data.get("memory_cache_mb"), DEFAULTS["memory_cache_mb"], 0, 1 << 20)
        disk = data.get("disk_cache")
        self.disk_cache = disk if isinstance(disk, bool) else DEFAULTS["disk_cache"]
        last = data.get("last_export_dir")
        self.last_export_dir = last if isinstance(last, str) else DEFAULTS["last_export_dir"]
        language = data.get("language")
        self.language = language if isinstance(language, str) else DEFAULTS["language"]
        self.theme = _str(data.get("theme"), DEFAULTS["theme"])
        reuse = data.get("reuse_window")
        self.reuse_window = reuse if isinstance(reuse, bool) else DEFAULTS["reuse_window"]
        watch = data.get("watch_folder")
        self.watch_folder = watch if isinstance(watch, bool) else DEFAULTS["watch_folder"]

    # ---------------------------------------------------------------------------------- helpers
    def add_recent_project(self, path: str | os.PathLike[str]) -> None:
        """Put `path` first in recent_projects (no duplicates, at most 10 kept). Does not save."""
        p = str(path)
        self.recent_projects = [p] + [q for q in self.recent_projects if q != p]
        del self.recent_projects[MAX_RECENT:]

    def get(self, key: str, default: Any = None) -> Any:
        """A free-form value (e.g. window geometry) stored under `key`, or `default`."""
        if key in DEFAULTS:
            return self.to_dict()[key]
        return self._extra.get(key, default)

    def set(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable free-form value under `key` (not one of the typed fields)."""
        if key in DEFAULTS:
            raise ValueError(f"'{key}' is a typed setting; assign the attribute instead")
        json.dumps(value)  # raises TypeError now rather than at save time
        self._extra[key] = value


def _int(value: Any, default: int, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        return default
    return min(max(value, lo), hi)


def _str(value: Any, default: str) -> str:
    return value if isinstance(value, str) and value else default


def _shortcuts(value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for key, keys in value.items():
        if isinstance(keys, str):
            out[str(key)] = (keys,) if keys else ()
        elif isinstance(keys, list) and all(isinstance(k, str) for k in keys):
            out[str(key)] = tuple(k for k in keys if k)
    return out
