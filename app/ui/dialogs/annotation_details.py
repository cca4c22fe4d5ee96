"""Annotation details: group id, description, the flags and attributes its label class names (its
schema, app.core.attributes: check boxes, text fields, spin boxes, choice boxes), and every other flag
and attribute it carries (never dropped: other flags are a checkable list, other attributes JSON
fields). LabelMe group_id / description / flags / attributes, COCO extra keys. The dialog edits a
copy; `edit()` gives one undoable edit or None."""
from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                               QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem,
                               QPushButton, QSpinBox, QVBoxLayout, QWidget)

from app.core import edits
from app.core.attributes import AttributeSpec
from app.core.model import Annotation
from app.ui.dialogs.attribute_schema import number_box, number_value
from app.ui.i18n import mark_data

NO_GROUP = -1  # the spin box's "none" value


def _fits(s: AttributeSpec, value: object) -> bool:
    """Whether the schema's widget for ``s`` can show ``value`` without changing it."""
    if s.kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= 1e12
    if s.kind in ("text", "choice"):
        return isinstance(value, str)
    return isinstance(value, bool)


class AnnotationDetailsDialog(QDialog):
    """Group id (none or >= 0), description (free text), the class's flags and attributes, other flags
    (name -> on/off; new names can be added) and other attributes (JSON values)."""

    def __init__(self, ann: Annotation, known_flags: list[str], parent: QWidget | None = None,
                 schema: tuple[AttributeSpec, ...] = ()) -> None:
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
        lay.addLayout(form)
        self.schema_widgets: dict[str, QWidget] = {}
        self._schema = tuple(s for s in schema if _fits(s, (ann.flags if s.is_flag else ann.attributes)
                                                         .get(s.name, s.default)))
        if self._schema:
            lay.addWidget(self._schema_box())
        named = {s.name for s in self._schema}
        self.flags = QListWidget(self)
        mark_data(self.flags)  # flag names are the user's
        schema_flags = {s.name for s in self._schema if s.is_flag}
        for name in sorted((set(known_flags) | set(ann.flags)) - schema_flags):
            self._add_flag(name, bool(ann.flags.get(name, False)))
        self.new_flag = QLineEdit(self)
        self.new_flag.setPlaceholderText(self.tr("New flag name"))
        add = QPushButton(self.tr("Add flag"), self)
        row = QHBoxLayout()
        row.addWidget(self.new_flag, 1)
        row.addWidget(add)
        other = QFormLayout()
        other.addRow(self.tr("Other flags") if self._schema else self.tr("Flags"), self.flags)
        other.addRow("", row)
        if self._schema and self.flags.count() == 0:
            self.flags.setMaximumHeight(60)  # room for a flag or two typed below, no empty expanse
        lay.addLayout(other)
        self.other_attributes: dict[str, QLineEdit] = {}
        others = [(name, value) for name, value in sorted(ann.attributes.items()) if name not in named]
        if others:
            box = QGroupBox(self.tr("Other attributes (JSON values)"), self)
            box_form = QFormLayout(box)
            for name, value in others:
                field = QLineEdit(json.dumps(value, ensure_ascii=False), box)
                field.setToolTip(self.tr("A JSON value (text in double quotes)"))
                mark_data(field)
                label = QLabel(name, box)
                mark_data(label)
                box_form.addRow(label, field)
                self.other_attributes[name] = field
            lay.addWidget(box)
        self.problem = QLabel(self)
        self.problem.setObjectName("ProblemLabel")
        lay.addWidget(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        lay.addWidget(buttons)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        add.clicked.connect(self._add_typed_flag)
        self.new_flag.returnPressed.connect(self._add_typed_flag)

    def _schema_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Flags and attributes of the label class"), self)
        form = QFormLayout(box)
        for s in self._schema:
            current = (self._ann.flags if s.is_flag else self._ann.attributes).get(s.name, s.default)
            w: QWidget
            if s.kind == "flag":
                check = QCheckBox(box)
                check.setChecked(bool(current))
                w = check
            elif s.kind == "number":
                w = number_box(box, float(current))  # type: ignore[arg-type]  # _fits: a number
            elif s.kind == "choice":
                combo = QComboBox(box)
                combo.addItem(self.tr("(none)"), "")
                for o in s.options:
                    combo.addItem(o, o)
                if current and combo.findData(current) < 0:  # a value from before the options changed: kept
                    combo.addItem(str(current), current)
                combo.setCurrentIndex(max(0, combo.findData(current)))
                mark_data(combo)
                w = combo
            else:
                line = QLineEdit(str(current), box)
                mark_data(line)
                w = line
            label = QLabel(s.name, box)
            mark_data(label)
            label.setBuddy(w)
            form.addRow(label, w)
            self.schema_widgets[s.name] = w
        return box

    def _add_flag(self, name: str, on: bool) -> None:
        it = QListWidgetItem(name)
        it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        it.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        self.flags.addItem(it)

    def _add_typed_flag(self) -> None:
        name = self.new_flag.text().strip()
        if name and name not in self.schema_widgets and not self.flags.findItems(name, Qt.MatchFlag.MatchExactly):
            self._add_flag(name, True)
        self.new_flag.clear()

    def _schema_value(self, s: AttributeSpec) -> object:
        w = self.schema_widgets[s.name]
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, QDoubleSpinBox):
            before = self._ann.attributes.get(s.name, s.default)
            # unchanged in the box: the stored value exactly (a float the box rounds to 6 decimals)
            return before if isinstance(before, (int, float)) and w.value() == round(float(before), 6) \
                else number_value(w)
        if isinstance(w, QComboBox):
            return w.currentData()
        assert isinstance(w, QLineEdit)
        return w.text()

    def values(self) -> tuple[int | None, str, dict[str, bool]]:
        """(group id or None, description, flags) as entered."""
        group = self.group.value()
        flags = {self.flags.item(k).text(): self.flags.item(k).checkState() == Qt.CheckState.Checked
                 for k in range(self.flags.count())}
        for s in self._schema:
            if s.is_flag:
                flags[s.name] = bool(self._schema_value(s))
        return (None if group == NO_GROUP else group), self.description.text(), flags

    def attribute_values(self) -> dict:
        """The attributes as entered; ValueError naming the first other attribute that is not JSON."""
        out: dict = {}
        for name, field in self.other_attributes.items():
            before = self._ann.attributes[name]
            if field.text() == json.dumps(before, ensure_ascii=False):
                out[name] = before  # untouched: exactly as it was
                continue
            try:
                out[name] = json.loads(field.text())
            except ValueError:
                raise ValueError(self.tr("“{name}” is not a JSON value (write text in double quotes).")
                                 .format(name=name)) from None
        for s in self._schema:
            if not s.is_flag:
                out[s.name] = self._schema_value(s)
        return out

    def accept(self) -> None:
        """Close only when every other attribute is a JSON value."""
        try:
            self.attribute_values()
        except ValueError as exc:
            self.problem.setText(str(exc))
            return
        super().accept()

    def edit(self) -> edits.Edit | None:
        """One undoable edit of what changed (None when nothing did)."""
        assert self._ann.id is not None
        group, description, flags = self.values()
        attributes = self.attribute_values()
        parts: list[edits.Edit] = []
        if group != self._ann.group_id:
            parts.append(edits.SetGroup(self._ann.id, group))
        changed_attrs = attributes != dict(self._ann.attributes)
        if description != self._ann.description or flags != dict(self._ann.flags) or changed_attrs:
            parts.append(edits.SetAnnotationInfo(self._ann.id, description=description, flags=flags,
                                                 attributes=attributes if changed_attrs else None))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else edits.CompoundEdit("Edit annotation details", parts)
