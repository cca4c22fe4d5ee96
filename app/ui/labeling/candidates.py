"""Prompts -> decode requests -> candidates: which candidate is shown, cycling, refining a selection."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from app.core.geometry import annotation_mask
from app.services.prompts import PromptSet
from app.services.requests import DecodeResult
from app.ui.labeling.state import LabelingState, image_key, translate
from app.ui.mask_input import mask_to_logits
from sam_backend.types import Prediction


MAX_KEPT_PREDICTIONS = 4  # candidates kept for the images left most recently (3 masks each: up to 36 MB at 12 MP)


@dataclass(frozen=True)
class KeptPrompts:
    """What was unaccepted on an image when the person went to another one (issue 13, defect 2):
    its prompts, the answer and chosen candidate (None once dropped: decoded again on return), and
    the annotation being refined."""

    prompts: PromptSet
    prediction: Prediction | None
    candidate: int
    selected: int | None


class CandidatesMixin(LabelingState):
    """The newest decode answer of the current image and the candidate chosen among its masks;
    prompts and candidates left on an image are kept for the session and come back with it."""

    _request_id: int
    _kept: dict[int, KeptPrompts]  # image id -> what was left there (most recent last)

    def _init_candidates(self) -> None:
        self.prediction, self.candidate, self._request_id = None, -1, -1
        self._kept = {}
        self.canvas.promptsChanged.connect(self._on_prompts)
        self.inference.decodeFinished.connect(self._on_decoded)

    def _end_session(self) -> None:
        super()._end_session()
        self._kept = {}

    def _leave_image(self) -> None:
        """Keep the prompts and candidates of the image being left (nothing unaccepted is lost)."""
        super()._leave_image()
        if self.image is None:
            return
        image_id = self.image.id
        self._kept.pop(image_id, None)
        prompts = self.canvas.prompts()
        if prompts.is_empty():
            return
        prediction = self.prediction if self.image_shape is not None else None
        self._kept[image_id] = KeptPrompts(prompts, prediction, self.candidate, self.selected)
        with_answers = [k for k, v in self._kept.items() if v.prediction is not None]
        for k in with_answers[:-MAX_KEPT_PREDICTIONS]:  # the prompts stay: decoded again on return
            self._kept[k] = replace(self._kept[k], prediction=None, candidate=-1)

    def _image_shown(self) -> None:
        """The image is back on the canvas: its kept prompts and candidates come back too."""
        super()._image_shown()
        if self.image is None:
            return
        kept = self._kept.pop(self.image.id, None)
        if kept is None:
            return
        if kept.selected is not None:
            self.select_annotation(kept.selected)  # ignored when it is gone meanwhile
        shape = self.image_shape
        prediction = kept.prediction
        if prediction is not None and shape is not None and tuple(prediction.masks.shape[1:]) == shape:
            self.canvas.restore_prompts(kept.prompts)
            self.prediction, self.candidate = prediction, kept.candidate
            self._show_candidate()
        else:
            self.canvas.push_prompts(kept.prompts)  # decoded again (emits promptsChanged)

    def kept_images(self) -> list[int]:
        """Ids of the images whose prompts / candidates are kept for when they are shown again."""
        return list(self._kept)

    def _on_prompts(self, prompts: PromptSet) -> None:
        if self.image is None:
            return
        if prompts.is_empty():
            self._clear_candidates()
            return
        if not self.inference.has_model():
            self.message.emit(translate("LabelingController", "No SAM model is loaded: use the polygon tool (P) or open the model manager."))
            return
        self._request_id = self.inference.decode(image_key(self.image), prompts, self._refine_input())

    def _refine_input(self) -> np.ndarray | None:
        """mask_input (256, 256) float32 for refining the selected annotation, else None."""
        if self.selected is None or self.image_shape is None or self.project is None:
            return None
        logits = self._logits.get(self.selected)
        if logits is not None:
            return logits
        ann = self.project.annotation(self.selected)
        return mask_to_logits(annotation_mask(ann, *self.image_shape))

    def _on_decoded(self, result: DecodeResult) -> None:
        if self.image is None or result.image_key != image_key(self.image):
            return
        if result.request_id < self._request_id:
            return
        pred = result.prediction
        self.prediction = pred
        self._first_answer()
        self.candidate = int(np.argmax(pred.scores)) if len(pred.scores) else -1
        self._show_candidate()

    def _show_candidate(self) -> None:
        mask = None if self.prediction is None or self.candidate < 0 else self.prediction.masks[self.candidate]
        self.canvas.set_candidate(mask, self.label_color())
        self.candidatesChanged.emit(self.prediction, self.candidate)

    def _clear_candidates(self) -> None:
        had = self.prediction is not None
        self.prediction, self.candidate = None, -1
        self._request_id = -1
        if had:
            self.canvas.set_candidate(None, "#000000")
        self.candidatesChanged.emit(None, -1)

    def cycle_candidate(self, step: int) -> None:
        """Tab / Shift+Tab: next (+1) or previous (-1) of the candidates."""
        if self.prediction is None:
            return
        n = int(self.prediction.masks.shape[0])
        self.set_candidate((self.candidate + step) % n)

    def set_candidate(self, k: int) -> None:
        """Show candidate k (from the strip)."""
        if self.prediction is not None and 0 <= k < self.prediction.masks.shape[0]:
            self.candidate = k
            self._show_candidate()

    def clear(self) -> None:
        """Esc: clear prompts and candidates; a second Esc clears the selection."""
        if self.prediction is None and self.canvas.prompts().is_empty() and self.selected is not None:
            self.select_annotation(None)
        self.canvas.clear_prompts()
        self._clear_candidates()