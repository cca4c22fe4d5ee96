"""Model manager: registry models with size / licence / install state, download with progress and
cancel, import of a local checkpoint file, device choice with the device self-check report, and the
speed mode (exact, or an opt-in fast encoder mode shown with its measured speed-up and mask IoU).

Downloads, imports and the device report run in background threads (app.ui.jobs.BackgroundJob); the
dialog only reads registry facts and cheap install states (no hashing) on the GUI thread. Loading a
model is the inference service's job: the dialog emits `useRequested(model_id, device, precision)`.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QFileDialog, QHBoxLayout, QHeaderView,
                               QLabel, QPlainTextEdit, QProgressBar, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from app.services.tr_noop import QT_TRANSLATE_NOOP
from app.ui.i18n import mark_data
from app.ui.dialogs.mode_choice import ModeChoice
from app.ui.jobs import BackgroundJob
from app.services.models import INSTALLED, MODELS, device_report_text, download, import_checkpoint, install_state

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")
translate = QCoreApplication.translate
STATE_TEXT = {"verified": QT_TRANSLATE_NOOP("ModelManagerDialog", "installed"),  # English sources
              "unverified": QT_TRANSLATE_NOOP("ModelManagerDialog", "present, not verified"),
              "missing": QT_TRANSLATE_NOOP("ModelManagerDialog", "not installed")}


def human_size(n: int) -> str:
    """Bytes as "40.7 MB" / "2.56 GB"."""
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def model_state(model_id: str) -> str:
    """Human install state of a model ("installed", "not installed", ...; partial downloads noted)."""
    try:
        st = install_state(model_id)
    except OSError as exc:
        return translate("ModelManagerDialog", "unknown ({reason})").format(reason=exc)
    text = translate("ModelManagerDialog", STATE_TEXT.get(st.status, st.status))
    if st.status == "missing" and st.partial_bytes:
        text += translate("ModelManagerDialog", " ({size} downloaded, resumable)").format(
            size=human_size(st.partial_bytes))
    return text


def _device_report_text(_progress: Callable[[int, int], None], _cancel: threading.Event) -> str:
    return device_report_text()


class ModelManagerDialog(QDialog):
    """Lists MODELS; `useRequested(model_id, device, precision)` asks the window to load one."""

    useRequested = Signal(str, str, str)

    def __init__(self, current_model: str, current_device: str, parent: QWidget | None = None,
                 current_precision: str = "fp32") -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Model manager"))
        self.resize(820, 560)
        self._ids = list(MODELS)
        self.job: BackgroundJob | None = None
        lay = QVBoxLayout(self)
        self.table = QTableWidget(len(self._ids), 5, self)
        self.table.setHorizontalHeaderLabels([self.tr("Model"), self.tr("Id"), self.tr("Size"), self.tr("Licence"),
                                              self.tr("State")])
        mark_data(self.table, columns=(0, 1, 2, 3))  # model names, ids, sizes and licences are data
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        lay.addWidget(self.table, 2)
        row = QHBoxLayout()
        self.download_button = QPushButton(self.tr("Download"), self)
        self.import_button = QPushButton(self.tr("Import file…"), self)
        self.cancel_button = QPushButton(self.tr("Cancel download"), self)
        self.cancel_button.setEnabled(False)
        self.use_button = QPushButton(self.tr("Use this model"), self)
        self.use_button.setDefault(True)
        for b in (self.download_button, self.import_button, self.cancel_button):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(QLabel(self.tr("Device:"), self))
        self.device_box = QComboBox(self)
        mark_data(self.device_box)  # device names (auto, cpu, cuda, mps) are values the CLI uses too
        self.device_box.addItems(list(DEVICES))
        if current_device and current_device not in DEVICES:
            self.device_box.addItem(current_device)
        self.device_box.setCurrentText(current_device or "auto")
        row.addWidget(self.device_box)
        row.addWidget(self.use_button)
        lay.addLayout(row)
        mode_row = QHBoxLayout()
        mode_row.addWidget(QLabel(self.tr("Speed mode:"), self))
        self.mode_box = ModeChoice(current_precision, self)
        mode_row.addWidget(self.mode_box)
        mode_row.addStretch(1)
        lay.addLayout(mode_row)
        self.progress = QProgressBar(self)
        policy = self.progress.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # its space stays: nothing moves when a download starts or ends
        self.progress.setSizePolicy(policy)
        self.progress.setVisible(False)
        lay.addWidget(self.progress)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # room for three lines of message (a failed download's reason), so the table above keeps its size
        self.status.setFixedHeight(3 * self.status.fontMetrics().lineSpacing() + 4)
        self.status.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        lay.addWidget(self.status)
        self.report = QPlainTextEdit(self)
        self.report.setReadOnly(True)
        mark_data(self.report)  # the device report is the self-check's text (English, like the CLI)
        self.report.setPlaceholderText(self.tr("Checking devices…"))
        lay.addWidget(self.report, 1)
        self._installed: dict[str, bool] = {}
        self.refresh()
        self.table.resizeColumnsToContents()  # once: later refreshes keep the layout (no jumps)
        self.table.currentCellChanged.connect(lambda *_: self._update_use_button())
        self.table.currentCellChanged.connect(lambda *_: self._show_modes())
        self.device_box.currentTextChanged.connect(lambda _t: self._show_modes())
        if current_model in self._ids:
            self.table.selectRow(self._ids.index(current_model))
        self._update_use_button()
        self._show_modes()
        self.download_button.clicked.connect(self.download_selected)
        self.import_button.clicked.connect(self.import_selected)
        self.cancel_button.clicked.connect(self.cancel_job)
        self.use_button.clicked.connect(self._use)
        self._report_job = BackgroundJob(_device_report_text, self.tr("Device check"), self, show_dialog=False)
        self._report_job.succeeded.connect(lambda text: self.report.setPlainText(str(text)))
        self._report_job.failed.connect(
            lambda msg: self.report.setPlainText(self.tr("Device check failed: {reason}").format(reason=msg)))
        self._report_job.start()

    def refresh(self) -> None:
        """Re-read install states into the table (column widths are kept)."""
        for r, model_id in enumerate(self._ids):
            spec = MODELS[model_id]
            cells = (spec.title, spec.id, human_size(spec.size_bytes), spec.licence, model_state(model_id))
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                if c == 4:
                    item.setToolTip(text)
                self.table.setItem(r, c, item)
            try:
                self._installed[model_id] = install_state(model_id).status in INSTALLED
            except (KeyError, ValueError, OSError):
                self._installed[model_id] = False
        self._update_use_button()

    def _update_use_button(self) -> None:
        """"Use this model" only for an installed model; otherwise the button says what to do."""
        model_id = self.selected_model()
        ok = model_id is not None and self._installed.get(model_id, False)
        self.use_button.setEnabled(ok)
        self.use_button.setToolTip("" if ok else self.tr("Download or import this model first."))

    def selected_model(self) -> str | None:
        """Id of the selected row."""
        r = self.table.currentRow()
        return self._ids[r] if 0 <= r < len(self._ids) else None

    def state_text(self, model_id: str) -> str:
        """The State column of a model."""
        item = self.table.item(self._ids.index(model_id), 4)
        return "" if item is None else item.text()

    def download_selected(self) -> None:
        """Download the selected model in the background (progress bar; Cancel keeps the part file)."""
        model_id = self.selected_model()
        if model_id is None or self._busy():
            return

        def work(progress: Callable[[int, int], None], cancel: threading.Event) -> Path:
            return download(model_id, progress=progress, cancel=cancel)

        self._start(BackgroundJob(work, self.tr("Downloading {model}").format(model=model_id), self, show_dialog=False),
                    self.tr("Downloading {model}…").format(model=MODELS[model_id].title))

    def import_selected(self, file: str | None = None) -> None:
        """Import a local checkpoint file for the selected model (verified, then copied into the cache)."""
        model_id = self.selected_model()
        if model_id is None or self._busy():
            return
        if not file:
            file, _ = QFileDialog.getOpenFileName(self, self.tr("Checkpoint for {model}").format(model=model_id),
                                                  str(Path.home()), self.tr("Checkpoints (*.pth *.pt);;All files (*)"))
        if not file:
            return
        src = str(file)

        def work(progress: Callable[[int, int], None], _cancel: threading.Event) -> Path:
            return import_checkpoint(model_id, src, progress=progress)

        self._start(BackgroundJob(work, self.tr("Importing {model}").format(model=model_id), self, show_dialog=False),
                    self.tr("Verifying and importing {file}…").format(file=Path(src).name))

    def jobs(self) -> list[BackgroundJob]:
        """The background jobs this dialog started (for joining at shutdown)."""
        return [j for j in (self.job, self._report_job) if j is not None] + self.mode_box.jobs()

    def _show_modes(self) -> None:
        self.mode_box.show_modes_of(self.selected_model(), self.device_box.currentText())

    def cancel_job(self) -> None:
        """Cancel the running download."""
        if self.job is not None:
            self.job.cancel()

    def _busy(self) -> bool:
        if self.job is not None and self.job.is_running():
            self.status.setText(self.tr("Another download or import is running; wait for it or cancel it."))
            return True
        return False

    def _start(self, job: BackgroundJob, text: str) -> None:
        self.job = job
        self.status.setText(text)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.cancel_button.setEnabled(True)
        job.progressed.connect(self._on_progress)
        job.succeeded.connect(lambda path: self._finished(self.tr("Installed {path}.").format(path=path)))
        job.failed.connect(lambda msg: self._finished(msg))
        job.cancelled.connect(lambda: self._finished(self.tr("Cancelled; a later download resumes where it stopped.")))
        job.start()

    def _on_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * done / total))
            self.progress.setFormat(self.tr("{done} of {total}").format(done=human_size(done), total=human_size(total)))
        else:
            self.progress.setRange(0, 0)

    def _finished(self, text: str) -> None:
        self.status.setText(text)
        self.progress.setVisible(False)
        self.cancel_button.setEnabled(False)
        self.refresh()

    def _use(self) -> None:
        model_id = self.selected_model()
        if model_id is not None and self._installed.get(model_id, False):
            self.useRequested.emit(model_id, self.device_box.currentText(), self.mode_box.precision())
            self.accept()

