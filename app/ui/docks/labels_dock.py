"""Label classes dock: colour swatch, number key (1..9), name; add / rename / recolour / move / delete.

The dock never changes the project itself: it asks the user (input, colour and confirmation
dialogs) and emits request signals which the controller turns into undoable edits.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (QColorDialog, QDockWidget, QHBoxLayout, QInputDialog, QLabel, QListWidget,
                               QListWidgetItem, QMessageBox, QToolButton, QVBoxLayout, QWidget)

from app.core.model import LabelClass
from app.ui.i18n import mark_data


def swatch(color: str, size: int = 14) -> QIcon:
    """A square icon filled with `color` ("#rrggbb")."""
    pm = QPixmap(size, size)
    pm.fill(QColor(color))
    return QIcon(pm)


class LabelsDock(QDockWidget):
    """Label classes in display order; the current label is the selected row."""

    labelChosen = Signal(int)
    addRequested = Signal(str, str)
    renameRequested = Signal(int, str)
    recolorRequested = Signal(int, str)
    moveRequested = Signal(int, int)
    deleteRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Labels"), parent)
        self.setObjectName("LabelsDock")
        self._classes: list[LabelClass] = []
        body = QWidget(self)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        self.list = QListWidget(body)
        self.list.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        mark_data(self.list)  # the user's label names
        lay.addWidget(self.list, 1)
        self.hint = QLabel(self.tr("No label classes yet: press + to add one (the first accepted object "
                                   "otherwise gets the label “object”). Keys 1–9 choose a class."), body)
        self.hint.setWordWrap(True)
        self.hint.setObjectName("HintLabel")  # look: resources/styles/*.qss
        lay.addWidget(self.hint)
        row = QHBoxLayout()
        self.buttons: dict[str, QToolButton] = {}
        for key, text, tip in (("add", "+", self.tr("Add a label class")),
                               ("rename", self.tr("Rename"), self.tr("Rename the label class")),
                               ("color", self.tr("Colour"), self.tr("Change the colour")),
                               ("up", "▲", self.tr("Move up")), ("down", "▼", self.tr("Move down")),
                               ("delete", self.tr("Delete"), self.tr("Delete the label class"))):
            b = QToolButton(body)
            b.setText(text)
            b.setToolTip(tip)
            row.addWidget(b)
            self.buttons[key] = b
        row.addStretch(1)
        lay.addLayout(row)
        self.setWidget(body)
        self.list.currentRowChanged.connect(self._row_changed)
        self.list.itemDoubleClicked.connect(lambda _it: self.ask_rename())
        self.buttons["add"].clicked.connect(self.ask_add)
        self.buttons["rename"].clicked.connect(self.ask_rename)
        self.buttons["color"].clicked.connect(self.ask_recolor)
        self.buttons["up"].clicked.connect(lambda: self._move(-1))
        self.buttons["down"].clicked.connect(lambda: self._move(+1))
        self.buttons["delete"].clicked.connect(self.ask_delete)

    def set_classes(self, classes: list[LabelClass], current_id: int | None) -> None:
        """Show `classes` (by order); select `current_id` without emitting labelChosen."""
        self._classes = list(classes)
        self.list.blockSignals(True)
        self.list.clear()
        for k, lc in enumerate(self._classes):
            key = f"{k + 1}  " if k < 9 else "    "
            it = QListWidgetItem(swatch(lc.color), f"{key}{lc.name}")
            it.setData(Qt.ItemDataRole.UserRole, lc.id)
            it.setToolTip(f"{lc.name} ({lc.color})" + (self.tr(" — key {n}").format(n=k + 1) if k < 9 else ""))
            self.list.addItem(it)
        self.select(current_id)
        self.list.blockSignals(False)
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

    def ask_delete(self) -> None:
        """Confirm, then emit deleteRequested (its annotations go too; undo restores them)."""
        lc = self.current_class()
        if lc is None:
            return
        answer = QMessageBox.question(
            self, self.tr("Delete label class"),
            self.tr("Delete the label class “{name}” and all annotations with this label? "
                    "You can undo this with Ctrl+Z.").format(name=lc.name))
        if answer == QMessageBox.StandardButton.Yes:
            self.deleteRequested.emit(lc.id)

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
