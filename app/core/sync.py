"""Fast recursive scan of a project folder for image files (no decoding), and the plan that matches
a project's image table with such a scan (shared by Project.sync_images and app.core.folder_sync)."""
from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Collection, Mapping
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
    return scan_tree(root, extensions, progress)[0]


def scan_tree(root: Path, extensions: tuple[str, ...] | None = None,
              progress: Callable[[int, int], None] | None = None) -> tuple[list[str], list[str]]:
    """(image files, folders) under ``root`` as scan_image_files sees them: the sorted relative image
    paths and the absolute paths of the folders it walked (``root`` first, then the subfolders)."""
    exts = tuple(e.lower() for e in (extensions or image_extensions()))
    found: list[str] = []
    folders: list[str] = []
    stack: list[tuple[str, str]] = [(str(root), "")]
    while stack:
        folder, prefix = stack.pop()
        folders.append(folder)
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
    return found, folders


@dataclass(frozen=True)
class SyncPlan:
    """What a sync changes: relative paths to add, ids to mark missing, ids whose file came back."""

    new: list[str]
    gone: list[int]
    back: list[int]
    total: int

    def empty(self) -> bool:
        """True when the table already matches the files."""
        return not (self.new or self.gone or self.back)


def scan_prefix(root: Path, image_root: Path) -> str:
    """The image folder relative to the project folder ("" when they are the same)."""
    return "" if image_root == root else os.path.relpath(image_root, root).replace(os.sep, "/")


def plan_sync(root: Path, prefix: str, found: list[str], known: Mapping[str, tuple[int, bool]]) -> SyncPlan:
    """Compare a scan of the image folder (``found``, relative to it; ``prefix``: scan_prefix) with the
    table's {path: (id, missing)}: new files, present images whose file is gone, missing ones back.

    An image outside what the scan can see (another folder, a hidden name, another extension) counts
    as present while its file exists."""
    if prefix:  # scan paths and scan_prefix are normalised already: joining keeps them so (no normpath)
        found = [f"{prefix}/{p}" for p in found]
    on_disk = set(found)
    exts = image_extensions()

    def present(rel: str) -> bool:
        if rel in on_disk:
            return True
        inner = rel[len(prefix) + 1:] if prefix and rel.startswith(prefix + "/") else (None if prefix else rel)
        scan_could_see = inner is not None and not inner.startswith("../") and inner.lower().endswith(exts) \
            and not any(part.startswith(".") for part in inner.split("/"))
        return not scan_could_see and os.path.isfile(root / rel)

    new = [p for p in found if p not in known]
    gone = [i for p, (i, m) in known.items() if not m and not present(p)]
    back = [i for p, (i, m) in known.items() if m and present(p)]
    return SyncPlan(new=new, gone=gone, back=back, total=len(found))


def known_images(conn: sqlite3.Connection) -> dict[str, tuple[int, bool]]:
    """{path: (id, missing)} of every image of a project connection."""
    return {str(p): (int(i), bool(m)) for i, p, m in conn.execute("SELECT id, path, missing FROM image")}


def apply_sync_plan(conn: sqlite3.Connection, plan: SyncPlan, skip: Collection[str] = ()) -> None:
    """Write a plan inside the caller's transaction (new rows: size 0x0, status "new"); new paths in
    ``skip`` are left out (files still being written, see app.core.folder_sync)."""
    conn.executemany("INSERT INTO image(path) VALUES (?)", ((p,) for p in plan.new if p not in skip))
    conn.executemany("UPDATE image SET missing = 1 WHERE id = ?", ((i,) for i in plan.gone))
    conn.executemany("UPDATE image SET missing = 0 WHERE id = ?", ((i,) for i in plan.back))
