"""The text prompt dock: phrases, detector, the two thresholds, the proposals list and accept buttons.

The panel holds no logic: it emits requests (run, thresholds changed, accept, ...) that the
TextPromptController serves, and shows what the controller gives it.
"""
from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (QComboBox, QDockWidget, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QToolButton, QVBoxLayout, QWidget)

from app.ui.dock_scroll import set_scrolling_widget
from app.ui.i18n import mark_data
from app.services.models import DEFAULT_DETECTOR, DETECTOR_IDS
from app.ui.proposals.widgets import ProposalList, ProposalRow, ThresholdSlider

class PromptEdit(QLineEdit):
    """The phrase field: Return/Enter run the prompt here instead of triggering the window's
    "accept candidate" shortcut (a line edit claims only printable keys by itself)."""

    def event(self, event: QEvent) -> bool:  # noqa: D102 - Qt API
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) and \
                event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()
            return True
        return super().event(event)


class TextPromptDock(QDockWidget):
    """Text prompts (Grounded-SAM). Signals: runRequested(prompt, detector); thresholdsChanged(box,
    text); acceptRequested(only_checked); clearRequested(); currentChanged(row); checkedChanged(row,
    checked); cycleRequested(row)."""

    runRequested = Signal(str, str)
    thresholdsChanged = Signal(float, float)
    acceptRequested = Signal(bool)
    clearRequested = Signal()
    currentChanged = Signal(int)
    checkedChanged = Signal(int, bool)
    cycleRequested = Signal(int)

    def __init__(self, box_threshold: float, text_threshold: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Text prompt"))
        self.setObjectName("TextPromptDock")
        body = QWidget(self)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        self.notice = QLabel(body)
        mark_data(self.notice)  # the family's sentence (sam_backend messages are English)
        self.notice.setWordWrap(True)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice.setStyleSheet("color: #e0b050;")
        self.notice.setVisible(False)
        lay.addWidget(self.notice)
        self.prompt = PromptEdit(body)
        self.prompt.setPlaceholderText(self.tr("cat. dog. traffic light"))
        self.prompt.setToolTip(self.tr("Phrases separated by '.'; Enter detects them"))
        self.prompt.returnPressed.connect(self._run)
        form = QFormLayout()
        form.addRow(self.tr("Phrases"), self.prompt)
        det_row = QHBoxLayout()
        self.detector = QComboBox(body)
        self.detector.setEditable(True)
        self.detector.addItems(list(DETECTOR_IDS))
        self.detector.setCurrentText(DEFAULT_DETECTOR)
        mark_data(self.detector)  # model ids and folders
        self.detector.setToolTip(self.tr("A detector id from the model manager, or a model folder (save_pretrained)"))
        self.browse = QToolButton(body)
        self.browse.setText("…")
        self.browse.setToolTip(self.tr("Choose a detector model folder"))
        self.browse.clicked.connect(self._browse)
        det_row.addWidget(self.detector, 1)
        det_row.addWidget(self.browse)
        form.addRow(self.tr("Detector"), det_row)
        self.box_threshold = ThresholdSlider(box_threshold, body)
        self.text_threshold = ThresholdSlider(text_threshold, body)
        self.box_threshold.setToolTip(self.tr("Keep boxes whose detector score is above this"))
        self.text_threshold.setToolTip(self.tr("Keep boxes whose phrase score is above this"))
        form.addRow(self.tr("Box threshold"), self.box_threshold)
        form.addRow(self.tr("Text threshold"), self.text_threshold)
        lay.addLayout(form)
        self.run_button = QPushButton(self.tr("Detect"), body)
        self.run_button.clicked.connect(self._run)
        lay.addWidget(self.run_button)
        self.status = QLabel(self.tr("Type phrases and press Enter."), body)
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #a0a0a0;")
        lay.addWidget(self.status)
        self.list = ProposalList(body)
        self.list.currentRowChanged.connect(self.currentChanged)
        self.list.checkedChanged.connect(self.checkedChanged)
        lay.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.cycle_button = QPushButton(self.tr("Next mask"), body)
        self.cycle_button.setToolTip(self.tr("Show the next of SAM's three candidates for the selected proposal"))
        self.cycle_button.clicked.connect(lambda: self.cycleRequested.emit(self.list.currentRow()))
        self.accept_checked = QPushButton(self.tr("Accept checked"), body)
        self.accept_all = QPushButton(self.tr("Accept all"), body)
        self.clear_button = QPushButton(self.tr("Clear"), body)
        self.accept_checked.clicked.connect(lambda: self.acceptRequested.emit(True))
        self.accept_all.clicked.connect(lambda: self.acceptRequested.emit(False))
        self.clear_button.clicked.connect(self.clearRequested)
        for b in (self.cycle_button, self.accept_checked, self.accept_all, self.clear_button):
            row.addWidget(b)
        lay.addLayout(row)
        set_scrolling_widget(self, body)
        self.box_threshold.valueChanged.connect(self._thresholds)
        self.text_threshold.valueChanged.connect(self._thresholds)
        self.set_rows([])

    # ------------------------------------------------------------------ requests
    def _run(self) -> None:
        self.runRequested.emit(self.prompt.text(), self.detector.currentText().strip())

    def _thresholds(self, _v: float) -> None:
        self.thresholdsChanged.emit(self.box_threshold.value(), self.text_threshold.value())

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Detector model folder"))
        if folder:
            self.detector.setCurrentText(folder)

    # ------------------------------------------------------------------ display
    def focus_prompt(self) -> None:
        """Show the dock and put the cursor in the phrase field (key T)."""
        self.show()
        self.raise_()
        self.prompt.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.prompt.selectAll()

    def set_unavailable(self, sentence: str | None) -> None:
        """Show how to enable text prompts (None: available) and disable the controls meanwhile."""
        self.notice.setText(sentence or "")
        self.notice.setVisible(bool(sentence))
        for w in (self.prompt, self.detector, self.browse, self.run_button, self.box_threshold, self.text_threshold):
            w.setEnabled(not sentence)

    def set_status(self, text: str, error: bool = False) -> None:
        """One line under the Detect button."""
        self.status.setText(text)
        self.status.setStyleSheet("color: #ff7070;" if error else "color: #a0a0a0;")

    def set_rows(self, rows: Sequence[ProposalRow], current: int = -1) -> None:
        """Fill the proposals list (checkable rows)."""
        self.list.set_rows(rows, current)
        has = bool(rows)
        for b in (self.cycle_button, self.accept_checked, self.accept_all, self.clear_button):
            b.setEnabled(has)
