"""The "Segment everything" dock: run / cancel with progress, the review filters (area, predicted
IoU, stability, overlap with existing annotations), the label to give, the proposals list and the
accept buttons.

The panel holds no logic: it emits requests that the EverythingController serves and shows what
the controller gives it.
"""
from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDockWidget, QFormLayout, QHBoxLayout, QLabel,
                               QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from app.ui.dock_scroll import set_scrolling_widget
from app.ui.i18n import mark_data
from app.ui.proposals.widgets import ProposalList, ProposalRow, ThresholdSlider

AREA_STEPS = 200
DEFAULT_POINTS = 32  # the generator's points_per_side default
DEFAULT_OVERLAP = 0.5


class EverythingDock(QDockWidget):
    """Segment everything and review. Signals: runRequested(); cancelRequested();
    filtersChanged(); acceptRequested(only_checked); clearRequested(); reviewedRequested();
    currentChanged(row); checkedChanged(row, checked); allChecked(checked)."""

    runRequested = Signal()
    cancelRequested = Signal()
    filtersChanged = Signal()
    acceptRequested = Signal(bool)
    clearRequested = Signal()
    reviewedRequested = Signal()
    currentChanged = Signal(int)
    checkedChanged = Signal(int, bool)
    allChecked = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Segment everything"))
        self.setObjectName("EverythingDock")
        body = QWidget(self)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        run_row = QHBoxLayout()
        self.run_button = QPushButton(self.tr("Segment everything"), body)
        self.run_button.setToolTip(self.tr("Propose a mask for every object of the image (key G)"))
        self.cancel_button = QPushButton(self.tr("Cancel"), body)
        self.cancel_button.setToolTip(self.tr("Stop the run (Esc)"))
        run_row.addWidget(self.run_button, 1)
        run_row.addWidget(self.cancel_button)
        lay.addLayout(run_row)
        self.progress = QProgressBar(body)
        self.progress.setTextVisible(True)
        self.progress.setVisible(False)
        lay.addWidget(self.progress)
        self.status = QLabel(self.tr("Press G to segment everything in this image."), body)
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #a0a0a0;")
        lay.addWidget(self.status)
        self.error = QLabel(body)
        mark_data(self.error)  # errors of the automation and the engine are English sentences
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setStyleSheet("color: #ff7070;")
        self.error.setVisible(False)
        lay.addWidget(self.error)

        form = QFormLayout()
        self.points = QSpinBox(body)
        self.points.setRange(4, 128)
        self.points.setValue(DEFAULT_POINTS)
        self.points.setToolTip(self.tr("A grid of N x N point prompts: more finds smaller objects and takes longer"))
        form.addRow(self.tr("Points per side"), self.points)
        self.min_area = ThresholdSlider(0, body, maximum=1000, steps=AREA_STEPS, decimals=0)
        self.min_area.setToolTip(self.tr("Hide proposals smaller than this many pixels"))
        self.min_iou = ThresholdSlider(0.0, body)
        self.min_iou.setToolTip(self.tr("Hide proposals whose predicted IoU is below this"))
        self.min_stability = ThresholdSlider(0.0, body)
        self.min_stability.setToolTip(self.tr("Hide proposals whose stability score is below this"))
        form.addRow(self.tr("Minimum area"), self.min_area)
        form.addRow(self.tr("Predicted IoU"), self.min_iou)
        form.addRow(self.tr("Stability"), self.min_stability)
        self.suppress = QCheckBox(self.tr("Hide proposals overlapping annotations"), body)
        self.suppress.setChecked(True)
        self.suppress.setToolTip(self.tr("Hide a proposal whose IoU with an annotation, or whose share lying "
                                         "inside it, reaches the threshold"))
        self.overlap = ThresholdSlider(DEFAULT_OVERLAP, body)
        form.addRow(self.suppress)
        form.addRow(self.tr("Overlap"), self.overlap)
        self.label = QComboBox(body)
        mark_data(self.label)  # label class names (the first item is translated)
        self.label.setToolTip(self.tr("The label class the accepted proposals get"))
        form.addRow(self.tr("Label"), self.label)
        lay.addLayout(form)

        self.list = ProposalList(body)
        self.list.currentRowChanged.connect(self.currentChanged)
        self.list.checkedChanged.connect(self.checkedChanged)
        lay.addWidget(self.list, 1)
        checks = QHBoxLayout()
        self.check_all = QPushButton(self.tr("Check all"), body)
        self.check_none = QPushButton(self.tr("Check none"), body)
        self.reviewed_button = QPushButton(self.tr("Mark reviewed"), body)
        self.reviewed_button.setToolTip(self.tr("Clear this image's \"to review\" mark"))
        for b in (self.check_all, self.check_none, self.reviewed_button):
            checks.addWidget(b)
        lay.addLayout(checks)
        row = QHBoxLayout()
        self.accept_checked = QPushButton(self.tr("Accept checked"), body)
        self.accept_all = QPushButton(self.tr("Accept all"), body)
        self.clear_button = QPushButton(self.tr("Clear"), body)
        for b in (self.accept_checked, self.accept_all, self.clear_button):
            row.addWidget(b)
        lay.addLayout(row)
        set_scrolling_widget(self, body)

        self.run_button.clicked.connect(self.runRequested)
        self.cancel_button.clicked.connect(self.cancelRequested)
        for s in (self.min_area, self.min_iou, self.min_stability, self.overlap):
            s.valueChanged.connect(lambda _v: self.filtersChanged.emit())
        self.suppress.toggled.connect(self._suppress_toggled)
        self.accept_checked.clicked.connect(lambda: self.acceptRequested.emit(True))
        self.accept_all.clicked.connect(lambda: self.acceptRequested.emit(False))
        self.clear_button.clicked.connect(self.clearRequested)
        self.reviewed_button.clicked.connect(self.reviewedRequested)
        self.check_all.clicked.connect(lambda: self.allChecked.emit(True))
        self.check_none.clicked.connect(lambda: self.allChecked.emit(False))
        self.set_running(False)
        self.set_rows([])
        self.set_needs_review(False)

    # ------------------------------------------------------------------ display
    def _suppress_toggled(self, on: bool) -> None:
        self.overlap.setEnabled(on)
        self.filtersChanged.emit()

    def set_running(self, running: bool) -> None:
        """Show the progress bar and the Cancel button while a run goes on."""
        self.cancel_button.setEnabled(running)
        self.run_button.setEnabled(not running)
        self.progress.setVisible(running)
        if running:
            self.progress.setRange(0, 0)

    def set_progress(self, done: int, total: int) -> None:
        """Progress of the run (total < 0: unknown)."""
        if total <= 0:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))

    def set_status(self, text: str, error: bool = False) -> None:
        """One line under the run button (an error replaces it, in red, until the next status)."""
        self.error.setText(text if error else "")
        self.error.setVisible(error)
        self.status.setVisible(not error)
        if not error:
            self.status.setText(text)

    def set_area_range(self, largest: int) -> None:
        """Let the area slider reach ``largest`` pixels (keeps the value when it still fits)."""
        value = self.min_area.value()
        self.min_area.blockSignals(True)
        try:
            self.min_area.set_maximum(max(1, int(largest)))
            self.min_area.set_value(min(value, largest))
        finally:
            self.min_area.blockSignals(False)

    def set_labels(self, names: Sequence[str], current_name: str | None) -> None:
        """Fill the label choice: "current label" first, then the classes; keeps the choice."""
        chosen = self.label.currentData()
        self.label.blockSignals(True)
        try:
            self.label.clear()
            current = current_name if current_name is not None else self.tr("none")
            self.label.addItem(self.tr("Current label ({name})").format(name=current), None)
            for name in names:
                self.label.addItem(name, name)
            k = self.label.findData(chosen) if chosen is not None else 0
            self.label.setCurrentIndex(max(0, k))
        finally:
            self.label.blockSignals(False)

    def chosen_label(self) -> str | None:
        """The class name chosen for accepted proposals; None: the current label."""
        data = self.label.currentData()
        return str(data) if data is not None else None

    def set_rows(self, rows: Sequence[ProposalRow], current: int = -1) -> None:
        """Fill the proposals list."""
        self.list.set_rows(rows, current)
        has = bool(rows)
        for b in (self.accept_checked, self.accept_all, self.check_all, self.check_none):
            b.setEnabled(has)

    def set_has_answer(self, has: bool) -> None:
        """Clear is possible while there are proposals (even all filtered out)."""
        self.clear_button.setEnabled(has)

    def set_needs_review(self, needs: bool) -> None:
        """Enable "Mark reviewed" for an image that is to review."""
        self.reviewed_button.setEnabled(needs)

    def thresholds(self) -> tuple[float, float, float, float | None]:
        """(minimum area, minimum predicted IoU, minimum stability, overlap threshold or None)."""
        overlap = self.overlap.value() if self.suppress.isChecked() else None
        return self.min_area.value(), self.min_iou.value(), self.min_stability.value(), overlap

    def show_and_focus(self) -> None:
        """Show the dock (it takes no keyboard focus: the canvas keeps its keys)."""
        self.show()
        self.raise_()


__all__ = ["EverythingDock"]
