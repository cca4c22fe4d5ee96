"""Fast recursive scan of a project folder for image files (no decoding)."""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_FALLBACK_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
PROGRESS_EVERY = 2000


def image_extensions() -> tuple[str, ...]:
    """Lower-case extensions (with dot) of image files: app.core.images.IMAGE_EXTENSIONS when present."""
    try:
        from app.core.images import IMAGE_EXTENSIONS  # optional: written by another module owner
    except ImportError:
        return _FALLBACK_EXTENSIONS
    return tuple(str(e).lower() if str(e).startswith(".") else "." + str(e).lower() for e in IMAGE_EXTENSIONS)


@dataclass(frozen=True)
class SyncReport:
    """Result of Project.sync_images: counts of images added, newly missing, returned; total on disk."""

    added: int
    missing: int
    returned: int
    total: int = 0


def scan_image_files(root: Path, extensions: tuple[str, ...] | None = None,
                     progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Relative POSIX paths of the image files under ``root`` (recursive), sorted.

    Skips hidden files and folders (name starting with "."), does not follow symlinked folders
    (no loops), and ignores folders it may not read. ``progress(found, 0)`` is called every
    PROGRESS_EVERY files (the total is unknown while scanning).
    """
    exts = tuple(e.lower() for e in (extensions or image_extensions()))
    found: list[str] = []
    stack: list[tuple[str, str]] = [(str(root), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, prefix + name + "/"))
                    continue
                if not name.lower().endswith(exts) or not entry.is_file():
                    continue
            except OSError:
                continue
            found.append(prefix + name)
            if progress is not None and len(found) % PROGRESS_EVERY == 0:
                progress(len(found), 0)
    found.sort()
    return found
