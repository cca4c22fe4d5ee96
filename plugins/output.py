"""The one way the plugin exporters write files: a gate, atomic writes, image copies and links.

Every exporter under plugins/ writes only through an ``OutputFiles``: ``write_bytes``,
``write_text``, ``open_text`` and ``place_image`` each ask ``accept_output_path`` first. That method is the single
place where the output-safety rules live (today: never the project file or its journal, never a
folder/FIFO/device/socket, never the same path twice in one export); the project-wide check
(project images, files another tool wrote) plugs in there. A refused path is reported as a skipped
item and the export goes on.

Files are written atomically (app.core.formats.common.atomic_writer: a temporary file beside the
target, fsync, os.replace). Images are hard-linked when asked and possible (same filesystem),
otherwise copied - the user's files are never moved or modified.
"""
from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, TYPE_CHECKING

from app.core.formats.common import ExportReport, atomic_writer

if TYPE_CHECKING:
    from app.core.formats.api import ExportPlan
    from app.core.project import Project

IMAGE_MODES: tuple[str, ...] = ("copy", "link")
"""How a dataset export places the images: "copy" (default) or "link" (hard link when the
destination is on the same filesystem, a copy otherwise; the report counts the copies)."""


class OutputFiles:
    """Writes the files of one export and records them in ``report`` (files, skipped, tallies)."""

    def __init__(self, project: "Project", report: ExportReport) -> None:
        self.report = report
        self._claimed: set[str] = set()
        base = os.path.abspath(project.path)
        self._forbidden = {base, base + "-wal", base + "-shm", base + "-journal"}
        from app.core.output_guard import OutputGuard

        self._guard = OutputGuard(project)

    # ------------------------------------------------------------------ the gate
    def accept_output_path(self, path: Path, image: bool = False) -> str | None:
        """None when ``path`` may be written by this export, else the reason (one sentence).

        This is the hook of the output-safety check: every write of every plugin exporter passes
        here first, with the absolute path it is about to replace or create. Besides the checks
        below, app.core.output_guard refuses the project's images and side files, SQLite databases
        and links to them (``image``: a dataset's own image copy, which may replace the copy an
        earlier export placed there)."""
        if not image:
            why = self._guard.refusal(path)
            if why is not None:
                return why
        target = os.path.abspath(path)
        if target in self._forbidden:
            return "it is the project file itself"
        if target in self._claimed:
            return "another item of this export already wrote that file"
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            return None
        except OSError as exc:
            return f"it cannot be inspected ({exc.strerror or exc})"
        if stat.S_ISLNK(st.st_mode):
            return "it is a symbolic link, which is never written through"
        if not stat.S_ISREG(st.st_mode):
            return "it exists and is not a regular file (a folder, FIFO or device)"
        return None

    def _claim(self, path: Path, what: str, image: bool = False) -> bool:
        reason = self.accept_output_path(path, image)
        if reason is not None:
            self.report.skipped.append((what, f"{path} was not written: {reason}"))
            return False
        self._claimed.add(os.path.abspath(path))
        return True

    # ------------------------------------------------------------------ writers
    def write_bytes(self, path: Path, data: bytes, what: str = "") -> bool:
        """Write ``data`` to ``path`` atomically; False (reported) when the gate refused it."""
        if not self._claim(path, what or str(path)):
            return False
        with atomic_writer(path, "wb") as fh:
            fh.write(data)
        self.report.files.append(Path(os.path.abspath(path)))
        return True

    def write_text(self, path: Path, text: str, what: str = "") -> bool:
        """Write UTF-8 ``text`` ('\\n' line ends) to ``path`` atomically; False when refused."""
        return self.write_bytes(path, text.encode("utf-8"), what)

    @contextmanager
    def open_text(self, path: Path, what: str = "") -> Iterator[IO[str] | None]:
        """A text stream (UTF-8, '\\n') for a large file written piece by piece, or None when the
        gate refused ``path`` (reported). The file replaces ``path`` atomically when the block ends
        without an exception."""
        if not self._claim(path, what or str(path)):
            yield None
            return
        with atomic_writer(path, "w") as fh:
            yield fh
        self.report.files.append(Path(os.path.abspath(path)))

    def place_image(self, src: Path, dst: Path, mode: str, what: str = "") -> bool:
        """Put a copy (``mode`` "copy") or a hard link ("link") of the image ``src`` at ``dst``.

        Nothing is done when ``dst`` already is ``src`` (same file). A link that the filesystem
        refuses (another device, no hard links) becomes a copy and is counted. Never moves ``src``.
        """
        if mode not in IMAGE_MODES:
            raise ValueError(f"images are placed by {' or '.join(IMAGE_MODES)} (got {mode!r}).")
        with suppress(OSError):
            if os.path.samefile(src, dst):
                self._claimed.add(os.path.abspath(dst))
                return True
        if not self._claim(dst, what or str(dst), image=True):
            return False
        dst = Path(dst)
        dst.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=str(dst.parent))
        os.close(fd)
        try:
            linked = False
            if mode == "link":
                os.unlink(tmp)
                try:
                    os.link(src, tmp)
                    linked = True
                except OSError:
                    self.report.tally("image(s) copied because a hard link was impossible (another filesystem)")
            if not linked:
                shutil.copyfile(src, tmp)
            os.replace(tmp, dst)
        except BaseException:
            with suppress(OSError):
                os.unlink(tmp)
            raise
        self.report.files.append(Path(os.path.abspath(dst)))
        return True


def destination_plan(dest: Path, what: str) -> "ExportPlan":
    """The plan line of a plugin export: a new file/folder, or one whose files may be replaced
    (the exporters never write over files they did not create: see accept_output_path)."""
    from app.core.formats.api import ExportPlan

    dest = Path(dest)
    if dest.is_dir():
        count = sum(1 for _ in dest.rglob("*"))
        if count:
            return ExportPlan(f"The {what} folder {dest} exists with {count} entries; files this export writes "
                              "there are replaced.", touches_existing=True)
        return ExportPlan(f"The {what} will be written into the empty folder {dest}.")
    if dest.exists():
        return ExportPlan(f"The {what} file {dest} exists and will be replaced.", touches_existing=True)
    return ExportPlan(f"A new {what} will be written at {dest}.")
