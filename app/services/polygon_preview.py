"""Live preview of the outline a candidate would be stored with, at the chosen polygon density.

The conversion runs in the accept service's worker (app.services.geometry.GeometryService.submit_work),
never on the GUI thread. Requests are coalesced: at most one preview is computed at a time, and when
it comes back while newer requests arrived, only the newest is computed next (turning the density
control quickly costs one conversion per result shown, not one per step). `ready(PreviewResult)` is
emitted in the GUI thread for the newest request only.
"""
from __future__ import annotations

import contextlib
import logging
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal

from app.core.density import Tolerance, check_tolerance
from app.core.mask_convert import PackedMask
from app.services.geometry import GeometryService
from app.services.geometry_work import OutlinePreview, preview_outline

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreviewResult:
    """The preview of request `serial` (the value `request` returned)."""

    serial: int
    outline: OutlinePreview


@dataclass(frozen=True)
class _Wanted:
    serial: int
    mask: np.ndarray
    tolerance: Tolerance


class PolygonPreviewService(QObject):
    """Coalescing preview of a mask's stored outline (see the module docstring)."""

    ready = Signal(object)    # PreviewResult, GUI thread, newest request only
    _done = Signal(object)    # a future finished (emitted from an executor thread)

    def __init__(self, geometry: GeometryService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._geometry = geometry
        self._serial = 0
        self._wanted: _Wanted | None = None
        self._running: tuple[int, Future] | None = None
        self.computed = 0  # previews computed (coalescing diagnostics, tests)
        # queued even when the future is done at once (its callback then runs in this thread): `ready`
        # never fires inside `request`, before the caller knows the serial
        self._done.connect(self._on_done, Qt.ConnectionType.QueuedConnection)

    def request(self, mask: np.ndarray, tolerance: Tolerance) -> int:
        """Preview `mask` (bool (H, W), not copied: the caller does not change it) at `tolerance`;
        returns the request's serial. ValueError for a bad tolerance."""
        check_tolerance(tolerance)
        self._serial += 1
        self._wanted = _Wanted(self._serial, mask, tolerance)
        if self._running is None:
            self._start()
        return self._serial

    def cancel(self) -> None:
        """Forget the wanted preview (the one being computed is dropped when it comes back)."""
        self._serial += 1
        self._wanted = None

    def busy(self) -> bool:
        """True while a preview is being computed."""
        return self._running is not None

    def _start(self) -> None:
        wanted, self._wanted = self._wanted, None
        if wanted is None:
            return
        try:
            future = self._geometry.submit_work(preview_outline, PackedMask.of(wanted.mask), wanted.tolerance)
        except (RuntimeError, ValueError):
            log.warning("no outline preview: the accept worker is not available", exc_info=True)
            return
        self.computed += 1
        self._running = (wanted.serial, future)
        future.add_done_callback(self._emit_done)

    def _emit_done(self, future: Future) -> None:
        with contextlib.suppress(RuntimeError):  # the service was deleted meanwhile (application exit)
            self._done.emit(future)

    def _on_done(self, future: Future) -> None:
        if self._running is None or self._running[1] is not future:
            return
        serial, self._running = self._running[0], None
        if self._wanted is not None:  # newer requests came meanwhile: compute the newest one
            self._start()
            return
        if serial != self._serial or future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            log.warning("the outline preview failed", exc_info=exc)
            return
        self.ready.emit(PreviewResult(serial, future.result()))
