"""Thumbnails for the images list's hover tooltip: made in one worker thread, kept in a bounded LRU.

`ThumbnailService.lookup(path)` answers at once from the cache (a Thumbnail, an error sentence, or
None while nothing is known) and asks the worker to look at the file: the worker stats it (cheap)
and makes a new preview only when the file changed since the cached one (size or modification
time) - so a file still being copied gets a fresh try when it has grown, and an error is retried
after RETRY_ERROR_S. The newest request is served first (the row under the mouse); at most
MAX_PENDING requests wait. `ready(path)` is emitted in the GUI thread when a result is stored.

The cache is bounded by the bytes of its JPEG previews (max_bytes) and by max_items entries.
"""
from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.core.errors import ImageLoadError
from app.core.thumbnails import THUMB_SIDE, Thumbnail, make_thumbnail

MAX_BYTES = 16 * 1024 * 1024   # ~1 000 previews of 256 px (about 10-20 kB each)
MAX_ITEMS = 2000
MAX_PENDING = 32
RETRY_ERROR_S = 2.0
_ERROR_COST = 256  # bytes counted for a cached error sentence

Maker = Callable[[Path, int], Thumbnail]


@dataclass(frozen=True)
class _Entry:
    signature: tuple[int, int] | None  # (size, mtime_ns) of the file the result was made from
    result: Thumbnail | str            # a preview, or why there is none
    made_at: float

    def cost(self) -> int:
        return len(self.result.jpeg) if isinstance(self.result, Thumbnail) else _ERROR_COST


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return int(st.st_size), int(st.st_mtime_ns)


class ThumbnailService(QObject):
    """Previews made off the GUI thread (see the module doc); call `shutdown()` before quitting."""

    ready = Signal(str)  # the path (as given to lookup) whose result was stored

    def __init__(self, max_bytes: int = MAX_BYTES, max_items: int = MAX_ITEMS, side: int = THUMB_SIDE,
                 maker: Maker = make_thumbnail, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.max_bytes = max(0, int(max_bytes))
        self.max_items = max(1, int(max_items))
        self.side = side
        self.made = 0  # previews made (tests, diagnostics)
        self._maker = maker
        self._cache: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0
        self._pending: OrderedDict[str, None] = OrderedDict()
        self._cond = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None  # started by the first lookup (most lists are never hovered)

    # ------------------------------------------------------------------ GUI thread
    def lookup(self, path: Path | str) -> Thumbnail | str | None:
        """The cached preview (or error sentence) of ``path``, None when none yet; asks the worker
        to make or refresh it either way. Never blocks on the file."""
        key = str(path)
        with self._cond:
            entry = self._cache.get(key)
            if entry is not None:
                self._cache.move_to_end(key)
            if not self._stop:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="sam-labeler-thumbnails", daemon=True)
                    self._thread.start()
                self._pending.pop(key, None)
                self._pending[key] = None  # newest last: served first
                while len(self._pending) > MAX_PENDING:
                    self._pending.popitem(last=False)
                self._cond.notify()
        return None if entry is None else entry.result

    def peek(self, path: Path | str) -> Thumbnail | str | None:
        """The cached result of ``path`` without asking the worker for anything."""
        with self._cond:
            entry = self._cache.get(str(path))
            return None if entry is None else entry.result

    def cached_bytes(self) -> int:
        """Bytes the cache holds now (JPEG previews plus a flat cost per error)."""
        with self._cond:
            return self._bytes

    def cached_count(self) -> int:
        """Entries the cache holds now."""
        with self._cond:
            return len(self._cache)

    def clear(self) -> None:
        """Forget every preview and pending request (project switch)."""
        with self._cond:
            self._cache.clear()
            self._pending.clear()
            self._bytes = 0

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Stop and join the worker (a preview being made is finished first)."""
        with self._cond:
            self._stop = True
            self._pending.clear()
            self._cond.notify()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout_s)

    # ------------------------------------------------------------------ worker thread
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop and not self._pending:
                    self._cond.wait()
                if self._stop:
                    return
                key, _ = self._pending.popitem(last=True)
                entry = self._cache.get(key)
            signature = _signature(Path(key))
            if entry is not None and entry.signature == signature and (
                    isinstance(entry.result, Thumbnail) or time.monotonic() - entry.made_at < RETRY_ERROR_S):
                continue
            result: Thumbnail | str
            try:
                result = self._maker(Path(key), self.side)
            except ImageLoadError as exc:
                result = exc.reason
            except Exception as exc:  # noqa: BLE001 - any decoder failure (cv2.error...) is a sentence, not a crash
                result = (str(exc).strip() or type(exc).__name__).splitlines()[0][:200]
            self.made += 1
            self._store(key, _Entry(signature, result, time.monotonic()))
            self.ready.emit(key)

    def _store(self, key: str, entry: _Entry) -> None:
        with self._cond:
            if self._stop:
                return
            old = self._cache.pop(key, None)
            if old is not None:
                self._bytes -= old.cost()
            if entry.cost() > self.max_bytes:
                return
            self._cache[key] = entry
            self._bytes += entry.cost()
            while self._cache and (self._bytes > self.max_bytes or len(self._cache) > self.max_items):
                _, dropped = self._cache.popitem(last=False)
                self._bytes -= dropped.cost()
