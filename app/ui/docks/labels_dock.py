"""Label classes dock: colour swatch, number key (1..9), name, visibility checkbox and the number of
annotations of each class on this image / in the whole project; a filter field; add / rename /
recolour / move / delete, flags and attributes of the class (buttons, row context menu, keys).

The dock never changes the project itself: it asks the user (input, colour and confirmation
dialogs) and emits request signals which the controller turns into undoable edits. Visibility is a
view setting (`hiddenLabelsChanged`), not an edit.
"""
from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (QColorDialog, QDockWidget, QHBoxLayout, QInputDialog, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QMenu, QMessageBox, QStyledItemDelegate, QStyleOptionViewItem,
                               QToolButton, QVBoxLayout, QWidget)

from app.core.model import LabelClass
from app.ui.i18n import mark_data

COUNTS_ROLE = Qt.ItemDataRole.UserRole + 1  # (on this image, in the project)


def swatch(color: str, size: int = 14) -> QIcon:
    """A square icon filled with `color` ("#rrggbb")."""
    pm = QPixmap(size, size)
    pm.fill(QColor(color))
    return QIcon(pm)


class CountsDelegate(QStyledItemDelegate):
    """Draws a row as usual, with "image · project" counts right-aligned (the name is elided first)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        counts = index.data(COUNTS_ROLE)
        text = f"{counts[0]} · {counts[1]}" if counts else ""
        width = option.fontMetrics.horizontalAdvance(text) + 8 if text else 0
        narrowed = QStyleOptionViewItem(option)
        narrowed.rect = option.rect.adjusted(0, 0, -width, 0)
        super().paint(painter, narrowed, index)
        if text:
            painter.save()
            painter.setPen(option.palette.color(option.palette.ColorRole.PlaceholderText))
            painter.drawText(option.rect.adjusted(0, 0, -4, 0),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
            painter.restore()


class LabelsDock(QDockWidget):
    """Label classes in display order; the current label is the selected row."""

    labelChosen = Signal(int)
    addRequested = Signal(str, str)
    renameRequested = Signal(int, str)
    recolorRequested = Signal(int, str)
    moveRequested = Signal(int, int)
    deleteRequested = Signal(int)
    attributesRequested = Signal(int)  # edit the flags/attributes schema of this class
    hiddenLabelsChanged = Signal(object)  # set of label ids whose annotations are not drawn

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Labels"), parent)
        self.setObjectName("LabelsDock")
        self._classes: list[LabelClass] = []
        self._hidden: set[int] = set()
        self._image_counts: dict[int, int] = {}
        self._project_counts: dict[int, int] = {}
        self._add_key = "Ctrl+L"
        body = QWidget(self)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        self.filter_edit = QLineEdit(body)
        self.filter_edit.setPlaceholderText(self.tr("Filter labels…"))
        self.filter_edit.setClearButtonEnabled(True)
        lay.addWidget(self.filter_edit)
        self.counts_caption = QLabel(self.tr("Checkbox: shown · counts: this image · project"), body)
        self.counts_caption.setObjectName("HintLabel")
        self.counts_caption.setWordWrap(True)
        lay.addWidget(self.counts_caption)
        self.list = QListWidget(body)
        self.list.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.list.setItemDelegate(CountsDelegate(self.list))
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        mark_data(self.list)  # the user's label names
        lay.addWidget(self.list, 1)
        self.hint = QLabel(body)
        self.hint.setWordWrap(True)
        self.hint.setObjectName("HintLabel")  # look: resources/styles/*.qss
        lay.addWidget(self.hint)
        row = QHBoxLayout()
        row.setSpacing(2)
        self.buttons: dict[str, QToolButton] = {}
        for key, text, tip in (("add", "+", self.tr("Add a label class")),
                               ("rename", "✎", self.tr("Rename the label class")),
                               ("color", "◐", self.tr("Change the colour")),
                               ("up", "▲", self.tr("Move up")), ("down", "▼", self.tr("Move down")),
                               ("delete", "✕", self.tr("Delete the label class"))):
            b = QToolButton(body)
            b.setText(text)
            b.setToolTip(tip)
            b.setAccessibleName(tip)
            row.addWidget(b)
            self.buttons[key] = b
        row.addStretch(1)
        lay.addLayout(row)
        self.setWidget(body)
        self._update_hint()
        self.list.currentRowChanged.connect(self._row_changed)
        self.list.itemDoubleClicked.connect(lambda _it: self.ask_rename())
        self.list.itemChanged.connect(self._item_changed)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.filter_edit.textChanged.connect(self._apply_filter)
        self.buttons["add"].clicked.connect(self.ask_add)
        self.buttons["rename"].clicked.connect(self.ask_rename)
        self.buttons["color"].clicked.connect(self.ask_recolor)
        self.buttons["up"].clicked.connect(lambda: self._move(-1))
        self.buttons["down"].clicked.connect(lambda: self._move(+1))
        self.buttons["delete"].clicked.connect(self.ask_delete)

    # ------------------------------------------------------------------ contents
    def set_classes(self, classes: list[LabelClass], current_id: int | None) -> None:
        """Show `classes` (by order); select `current_id` without emitting labelChosen."""
        self._classes = list(classes)
        self._hidden &= {lc.id for lc in self._classes if lc.id is not None}
        self.list.blockSignals(True)
        self.list.clear()
        for k, lc in enumerate(self._classes):
            key = f"{k + 1}  " if k < 9 else "    "
            it = QListWidgetItem(swatch(lc.color), f"{key}{lc.name}")
            it.setData(Qt.ItemDataRole.UserRole, lc.id)
            it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            it.setCheckState(Qt.CheckState.Unchecked if lc.id in self._hidden else Qt.CheckState.Checked)
            self.list.addItem(it)
        self._fill_counts()
        self.select(current_id)
        self.list.blockSignals(False)
        self._apply_filter(self.filter_edit.text())
        self._update_hint()

    def set_counts(self, on_image: dict[int, int], in_project: dict[int, int]) -> None:
        """Annotations per label id on the current image and in the whole project."""
        self._image_counts, self._project_counts = dict(on_image), dict(in_project)
        self.list.blockSignals(True)
        self._fill_counts()
        self.list.blockSignals(False)

    def counts(self, label_id: int) -> tuple[int, int]:
        """(on this image, in the project) of one label class."""
        return self._image_counts.get(label_id, 0), self._project_counts.get(label_id, 0)

    def _fill_counts(self) -> None:
        for k, lc in enumerate(self._classes):
            it = self.list.item(k)
            n_img, n_all = self.counts(lc.id or -1)
            it.setData(COUNTS_ROLE, (n_img, n_all))
            tip = self.tr("{name} ({color}): {image} on this image, {project} in the project").format(
                name=lc.name, color=lc.color, image=n_img, project=n_all)
            it.setToolTip(tip + (self.tr(" — key {n}").format(n=k + 1) if k < 9 else ""))

    def set_add_key(self, keys: str) -> None:
        """The shortcut of "Add label class" named in the hint."""
        self._add_key = keys
        self._update_hint()

    def _update_hint(self) -> None:
        self.hint.setText(self.tr("No label classes yet: click + below or press {key} to add one (the first "
                                  "accepted object otherwise gets the label “object”). Keys 1–9 choose a "
                                  "class.").format(key=self._add_key or "+"))
        self.hint.setVisible(not self._classes)

    def select(self, label_id: int | None) -> None:
        """Highlight the row of `label_id` (no signal)."""
        self.list.blockSignals(True)
        for k, lc in enumerate(self._classes):
            if lc.id == label_id:
                self.list.setCurrentRow(k)
                break
        else:
            self.list.setCurrentRow(-1)
        self.list.blockSignals(False)

    def current_class(self) -> LabelClass | None:
        """The selected class."""
        r = self.list.currentRow()
        return self._classes[r] if 0 <= r < len(self._classes) else None

    # ------------------------------------------------------------------ visibility and filter
    def hidden_labels(self) -> set[int]:
        """Label ids whose annotations are hidden (view only)."""
        return set(self._hidden)

    def set_label_visible(self, label_id: int, visible: bool) -> None:
        """Show or hide the annotations of one class (emits hiddenLabelsChanged)."""
        for k, lc in enumerate(self._classes):
            if lc.id == label_id:
                self.list.item(k).setCheckState(Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)

    def show_only(self, label_id: int) -> None:
        """Hide every class but this one."""
        self._hidden = {lc.id for lc in self._classes if lc.id is not None and lc.id != label_id}
        self.list.blockSignals(True)
        for k, lc in enumerate(self._classes):
            self.list.item(k).setCheckState(Qt.CheckState.Unchecked if lc.id in self._hidden else Qt.CheckState.Checked)
        self.list.blockSignals(False)
        self.hiddenLabelsChanged.emit(set(self._hidden))

    def focus_filter(self) -> None:
        """Put the keyboard in the filter field (key: Ctrl+F)."""
        self.show()
        self.raise_()
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().casefold()
        for k, lc in enumerate(self._classes):
            self.list.item(k).setHidden(bool(needle) and needle not in lc.name.casefold())

    def _item_changed(self, it: QListWidgetItem) -> None:
        label_id = int(it.data(Qt.ItemDataRole.UserRole))
        if it.checkState() == Qt.CheckState.Checked:
            self._hidden.discard(label_id)
        else:
            self._hidden.add(label_id)
        self.hiddenLabelsChanged.emit(set(self._hidden))

    # ------------------------------------------------------------------ questions
    def ask_add(self) -> None:
        """Ask for a name, then emit addRequested(name, "") (the project picks a distinct colour)."""
        name, ok = QInputDialog.getText(self, self.tr("Add label class"), self.tr("Name:"))
        if ok and name.strip():
            self.addRequested.emit(name.strip(), "")

    def ask_rename(self) -> None:
        """Ask for a new name of the selected class."""
        lc = self.current_class()
        if lc is None:
            return
        name, ok = QInputDialog.getText(self, self.tr("Rename label class"), self.tr("Name:"), text=lc.name)
        if ok and name.strip() and name.strip() != lc.name:
            self.renameRequested.emit(lc.id, name.strip())

    def ask_recolor(self) -> None:
        """Ask for a new colour of the selected class."""
        lc = self.current_class()
        if lc is None:
            return
        col = QColorDialog.getColor(QColor(lc.color), self, self.tr("Colour of {name}").format(name=lc.name))
        if col.isValid():
            self.recolorRequested.emit(lc.id, col.name())

    def delete_question(self, lc: LabelClass) -> str:
        """The confirmation sentence for deleting `lc`, naming how many annotations go with it."""
        n = self._project_counts.get(lc.id or -1, 0)
        if n == 0:
            return self.tr("Delete the label class “{name}”? No annotation uses it.").format(name=lc.name)
        return self.tr("Delete the label class “{name}” and its {n} annotation(s) in this project? "
                       "You can undo this with Ctrl+Z.").format(name=lc.name, n=n)

    def ask_delete(self) -> None:
        """Confirm (naming the number of annotations), then emit deleteRequested (undo restores them)."""
        lc = self.current_class()
        if lc is None:
            return
        answer = QMessageBox.question(self, self.tr("Delete label class"), self.delete_question(lc))
        if answer == QMessageBox.StandardButton.Yes:
            self.deleteRequested.emit(lc.id)

    def context_menu(self, row: int) -> QMenu:
        """The menu of a row (built, not shown): rename, colour, flags and attributes, visibility, order,
        delete."""
        self.list.blockSignals(True)  # opening a menu is no choice of label (it would relabel the selection)
        self.list.setCurrentRow(row)
        self.list.blockSignals(False)
        lc = self._classes[row]
        menu = QMenu(self)
        menu.addAction(self.tr("Use this label"), lambda: self.labelChosen.emit(lc.id))
        menu.addAction(self.tr("Rename…"), self.ask_rename)
        menu.addAction(self.tr("Colour…"), self.ask_recolor)
        menu.addAction(self.tr("Flags and attributes…"), lambda: self.attributesRequested.emit(lc.id))
        menu.addSeparator()
        visible = lc.id not in self._hidden
        menu.addAction(self.tr("Hide its annotations") if visible else self.tr("Show its annotations"),
                       lambda: self.set_label_visible(lc.id, not visible))
        menu.addAction(self.tr("Show only this label"), lambda: self.show_only(lc.id))
        menu.addSeparator()
        menu.addAction(self.tr("Move up"), lambda: self._move(-1))
        menu.addAction(self.tr("Move down"), lambda: self._move(+1))
        menu.addSeparator()
        menu.addAction(self.tr("Delete…"), self.ask_delete)
        return menu

    def _context_menu(self, pos: QPoint) -> None:
        row = self.list.indexAt(pos).row()
        if 0 <= row < len(self._classes):
            self.context_menu(row).exec(self.list.viewport().mapToGlobal(pos))

    def _move(self, delta: int) -> None:
        lc = self.current_class()
        if lc is None:
            return
        new = lc.order + delta
        if 0 <= new < len(self._classes):
            self.moveRequested.emit(lc.id, new)

    def _row_changed(self, row: int) -> None:
        if 0 <= row < len(self._classes):
            self.labelChosen.emit(self._classes[row].id)
