"""Shared pieces of the exporters/importers: reports, progress/cancel plumbing, JSON hygiene.

JSON hygiene (formats.md 0.3): numbers must be finite (``allow_nan=False``), numpy scalars and
``bytes`` RLE counts are converted before serialising, and files are written atomically (a
temporary file in the destination folder, then ``os.replace``) so an interrupted export never
leaves a half-written file where a good one was.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from app.core.errors import CoreError

Progress = Callable[[int, int], None]
"""progress(done, total): called from the worker thread; total is 0 when unknown."""


class Cancelled(CoreError):
    """The operation was cancelled through its ``cancel`` event; nothing was written or stored."""


def check_cancel(cancel: threading.Event | None) -> None:
    """Raise Cancelled when ``cancel`` is set."""
    if cancel is not None and cancel.is_set():
        raise Cancelled("The operation was cancelled; nothing was changed.")


class Ticker:
    """Throttled progress reporting: calls ``progress(done, total)`` at most every ``step`` items
    (and always for the last one), and checks ``cancel`` at the same moments."""

    def __init__(self, total: int, progress: Progress | None, cancel: threading.Event | None,
                 step: int = 0) -> None:
        self.total = int(total)
        self.done = 0
        self._progress = progress
        self._cancel = cancel
        self._step = step if step > 0 else max(1, self.total // 200)
        self._next = 0

    def tick(self, n: int = 1) -> None:
        """Count ``n`` more finished items; may report and may raise Cancelled."""
        self.done += n
        if self.done >= self._next or self.done >= self.total:
            self._next = self.done + self._step
            check_cancel(self._cancel)
            if self._progress is not None:
                self._progress(self.done, self.total)


class Tallies:
    """Counted changes of one kind each ("linestrip(s) kept as lines; not in COCO"): a report
    prints one line per kind with its count instead of one line per item (mixin of the reports)."""

    tallies: dict[str, int]

    def tally(self, what: str, n: int = 1) -> None:
        """Count ``n`` more of the change ``what`` (a phrase that reads after a number)."""
        if n:
            self.tallies[what] = self.tallies.get(what, 0) + int(n)

    def tally_lines(self) -> list[str]:
        """One line per kind: "<count> <what>"."""
        return [f"{n} {what}" for what, n in self.tallies.items()]


@dataclass
class ExportReport(Tallies):
    """What an export wrote. ``files``: absolute paths written; ``warnings``: one sentence each;
    ``tallies``: counted changes (see Tallies); ``updated``: files updated in place (existing
    files of ours whose keys we do not own were kept); ``refused``: existing files left alone."""

    format: str
    files: list[Path] = field(default_factory=list)
    images: int = 0
    annotations: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    tallies: dict[str, int] = field(default_factory=dict)
    updated: int = 0

    def summary(self) -> str:
        """One line: counts and destination."""
        where = str(self.files[0]) if len(self.files) == 1 else f"{len(self.files)} files"
        text = (f"Exported {self.annotations} annotation(s) on {self.images} image(s) "
                f"as {self.format} to {where}")
        if self.updated:
            text += f" ({self.updated} existing file(s) updated in place, their other keys kept)"
        if self.skipped:
            text += f"; {len(self.skipped)} item(s) skipped"
        if self.warnings:
            text += f"; {len(self.warnings)} warning(s)"
        return text + "."


@dataclass
class ImportReport(Tallies):
    """What an import stored. ``skipped``: (what, why) for each item left out; ``tallies``:
    counted changes (see Tallies); ``duplicates``: files skipped because the project already
    imported them; ``replaced``: annotations removed because their file was imported again with
    on_duplicate="replace"."""

    format: str
    images: int = 0
    images_added: int = 0
    annotations: int = 0
    labels_created: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    tallies: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    replaced: int = 0

    def skip(self, what: str, why: str) -> None:
        """Record one skipped item with its reason (one sentence)."""
        self.skipped.append((what, why))

    def summary(self) -> str:
        """One line: counts of images, annotations, new label classes and skipped items."""
        text = (f"Imported {self.annotations} annotation(s) on {self.images} image(s) from {self.format} "
                f"({self.images_added} image(s) added to the project, {self.labels_created} "
                f"label class(es) created)")
        if self.duplicates:
            text += f"; {self.duplicates} file(s) already imported were skipped"
        if self.replaced:
            text += f"; {self.replaced} annotation(s) of earlier imports replaced"
        if self.skipped:
            text += f"; {len(self.skipped)} item(s) skipped"
        if self.warnings:
            text += f"; {len(self.warnings)} warning(s)"
        return text + "."


def jsonable(value: Any) -> Any:
    """A deep copy of ``value`` that ``json.dumps(allow_nan=False)`` accepts.

    numpy scalars/arrays -> Python numbers/lists, bytes -> ASCII str, tuples -> lists, Paths -> str.
    ValueError (one sentence) for a non-finite float.
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if not math.isfinite(f):
            raise ValueError(f"cannot write the non-finite number {f} to JSON.")
        return f
    if isinstance(value, bytes):
        return value.decode("ascii")
    if isinstance(value, Path):
        return value.as_posix()
    return value


def dumps(obj: Any, ensure_ascii: bool) -> str:
    """Compact, strict JSON text of an already jsonable object."""
    return json.dumps(obj, ensure_ascii=ensure_ascii, allow_nan=False, separators=(",", ":"))


@contextmanager
def atomic_writer(path: Path, mode: str = "wb", encoding: str = "utf-8") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing (``mode`` "wb" for bytes, "w" for text);
    on success it replaces ``path`` (os.replace, after fsync).

    On any exception (Cancelled included) the temporary file is removed and ``path`` is untouched.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_writer writes whole files: mode must be 'w' or 'wb' (got {mode!r}).")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        if mode == "wb":
            fh: IO[Any] = os.fdopen(fd, "wb")
        else:
            fh = os.fdopen(fd, "w", encoding=encoding, newline="\n")
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


@contextmanager
def atomic_text_writer(path: Path, encoding: str = "utf-8") -> Iterator[IO[str]]:
    """Open a temporary file beside ``path`` for writing text; on success it replaces ``path``.

    On any exception (Cancelled included) the temporary file is removed and ``path`` is untouched.
    """
    with atomic_writer(path, "w", encoding) as fh:
        yield fh


def write_json_atomic(path: Path, obj: Any, ensure_ascii: bool, indent: int | None = None) -> None:
    """Serialise ``obj`` strictly (finite numbers, numpy converted) and write it atomically."""
    text = json.dumps(jsonable(obj), ensure_ascii=ensure_ascii, allow_nan=False, indent=indent)
    with atomic_text_writer(path) as fh:
        fh.write(text)
        fh.write("\n")


def read_json(path: Path) -> Any:
    """Parse a JSON file (UTF-8, BOM tolerated); FormatError naming the file on bad JSON/encoding."""
    from app.core.errors import FormatError

    try:
        with open(path, encoding="utf-8-sig") as fh:
            return json.load(fh)
    except UnicodeDecodeError:
        raise FormatError(f"{path} is not UTF-8 text, so it is not a JSON annotation file.") from None
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).") from None


def posix_relpath(target: Path, start: Path) -> str:
    """``target`` relative to folder ``start`` with '/' separators; absolute POSIX path when no
    relative path exists (different Windows drives)."""
    try:
        return Path(os.path.relpath(os.path.abspath(target), os.path.abspath(start))).as_posix()
    except ValueError:
        return Path(os.path.abspath(target)).as_posix()
