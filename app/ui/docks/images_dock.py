"""Images dock: a paged list model over `Project.images(offset, limit, status)` plus a status filter.

The model never loads the whole image table nor any annotation: it asks the project for the row
count of the current filter and fetches pages of PAGE_SIZE records on demand (a few pages cached),
so a project of 100 000 images opens instantly. Rows stay stable while labeling (statuses of
cached records are patched in place); a filter change resets the model.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from typing import Any

from PySide6.QtCore import (QAbstractListModel, QCoreApplication, QModelIndex,
                            QPersistentModelIndex, QPoint, Qt, Signal)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QComboBox, QDockWidget, QLabel, QLineEdit, QListView, QVBoxLayout, QWidget

from app.automation.review import needs_review
from app.services.tr_noop import QT_TRANSLATE_NOOP
from app.core.model import ImageRecord
from app.core.project_images import TO_REVIEW
from app.ui.i18n import mark_data

PAGE_SIZE = 256
MAX_PAGES = 16
translate = QCoreApplication.translate
STATUS_TEXT = {"new": QT_TRANSLATE_NOOP("ImagesDock", "new"),  # English sources, shown translated
               "in_progress": QT_TRANSLATE_NOOP("ImagesDock", "in progress"),
               "done": QT_TRANSLATE_NOOP("ImagesDock", "done")}
STATUS_COLOR = {"new": "#9e9e9e", "in_progress": "#ffb300", "done": "#43a047"}
REVIEW_COLOR = "#ab47bc"  # auto-labeled, not reviewed yet (app.automation.review)
ImageRole = Qt.ItemDataRole.UserRole + 1

_Index = QModelIndex | QPersistentModelIndex


class ImageListModel(QAbstractListModel):
    """Rows = images of the project matching `status_filter` (None = all), ordered by path."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._project: Any = None
        self._filter: str | None = None
        self._name = ""  # substring of the path (the dock's name filter)
        self._count = 0
        self._pages: OrderedDict[int, list[ImageRecord]] = OrderedDict()

    def set_project(self, project: Any, status_filter: str | None = None) -> None:
        """Show the images of `project` (None empties the list)."""
        self.beginResetModel()
        self._project = project
        self._filter = status_filter
        self._pages.clear()
        if project is None:
            self._count = 0
        else:
            self._count = int(project.image_count(status_filter, self._name) if self._name
                              else project.image_count(status_filter))
        self.endResetModel()

    def set_name_filter(self, text: str) -> None:
        """Show only images whose path contains `text` ("" shows all) and reload."""
        self._name = text.strip()
        self.set_project(self._project, self._filter)

    def name_filter(self) -> str:
        """The current file name filter ("" = none)."""
        return self._name

    def set_status_filter(self, status_filter: str | None) -> None:
        """Change the filter ("new" | "in_progress" | "done" | TO_REVIEW | None) and reload."""
        self.set_project(self._project, status_filter)

    def status_filter(self) -> str | None:
        """The current filter."""
        return self._filter

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802 - Qt API
        """Number of images matching the filter."""
        return 0 if parent.isValid() else self._count

    def record(self, row: int) -> ImageRecord | None:
        """The ImageRecord at `row`, fetched with its page when needed (None when out of range)."""
        if self._project is None or not 0 <= row < self._count:
            return None
        page_no = row // PAGE_SIZE
        page = self._pages.get(page_no)
        if page is None:
            args = (page_no * PAGE_SIZE, PAGE_SIZE, self._filter) + ((self._name,) if self._name else ())
            page = list(self._project.images(*args))  # (a project without name filtering works unfiltered)
            self._pages[page_no] = page
            while len(self._pages) > MAX_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(page_no)
        k = row - page_no * PAGE_SIZE
        return page[k] if k < len(page) else None

    def row_of(self, image_id: int) -> int:
        """Row of an image among the CACHED pages (-1 when not cached / not matching)."""
        for page_no, page in self._pages.items():
            for k, rec in enumerate(page):
                if rec.id == image_id:
                    return page_no * PAGE_SIZE + k
        return -1

    def update_record(self, rec: ImageRecord) -> None:
        """Patch a cached record (e.g. its status changed) and repaint its row."""
        for page_no, page in self._pages.items():
            for k, old in enumerate(page):
                if old.id == rec.id:
                    page[k] = rec
                    idx = self.index(page_no * PAGE_SIZE + k)
                    self.dataChanged.emit(idx, idx)
                    return

    def set_status(self, image_id: int, status: str) -> None:
        """Patch the status of a cached record."""
        for page in self._pages.values():
            for old in page:
                if old.id == image_id:
                    self.update_record(replace(old, status=status))
                    return

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Display: "path  [status]"; foreground: status colour; ImageRole: the ImageRecord."""
        rec = self.record(index.row()) if index.isValid() else None
        if rec is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            extra = translate("ImagesDock", "  (missing)") if rec.missing else ""
            if needs_review(rec.extra):
                extra += translate("ImagesDock", "  (to review)")
            return f"{rec.path}{extra}"
        if role == Qt.ItemDataRole.ToolTipRole:
            size = f"{rec.width}x{rec.height}" if rec.width else translate("ImagesDock", "size not read yet")
            status = translate("ImagesDock", STATUS_TEXT.get(rec.status, rec.status))
            text = translate("ImagesDock", "{path}\n{size}\nstatus: {status}").format(path=rec.path, size=size,
                                                                                      status=status)
            if needs_review(rec.extra):
                text += "\n" + translate("ImagesDock", "auto-labeled: to review")
            return text
        if role == Qt.ItemDataRole.DecorationRole:
            if needs_review(rec.extra):
                return QColor(REVIEW_COLOR)
            return QColor(STATUS_COLOR.get(rec.status, "#9e9e9e"))
        if role == Qt.ItemDataRole.ForegroundRole and rec.missing:
            return QBrush(QColor("#808080"))
        if role == ImageRole:
            return rec
        return None


class ImagesDock(QDockWidget):
    """The images list with status filter and per-status counts; emits `imageActivated(row)`, and
    `rowMenuRequested(row, global position)` on a right click on a row (app.ui.attribute_ui shows the
    menu)."""

    imageActivated = Signal(int)
    rowMenuRequested = Signal(int, QPoint)

    FILTERS: tuple[tuple[str, str | None], ...] = (
        (QT_TRANSLATE_NOOP("ImagesDock", "All images"), None), (QT_TRANSLATE_NOOP("ImagesDock", "New"), "new"),
        (QT_TRANSLATE_NOOP("ImagesDock", "In progress"), "in_progress"),
        (QT_TRANSLATE_NOOP("ImagesDock", "Done"), "done"),
        (QT_TRANSLATE_NOOP("ImagesDock", "To review (auto-labeled)"), TO_REVIEW))

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Images"), parent)
        self.setObjectName("ImagesDock")
        self.model = ImageListModel(self)
        body = QWidget(self)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        self.filter_box = QComboBox(body)
        for text, value in self.FILTERS:
            self.filter_box.addItem(self.tr(text), value)
        self.name_edit = QLineEdit(body)
        self.name_edit.setPlaceholderText(self.tr("Filter by file name…"))
        self.name_edit.setClearButtonEnabled(True)
        self.counts_label = QLabel(self.tr("no project"), body)
        self.view = QListView(body)
        self.view.setModel(self.model)
        self.view.setUniformItemSizes(True)  # keeps scrolling over 100k rows cheap
        self.view.setSelectionMode(QListView.SelectionMode.SingleSelection)
        self.view.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        mark_data(self.view)  # image file names
        lay.addWidget(self.filter_box)
        lay.addWidget(self.name_edit)
        lay.addWidget(self.counts_label)
        lay.addWidget(self.view, 1)
        self.setWidget(body)
        self.view.activated.connect(lambda idx: self.imageActivated.emit(idx.row()))
        self.view.clicked.connect(lambda idx: self.imageActivated.emit(idx.row()))
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._row_menu)
        self.filter_box.currentIndexChanged.connect(self._filter_changed)
        self.name_edit.textChanged.connect(self._name_changed)

    def set_project(self, project: Any) -> None:
        """Show a project's images (None clears)."""
        self.model.set_project(project, self.filter_box.currentData())
        self.update_counts(project)

    def update_counts(self, project: Any) -> None:
        """Refresh the "N images · new a · in progress b · done c" line."""
        if project is None:
            self.counts_label.setText(self.tr("no project"))
            return
        counts = project.status_counts()
        total = sum(counts.values())
        parts = [f"{self.tr(STATUS_TEXT[s])} {counts.get(s, 0)}" for s in ("new", "in_progress", "done")]
        self.counts_label.setText(self.tr("{count} images · ").format(count=total) + " · ".join(parts))

    def select_row(self, row: int) -> None:
        """Highlight `row` and scroll to it (no signal)."""
        idx = self.model.index(row)
        if idx.isValid():
            self.view.blockSignals(True)
            self.view.setCurrentIndex(idx)
            self.view.blockSignals(False)
            self.view.scrollTo(idx)

    def focus_name_filter(self) -> None:
        """Put the keyboard in the file name filter."""
        self.show()
        self.raise_()
        self.name_edit.setFocus()
        self.name_edit.selectAll()

    def _row_menu(self, pos: QPoint) -> None:
        idx = self.view.indexAt(pos)
        if idx.isValid():
            self.rowMenuRequested.emit(idx.row(), self.view.viewport().mapToGlobal(pos))

    def _name_changed(self, text: str) -> None:
        self.model.set_name_filter(text)
        self.imageActivated.emit(0 if self.model.rowCount() else -1)

    def _filter_changed(self, _i: int) -> None:
        self.model.set_status_filter(self.filter_box.currentData())
        self.imageActivated.emit(0 if self.model.rowCount() else -1)
