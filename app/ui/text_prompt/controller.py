"""Text prompts in the window: phrases -> detector + SAM on the inference worker -> proposals drawn on
the canvas -> accepted as ONE undoable edit.

The detector and SAM run only in the inference worker (app.services.text_jobs through
InferenceService.run_task); moving a threshold slider re-filters the answer already received at once
and asks the worker to decode only boxes it has not decoded yet. Accepting converts the masks on
the ProposalConverter thread and pushes one undo step (app.ui.proposals.accept: the annotations, and the
image's "reviewed" mark when it was auto-labeled and not reviewed yet) (after
any SAM accept still being converted, so the undo order is the order of the person's actions).
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from app.automation.text_prompt import TextResult
from app.core.model import LabelClass
from app.core.project_api import LabelingProject
from app.core.project_labels import PALETTE
from app.core.proposal_edits import match_label
from app.services.automation_jobs import TaskResult
from app.services.text_jobs import CHANNEL, TextAnswer, detect_job, refilter_job
from app.ui.controller import image_key
from app.services.models import text_support_problem
from app.ui.labeling import LabelingController
from app.ui.proposals.accept import accept_edit
from app.ui.proposals.converter import ConvertedBatch, ProposalConverter, batch_of
from app.ui.proposals.overlay import DrawnProposal, ProposalsItem
from app.ui.proposals.widgets import ProposalRow
from app.ui.text_prompt.panel import TextPromptDock

DEFAULT_LABEL = "object"


class TextPromptController(QObject):
    """State of the text prompt panel for the current image (see the module doc).

    message(str): one sentence for the window's message area.
    """

    message = Signal(str)
    proposalsShown = Signal(int)  # number of proposals now shown (tests, status)
    stored = Signal(int)          # number of annotations stored by an accept

    def __init__(self, dock: TextPromptDock, inference: Any, labeling: LabelingController, undo: Any, canvas: Any,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.dock, self.inference, self.labeling, self.undo = dock, inference, labeling, undo
        self.item = ProposalsItem()
        canvas.scene().addItem(self.item)
        self.converter = ProposalConverter(self, labeling.geometry)
        self.answer: TextAnswer | None = None
        self.answer_key: str | None = None
        self.results: list[TextResult] = []
        self.choice: dict[int, int] = {}
        self.unchecked: set[int] = set()
        self.current = -1
        self._batch_id = 0
        self._batches: dict[int, LabelingProject] = {}  # batch id -> the project it was accepted in
        dock.runRequested.connect(self.run)
        dock.thresholdsChanged.connect(self.set_thresholds)
        dock.acceptRequested.connect(self.accept)
        dock.clearRequested.connect(self.clear)
        dock.currentChanged.connect(self._set_current)
        dock.checkedChanged.connect(self._set_checked)
        dock.cycleRequested.connect(self.cycle_candidate)
        inference.taskFinished.connect(self._on_task)
        labeling.imageChanged.connect(lambda _rec: self.clear())
        self.converter.finished.connect(self._on_converted)
        dock.set_unavailable(text_support_problem())

    # ------------------------------------------------------------------ requests
    def thresholds(self) -> tuple[float, float]:
        """(box, text) thresholds of the sliders."""
        return self.dock.box_threshold.value(), self.dock.text_threshold.value()

    def run(self, prompt: str, detector: str) -> bool:
        """Detect ``prompt`` on the current image (in the worker); False with a message when it cannot."""
        problem = text_support_problem()
        self.dock.set_unavailable(problem)
        if problem is not None:
            return False
        rec = self.labeling.image
        if rec is None or self.labeling.project is None:
            self.dock.set_status(self.tr("Open an image first."), error=True)
            return False
        if not self.inference.has_model():
            self.dock.set_status(self.tr("No SAM model is loaded: open the model manager (Ctrl+M)."), error=True)
            return False
        box_t, text_t = self.thresholds()
        try:
            job = detect_job(prompt, detector, box_t, text_t)
        except ValueError as exc:
            self.dock.set_status(str(exc)[:1].upper() + str(exc)[1:], error=True)
            return False
        self.clear()
        self.inference.run_task(CHANNEL, image_key(rec), self.labeling.image_path(), job, image_id=rec.id)
        self.dock.set_status(self.tr("Detecting with {detector}…").format(detector=detector))
        return True

    def set_thresholds(self, box_threshold: float, text_threshold: float) -> None:
        """Re-filter the current answer at once; the worker decodes the boxes not decoded yet."""
        if self.answer is None:
            return
        missing = self._refilter(box_threshold, text_threshold)
        if missing and self.labeling.image is not None:
            self.inference.run_task(CHANNEL, self.answer_key or "", self.labeling.image_path(),
                                    refilter_job(self.answer.session, box_threshold, text_threshold),
                                    image_id=self.labeling.image.id)
            self.dock.set_status(self.tr("Decoding {n} more box(es) with SAM…").format(n=missing))

    def _refilter(self, box_threshold: float, text_threshold: float) -> int:
        """Show the kept boxes already decoded; returns how many kept boxes are not decoded yet."""
        assert self.answer is not None
        decoded = self.answer.session.decoded  # written by the worker; single-key reads only
        kept = self.answer.session.raw.select(box_threshold, text_threshold)
        results, missing = [], 0
        for d in kept:
            masks = decoded.get(d.index)
            if masks is None:
                missing += 1
            elif masks.best >= 0:
                results.append(TextResult(d, masks))
        self.results = results
        self.current = min(self.current, len(results) - 1)
        self._show()
        return missing

    def _on_task(self, result: TaskResult) -> None:
        if result.channel != CHANNEL:
            return
        rec = self.labeling.image
        if rec is None or result.image_key != image_key(rec):
            return
        if result.error is not None:
            self.dock.set_status(result.error, error=True)
            return
        answer = result.value
        assert isinstance(answer, TextAnswer)
        self.answer, self.answer_key = answer, result.image_key
        self.set_thresholds(*self.thresholds())  # the sliders may have moved meanwhile
        if self.answer is answer and not self.results:
            self.dock.set_status(self.tr("Nothing found above the thresholds; lower them or change the phrases."))

    # ------------------------------------------------------------------ display
    def _labels(self) -> list[LabelClass]:
        return list(self.labeling.label_classes())

    def _color(self, phrase_index: int, phrase: str, classes: list[LabelClass]) -> str:
        lc = match_label(phrase, classes)
        return lc.color if lc is not None else PALETTE[(phrase_index + 7) % len(PALETTE)]

    def _show(self) -> None:
        classes = self._labels()
        rows, drawn = [], []
        for r in self.results:
            d = r.detection
            k = self.choice.get(d.index, r.masks.best)
            color = self._color(d.phrase_index, d.phrase, classes)
            lc = match_label(d.phrase, classes)
            target = lc.name if lc is not None else f"{d.phrase} (new)"
            checked = d.index not in self.unchecked
            rows.append(ProposalRow(f"{target} · {d.score:.2f} · IoU {r.masks.scores[k]:.2f} · mask {k + 1}/3",
                                    color, checked))
            drawn.append(DrawnProposal(r.masks.outlines[k], d.box, f"{d.phrase} {d.score:.2f}", color, checked))
        self.dock.set_rows(rows, self.current)
        self.item.set_proposals(drawn, self.current)
        if self.results:
            phrases = sorted({r.detection.phrase for r in self.results})
            self.dock.set_status(self.tr("{n} proposal(s): {phrases}. Accept all or the checked ones.").format(
                n=len(self.results), phrases=", ".join(phrases)))
        self.proposalsShown.emit(len(self.results))

    def _set_current(self, row: int) -> None:
        self.current = row
        self.item.set_current(row)

    def _set_checked(self, row: int, checked: bool) -> None:
        if 0 <= row < len(self.results):
            index = self.results[row].detection.index
            (self.unchecked.discard if checked else self.unchecked.add)(index)
            self._show()

    def cycle_candidate(self, row: int) -> None:
        """Show the next non-empty SAM candidate of proposal ``row``."""
        if not 0 <= row < len(self.results):
            return
        r = self.results[row]
        k = self.choice.get(r.detection.index, r.masks.best)
        n = len(r.masks.rles)
        for step in range(1, n + 1):
            j = (k + step) % n
            if r.masks.areas[j] > 0:
                self.choice[r.detection.index] = j
                break
        self.current = row
        self._show()

    def clear(self) -> None:
        """Forget the proposals (new image, new prompt, Clear)."""
        self.answer, self.answer_key, self.results = None, None, []
        self.choice, self.unchecked, self.current = {}, set(), -1
        self.item.set_proposals([])
        self.dock.set_rows([])

    # ------------------------------------------------------------------ accept
    def accept(self, only_checked: bool = False) -> int:
        """Store the proposals (all, or the checked ones) as one undo step; returns how many are sent."""
        rec, project = self.labeling.image, self.labeling.project
        if rec is None or project is None or self.answer is None:
            return 0
        if project.read_only:
            self.message.emit(self.tr("This project is open read-only; proposals cannot be stored."))
            return 0
        chosen = [r for r in self.results if not only_checked or r.detection.index not in self.unchecked]
        if not chosen:
            self.message.emit(self.tr("No proposal is checked."))
            return 0
        det_id = self.answer.detector_id
        proposals = [r.proposal(det_id, self.choice.get(r.detection.index)) for r in chosen]
        z_start = max([a.z for a in self.labeling.annotations()], default=0) + 1
        self._batch_id += 1
        self._batches[self._batch_id] = project
        self.converter.submit(batch_of(self._batch_id, rec.id, proposals, z_start, DEFAULT_LABEL,
                                       self.labeling.polygon_tolerance))
        self.dock.set_status(self.tr("Storing {n} annotation(s)…").format(n=len(proposals)))
        self.clear()
        return len(proposals)

    def _on_converted(self, batch: ConvertedBatch) -> None:
        project = self._batches.pop(batch.batch_id, None)
        if project is None or project is not self.labeling.project:
            return  # the project was closed meanwhile
        if batch.error is not None:
            self.message.emit(batch.error)
            return
        if not batch.items:
            self.message.emit(self.tr("The accepted proposals have empty masks; nothing was stored."))
            return
        edit = accept_edit(project, batch.image_id, batch.items, f"Accept {len(batch.items)} text proposal(s)")

        def push() -> None:
            if self.undo.push(edit):
                self.dock.set_status(self.tr("Stored {n} annotation(s) (one undo step).").format(n=len(batch.items)))
                self.stored.emit(len(batch.items))

        self.labeling.after_accepts(push)

    def shutdown(self) -> None:
        """Stop the converter thread (its queued batches are finished first)."""
        self.converter.shutdown()
