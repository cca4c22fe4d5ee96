"""Automation > Auto-label images…: run an automation (segment everything, boxes to masks, text
prompts, a plugin's) over the whole project or the selected images, with a progress bar, ETA and
Cancel. The run is an app.services.batch_jobs.BatchAutolabelJob (its own thread; the images are
stored in the GUI thread as they arrive, outside the undo stack, like an import); the model is the
inference service's. Labelled images carry the "to review" mark (app.automation.review).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QVBoxLayout, QWidget)

from app.automation.api import Automation
from app.automation.batch import BatchPlan, BatchProgress, BatchSummary, ModelSpec, plan_batch
from app.automation.store import DEFAULT_LABEL
from app.core.project import Project
from app.services.batch_jobs import BatchAutolabelJob
from app.ui.dialogs.export_dialog import OptionsForm
from app.ui.i18n import mark_data

translate = QCoreApplication.translate

KNOWN_TEXTS = (  # the built-in automations' titles, option titles and help, shown translated
    QT_TRANSLATE_NOOP("BatchDialog", "Segment everything"),
    QT_TRANSLATE_NOOP("BatchDialog", "Boxes to masks"),
    QT_TRANSLATE_NOOP("BatchDialog", "Text prompt (Grounded-SAM)"),
    QT_TRANSLATE_NOOP("BatchDialog", "Points per side"),
    QT_TRANSLATE_NOOP("BatchDialog", "a grid of N x N point prompts over the image (more finds smaller objects, slower)"),
    QT_TRANSLATE_NOOP("BatchDialog", "Predicted IoU threshold"),
    QT_TRANSLATE_NOOP("BatchDialog", "keep masks whose predicted IoU is above this (0 keeps all)"),
    QT_TRANSLATE_NOOP("BatchDialog", "Stability threshold"),
    QT_TRANSLATE_NOOP("BatchDialog", "keep masks whose stability score is at least this (0 keeps all)"),
    QT_TRANSLATE_NOOP("BatchDialog", "Overlap (NMS) threshold"),
    QT_TRANSLATE_NOOP("BatchDialog", "drop a mask whose box overlaps a better one by more than this IoU"),
    QT_TRANSLATE_NOOP("BatchDialog", "Crop layers"),
    QT_TRANSLATE_NOOP("BatchDialog", "also run on 2x2, 4x4... overlapping crops (finds small objects; each layer "
                                     "costs more encodes)"),
    QT_TRANSLATE_NOOP("BatchDialog", "Minimum region area"),
    QT_TRANSLATE_NOOP("BatchDialog", "remove holes and islands smaller than this many pixels (0 keeps them)"),
    QT_TRANSLATE_NOOP("BatchDialog", "Best of three candidates"),
    QT_TRANSLATE_NOOP("BatchDialog", "take the best of SAM's three candidates instead of its single answer for a box"),
    QT_TRANSLATE_NOOP("BatchDialog", "Text prompt"),
    QT_TRANSLATE_NOOP("BatchDialog", 'phrases separated by "." ("cat. dog. traffic light")'),
    QT_TRANSLATE_NOOP("BatchDialog", "Box threshold"),
    QT_TRANSLATE_NOOP("BatchDialog", "keep boxes whose detector score is above this (Grounding DINO's default 0.35)"),
    QT_TRANSLATE_NOOP("BatchDialog", "Text threshold"),
    QT_TRANSLATE_NOOP("BatchDialog", "keep boxes whose phrase score is above this (Grounding DINO's default 0.25)"),
    QT_TRANSLATE_NOOP("BatchDialog", "Detector"),
    QT_TRANSLATE_NOOP("BatchDialog", "detector model id (sam-labeler models list) or a save_pretrained folder"),
)


def _tr(text: str) -> str:
    """A built-in automation's text translated (a plugin's own text as it is)."""
    return translate("BatchDialog", text) if text in KNOWN_TEXTS else text


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    if s < 60:
        return translate("BatchDialog", "{s} s").format(s=s)
    if s < 3600:
        return translate("BatchDialog", "{m} min {s} s").format(m=s // 60, s=s % 60)
    return translate("BatchDialog", "{h} h {m} min").format(h=s // 3600, m=s % 3600 // 60)


class BatchDialog(QDialog):
    """The batch auto-label dialog; ``jobStarted(job)`` lets the window refresh as images are stored."""

    jobStarted = Signal(object)

    def __init__(self, project: Project, automations: Sequence[Automation], model: ModelSpec,
                 selected_ids: Sequence[int] = (), parent: QWidget | None = None,
                 make_job: Callable[[Project, BatchPlan, ModelSpec], BatchAutolabelJob] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("BatchDialog")
        self.setWindowTitle(self.tr("Auto-label images"))
        self.project, self.model = project, model
        self._automations = [a for a in automations if a.scope == "images"]
        self._selected = list(selected_ids)
        self._make_job = make_job if make_job is not None else (lambda p, plan, m: BatchAutolabelJob(p, plan, m))
        self.job: BatchAutolabelJob | None = None
        self.summary: BatchSummary | None = None
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.mode_box = QComboBox(self)
        for auto in self._automations:
            self.mode_box.addItem(_tr(auto.title), auto.id)
        form.addRow(self.tr("Automation"), self.mode_box)
        self.scope_box = QComboBox(self)
        self.scope_box.addItem(self.tr("Whole project"), "all")
        self.scope_box.addItem(self.tr("Selected images ({n})").format(n=len(self._selected)), "selected")
        if not self._selected:
            self.scope_box.model().item(1).setEnabled(False)  # type: ignore[attr-defined]
        form.addRow(self.tr("Images"), self.scope_box)
        self.glob_edit = QLineEdit(self)
        self.glob_edit.setPlaceholderText(self.tr("all (or a pattern such as *.jpg)"))
        form.addRow(self.tr("Only files matching"), self.glob_edit)
        self.label_edit = QLineEdit(DEFAULT_LABEL, self)
        mark_data(self.label_edit)  # a label name
        form.addRow(self.tr("Label for proposals without one"), self.label_edit)
        score_row = QHBoxLayout()
        self.min_score_box = QCheckBox(self.tr("Only proposals scoring at least"), self)
        self.min_score_spin = QDoubleSpinBox(self)
        self.min_score_spin.setRange(0.0, 1.0)
        self.min_score_spin.setDecimals(2)
        self.min_score_spin.setSingleStep(0.05)
        self.min_score_spin.setValue(0.8)
        score_row.addWidget(self.min_score_box)
        score_row.addWidget(self.min_score_spin)
        form.addRow(score_row)
        self.redo_box = QCheckBox(self.tr("Label again the images this automation already labelled"), self)
        form.addRow(self.redo_box)
        lay.addLayout(form)
        self.options = OptionsForm()
        lay.addLayout(self.options)
        self.model_label = QLabel(self.tr("Model: {model} on {device}").format(model=model.name, device=model.device),
                                  self)
        lay.addWidget(self.model_label)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        lay.addWidget(self.progress)
        self.status_label = QLabel(self.tr("Ready."), self)
        self.status_label.setWordWrap(True)
        lay.addWidget(self.status_label)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.start_button = QPushButton(self.tr("Start"), self)
        self.cancel_button = QPushButton(self.tr("Close"), self)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        lay.addLayout(buttons)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self._cancel_or_close)
        self.mode_box.currentIndexChanged.connect(self._mode_changed)
        self._mode_changed()
        self.resize(520, self.sizeHint().height())

    # ------------------------------------------------------------------ state
    def automation(self) -> Automation | None:
        """The chosen automation."""
        i = self.mode_box.currentIndex()
        return self._automations[i] if 0 <= i < len(self._automations) else None

    def _mode_changed(self, _i: int = 0) -> None:
        auto = self.automation()
        self.options.set_options(auto.options if auto is not None else ())
        for opt in auto.options if auto is not None else ():
            widget = self.options._widgets[opt.name][1]
            widget.setToolTip(_tr(opt.help))
            label = self.options.labelForField(widget)
            if isinstance(label, QLabel):
                label.setText(_tr(opt.title))

    def plan(self) -> BatchPlan:
        """The plan of the current choices (ValueError, one sentence, for bad settings)."""
        auto = self.automation()
        if auto is None:
            raise ValueError(self.tr("No automation can label images."))
        ids = self._selected if self.scope_box.currentData() == "selected" else None
        return plan_batch(self.project, auto.id, self.options.values(), self.model,
                          images=self.glob_edit.text().strip() or None, image_ids=ids,
                          redo=self.redo_box.isChecked(),
                          min_score=self.min_score_spin.value() if self.min_score_box.isChecked() else None,
                          default_label=self.label_edit.text().strip() or DEFAULT_LABEL)

    def start(self) -> BatchAutolabelJob | None:
        """Plan and start the run; None (with the reason shown) when there is nothing to do."""
        if self.job is not None and self.job.is_running():
            return None
        try:
            plan = self.plan()
        except ValueError as exc:
            self.status_label.setText(self.tr("Cannot start: {reason}").format(reason=exc))
            return None
        if not plan.todo:
            self.status_label.setText(self.tr("Nothing to do: the {n} chosen images are already labelled with these "
                                              "settings.").format(n=plan.selected) if plan.selected
                                      else self.tr("No image matches this choice."))
            return None
        job = self._make_job(self.project, plan, self.model)
        job.progressed.connect(self._progressed)
        workers = job.worker_processes
        where = self.tr("Model: {model} on {device}").format(model=self.model.name, device=self.model.device)
        if workers:
            where += self.tr(" · {n} worker processes (one image each)").format(n=workers)
        self.model_label.setText(where)
        labelling = (self.tr("Labelling with {n} worker processes…").format(n=workers) if workers
                     else self.tr("Labelling…"))
        job.started.connect(lambda: self.status_label.setText(labelling))
        job.finished.connect(self._finished)
        job.failed.connect(self._failed)
        self.job = job
        self._set_running(True)
        self.status_label.setText(self.tr("Loading {model} in {n} worker processes…").format(model=self.model.name, n=workers)
                                  if workers else self.tr("Loading {model}…").format(model=self.model.name))
        self.progress.setRange(0, max(1, len(plan.todo)))
        self.progress.setValue(0)
        self.jobStarted.emit(job)
        job.start()
        return job

    def _set_running(self, running: bool) -> None:
        for w in (self.mode_box, self.scope_box, self.glob_edit, self.label_edit, self.min_score_box,
                  self.min_score_spin, self.redo_box, self.start_button):
            w.setEnabled(not running)
        for _opt, widget in self.options._widgets.values():
            widget.setEnabled(not running)
        self.cancel_button.setText(self.tr("Cancel") if running else self.tr("Close"))

    def _progressed(self, p: BatchProgress) -> None:
        self.progress.setRange(0, max(1, p.total))
        self.progress.setValue(p.done)
        if p.done == 0:
            return
        text = self.tr("Labelled {done} of {total} images, {stored} annotations").format(
            done=p.done, total=p.total, stored=p.stored)
        if p.failed:
            text += self.tr(", {n} failed").format(n=p.failed)
        if p.eta_s is not None and p.done < p.total:
            text += self.tr(" · about {eta} left").format(eta=_duration(p.eta_s))
        self.status_label.setText(text)

    def _finished(self, summary: BatchSummary) -> None:
        self.summary = summary
        self._set_running(False)
        head = (self.tr("Cancelled after {done} of {total} images.") if summary.cancelled
                else self.tr("Labelled {done} of {total} images.")).format(done=summary.labelled, total=summary.total)
        text = head + " " + self.tr("{n} annotations stored in {time}; the images are marked to review.").format(
            n=summary.annotations, time=_duration(summary.elapsed_s))
        if summary.failures:
            text += " " + self.tr("{n} image(s) failed: {first}").format(n=len(summary.failures),
                                                                       first=summary.failures[0])
        self.status_label.setText(text)

    def _failed(self, reason: str) -> None:
        self._set_running(False)
        self.status_label.setText(self.tr("Auto-labelling failed: {reason}").format(reason=reason))

    def _cancel_or_close(self) -> None:
        if self.job is not None and self.job.is_running():
            self.job.cancel()
            self.status_label.setText(self.tr("Cancelling…"))
            return
        self.accept()

    def reject(self) -> None:  # Esc / the window's close button: a run in progress is cancelled first
        if self.job is not None and self.job.is_running():
            self.job.cancel()
        super().reject()
