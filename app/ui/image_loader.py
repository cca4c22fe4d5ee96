"""Background decoding of images for DISPLAY (the inference worker decodes its own copy for encoding).

One daemon-free thread; the newest `request` wins; when idle it decodes the `prefetch` paths into a
small LRU so that switching to a neighbour is instant. Results arrive in the GUI thread through the
queued signals `loaded(image_id, array HxWx3 uint8)` and `failed(image_id, sentence)`.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.core.images import load_image


class ImageLoader(QObject):
    """Decodes images off the GUI thread; call `shutdown()` before the application quits."""

    loaded = Signal(int, object)
    failed = Signal(int, str)

    def __init__(self, cache_items: int = 4, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cond = threading.Condition()
        self._current: tuple[int, Path] | None = None
        self._prefetch: list[tuple[int, Path]] = []
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_items = max(1, cache_items)
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="sam-labeler-image-loader")
        self._thread.start()

    def request(self, image_id: int, path: Path, prefetch: list[tuple[int, Path]] | None = None) -> None:
        """Decode `path` for display (replaces any pending request); then prefetch the given neighbours."""
        with self._cond:
            self._current = (image_id, Path(path))
            self._prefetch = list(prefetch or [])
            self._cond.notify()

    def cached(self, image_id: int) -> np.ndarray | None:
        """The decoded array if it is in the LRU (no decoding)."""
        with self._cond:
            arr = self._cache.get(image_id)
            if arr is not None:
                self._cache.move_to_end(image_id)
            return arr

    def clear(self) -> None:
        """Forget pending work and cached arrays (project switch)."""
        with self._cond:
            self._current = None
            self._prefetch = []
            self._cache.clear()

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Stop and join the thread."""
        with self._cond:
            self._stop = True
            self._cond.notify()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def is_alive(self) -> bool:
        """True while the loader thread runs."""
        return self._thread.is_alive()

    def _remember(self, image_id: int, arr: np.ndarray) -> None:
        self._cache[image_id] = arr
        self._cache.move_to_end(image_id)
        while len(self._cache) > self._cache_items:
            self._cache.popitem(last=False)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop and self._current is None and not self._prefetch:
                    self._cond.wait()
                if self._stop:
                    return
                if self._current is not None:
                    job, is_current = self._current, True
                    self._current = None
                else:
                    job, is_current = self._prefetch.pop(0), False
                hit = self._cache.get(job[0])
            if hit is not None:
                if is_current:
                    self.loaded.emit(job[0], hit)
                continue
            try:
                arr = load_image(job[1]).array
            except Exception as exc:  # noqa: BLE001 - any decode failure becomes a message
                if is_current:
                    self.failed.emit(job[0], _sentence(job[1], exc))
                continue
            with self._cond:
                self._remember(job[0], arr)
            if is_current:
                self.loaded.emit(job[0], arr)


def _sentence(path: Path, exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    if str(path) not in text:
        text = f"{path.name}: {text}"
    return text if text.endswith(".") else text + "."
