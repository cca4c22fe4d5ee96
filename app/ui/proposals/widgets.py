"""Widgets shared by the proposal panels (text prompt, segment everything): a 0..1 threshold
slider and the checkable proposals list."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QSlider, QWidget

from app.ui.i18n import mark_data

SLIDER_STEPS = 100


@dataclass(frozen=True)
class ProposalRow:
    """One row of the proposals list: its text, colour, and whether it is checked (to be accepted)."""

    text: str
    color: str
    checked: bool = True


def swatch(color: str) -> QIcon:
    """A 12 px square of ``color``."""
    pm = QPixmap(12, 12)
    pm.fill(QColor(color))
    return QIcon(pm)


class ThresholdSlider(QWidget):
    """A slider over [minimum, maximum] in ``steps`` steps with its value shown;
    ``valueChanged(float)`` while dragging. ``decimals``: digits shown (0 for whole numbers)."""

    valueChanged = Signal(float)

    def __init__(self, value: float, parent: QWidget | None = None, *, minimum: float = 0.0,
                 maximum: float = 1.0, steps: int = SLIDER_STEPS, decimals: int = 2) -> None:
        super().__init__(parent)
        self._min, self._max, self._steps, self._decimals = float(minimum), float(maximum), int(steps), decimals
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, self._steps)
        self.slider.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.label = QLabel(self)
        self.label.setMinimumWidth(40)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.label)
        self.slider.valueChanged.connect(self._changed)
        self.set_value(value)

    def value(self) -> float:
        """The slider's value."""
        return self._min + (self._max - self._min) * self.slider.value() / self._steps

    def set_value(self, value: float) -> None:
        """Move the slider (emits valueChanged when it changes)."""
        span = (self._max - self._min) or 1.0
        self.slider.setValue(int(round((float(value) - self._min) / span * self._steps)))
        self._show()

    def set_maximum(self, maximum: float) -> None:
        """Change the top of the range (the value is clamped to it; no signal)."""
        value = min(self.value(), float(maximum))
        self._max = float(maximum)
        self.slider.blockSignals(True)
        try:
            self.set_value(value)
        finally:
            self.slider.blockSignals(False)

    def _show(self) -> None:
        self.label.setText(f"{self.value():.{self._decimals}f}")

    def _changed(self, _v: int) -> None:
        self._show()
        self.valueChanged.emit(self.value())


class ProposalList(QListWidget):
    """Checkable proposal rows; ``checkedChanged(row, checked)`` when the person ticks one."""

    checkedChanged = Signal(int, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        mark_data(self)  # phrases, labels and scores
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self._filling = False
        self.itemChanged.connect(self._item_changed)

    def set_rows(self, rows: Sequence[ProposalRow], current: int = -1) -> None:
        """Fill the list (checkable rows); ``current`` selected."""
        self._filling = True
        try:
            self.clear()
            for r in rows:
                item = QListWidgetItem(swatch(r.color), r.text)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if r.checked else Qt.CheckState.Unchecked)
                self.addItem(item)
            if 0 <= current < len(rows):
                self.setCurrentRow(current)
        finally:
            self._filling = False

    def _item_changed(self, item: QListWidgetItem) -> None:
        if not self._filling:
            self.checkedChanged.emit(self.row(item), item.checkState() == Qt.CheckState.Checked)
