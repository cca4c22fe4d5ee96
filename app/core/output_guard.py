"""Which files an exporter may write: the check every exporter runs on every file it is about to write.

    guard = OutputGuard(project)
    out = guard.check(out, named=True)      # raises UnsafeOutput; returns the path to write
    why = guard.refusal(target)             # or: a reason (one sentence) to skip this file, or None

Refused (issue 8, defect 1):
- the project file itself, its SQLite side files (-wal, -shm, -journal) and its lock file, also when
  reached through another name (symbolic or hard link);
- an existing image: a file the project lists as an image, or any existing file with an image
  extension (exporters never write images);
- an existing SQLite database (another project?);
- anything that exists and is not a regular file (device, FIFO, socket, folder);
- a symbolic link, unless the user named it (``named=True``) and it leads to an existing regular
  file: then that file is the one written (``check`` returns it) and the link stays.
Paths that do not exist yet are fine. The first check of a folder also removes stale temporary
files of ours there (app.core.atomic_file.sweep_stale_temps: an earlier export killed mid-write).
"""
from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Protocol

from app.core.atomic_file import kind_of, sweep_stale_temps
from app.core.errors import UnsafeOutput

_SIDE_FILES: tuple[tuple[str, str], ...] = (
    ("", "the project file itself"),
    ("-wal", "the project's write-ahead log"),
    ("-shm", "the project's shared-memory index"),
    ("-journal", "the project's rollback journal"),
    (".lock", "the project's lock file"),
)
_SQLITE_MAGIC = b"SQLite format 3\x00"


class ProjectPaths(Protocol):
    """What the guard needs of a project: its file and its image lookup."""

    path: Path
    root: Path

    def relative_path(self, path: str | Path) -> str: ...

    def image_by_path(self, rel: str) -> object | None: ...


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class OutputGuard:
    """The files of one project that an export must never write, and the check of a target path."""

    def __init__(self, project: ProjectPaths | None) -> None:
        self._project = project
        self._protected_paths: dict[str, str] = {}
        self._protected_ids: dict[tuple[int, int], str] = {}
        if project is not None:
            base = str(Path(project.path).absolute())
            for suffix, what in _SIDE_FILES:
                p = Path(base + suffix)
                self._protected_paths[os.path.normcase(os.path.realpath(p))] = what
                ident = _identity(p)
                if ident is not None:
                    self._protected_ids[ident] = what
        self._swept: set[str] = set()

    def refusal(self, path: Path | str, *, named: bool = False) -> str | None:
        """Why ``path`` must not be written (one sentence naming it), or None when it may be."""
        try:
            self._resolve(Path(path), named)
        except UnsafeOutput as exc:
            return str(exc)
        return None

    def check(self, path: Path | str, *, named: bool = False) -> Path:
        """The absolute path to write for ``path``; UnsafeOutput (one sentence) when it must not be.

        ``named``: the user typed this path (e.g. ``--out``); a symbolic link is then followed to
        the regular file it leads to. Paths an exporter derives itself (one file per image) are
        never written through a link.
        """
        return self._resolve(Path(path), named)

    # ------------------------------------------------------------------ internals
    def _resolve(self, path: Path, named: bool) -> Path:
        path = Path(os.path.abspath(path))
        target = path
        try:
            lst = os.lstat(path)
        except FileNotFoundError:
            lst = None
        except OSError as exc:
            raise UnsafeOutput(f"{path} cannot be examined ({exc.strerror or exc}); it was not written.") from None
        if lst is not None and stat.S_ISLNK(lst.st_mode):
            if not named:
                raise UnsafeOutput(f"{path} is a symbolic link; it was not written through.")
            target = Path(os.path.realpath(path))
            if not target.is_file():
                raise UnsafeOutput(f"{path} is a symbolic link to {target}, which is not an existing ordinary "
                                   "file; it was not written.")
        what = self._protected_paths.get(os.path.normcase(os.path.realpath(target)))
        st = None
        try:
            with contextlib.suppress(FileNotFoundError):  # a new file: nothing to protect
                st = os.stat(target)
        except OSError as exc:
            raise UnsafeOutput(f"{path} cannot be examined ({exc.strerror or exc}); it was not written.") from None
        if what is None and st is not None:
            what = self._protected_ids.get((st.st_dev, st.st_ino))
        if what is not None:
            raise UnsafeOutput(f"{path} is {what}; refusing to write over it (choose another output).")
        if st is not None:
            if not stat.S_ISREG(st.st_mode):
                raise UnsafeOutput(f"{path} is {kind_of(st.st_mode)}, not an ordinary file; it was not written.")
            reason = self._existing_file_refusal(target)
            if reason is not None:
                raise UnsafeOutput(f"{path} {reason}; refusing to write over it (choose another output).")
        folder = str(target.parent)
        if folder not in self._swept:
            self._swept.add(folder)
            sweep_stale_temps(target.parent)
        return target

    def _existing_file_refusal(self, target: Path) -> str | None:
        from app.core.images import is_image_path

        if self._is_project_image(target):
            return "is an image of the project"
        if is_image_path(target):
            return "is an image file"
        try:
            with open(target, "rb") as fh:
                head = fh.read(len(_SQLITE_MAGIC))
        except OSError:
            return None
        if head == _SQLITE_MAGIC:
            return "is an SQLite database (a project?)"
        return None

    def _is_project_image(self, target: Path) -> bool:
        project = self._project
        if project is None:
            return False
        for candidate in {target, Path(os.path.realpath(target))}:
            try:
                rel = project.relative_path(candidate)
            except ValueError:
                continue
            if project.image_by_path(rel) is not None:
                return True
        return False
