"""Images dock: a paged list model over `Project.images(offset, limit, status)` plus a status filter.

The model never loads the whole image table nor any annotation: it asks the project for the row
count of the current filter and fetches pages of PAGE_SIZE records on demand (a few pages cached),
so a project of 100 000 images opens instantly. Rows stay stable while labeling (statuses of
cached records are patched in place); a filter change resets the model.

Hovering a row shows a tooltip with a preview of the image (app.ui.thumbnails: made off the GUI
thread, bounded LRU), its size, status and annotation count; the tooltip is refreshed in place
when the preview arrives. A file that cannot be previewed gets the text alone and the reason.
"""
from __future__ import annotations

import base64
import html
from collections import OrderedDict
from dataclasses import replace
from typing import Any

from PySide6.QtCore import (QAbstractListModel, QCoreApplication, QElapsedTimer, QEvent, QModelIndex, QObject,
                            QPersistentModelIndex, QPoint, Qt, QTimer, Signal)
from PySide6.QtGui import QBrush, QColor, QCursor, QHelpEvent
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDockWidget, QLabel, QLineEdit, QListView, QToolTip,
                               QVBoxLayout, QWidget)

from app.automation.review import needs_review
from app.services.tr_noop import QT_TRANSLATE_NOOP
from app.core.model import ImageRecord
from app.core.project_images import TO_REVIEW
from app.core.thumbnails import Thumbnail
from app.ui.i18n import mark_data
from app.ui.thumbnails import ThumbnailService

PAGE_SIZE = 256
MAX_PAGES = 16
LAYOUT_BATCH = 500   # rows laid out per event-loop turn after a reset (~5-10 ms each on a busy laptop)
SCROLL_WAIT_MS = 10000
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
        self.thumbnails: ThumbnailService | None = None  # previews in the tooltip when set

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
            return self.tooltip(rec) if self.thumbnails is not None else self._tooltip_text(rec)
        if role == Qt.ItemDataRole.DecorationRole:
            if needs_review(rec.extra):
                return QColor(REVIEW_COLOR)
            return QColor(STATUS_COLOR.get(rec.status, "#9e9e9e"))
        if role == Qt.ItemDataRole.ForegroundRole and rec.missing:
            return QBrush(QColor("#808080"))
        if role == ImageRole:
            return rec
        return None


    def _tooltip_text(self, rec: ImageRecord) -> str:
        size = f"{rec.width}x{rec.height}" if rec.width else translate("ImagesDock", "size not read yet")
        status = translate("ImagesDock", STATUS_TEXT.get(rec.status, rec.status))
        text = translate("ImagesDock", "{path}\n{size}\nstatus: {status}").format(path=rec.path, size=size,
                                                                                  status=status)
        if needs_review(rec.extra):
            text += "\n" + translate("ImagesDock", "auto-labeled: to review")
        return text

    def tooltip(self, rec: ImageRecord, ask: bool = True) -> str:
        """Rich-text tooltip of a row: the preview (when made), path, size, status, annotation count.
        ``ask``: also ask the thumbnail worker to make or refresh the preview (never waits for it)."""
        thumbs, project = self.thumbnails, self._project
        if thumbs is None or project is None:
            return self._tooltip_text(rec)
        path = project.image_path(rec)
        found: Thumbnail | str | None = thumbs.lookup(path) if ask else thumbs.peek(path)
        lines = [html.escape(line) for line in self._tooltip_text(rec).split("\n")]
        if isinstance(found, Thumbnail):
            if not rec.width:
                lines[1] = html.escape(f"{found.image_width}x{found.image_height}")
            data = base64.b64encode(found.jpeg).decode("ascii")
            head = f'<img src="data:image/jpeg;base64,{data}" width="{found.width}" height="{found.height}"><br>'
        elif isinstance(found, str):
            head = ""
            lines.append("<i>" + html.escape(translate("ImagesDock", "no preview: {reason}").format(reason=found))
                         + "</i>")
        else:
            head = ""
            lines.append("<i>" + html.escape(translate("ImagesDock", "preview…")) + "</i>")
        count = int(project.annotation_count(rec.id)) if hasattr(project, "annotation_count") else None
        if count is not None:
            lines.insert(3, html.escape(translate("ImagesDock", "annotations: {count}").format(count=count)))
        return f"<html><body>{head}{'<br>'.join(lines)}</body></html>"


class _TooltipRefresher(QObject):
    """Remembers the row a tooltip was asked for and shows it again when its preview arrives."""

    def __init__(self, view: QAbstractItemView, model: ImageListModel) -> None:
        super().__init__(view)
        self.view, self.model = view, model
        self.row = -1
        self._viewport = view.viewport()
        self._viewport.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.ToolTip and obj is self._viewport:
            idx = self.view.indexAt(event.pos()) if isinstance(event, QHelpEvent) else QModelIndex()
            self.row = idx.row() if idx.isValid() else -1
        return False  # the view shows the model's tooltip as usual

    def preview_ready(self, path: str) -> None:
        """A preview was stored: refresh the visible tooltip when it belongs to that image."""
        rec = self.model.record(self.row) if self.row >= 0 else None
        project = self.model._project
        if rec is None or project is None or not QToolTip.isVisible() or str(project.image_path(rec)) != path:
            return
        idx = self.model.index(self.row)
        rect = self.view.visualRect(idx)
        at = QCursor.pos() if rect.contains(self.view.viewport().mapFromGlobal(QCursor.pos())) \
            else self.view.viewport().mapToGlobal(rect.center())
        QToolTip.showText(at + QPoint(1, 0), self.model.tooltip(rec, ask=False), self.view.viewport(), rect)


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
        # After a reset (filter, new images) QListView lays every row out again, asking the model for
        # each: 150-250 ms in one go for 100k rows (benchmarks/bench_folder_watch.py). In batches the
        # GUI keeps its events flowing; scrolls wait for their row to be laid out (_scroll_to).
        self.view.setLayoutMode(QListView.LayoutMode.Batched)
        self.view.setBatchSize(LAYOUT_BATCH)
        self._scroll_target: tuple[int, QAbstractItemView.ScrollHint] | None = None
        self._scroll_timer = QTimer(self)
        self._scroll_timer.setSingleShot(True)
        self._scroll_timer.setInterval(5)
        self._scroll_timer.timeout.connect(self._apply_scroll)
        self._scroll_deadline = QElapsedTimer()
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
        self.thumbnails = ThumbnailService(parent=self)
        self.model.thumbnails = self.thumbnails
        self.tooltips = _TooltipRefresher(self.view, self.model)
        self.thumbnails.ready.connect(self.tooltips.preview_ready)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._row_menu)
        self.filter_box.currentIndexChanged.connect(self._filter_changed)
        self.name_edit.textChanged.connect(self._name_changed)

    def set_project(self, project: Any) -> None:
        """Show a project's images (None clears)."""
        self.thumbnails.clear()
        self.model.set_project(project, self.filter_box.currentData())
        self.update_counts(project)

    def reload(self, project: Any, counts: dict[str, int] | None = None) -> None:
        """Reload the rows after images were added or removed (file watcher): the filter, the current
        row's image (found again by id) and the image at the top of the view stay where they were.
        ``counts``: the images per status when the caller has them (else they are counted here)."""
        current = self.model.record(self.view.currentIndex().row()) if self.view.currentIndex().isValid() else None
        top_idx = self.view.indexAt(QPoint(2, 2))
        top = self.model.record(top_idx.row()) if top_idx.isValid() else None
        self.model.set_project(project, self.model.status_filter())
        self.update_counts(project, counts)
        if project is None:
            return
        name = self.model.name_filter() or None
        if top is not None:
            row = project.image_row(top.id, self.model.status_filter(), name)
            if row >= 0:
                self._scroll_to(row, QAbstractItemView.ScrollHint.PositionAtTop)
        if current is not None:
            row = project.image_row(current.id, self.model.status_filter(), name)
            if row >= 0:
                self.view.blockSignals(True)
                self.view.setCurrentIndex(self.model.index(row))
                self.view.blockSignals(False)

    def shutdown(self) -> None:
        """Stop the thumbnail worker (the window calls this before quitting)."""
        self.thumbnails.shutdown()

    def update_counts(self, project: Any, counts: dict[str, int] | None = None) -> None:
        """Refresh the "N images · new a · in progress b · done c" line (``counts``: {status: images}
        when known, else the project counts them)."""
        if project is None:
            self.counts_label.setText(self.tr("no project"))
            return
        counts = project.status_counts() if counts is None else counts
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
            self._scroll_to(row)

    def _scroll_to(self, row: int, hint: QAbstractItemView.ScrollHint = QAbstractItemView.ScrollHint.EnsureVisible) -> None:
        """Scroll to ``row`` once the batched layout has reached it (at once when it has)."""
        self._scroll_target = (row, hint)
        self._scroll_deadline.start()
        self._apply_scroll()

    def _apply_scroll(self) -> None:
        if self._scroll_target is None:
            return
        row, hint = self._scroll_target
        idx = self.model.index(row)
        if not idx.isValid():
            self._scroll_target = None
            return
        self.view.scrollTo(idx, hint)
        rect = self.view.visualRect(idx)
        visible = self.view.viewport().rect().contains(rect.center()) and self.view.indexAt(rect.center()).row() == row
        there = visible
        if hint == QAbstractItemView.ScrollHint.PositionAtTop:  # (or as far as it goes at the end of the list)
            bar = self.view.verticalScrollBar()
            there = visible and (self.view.indexAt(QPoint(2, 2)).row() == row or bar.value() == bar.maximum())
        if there or self._scroll_deadline.elapsed() > SCROLL_WAIT_MS:
            self._scroll_target = None
        else:  # the scroll range ends where the batched layout is: try again after the next batches
            self._scroll_timer.start()

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
