"""Annotations dock: the annotations of the current image (top-most first), with a visibility
checkbox each, selection, z-order up/down and delete. Changes are emitted as requests; the
controller turns them into undoable edits (hiding is a view setting, not an edit). Annotations
whose label class is hidden (labels dock) show unchecked and cannot be checked one by one until the
class is shown again, which brings back each one's own state."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QDockWidget, QHBoxLayout, QListWidget, QListWidgetItem, QToolButton,
                               QVBoxLayout, QWidget)

from app.services.tr_noop import QT_TRANSLATE_NOOP
from app.core.model import Annotation, LabelClass
from app.ui.docks.labels_dock import swatch

LABEL_ROLE = Qt.ItemDataRole.UserRole + 1  # the row's label class id

SOURCE_TEXT = {"sam": QT_TRANSLATE_NOOP("AnnotationsDock", "SAM"),  # English sources, shown translated
               "manual": QT_TRANSLATE_NOOP("AnnotationsDock", "manual"),
               "import": QT_TRANSLATE_NOOP("AnnotationsDock", "imported")}


class AnnotationsDock(QDockWidget):
    """Lists annotations; emits selectionRequested(ann_id | None), hiddenChanged(set of hidden ids),
    raiseRequested(ann_id, +1 | -1), deleteRequested(ann_id)."""

    selectionRequested = Signal(object)
    hiddenChanged = Signal(object)
    raiseRequested = Signal(int, int)
    deleteRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Annotations"), parent)
        self.setObjectName("AnnotationsDock")
        self._hidden: set[int] = set()
        self._hidden_labels: set[int] = set()
        body = QWidget(self)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        self.list = QListWidget(body)
        self.list.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        lay.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.up_button = QToolButton(body)
        self.up_button.setText(self.tr("▲ Raise"))
        self.down_button = QToolButton(body)
        self.down_button.setText(self.tr("▼ Lower"))
        self.delete_button = QToolButton(body)
        self.delete_button.setText(self.tr("Delete"))
        for b in (self.up_button, self.down_button, self.delete_button):
            row.addWidget(b)
        row.addStretch(1)
        lay.addLayout(row)
        self.setWidget(body)
        self.list.currentItemChanged.connect(self._current_changed)
        self.list.itemChanged.connect(self._item_changed)
        self.up_button.clicked.connect(lambda: self._raise(+1))
        self.down_button.clicked.connect(lambda: self._raise(-1))
        self.delete_button.clicked.connect(self._delete)

    def hidden(self) -> set[int]:
        """Ids of annotations the user hid (view only)."""
        return set(self._hidden)

    def reset_hidden(self) -> None:
        """Show everything again (new image)."""
        self._hidden.clear()

    def set_annotations(self, anns: list[Annotation], classes: dict[int, LabelClass], selected: int | None) -> None:
        """Show `anns` (top-most first) and select `selected` without emitting selectionRequested."""
        self._hidden &= {a.id for a in anns if a.id is not None}
        self.list.blockSignals(True)
        self.list.clear()
        for a in sorted(anns, key=lambda a: (a.z, a.id or 0), reverse=True):
            lc = classes.get(a.label_id)
            name = lc.name if lc else self.tr("label {id}").format(id=a.label_id)
            score = f" {a.score:.2f}" if a.score is not None else ""
            holes = sum(len(p.holes) for p in a.parts)
            parts = self.tr("1 part") if len(a.parts) == 1 else self.tr("{n} parts").format(n=len(a.parts))
            shape = parts + (self.tr(", {n} hole(s)").format(n=holes) if holes else "")
            source = self.tr(SOURCE_TEXT.get(a.source, a.source))
            # two short lines rather than one long one: a narrow dock cuts nothing off
            text = f"#{a.id} {name}\n{source}{score} · {shape}"
            it = QListWidgetItem(swatch(lc.color if lc else "#808080"), text)
            it.setData(Qt.ItemDataRole.UserRole, a.id)
            it.setData(LABEL_ROLE, a.label_id)
            self.list.addItem(it)
        self._show_states()
        self.list.blockSignals(False)
        self.select(selected)

    def set_hidden_labels(self, label_ids: set[int]) -> None:
        """The label classes hidden in the labels dock: their annotations show as hidden (view only)."""
        self._hidden_labels = set(label_ids)
        self.list.blockSignals(True)
        self._show_states()
        self.list.blockSignals(False)

    def _show_states(self) -> None:
        """Check state and checkability of every row from the hidden annotations and label classes."""
        for k in range(self.list.count()):
            it = self.list.item(k)
            by_label = it.data(LABEL_ROLE) in self._hidden_labels
            shown = not by_label and it.data(Qt.ItemDataRole.UserRole) not in self._hidden
            flags = it.flags() & ~Qt.ItemFlag.ItemIsUserCheckable if by_label else it.flags() | Qt.ItemFlag.ItemIsUserCheckable
            it.setFlags(flags)
            it.setCheckState(Qt.CheckState.Checked if shown else Qt.CheckState.Unchecked)
            tip = it.text().replace("\n", " — ")
            it.setToolTip(tip + self.tr(" (hidden with its label class)") if by_label else tip)

    def select(self, ann_id: int | None) -> None:
        """Highlight `ann_id` (None: no selection), without emitting."""
        self.list.blockSignals(True)
        self.list.setCurrentRow(-1)
        for k in range(self.list.count()):
            if self.list.item(k).data(Qt.ItemDataRole.UserRole) == ann_id:
                self.list.setCurrentRow(k)
                break
        self.list.blockSignals(False)

    def selected_id(self) -> int | None:
        """Id of the highlighted annotation."""
        it = self.list.currentItem()
        return None if it is None else int(it.data(Qt.ItemDataRole.UserRole))

    def set_visible(self, ann_id: int, visible: bool) -> None:
        """Check/uncheck an annotation (emits hiddenChanged)."""
        for k in range(self.list.count()):
            it = self.list.item(k)
            if it.data(Qt.ItemDataRole.UserRole) == ann_id:
                it.setCheckState(Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)

    def _current_changed(self, cur: QListWidgetItem | None, _prev: QListWidgetItem | None) -> None:
        self.selectionRequested.emit(None if cur is None else int(cur.data(Qt.ItemDataRole.UserRole)))

    def _item_changed(self, it: QListWidgetItem) -> None:
        ann_id = int(it.data(Qt.ItemDataRole.UserRole))
        if it.checkState() == Qt.CheckState.Checked:
            self._hidden.discard(ann_id)
        else:
            self._hidden.add(ann_id)
        self.hiddenChanged.emit(set(self._hidden))

    def _raise(self, delta: int) -> None:
        ann_id = self.selected_id()
        if ann_id is not None:
            self.raiseRequested.emit(ann_id, delta)

    def _delete(self) -> None:
        ann_id = self.selected_id()
        if ann_id is not None:
            self.deleteRequested.emit(ann_id)
