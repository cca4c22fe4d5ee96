"""Background jobs with a cancellable progress dialog (export, import of large files).

`BackgroundJob(fn, title)` runs `fn(progress, cancel)` in a plain thread; `progress(done, total)`
may be called from that thread (it is forwarded to the GUI thread through a queued signal) and
`cancel` is a threading.Event set by the dialog's Cancel button. The job never touches widgets.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

JobFn = Callable[[Callable[[int, int], None], threading.Event], Any]


class BackgroundJob(QObject):
    """One job: signals `succeeded(result)`, `failed(sentence)`, `cancelled()`; then `done()`."""

    progressed = Signal(int, int)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    done = Signal()

    def __init__(self, fn: JobFn, title: str, parent: QWidget | None = None, show_dialog: bool = True) -> None:
        super().__init__(parent)
        self.cancel_event = threading.Event()
        self.result: Any = None
        self.error: str | None = None
        self._fn = fn
        self._thread = threading.Thread(target=self._run, name=f"sam-labeler-job-{title}")
        self.dialog: QProgressDialog | None = None
        if show_dialog:
            self.dialog = QProgressDialog(title, self.tr("Cancel"), 0, 0, parent)
            self.dialog.setWindowTitle(title)
            self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
            self.dialog.setMinimumDuration(300)
            self.dialog.setAutoClose(False)
            self.dialog.setAutoReset(False)
            self.dialog.canceled.connect(self.cancel_event.set)
        self.progressed.connect(self._on_progress)
        self.done.connect(self._on_done)

    def start(self) -> None:
        """Start the thread (returns at once)."""
        self._thread.start()

    def is_running(self) -> bool:
        """True while the thread runs."""
        return self._thread.is_alive()

    def cancel(self) -> None:
        """Ask the job to stop at its next check."""
        self.cancel_event.set()

    def join(self, timeout_s: float = 10.0) -> None:
        """Wait for the thread (shutdown only: never call this while the GUI should stay responsive)."""
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _progress(self, done: int, total: int | None) -> None:
        with contextlib.suppress(RuntimeError):  # the owner was deleted while the job runs
            self.progressed.emit(int(done), -1 if total is None else int(total))

    def _run(self) -> None:
        try:
            self.result = self._fn(self._progress, self.cancel_event)
        except Exception as exc:  # noqa: BLE001 - every failure becomes one sentence
            self.error = _sentence(exc)
        with contextlib.suppress(RuntimeError):  # the owner (a closed dialog) was deleted: nobody to tell
            self.done.emit()

    def _on_progress(self, done: int, total: int) -> None:
        if self.dialog is not None:
            if total > 0:
                self.dialog.setMaximum(total)
                self.dialog.setValue(min(done, total))
            else:
                self.dialog.setMaximum(0)

    def _on_done(self) -> None:
        if self.dialog is not None:
            self.dialog.reset()
            self.dialog.hide()
        if self.cancel_event.is_set():
            self.cancelled.emit()
        elif self.error is not None:
            self.failed.emit(self.error)
        else:
            self.succeeded.emit(self.result)


def _sentence(exc: BaseException) -> str:
    if type(exc).__name__ in ("DownloadCancelled", "Cancelled", "ExportCancelled"):
        return QCoreApplication.translate("BackgroundJob", "Cancelled.")
    text = str(exc).strip() or type(exc).__name__
    return text if text.endswith(".") else text + "."
