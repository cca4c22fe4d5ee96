"""The flags and attributes of a label class (its schema, app.core.attributes), edited as a table:
name, kind (flag / text / number / choice), options (choices, comma-separated) and default (a check
box, a text field, a number or one of the options). `edit()` gives one undoable edit or None."""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDialog, QDialogButtonBox,
                               QDoubleSpinBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton,
                               QTableWidget, QVBoxLayout, QWidget)

from app.core import attributes as at
from app.core import edits
from app.core.model import LabelClass
from app.services.tr_noop import QT_TRANSLATE_NOOP
from app.ui.i18n import mark_data

KIND_TEXT: dict[str, str] = {  # English sources, shown translated (context "AttributeSchemaDialog")
    "flag": QT_TRANSLATE_NOOP("AttributeSchemaDialog", "flag (yes/no)"),
    "text": QT_TRANSLATE_NOOP("AttributeSchemaDialog", "text"),
    "number": QT_TRANSLATE_NOOP("AttributeSchemaDialog", "number"),
    "choice": QT_TRANSLATE_NOOP("AttributeSchemaDialog", "choice"),
}
NAME, KIND, OPTIONS, DEFAULT = range(4)
NUMBER_RANGE = 1e12


class NumberBox(QDoubleSpinBox):
    """A spin box for numbers that writes 2 rather than 2.000000 (up to 6 decimals kept)."""

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt API
        return self.locale().toString(float(value), "f", self.decimals()).rstrip("0").rstrip(
            self.locale().decimalPoint()) or "0"


def number_box(parent: QWidget, value: float) -> QDoubleSpinBox:
    """A spin box for a number attribute (6 decimals, +-1e12)."""
    box = NumberBox(parent)
    box.setRange(-NUMBER_RANGE, NUMBER_RANGE)
    box.setDecimals(6)
    box.setValue(float(value))
    return box


def number_value(box: QDoubleSpinBox) -> int | float:
    """The spin box's value, an int when it is whole."""
    v = box.value()
    return int(v) if float(v).is_integer() else v


def split_options(text: str) -> tuple[str, ...]:
    """'a, b ,c' -> ('a', 'b', 'c') (empty pieces dropped)."""
    return tuple(p.strip() for p in text.split(",") if p.strip())


class AttributeSchemaDialog(QDialog):
    """Edit the schema of one label class; rows can be added, removed and moved."""

    def __init__(self, lc: LabelClass, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Flags and attributes of “{name}”").format(name=lc.name))
        self._lc = lc
        lay = QVBoxLayout(self)
        intro = QLabel(self.tr("Annotations of this class carry these values; new ones start with the "
                               "defaults. Flags are exported as LabelMe shape flags, the others as "
                               "attributes (X-AnyLabeling, COCO)."), self)
        intro.setWordWrap(True)
        intro.setObjectName("HintLabel")
        lay.addWidget(intro)
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels([self.tr("Name"), self.tr("Kind"), self.tr("Options"), self.tr("Default")])
        header = self.table.horizontalHeaderItem(OPTIONS)
        if header is not None:
            header.setToolTip(self.tr("The choices of a choice, separated by commas"))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(KIND, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        lay.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.add_button = QPushButton(self.tr("Add"), self)
        self.remove_button = QPushButton(self.tr("Remove"), self)
        self.up_button = QPushButton(self.tr("Move up"), self)
        self.down_button = QPushButton(self.tr("Move down"), self)
        for b in (self.add_button, self.remove_button, self.up_button, self.down_button):
            row.addWidget(b)
        row.addStretch(1)
        lay.addLayout(row)
        self.problem = QLabel(self)
        self.problem.setObjectName("ProblemLabel")
        self.problem.setWordWrap(True)
        mark_data(self.problem)  # the reason names the user's attributes (English from app.core)
        lay.addWidget(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        lay.addWidget(buttons)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.add_button.clicked.connect(lambda: self.add_row(at.spec(self._free_name(), "flag")))
        self.remove_button.clicked.connect(self.remove_current)
        self.up_button.clicked.connect(lambda: self.move_current(-1))
        self.down_button.clicked.connect(lambda: self.move_current(+1))
        for s in lc.attributes:
            self.add_row(s)
        self.resize(720, 360)

    # ------------------------------------------------------------------ rows
    def add_row(self, s: at.AttributeSpec) -> int:
        """Append a row showing ``s``; returns its index."""
        r = self.table.rowCount()
        self.table.insertRow(r)
        self._fill_row(r, s)
        self.table.setCurrentCell(r, NAME)
        return r

    def _fill_row(self, r: int, s: at.AttributeSpec) -> None:
        name = QLineEdit(s.name, self.table)
        mark_data(name)
        kind = QComboBox(self.table)
        for k in at.KINDS:
            kind.addItem(QCoreApplication.translate("AttributeSchemaDialog", KIND_TEXT[k]), k)
        kind.setCurrentIndex(at.KINDS.index(s.kind))
        options = QLineEdit(", ".join(s.options), self.table)
        mark_data(options)
        self._enable_options(options, s.kind == "choice")
        self.table.setCellWidget(r, NAME, name)
        self.table.setCellWidget(r, KIND, kind)
        self.table.setCellWidget(r, OPTIONS, options)
        self._set_default_widget(r, s.kind, s.default, s.options)
        kind.currentIndexChanged.connect(lambda _i, w=kind: self._kind_changed(w))
        options.editingFinished.connect(lambda w=options: self._options_changed(w))

    def _enable_options(self, options: QLineEdit, on: bool) -> None:
        options.setEnabled(on)
        options.setPlaceholderText(self.tr("e.g. red, green, blue") if on else "")

    def _row_of(self, widget: QWidget, column: int) -> int:
        for r in range(self.table.rowCount()):
            if self.table.cellWidget(r, column) is widget:
                return r
        return -1

    def _kind_changed(self, widget: QComboBox) -> None:
        r = self._row_of(widget, KIND)
        if r < 0:
            return
        kind = str(widget.currentData())
        options = self._options(r)
        self._enable_options(self._line(r, OPTIONS), kind == "choice")
        self._set_default_widget(r, kind, None, options)

    def _options_changed(self, widget: QLineEdit) -> None:
        r = self._row_of(widget, OPTIONS)
        if r >= 0 and self._kind(r) == "choice":
            current = self._default(r)
            self._set_default_widget(r, "choice", current, self._options(r))

    def _set_default_widget(self, r: int, kind: str, default: at.Value | None, options: tuple[str, ...]) -> None:
        w: QWidget
        if kind == "flag":
            box = QCheckBox(self.tr("on"), self.table)
            box.setChecked(bool(default))
            w = box
        elif kind == "number":
            w = number_box(self.table, float(default) if isinstance(default, (int, float)) else 0.0)
        elif kind == "choice":
            combo = QComboBox(self.table)
            mark_data(combo)
            combo.addItem(self.tr("(none)"), "")
            for o in options:
                combo.addItem(o, o)
            combo.setCurrentIndex(max(0, combo.findData(default if isinstance(default, str) else "")))
            w = combo
        else:
            line = QLineEdit(default if isinstance(default, str) else "", self.table)
            mark_data(line)
            w = line
        self.table.setCellWidget(r, DEFAULT, w)

    def _line(self, r: int, column: int) -> QLineEdit:
        w = self.table.cellWidget(r, column)
        assert isinstance(w, QLineEdit)
        return w

    def _kind(self, r: int) -> str:
        w = self.table.cellWidget(r, KIND)
        assert isinstance(w, QComboBox)
        return str(w.currentData())

    def _options(self, r: int) -> tuple[str, ...]:
        return split_options(self._line(r, OPTIONS).text())

    def _default(self, r: int) -> at.Value:
        w = self.table.cellWidget(r, DEFAULT)
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, QDoubleSpinBox):
            return number_value(w)
        if isinstance(w, QComboBox):
            return str(w.currentData() or "")
        assert isinstance(w, QLineEdit)
        return w.text()

    def _spec_of_row(self, r: int) -> at.AttributeSpec:
        kind = self._kind(r)
        return at.AttributeSpec(self._line(r, NAME).text().strip(), kind, self._default(r),
                                self._options(r) if kind == "choice" else ())

    def _free_name(self) -> str:
        used = {self._line(r, NAME).text().strip() for r in range(self.table.rowCount())}
        n = 1
        while self.tr("attribute {n}").format(n=n) in used:
            n += 1
        return self.tr("attribute {n}").format(n=n)

    def remove_current(self) -> None:
        """Remove the selected row (annotations keep their values)."""
        r = self.table.currentRow()
        if r >= 0:
            self.table.removeRow(r)

    def move_current(self, delta: int) -> None:
        """Move the selected row up (-1) or down (+1)."""
        r = self.table.currentRow()
        j = r + delta
        if r < 0 or not 0 <= j < self.table.rowCount():
            return
        a, b = self._spec_of_row(r), self._spec_of_row(j)
        self._fill_row(r, b)
        self._fill_row(j, a)
        self.table.setCurrentCell(j, NAME)

    # ------------------------------------------------------------------ result
    def schema(self) -> tuple[at.AttributeSpec, ...]:
        """The schema as entered; ValueError (one sentence) when it is not valid."""
        return at.check_schema([self._spec_of_row(r) for r in range(self.table.rowCount())])

    def accept(self) -> None:
        """Close only with a valid schema (else the reason is shown)."""
        try:
            self.schema()
        except ValueError as exc:
            self.problem.setText(str(exc))
            return
        super().accept()

    def edit(self) -> edits.Edit | None:
        """The undoable edit of the schema (None when unchanged)."""
        new = self.schema()
        if new == self._lc.attributes:
            return None
        return edits.SetLabelAttributes(self._lc.id, new)


def focus_first(dialog: AttributeSchemaDialog) -> None:
    """Keyboard focus on the first name field (or the Add button when there is none)."""
    w = dialog.table.cellWidget(0, NAME) if dialog.table.rowCount() else dialog.add_button
    if w is not None:
        w.setFocus(Qt.FocusReason.OtherFocusReason)
