"""Annotation details: group id, description and flags (LabelMe group_id / description / flags, kept by
the COCO export as extra keys). The dialog edits a copy; `edit()` gives one undoable edit or None."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLineEdit, QListWidget,
                               QListWidgetItem, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from app.core import edits
from app.core.model import Annotation
from app.ui.i18n import mark_data

NO_GROUP = -1  # the spin box's "none" value


class AnnotationDetailsDialog(QDialog):
    """Group id (none or >= 0), description (free text), flags (name -> on/off; new names can be added)."""

    def __init__(self, ann: Annotation, known_flags: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Annotation #{id}").format(id=ann.id))
        self._ann = ann
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.group = QSpinBox(self)
        self.group.setRange(NO_GROUP, 1_000_000)
        self.group.setSpecialValueText(self.tr("none"))
        self.group.setValue(ann.group_id if ann.group_id is not None else NO_GROUP)
        self.description = QLineEdit(ann.description, self)
        mark_data(self.description)
        form.addRow(self.tr("Group id"), self.group)
        form.addRow(self.tr("Description"), self.description)
        self.flags = QListWidget(self)
        mark_data(self.flags)  # flag names are the user's
        for name in sorted(set(known_flags) | set(ann.flags)):
            self._add_flag(name, bool(ann.flags.get(name, False)))
        self.new_flag = QLineEdit(self)
        self.new_flag.setPlaceholderText(self.tr("New flag name"))
        add = QPushButton(self.tr("Add flag"), self)
        row = QHBoxLayout()
        row.addWidget(self.new_flag, 1)
        row.addWidget(add)
        form.addRow(self.tr("Flags"), self.flags)
        form.addRow("", row)
        lay.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        lay.addWidget(buttons)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        add.clicked.connect(self._add_typed_flag)
        self.new_flag.returnPressed.connect(self._add_typed_flag)

    def _add_flag(self, name: str, on: bool) -> None:
        it = QListWidgetItem(name)
        it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        it.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        self.flags.addItem(it)

    def _add_typed_flag(self) -> None:
        name = self.new_flag.text().strip()
        if name and not self.flags.findItems(name, Qt.MatchFlag.MatchExactly):
            self._add_flag(name, True)
        self.new_flag.clear()

    def values(self) -> tuple[int | None, str, dict[str, bool]]:
        """(group id or None, description, flags) as entered."""
        group = self.group.value()
        flags = {self.flags.item(k).text(): self.flags.item(k).checkState() == Qt.CheckState.Checked
                 for k in range(self.flags.count())}
        return (None if group == NO_GROUP else group), self.description.text(), flags

    def edit(self) -> edits.Edit | None:
        """One undoable edit of what changed (None when nothing did)."""
        assert self._ann.id is not None
        group, description, flags = self.values()
        parts: list[edits.Edit] = []
        if group != self._ann.group_id:
            parts.append(edits.SetGroup(self._ann.id, group))
        if description != self._ann.description or flags != dict(self._ann.flags):
            parts.append(edits.SetAnnotationInfo(self._ann.id, description=description, flags=flags))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else edits.CompoundEdit("Edit annotation details", parts)
