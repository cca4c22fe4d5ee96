"""Shared pieces of the exporters/importers: reports, progress/cancel plumbing, JSON hygiene.

JSON hygiene (formats.md 0.3): numbers must be finite (``allow_nan=False``), numpy scalars and
``bytes`` RLE counts are converted before serialising, and files are written atomically (a
temporary file in the destination folder, then ``os.replace``) so an interrupted export never
leaves a half-written file where a good one was.
"""
from __future__ import annotations

import functools
import json
import math
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import numpy as np

from app.core.atomic_file import atomic_writer as _file_writer
from app.core.errors import CoreError

if TYPE_CHECKING:
    from app.core.project import Project

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


_P = ParamSpec("_P")
_R = TypeVar("_R")


def in_read_snapshot(export: Callable[Concatenate[Project, _P], _R]) -> Callable[Concatenate[Project, _P], _R]:
    """Decorator of exporters ``export(project, ...)``: the whole export reads one committed state
    of the project (Project.read_snapshot), even while another process commits an import; without
    it each query saw the latest state and a file could mix two states (issue 8, defect 3)."""

    @functools.wraps(export)
    def wrapper(project: Project, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with project.read_snapshot():
            return export(project, *args, **kwargs)

    return wrapper


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
    Permissions, temporary names and refusals: app.core.atomic_file.atomic_writer.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_writer writes whole files: mode must be 'w' or 'wb' (got {mode!r}).")
    with _file_writer(Path(path), encoding=None if mode == "wb" else encoding) as fh:
        yield fh


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (app.core.atomic_file.atomic_writer)."""
    with _file_writer(Path(path), encoding=None) as fh:
        fh.write(data)


@contextmanager
def atomic_text_writer(path: Path, encoding: str = "utf-8") -> Iterator[IO[str]]:
    """Open a temporary file beside ``path`` for writing text; on success it replaces ``path``.

    On any exception (Cancelled included) the temporary file is removed and ``path`` is untouched.
    Permissions, temporary names and refusals: app.core.atomic_file.atomic_writer.
    """
    with atomic_writer(path, "w", encoding) as fh:
        yield fh


def write_json_atomic(path: Path, obj: Any, ensure_ascii: bool, indent: int | None = None) -> None:
    """Serialise ``obj`` strictly (finite numbers, numpy converted) and write it atomically."""
    text = json.dumps(jsonable(obj), ensure_ascii=ensure_ascii, allow_nan=False, indent=indent)
    with atomic_text_writer(path) as fh:
        fh.write(text)
        fh.write("\n")


def read_json(path: Path, max_bytes: int | None = None) -> Any:
    """Parse a JSON file (UTF-8, BOM tolerated); FormatError naming the file on bad JSON/encoding,
    on a file that is not a regular file (FIFO, device), larger than ``max_bytes`` (default
    app.core.safe_input.json_size_limit()) or nested too deeply to parse."""
    from app.core.errors import FormatError
    from app.core.safe_input import json_size_limit, read_regular_file

    data = read_regular_file(path, json_size_limit() if max_bytes is None else max_bytes)
    try:
        # NaN / Infinity are not JSON, but Python tools write them: read them as null (the
        # importers then skip what needed a number, with a reason) rather than refusing the file
        return json.loads(data.decode("utf-8-sig"), parse_constant=lambda _name: None)
    except UnicodeDecodeError:
        raise FormatError(f"{path} is not UTF-8 text, so it is not a JSON annotation file.") from None
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).") from None
    except RecursionError:
        raise FormatError(f"{path} nests arrays/objects too deeply to be read "
                          "(it is not an annotation file).") from None
    except MemoryError:
        raise FormatError(f"{path} does not fit in the memory available once parsed.") from None


def posix_relpath(target: Path, start: Path) -> str:
    """``target`` relative to folder ``start`` with '/' separators; absolute POSIX path when no
    relative path exists (different Windows drives)."""
    try:
        return Path(os.path.relpath(os.path.abspath(target), os.path.abspath(start))).as_posix()
    except ValueError:
        return Path(os.path.abspath(target)).as_posix()
