"""Drag and drop onto the window: a folder opens as an image folder, a ``.samlabel`` file as a project,
an image file opens its folder and shows that image. One path at a time (the first usable one)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QMimeData, QObject
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from app.core.project import PROJECT_SUFFIX
from app.core.sync import image_extensions


def dropped_path(mime: QMimeData) -> Path | None:
    """The first local folder, project file or image file among the dropped URLs, else None."""
    exts = image_extensions()
    for url in mime.urls():
        if not url.isLocalFile():
            continue
        path = Path(url.toLocalFile())
        if path.is_dir() or (path.is_file() and (path.suffix == PROJECT_SUFFIX or path.name.lower().endswith(exts))):
            return path
    return None


class DropOpener(QObject):
    """Accepts drags of usable paths and opens them in the window."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        window.setAcceptDrops(True)
        window.installEventFilter(self)

    def open_dropped(self, path: Path) -> bool:
        """Open a dropped folder / project / image (an image: its folder, then that image)."""
        w = self.window
        if path.is_file() and path.suffix != PROJECT_SUFFIX:
            if not w.open_path(path.parent) or w.project is None:
                return False
            try:
                rec = w.project.image_by_path(w.project.relative_path(path))
            except ValueError:
                rec = None
            if rec is not None:
                model = w.images_dock.model
                row = w.project.image_row(rec.id, model.status_filter(), model.name_filter() or None)
                if row >= 0:
                    w.controller.go_to_row(row)
            return True
        return bool(w.open_path(path))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if obj is not self.window:
            return False
        if event.type() in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            assert isinstance(event, QDragEnterEvent) or hasattr(event, "mimeData")
            if dropped_path(event.mimeData()) is not None:  # type: ignore[attr-defined]
                event.acceptProposedAction()  # type: ignore[attr-defined]
                return True
        elif event.type() == QEvent.Type.Drop:
            assert isinstance(event, QDropEvent)
            path = dropped_path(event.mimeData())
            if path is not None:
                event.acceptProposedAction()
                self.open_dropped(path)
                return True
        return False


def install_drop_open(window: Any) -> DropOpener:
    """Let the window open what is dropped on it (called once by the main window)."""
    return DropOpener(window)
