"""Segment everything in the window: the current image -> a registered automation ("everything")
on the inference worker, with progress and Cancel (Esc) -> proposals drawn on the canvas -> reviewed
(filters, checks, clicks on the canvas, overlap suppression) -> accepted as ONE undoable edit.

The automation runs only in the inference worker (app.services.everything_jobs through
InferenceService.run_task); the answer carries each proposal's area, scores, outline and overlaps,
so moving a filter re-filters at once without running anything. Accepting converts the masks on
the ProposalConverter thread and pushes one edit: the annotations (source "auto", with their
scores) and, when the image was auto-labeled and not reviewed yet, its "reviewed" mark.
"""
from __future__ import annotations

import dataclasses
import threading
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QMouseEvent

from app.automation.api import Automation
from app.automation.review import mark_reviewed, needs_review
from app.core.options import OptionValue
from app.core.image_edits import SetImageExtra
from app.core.project_labels import PALETTE
from app.extensions.registry import get_automation
from app.services.automation_jobs import TaskResult
from app.services.everything_jobs import CHANNEL, EverythingAnswer, everything_job
from app.ui.controller import image_key
from app.ui.everything.panel import EverythingDock
from app.ui.proposals.accept import accept_edit
from app.ui.proposals.converter import ConvertedBatch, ProposalConverter, batch_of
from app.ui.proposals.overlay import DrawnProposal, ProposalsItem
from app.ui.proposals.widgets import ProposalRow

CLICK_TOOLS = ("point", "edit")  # tools whose clicks on a proposal check/uncheck it (drag and vertex tools draw)
AUTOMATION_ID = "everything"
DEFAULT_LABEL = "object"
# The run keeps more than the generator's defaults would (when the automation has these options);
# the review sliders start at the automation's defaults and can be lowered without another run.
PERMISSIVE: dict[str, OptionValue] = {"pred_iou_thresh": 0.5, "stability_score_thresh": 0.7}
SLIDER_OPTIONS = {"pred_iou_thresh": "min_iou", "stability_score_thresh": "min_stability"}


class EverythingController(QObject):
    """State of the segment-everything review for the current image (see the module doc).

    message(str): one sentence for the window's message area; proposalsShown(int): proposals now
    shown (after the filters); stored(int): annotations stored by an accept; finished(): a run
    ended (answer, error or cancel).
    """

    message = Signal(str)
    proposalsShown = Signal(int)
    stored = Signal(int)
    finished = Signal()

    def __init__(self, dock: EverythingDock, inference: Any, labeling: Any, undo: Any, canvas: Any,
                 parent: QObject | None = None, lookup: Callable[[str], Automation] = get_automation) -> None:
        super().__init__(parent)
        self.dock, self.inference, self.labeling, self.undo, self.canvas = dock, inference, labeling, undo, canvas
        self.lookup = lookup
        self.automation_id = AUTOMATION_ID
        self.extra_params: dict[str, OptionValue] = {}  # over PERMISSIVE and the dock's points per side
        self._sliders_set = False
        self.item = ProposalsItem()
        canvas.scene().addItem(self.item)
        self.converter = ProposalConverter(self, labeling.geometry)
        self.answer: EverythingAnswer | None = None
        self.answer_key: str | None = None
        self.visible: list[int] = []     # indices into answer.items, in list order
        self.unchecked: set[int] = set()
        self.accepted: set[int] = set()  # sent to the store: hidden, and they suppress what they overlap
        self.current = -1
        self._cancel: threading.Event | None = None
        self._run_key: str | None = None
        self._progress_text = ""
        self._batch_id = 0
        self._batches: dict[int, tuple[Any, list[int]]] = {}
        dock.runRequested.connect(self.run)
        dock.cancelRequested.connect(self.cancel)
        dock.filtersChanged.connect(self.refilter)
        dock.acceptRequested.connect(self.accept)
        dock.clearRequested.connect(self.clear)
        dock.reviewedRequested.connect(self.mark_reviewed)
        dock.currentChanged.connect(self._set_current)
        dock.checkedChanged.connect(self._set_checked_row)
        dock.allChecked.connect(self.set_all_checked)
        inference.taskFinished.connect(self._on_task)
        inference.progress.connect(self._on_progress)
        labeling.imageChanged.connect(self._on_image)
        labeling.annotationsChanged.connect(self._refresh_labels)
        labeling.labelChanged.connect(lambda _id: self._refresh_labels())
        self.converter.finished.connect(self._on_converted)
        canvas.viewport().installEventFilter(self)
        self._refresh_labels()

    # ------------------------------------------------------------------ run / cancel
    def running(self) -> bool:
        """True while a run is in flight."""
        return self._cancel is not None

    def run(self) -> bool:
        """Segment everything in the current image (in the worker); False with a message when it cannot."""
        rec = self.labeling.image
        self.dock.show_and_focus()
        if rec is None or self.labeling.project is None:
            self.dock.set_status(self.tr("Open an image first."), error=True)
            return False
        if not self.inference.has_model():
            self.dock.set_status(self.tr("No SAM model is loaded: open the model manager (Ctrl+M)."), error=True)
            return False
        try:
            automation = self.lookup(self.automation_id)
        except (KeyError, ValueError):
            self.dock.set_status(self.tr("The automation \"{id}\" is not installed.").format(id=self.automation_id),
                                 error=True)
            return False
        self.cancel(quiet=True)
        self.clear()
        labels = {lc.id: lc.name for lc in self.labeling.label_classes()}
        self._cancel = threading.Event()
        self._progress_text = self.tr("Segmenting everything")
        job = everything_job(automation, self.params_for(automation), self.labeling.annotations(), labels,
                             self._progress_text, self._cancel)
        self._run_key = image_key(rec)
        self.inference.run_task(CHANNEL, self._run_key, self.labeling.image_path(), job, image_id=rec.id)
        self.dock.set_running(True)
        self.dock.set_status(self.tr("Segmenting everything… (Esc cancels)"))
        return True

    def params_for(self, automation: Automation) -> dict[str, OptionValue]:
        """The parameters of a run: PERMISSIVE thresholds and the dock's points per side where the
        automation has those options, then ``extra_params``. The first time, the review sliders
        are set to the automation's own thresholds."""
        options = {o.name: o for o in automation.options}
        params: dict[str, OptionValue] = {k: v for k, v in PERMISSIVE.items() if k in options}
        if "points_per_side" in options:
            params["points_per_side"] = self.dock.points.value()
        params.update(self.extra_params)
        if not self._sliders_set:
            self._sliders_set = True
            for name, slider in SLIDER_OPTIONS.items():
                default = options[name].default if name in options else None
                if isinstance(default, (int, float)) and not isinstance(default, bool):
                    getattr(self.dock, slider).set_value(float(default))
        self.dock.points.setEnabled("points_per_side" in options)
        return params

    def cancel(self, quiet: bool = False) -> bool:
        """Stop the run in flight (the worker stops at its next check); False when none runs."""
        if self._cancel is None:
            return False
        self._cancel.set()
        self._cancel, self._run_key = None, None
        self.dock.set_running(False)
        if not quiet:
            self.dock.set_status(self.tr("Cancelled."))
            self.finished.emit()
        return True

    def _on_progress(self, text: str, done: int, total: int) -> None:
        if self._cancel is not None and text == self._progress_text:
            self.dock.set_progress(done, total)

    def _on_task(self, result: TaskResult) -> None:
        if result.channel != CHANNEL or result.image_key != self._run_key:
            return  # another feature's task, or a run cancelled / for an image left meanwhile
        self._cancel, self._run_key = None, None
        self.dock.set_running(False)
        if result.error is not None:
            self.dock.set_status(result.error, error=True)
            self.finished.emit()
            return
        answer = result.value
        assert isinstance(answer, EverythingAnswer)
        self.answer, self.answer_key = answer, result.image_key
        self.unchecked, self.accepted, self.current = set(), set(), -1
        self.dock.set_area_range(max((r.area for r in answer.items), default=1))
        self.dock.set_has_answer(True)
        self.refilter()
        self.finished.emit()

    # ------------------------------------------------------------------ filters and display
    def kept(self) -> list[int]:
        """Indices of the proposals passing the filters, not accepted and not suppressed."""
        if self.answer is None:
            return []
        min_area, min_iou, min_stab, overlap = self.dock.thresholds()
        accepted = sorted(self.accepted)
        out = []
        for i, r in enumerate(self.answer.items):
            if i in self.accepted or r.area < min_area:
                continue
            if r.predicted_iou is not None and r.predicted_iou < min_iou:
                continue
            if r.stability is not None and r.stability < min_stab:
                continue
            if overlap is not None and (self.answer.existing[i] >= overlap or
                                        (accepted and float(np.max(self.answer.pairs[i, accepted])) >= overlap)):
                continue
            out.append(i)
        return out

    def refilter(self) -> None:
        """Apply the filters to the answer at hand (no new run)."""
        self.visible = self.kept()
        self.current = min(self.current, len(self.visible) - 1)
        self._show()

    def _show(self) -> None:
        rows, drawn = [], []
        assert self.answer is not None or not self.visible
        for k, i in enumerate(self.visible):
            assert self.answer is not None
            r = self.answer.items[i]
            color = PALETTE[i % len(PALETTE)]
            checked = i not in self.unchecked
            iou = "–" if r.predicted_iou is None else f"{r.predicted_iou:.2f}"
            stab = "–" if r.stability is None else f"{r.stability:.2f}"
            rows.append(ProposalRow(f"#{i + 1} · {r.area} px · IoU {iou} · stab {stab}", color, checked))
            drawn.append(DrawnProposal(r.outlines, r.box, "", color, checked, show_box=False, fill=True))
        self.dock.set_rows(rows, self.current)
        self.item.set_proposals(drawn, self.current)
        if self.answer is not None:
            total = len(self.answer.items) - len(self.accepted)
            self.dock.set_status(self.tr("{shown} of {total} proposal(s) shown ({seconds:.1f} s). Click one on the "
                                         "image to check or uncheck it.").format(
                shown=len(self.visible), total=total, seconds=self.answer.seconds))
        self.proposalsShown.emit(len(self.visible))

    def _set_current(self, row: int) -> None:
        self.current = row
        self.item.set_current(row)

    def _set_checked_row(self, row: int, checked: bool) -> None:
        if 0 <= row < len(self.visible):
            self.set_checked(self.visible[row], checked)

    def set_checked(self, index: int, checked: bool) -> None:
        """Check (to accept) or uncheck proposal ``index`` (of answer.items)."""
        (self.unchecked.discard if checked else self.unchecked.add)(index)
        self._show()

    def set_all_checked(self, checked: bool) -> None:
        """Check or uncheck every proposal shown."""
        if checked:
            self.unchecked.difference_update(self.visible)
        else:
            self.unchecked.update(self.visible)
        self._show()

    def toggle_at(self, x: float, y: float) -> bool:
        """Check/uncheck the proposal under image point (x, y); False when there is none."""
        row = self.item.index_at(x, y)
        if row < 0:
            return False
        i = self.visible[row]
        self.current = row
        self.set_checked(i, i in self.unchecked)
        return True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        """With a click tool (CLICK_TOOLS), a plain left click on a shown proposal toggles it (the
        tool does not see that click); the box, scribble and polygon tools draw over proposals."""
        if event.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease) and self.visible \
                and isinstance(event, QMouseEvent) and event.button() == Qt.MouseButton.LeftButton \
                and event.modifiers() == Qt.KeyboardModifier.NoModifier and self.item.isVisible() \
                and self.canvas.tool() in CLICK_TOOLS:
            p = self.canvas.to_image(event.position())
            if self.item.index_at(p.x(), p.y()) >= 0:
                if event.type() == QEvent.Type.MouseButtonPress:
                    self.toggle_at(p.x(), p.y())
                return True
        return super().eventFilter(watched, event)

    def clear(self) -> None:
        """Forget the proposals (new image, new run, Clear)."""
        self.answer, self.answer_key, self.visible = None, None, []
        self.unchecked, self.accepted, self.current = set(), set(), -1
        self.item.set_proposals([])
        self.dock.set_rows([])
        self.dock.set_has_answer(False)
        self.proposalsShown.emit(0)

    def _on_image(self, rec: Any) -> None:
        self.cancel(quiet=True)
        self.clear()
        self.dock.set_status(self.tr("Press G to segment everything in this image."))
        self.dock.set_needs_review(rec is not None and needs_review(rec.extra))

    def _refresh_labels(self) -> None:
        classes = list(self.labeling.label_classes()) if self.labeling.project is not None else []
        current = next((lc.name for lc in classes if lc.id == self.labeling.label_id), None)
        self.dock.set_labels([lc.name for lc in classes], current)
        rec = self.labeling.image
        self.dock.set_needs_review(rec is not None and needs_review(rec.extra))

    # ------------------------------------------------------------------ accept
    def _label_name(self) -> str:
        chosen = self.dock.chosen_label()
        if chosen is not None:
            return chosen
        classes = self.labeling.label_classes()
        return next((lc.name for lc in classes if lc.id == self.labeling.label_id), DEFAULT_LABEL)

    def accept(self, only_checked: bool = False) -> int:
        """Store the shown proposals (all, or the checked ones) as one undo step; returns how many are sent."""
        rec, project = self.labeling.image, self.labeling.project
        if rec is None or project is None or self.answer is None or self.answer_key != image_key(rec):
            return 0
        if project.read_only:
            self.message.emit(self.tr("This project is open read-only; proposals cannot be stored."))
            return 0
        chosen = [i for i in self.visible if not only_checked or i not in self.unchecked]
        if not chosen:
            self.message.emit(self.tr("No proposal is checked."))
            return 0
        name = self._label_name()
        proposals = [dataclasses.replace(self.answer.items[i].proposal, label=name) for i in chosen]
        z_start = max([a.z for a in self.labeling.annotations()], default=0) + 1
        self._batch_id += 1
        self._batches[self._batch_id] = (project, chosen)
        self.converter.submit(batch_of(self._batch_id, rec.id, proposals, z_start, DEFAULT_LABEL,
                                       self.labeling.polygon_tolerance))
        self.accepted.update(chosen)
        self.current = -1
        self.refilter()
        self.dock.set_status(self.tr("Storing {n} annotation(s)…").format(n=len(proposals)))
        return len(proposals)

    def _on_converted(self, batch: ConvertedBatch) -> None:
        project, chosen = self._batches.pop(batch.batch_id, (None, []))
        if project is None or project is not self.labeling.project:
            return  # the project was closed meanwhile
        if batch.error is not None or not batch.items:
            self.message.emit(batch.error or self.tr("The accepted proposals have empty masks; nothing was stored."))
            self._give_back(batch.image_id, chosen)
            return
        n = len(batch.items)
        edit = accept_edit(project, batch.image_id, batch.items, f"Accept {n} proposal(s)")

        def push() -> None:
            if self.undo.push(edit):
                self.dock.set_status(self.tr("Stored {n} annotation(s) (one undo step).").format(n=n))
                self.stored.emit(n)
            else:
                self._give_back(batch.image_id, chosen)

        self.labeling.after_accepts(push)

    def _give_back(self, image_id: int, chosen: list[int]) -> None:
        """Show proposals again whose accept failed (still on the same image)."""
        rec = self.labeling.image
        if rec is not None and rec.id == image_id and self.answer is not None:
            self.accepted.difference_update(chosen)
            self.refilter()

    def mark_reviewed(self) -> bool:
        """Clear the current image's "to review" mark (one undo step); False when it has none."""
        rec, project = self.labeling.image, self.labeling.project
        if rec is None or project is None or project.read_only:
            return False
        extra = project.image(rec.id).extra
        if not needs_review(extra):
            return False
        if self.undo.push(SetImageExtra(rec.id, mark_reviewed(extra), text="Mark reviewed")):
            self.dock.set_needs_review(False)
            self.message.emit(self.tr("Image marked reviewed."))
            return True
        return False

    def shutdown(self) -> None:
        """Stop a run in flight and the converter thread (its queued batches are finished first)."""
        self.cancel(quiet=True)
        self.converter.shutdown()
