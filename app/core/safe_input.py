"""Reading input files a user points us at, without hanging or exhausting memory on hostile ones.

Only regular files are read: a FIFO would block the reader forever and ``a.json -> /dev/zero``
would never end. Symbolic links are followed to what they lead to, and that must be a regular file.
Annotation (JSON) files larger than ``json_size_limit()`` are refused with their size: the
default, DEFAULT_MAX_JSON_MB, is far above real annotation files (COCO train2017's instances file
is 448 MB) and still below what parsing can hold in memory on a 16 GB machine (Python objects
take 5-10x the text). ``SAM_LABELER_MAX_JSON_MB`` raises or lowers it.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from app.core.atomic_file import kind_of
from app.core.errors import FormatError

MAX_JSON_MB_ENV = "SAM_LABELER_MAX_JSON_MB"
DEFAULT_MAX_JSON_MB = 1024


def json_size_limit() -> int:
    """Largest annotation file read, in bytes: $SAM_LABELER_MAX_JSON_MB megabytes, else the default.
    ValueError (one sentence) when the variable is not a positive number."""
    raw = os.environ.get(MAX_JSON_MB_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_JSON_MB * 1_000_000
    try:
        mb = float(raw)
    except ValueError:
        mb = -1.0
    if not mb > 0 or mb != mb or mb == float("inf"):
        raise ValueError(f"{MAX_JSON_MB_ENV} must be a positive number of megabytes (got {raw!r}).")
    return int(mb * 1_000_000)


def human_size(n: int) -> str:
    """'3.2 GB', '450 MB', '12 kB', '80 bytes'."""
    if n >= 1_000_000_000:
        return f"{n / 1e9:.1f} GB"
    if n >= 1_000_000:
        return f"{n / 1e6:.0f} MB"
    if n >= 1_000:
        return f"{n / 1e3:.0f} kB"
    return f"{n} bytes"


def _too_large(path: Path, size: int | None, limit: int) -> FormatError:
    what = f"is {human_size(size)}" if size is not None else "is larger than the limit"
    return FormatError(f"{path} {what}; annotation files over {human_size(limit)} are not read "
                       f"(set {MAX_JSON_MB_ENV} to change the limit).")


def read_regular_file(path: Path | str, max_bytes: int) -> bytes:
    """The bytes of ``path``, which must be a regular file (after following links) of at most
    ``max_bytes``; FormatError (one sentence naming it) otherwise. Never blocks on a FIFO."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FormatError(f"{path} does not exist.") from None
    except OSError as exc:
        raise FormatError(f"{path} cannot be read: {exc.strerror or exc}.") from None
    if not stat.S_ISREG(st.st_mode):
        raise FormatError(f"{path} is {kind_of(st.st_mode)}, not an ordinary file; only ordinary files are read.")
    if st.st_size > max_bytes:
        raise _too_large(path, st.st_size, max_bytes)
    try:  # O_NONBLOCK: should it have become a FIFO since the stat, opening does not wait for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise FormatError(f"{path} cannot be read: {exc.strerror or exc}.") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FormatError(f"{path} is not an ordinary file; only ordinary files are read.")
        try:
            data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise FormatError(f"{path} cannot be read: {exc.strerror or exc}.") from None
    if len(data) > max_bytes:  # it grew since the stat
        raise _too_large(path, None, max_bytes)
    return data
