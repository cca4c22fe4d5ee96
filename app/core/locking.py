"""Single-instance lock of a project file: an OS-level lock on ``<project>.lock`` beside it.

POSIX: ``fcntl.flock`` (per open file description, so a second lock attempt fails even inside the
same process). Windows: ``msvcrt.locking`` on one byte far beyond the text. Either way the
operating system drops the lock when the holder exits or is killed (kill -9 included), so a stale
lock is impossible. The lock file holds "pid host" of the holder, for the error message only.

``release()`` removes the lock file (POSIX: while still holding the lock), so a cleanly closed
project leaves nothing beside it. A process that opened the file just before it was removed and
locks it afterwards holds a lock on a deleted file: it notices (the path no longer leads to the
file it locked) and tries again with the path's current file. A lock file left by a killed
holder is taken over (it holds no lock) and removed on release.
"""
from __future__ import annotations

import contextlib
import os
import socket
import sys
from pathlib import Path

from app.core.errors import ProjectError, ProjectLocked

_ATTEMPTS = 20  # lock files removed under us in a row before giving up (a busy open/close loop)
_WIN_LOCK_OFFSET = 1 << 20  # Windows: the locked byte lies past the "pid host" text, which stays readable


def _is_current(fd: int, path: Path) -> bool:
    """True when ``path`` still names the file open as ``fd`` (always True on Windows, where an
    open file cannot be removed)."""
    if sys.platform == "win32":
        return True
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def lock_path_for(project_path: Path) -> Path:
    """The lock file of a project file: ``<file>.lock`` in the same folder."""
    return project_path.with_name(project_path.name + ".lock")


def _try_lock(fd: int) -> bool:
    """Take an exclusive non-blocking lock on ``fd``; False when another holder has it."""
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


def _holder_text(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    try:
        raw = os.read(fd, 256).decode("utf-8", "replace").strip()
    except OSError:
        raw = ""
    parts = raw.split(" ", 1)
    if len(parts) == 2 and parts[0].isdigit():
        return f"pid {parts[0]} on {parts[1]}"
    return "pid unknown"


class ProjectFileLock:
    """An acquired lock; ``release()`` (idempotent) or process exit frees it."""

    def __init__(self, project_path: Path) -> None:
        """Acquire the lock of ``project_path`` or raise ProjectLocked / ProjectError."""
        self.path = lock_path_for(project_path)
        for _attempt in range(_ATTEMPTS):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise ProjectError(
                    f"{project_path} cannot be opened for writing: the lock file {self.path} cannot be "
                    f"created ({exc.strerror or exc}); open it read-only to view."
                ) from None
            if not _try_lock(fd):
                holder = _holder_text(fd)
                os.close(fd)
                raise ProjectLocked(
                    f"{project_path} is in use by another instance ({holder}); open it read-only to view."
                )
            if _is_current(fd, self.path):
                break
            _unlock(fd)  # the previous holder removed this file meanwhile: lock the path's new one
            os.close(fd)
        else:
            raise ProjectLocked(f"{project_path} is being opened and closed by another instance; try again.")
        self._fd: int | None = fd
        with contextlib.suppress(OSError):  # the text is informative only; the lock itself is held
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())

    @property
    def held(self) -> bool:
        """True until released."""
        return self._fd is not None

    def release(self) -> None:
        """Drop the lock and remove the lock file (see the module doc). Idempotent."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if sys.platform != "win32" and _is_current(fd, self.path):
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
            _unlock(fd)
        finally:
            os.close(fd)
        if sys.platform == "win32":  # an open file cannot be removed there; another opener keeps it
            with contextlib.suppress(OSError):
                os.unlink(self.path)


def lock_holder(project_path: Path) -> str | None:
    """"pid N on HOST" when another process holds the lock of ``project_path``, else None.
    Creates nothing (a read-only view may be in a read-only folder); None where it cannot tell."""
    path = lock_path_for(project_path)
    try:
        fd = os.open(path, os.O_RDONLY if sys.platform != "win32" else os.O_RDWR)
    except OSError:
        return None
    try:
        if not _try_lock(fd):
            return _holder_text(fd)
        _unlock(fd)
        return None
    except OSError:
        return None
    finally:
        os.close(fd)
