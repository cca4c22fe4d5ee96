"""Text prompt jobs for the inference worker (Qt-free): what the GUI's text panel posts through
``InferenceService.run_task``.

``detect_job`` runs the detector on the image and decodes the boxes kept by the thresholds;
``refilter_job`` applies new thresholds to an earlier answer without running the detector again
(decoding only boxes not decoded before). Both answer a ``TextAnswer``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.automation.text_prompt import TextResult, TextSession, detect_text, text_params
from app.services.automation_jobs import TaskContext

CHANNEL = "text"


@dataclass(frozen=True)
class TextAnswer:
    """The session (the detector's raw answer; reuse it for ``refilter_job``), the kept boxes with
    SAM's candidates (highest detector score first), and the thresholds they were kept by."""

    session: TextSession
    results: tuple[TextResult, ...]
    box_threshold: float
    text_threshold: float

    @property
    def detector_id(self) -> str:
        """The detector that answered."""
        return self.session.raw.detector_id


def detect_job(prompt: str, detector: str, box_threshold: float,
               text_threshold: float) -> Callable[[TaskContext], TextAnswer]:
    """A task running the detector for ``prompt`` and decoding the kept boxes; ValueError (one
    sentence, at once) for an empty prompt or a threshold outside [0, 1]."""
    params: dict[str, bool | int | float | str] = {"prompt": prompt, "detector": detector, "box_threshold": box_threshold,
              "text_threshold": text_threshold}
    text_params(params)

    def run(ctx: TaskContext) -> TextAnswer:
        item = ctx.item()
        session = detect_text(ctx, item, params)
        results = session.results(ctx.predictor, ctx.embedding(item), box_threshold, text_threshold, ctx.cancel)
        return TextAnswer(session, tuple(results), box_threshold, text_threshold)

    return run


def refilter_job(session: TextSession, box_threshold: float,
                 text_threshold: float) -> Callable[[TaskContext], TextAnswer]:
    """A task applying new thresholds to ``session`` (no detector run)."""

    def run(ctx: TaskContext) -> TextAnswer:
        results = session.results(ctx.predictor, ctx.embedding(), box_threshold, text_threshold, ctx.cancel)
        return TextAnswer(session, tuple(results), box_threshold, text_threshold)

    return run
