"""Atomic replacement of output files, through temporary files that are recognisably ours.

A file is written to a hidden temporary sibling ``.<name>.samlabel-tmp-<host>-<pid>-<random>``
(same folder, so ``os.replace`` is atomic), flushed, fsynced, then renamed over the target: an
interrupted write never leaves a half-written file where a good one was.

Permissions: the temporary file is created with ``0o666`` filtered by the process umask (what
``open(path, "w")`` gives a new file), and when it replaces an existing regular file it takes that
file's permission bits, so an export never narrows (or widens) the permissions of what it replaces.
``tempfile.mkstemp`` would create it 0600.

A process killed between creating and renaming (kill -9, power loss) leaves its temporary file.
``sweep_stale_temps(folder)`` removes ours whose process is gone (same host) or that are older
than STALE_AGE_S; the writers of this application call it for every folder they write into.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import socket
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from app.core.errors import UnsafeOutput

TEMP_TAG = "samlabel-tmp"
STALE_AGE_S = 24 * 3600.0  # a temporary file of ours this old is stale whatever its pid says
_NAME_KEEP = 96  # characters of the target name kept in the temporary name (file names max 255 bytes)
_TEMP_RE = re.compile(r"^\..*\." + TEMP_TAG + r"-(?P<host>[0-9a-f]{6})-(?P<pid>\d+)-[0-9a-z]{8}$")
_HOST = hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]


def temp_name_for(target_name: str) -> str:
    """A fresh temporary file name (no folder) for writing ``target_name``."""
    return f".{target_name[:_NAME_KEEP]}.{TEMP_TAG}-{_HOST}-{os.getpid()}-{secrets.token_hex(4)}"


def is_our_temp(name: str) -> bool:
    """True when ``name`` (no folder) is a temporary file name made by temp_name_for."""
    return _TEMP_RE.match(name) is not None


def _process_gone(pid: int) -> bool:
    if sys.platform == "win32":  # os.kill would terminate it there; rely on the age
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: it exists (another user's)
        return False
    return False


def is_stale_temp(path: Path, now: float | None = None) -> bool:
    """True when ``path`` is a temporary file of ours left behind by a process that is gone
    (same host), or older than STALE_AGE_S."""
    m = _TEMP_RE.match(path.name)
    if m is None:
        return False
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False
    pid = int(m.group("pid"))
    if m.group("host") == _HOST and pid != os.getpid() and _process_gone(pid):
        return True
    return (time.time() if now is None else now) - st.st_mtime > STALE_AGE_S


def sweep_stale_temps(folder: Path) -> list[Path]:
    """Remove the stale temporary files of ours directly in ``folder``; returns those removed.
    Errors (unreadable folder, a file vanishing meanwhile) are ignored: sweeping is a courtesy."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if TEMP_TAG not in entry.name or not is_our_temp(entry.name):
            continue
        path = Path(entry.path)
        if is_stale_temp(path):
            with contextlib.suppress(OSError):
                os.unlink(path)
                removed.append(path)
    return removed


def kind_of(mode: int) -> str:
    """Human name of a non-regular file type (st_mode)."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not an ordinary file"


def existing_target(path: Path) -> os.stat_result | None:
    """lstat of the file an atomic write would replace, None when there is none; UnsafeOutput
    when it is a symbolic link or not a regular file (a device, FIFO, folder, socket)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeOutput(f"{path} is a symbolic link; it was not written through (name its target instead).")
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeOutput(f"{path} is {kind_of(st.st_mode)}, not an ordinary file; it was not written.")
    return st


@contextmanager
def atomic_writer(path: Path, encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file beside ``path`` (text with ``encoding``, binary when None); when the
    block ends without an exception it is fsynced and replaces ``path`` (see the module doc).

    On any exception the temporary file is removed and ``path`` is untouched. UnsafeOutput when
    ``path`` is a symbolic link or exists without being a regular file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    old = existing_target(path)
    tmp = path.parent / temp_name_for(path.name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        if old is not None:
            _copy_mode(fd, tmp, old)
        if encoding is None:
            fh: IO = os.fdopen(fd, "wb")
        else:
            fh = os.fdopen(fd, "w", encoding=encoding, newline="\n")
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _copy_mode(fd: int, tmp: Path, old: os.stat_result) -> None:
    mode = stat.S_IMODE(old.st_mode) & 0o777  # never carry set-id/sticky bits over
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        else:  # Windows before Python 3.13
            os.chmod(tmp, mode)
    except OSError as exc:  # e.g. a file system without permissions (FAT): keep the default mode
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EINVAL):
            raise
