"""File watcher (issue 13): images copied into (or removed from) the open project's image folder appear
in the images list without reopening. Installed as a window extension (app.ui.extensions).

* A QFileSystemWatcher watches the image folder and its subfolders (the ones the scan walks). Its
  signals only restart a debounce timer: a copy of 5 000 files becomes a few passes, not 5 000 -
  DEBOUNCE_MS after the last change, or MAX_DELAY_MS after the first one of a long copy.
* A pass runs in a worker thread (app.core.folder_sync.FolderSyncer: its own connection, one scan,
  one transaction), the same plan as the sync on open: new files added, vanished ones marked missing
  (annotations kept), returned ones un-marked. Files still being written are left for a later pass,
  DEBOUNCE_MS after this one.
* The GUI thread only reloads the list (ImagesDock.reload: filter, current row and scroll position
  kept), tells the controller (its image, prompts and selection stay) and says "12 new images".
* The image folder removed or renamed: one message, nothing marked missing. Its parent folder is
  watched too (a rename shows only there); an event there costs one stat on the GUI thread, no
  pass, unless the folder came back. Settings > "Watch the image folder" turns it off (read every second: the setting
  has no change signal) and back on (with a catch-up pass). Read-only projects are not watched.
* The images list's thumbnail worker (app.ui.thumbnails, owned by the dock) is stopped here too.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QElapsedTimer, QFileSystemWatcher, QObject, QTimer, Signal

from app.core.errors import CoreError
from app.core.folder_sync import FolderSyncer, PassResult

DEBOUNCE_MS = 700
MAX_DELAY_MS = 3000
SETTING_POLL_MS = 1000
translate = QCoreApplication.translate


@dataclass(frozen=True)
class _Request:
    generation: int
    syncer: FolderSyncer
    list_only: bool  # first pass of a session: only learn the folders to watch (open already synced)


class _PassWorker(QObject):
    """One thread running passes one at a time; `finished(generation, result | error sentence)`."""

    finished = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cond = threading.Condition()
        self._request: _Request | None = None
        self._stop = False
        self.busy = False
        self._thread: threading.Thread | None = None

    def submit(self, request: _Request) -> None:
        """Run a pass (replaces a request not started yet)."""
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sam-labeler-folder-watch", daemon=True)
                self._thread.start()
            self._request = request
            self.busy = True
            self._cond.notify()

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Stop the thread after the pass in progress."""
        with self._cond:
            self._stop = True
            self._request = None
            self._cond.notify()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop and self._request is None:
                    self._cond.wait()
                if self._stop:
                    return
                request, self._request = self._request, None
            assert request is not None
            outcome: PassResult | str
            try:
                if request.list_only:
                    outcome = request.syncer.list_folders()
                else:
                    outcome = request.syncer.run_pass()
            except CoreError as exc:
                outcome = str(exc)
            except Exception as exc:  # noqa: BLE001 - a failed pass is one message, never a dead thread
                outcome = f"{type(exc).__name__}: {exc}"
            with self._cond:
                self.busy = self._request is not None
            self.finished.emit(request.generation, outcome)


class FolderWatch(QObject):
    """Watches the open project's image folder (see the module doc)."""

    refreshed = Signal(object)  # PassResult of a pass that changed the project (after the list reloaded)

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.watcher = QFileSystemWatcher(self)
        self.worker = _PassWorker(self)
        self.debounce = QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.timeout.connect(self._run_pass)
        self._first_change = QElapsedTimer()
        self.poll = QTimer(self)
        self.poll.setInterval(SETTING_POLL_MS)
        self.poll.timeout.connect(self._check_setting)
        self.poll.start()
        self.project: Any = None
        self.syncer: FolderSyncer | None = None
        self.generation = 0
        self.passes = 0           # sync passes started (tests, diagnostics)
        self._again = False       # changes arrived while a pass ran
        self._folder_gone = False
        self._parent = ""  # the image folder's parent (watched: a rename of the folder shows there)
        self._scanned: set[str] = set()  # the folders the last pass walked
        self._enabled = self._setting()
        self.watcher.directoryChanged.connect(self._on_change)
        self.worker.finished.connect(self._on_pass)
        window.controller.imageChanged.connect(lambda _rec: self._follow_project())
        self._follow_project()

    # ------------------------------------------------------------------ session
    def _setting(self) -> bool:
        return bool(getattr(self.window.settings, "watch_folder", True))

    def is_watching(self) -> bool:
        """True while folders are watched."""
        return bool(self.watcher.directories())

    def _follow_project(self) -> None:
        project = self.window.project
        if project is not self.project:
            self.stop()
            if project is not None and not project.read_only and self._enabled:
                self.start(project)

    def start(self, project: Any) -> None:
        """Watch ``project``'s image folder (a first pass in the worker finds its subfolders)."""
        self.stop()
        self.project = project
        self.generation += 1
        self.syncer = FolderSyncer(project.path, project.root, project.image_root)
        self._folder_gone = False
        root = Path(project.image_root)
        self._parent = str(root.parent) if root.parent != root else ""
        self._watch([str(root)])
        self.worker.submit(_Request(self.generation, self.syncer, list_only=True))

    def stop(self) -> None:
        """Stop watching (a pass in progress finishes; its result is dropped)."""
        self.generation += 1
        self.project = None
        self.syncer = None
        self.debounce.stop()
        self._again = False
        paths = self.watcher.directories() + self.watcher.files()
        if paths:
            self.watcher.removePaths(paths)

    def shutdown(self) -> None:
        """Window extension protocol: stop watching and join the worker threads."""
        self.poll.stop()
        self.stop()
        self.worker.shutdown()
        self.window.images_dock.shutdown()

    def _check_setting(self) -> None:
        enabled = self._setting()
        if enabled == self._enabled:
            return
        self._enabled = enabled
        if not enabled:
            self.stop()
            return
        self._follow_project()
        if self.project is not None:
            self._schedule(0)  # catch up with what changed while it was off

    # ------------------------------------------------------------------ changes
    def _on_change(self, path: str) -> None:
        if not self._setting():  # turned off in Settings a moment ago
            self._enabled = False
            self.stop()
            return
        if self.project is None:
            return
        if path == self._parent and path not in self._scanned:  # something beside the image folder changed
            there = Path(self.project.image_root).is_dir()
            if not there and not self._folder_gone:
                self._on_folder_gone()
            if not (there and self._folder_gone):
                return
        if not self.debounce.isActive() or not self._first_change.isValid():
            self._first_change.start()
        waited = self._first_change.elapsed()
        self._schedule(0 if waited >= MAX_DELAY_MS else DEBOUNCE_MS)

    def _schedule(self, delay_ms: int) -> None:
        self.debounce.start(max(0, delay_ms))

    def _run_pass(self) -> None:
        self._first_change.invalidate()
        if self.syncer is None:
            return
        if self.worker.busy:
            self._again = True
            return
        self.passes += 1
        self.worker.submit(_Request(self.generation, self.syncer, list_only=False))

    def _on_pass(self, generation: int, outcome: object) -> None:
        if generation != self.generation or self.project is None:
            return
        if self._again:
            self._again = False
            self._schedule(0)
        if isinstance(outcome, str):
            self.window.status.show_message(translate("FolderWatch", "Watching the image folder failed: {reason}")
                                            .format(reason=outcome), error=True)
            return
        if not isinstance(outcome, PassResult):
            return
        if outcome.folder_gone:
            self._on_folder_gone()
            return
        if self._folder_gone:
            self._folder_gone = False
            self.window.status.show_message(translate("FolderWatch", "The image folder is back: {path}").format(
                path=self.project.image_root))
        self._watch(list(outcome.folders))
        if outcome.pending:
            self._schedule(DEBOUNCE_MS)  # files still being written: look again
        if outcome.changed():
            self._reload(outcome)

    def _on_folder_gone(self) -> None:
        root = Path(self.project.image_root)
        if not self._folder_gone:
            self._folder_gone = True
            self.window.status.show_message(translate(
                "FolderWatch", "The image folder {path} is gone (moved or deleted?); its images stay in the project, "
                "new ones will appear when it is back.").format(path=root), error=True)
        self._watch([])

    def _watch(self, folders: list[str]) -> None:
        """Watch exactly ``folders`` and the image folder's parent (adds and removes the difference)."""
        self._scanned = set(folders)
        now = set(self.watcher.directories())
        wanted = set(folders) | ({self._parent} if self._parent and Path(self._parent).is_dir() else set())
        gone = sorted(now - wanted)
        if gone:
            self.watcher.removePaths(gone)
        new = sorted(wanted - now)
        if new:
            self.watcher.addPaths(new)

    # ------------------------------------------------------------------ GUI refresh
    def _reload(self, result: PassResult) -> None:
        w = self.window
        w.images_dock.reload(self.project, result.status_counts)
        w.controller.images_reloaded()
        w.status.set_position(w.controller.row, w.images_dock.model.rowCount())
        w.status.show_message(self.summary(result))
        self.refreshed.emit(result)

    @staticmethod
    def summary(result: PassResult) -> str:
        """"12 new images · 3 images missing · 1 image back" (the parts that are not zero)."""
        parts = []
        if result.added:
            parts.append(translate("FolderWatch", "{count} new images").format(count=result.added))
        if result.missing:
            parts.append(translate("FolderWatch", "{count} images missing (their annotations are kept)").format(
                count=result.missing))
        if result.returned:
            parts.append(translate("FolderWatch", "{count} missing images are back").format(count=result.returned))
        return " · ".join(parts)


def install_folder_watch(window: Any) -> FolderWatch:
    """Watch the window's project folder (window extension installer)."""
    return FolderWatch(window)
