"""The state every part of the labeling controller shares, and the signals it reports through.

LabelingController (app.ui.labeling.controller) is assembled from one mixin per concern —
navigation (images, prefetch), annotations (list, selection, order), labels, candidates (prompts ->
decode requests -> candidates) and accepts (candidate -> stored annotation) — each in its own module.
This base class holds what they share, so each module reads alone: the collaborators, the session's
state, the signals, the project-data memo and the few calls one concern makes into another (declared
here, implemented by the concern that owns them).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, Signal

from app.core.model import Annotation, ImageRecord, LabelClass, Part
from app.core.project_api import LabelingProject
from app.services.inference import InferenceService
from app.services.undo import Edit, UndoService
from app.ui.canvas.prepared import PreparedGeometry
from app.ui.docks.images_dock import ImageListModel
from app.ui.image_loader import ImageLoader
from app.ui.labeling.canvas_api import Canvas
from app.services.models import Prediction

DEFAULT_LABEL = "object"
# Messages of every concern use the context "LabelingController" as a literal (Qt's lupdate reads it;
# `self.tr` would file them under each mixin's class name).
translate = QCoreApplication.translate


def image_key(rec: ImageRecord) -> str:
    """The inference service's key of an image record."""
    return f"image-{rec.id}"


class LabelingState(QObject):
    """Shared state of one labeling session over an opened project."""

    imageChanged = Signal(object)          # ImageRecord | None (before its pixels arrive)
    imageShown = Signal(object)            # ImageRecord, once its pixels are on the canvas
    candidatesChanged = Signal(object, int)  # Prediction | None, current candidate index
    annotationsChanged = Signal()          # annotations of the current image or label classes changed
    labelChanged = Signal(object)          # current label id | None
    selectionChanged = Signal(object)      # selected annotation id | None
    message = Signal(str)                  # one human sentence for the message area

    canvas: Canvas
    inference: InferenceService
    undo: UndoService
    model: ImageListModel
    loader: ImageLoader
    project: LabelingProject | None
    row: int
    image: ImageRecord | None
    image_shape: tuple[int, int] | None    # (H, W) of the image on the canvas, once its pixels arrived
    prediction: Prediction | None
    candidate: int
    label_id: int | None
    selected: int | None
    hidden: set[int]
    hidden_labels: set[int]                # label classes whose annotations are not drawn (every image)
    _logits: dict[int, np.ndarray]        # annotation id -> low-res logits of the candidate it came from
    _anns: tuple[int, list[Annotation]] | None
    _incoming: tuple[tuple[Part, ...], PreparedGeometry] | None  # geometry being stored, its drawing data
    _generation: int                       # bumped per project session: late results of the old one are dropped

    # ------------------------------------------------------------- project data (memoised)
    def label_classes(self) -> list[LabelClass]:
        """Label classes of the project in display order."""
        return [] if self.project is None else list(self.project.label_classes())

    def annotations(self) -> list[Annotation]:
        """Annotations of the current image (by z, then id)."""
        if self.project is None or self.image is None:
            return []
        if self._anns is None or self._anns[0] != self.image.id:  # memo: decoding big geometry is not free
            self._anns = (self.image.id, list(self.project.annotations(self.image.id)))
        return list(self._anns[1])

    def _colors(self) -> dict[int, str]:
        return {lc.id: lc.color for lc in self.label_classes()}

    def _show_annotations(self) -> None:
        if self.image_shape is not None:
            anns = self.annotations()
            drawing: dict[int, PreparedGeometry] = {}
            if self._incoming is not None:  # an accept being stored: its drawing data was computed off-thread
                parts, data = self._incoming
                drawing = {a.id: data for a in anns if a.parts is parts and a.id is not None}
            hidden = set(self.hidden) | {a.id for a in anns if a.label_id in self.hidden_labels and a.id is not None}
            self.canvas.set_annotations(anns, self._colors(), hidden, drawing)
            self.canvas.select_annotation(self.selected)
        self.annotationsChanged.emit()

    # ------------------------------------------------------------- hooks (a concern overriding one calls super())
    def _end_session(self) -> None:
        """The project session ends (set_project): forget what belonged to it."""

    def _leave_image(self) -> None:
        """The current image is about to be replaced (go_to_row)."""

    def _image_shown(self) -> None:
        """The current image's pixels are on the canvas."""

    def _first_answer(self) -> None:
        """A decode answer for the current image arrived."""

    def model_ready(self) -> None:
        """A model finished loading (the window calls this)."""

    # ------------------------------------------------------------- calls across concerns
    # Declared for the type checker only: each is implemented by the concern named beside it, and
    # LabelingController (all concerns together) is the only class instantiated.
    if TYPE_CHECKING:
        _clear_candidates: Callable[[], None]  # forget the candidates (candidates module)
        _show_candidate: Callable[[], None]  # show the current candidate (candidates module)
        # the current label id, creating a default class when the project has none (labels module)
        _ensure_label: Callable[[], int | None]
        label_color: Callable[[], str]  # colour of the current label (labels module)
        select_annotation: Callable[[int | None], None]  # select an annotation of the image (annotations)
        set_label: Callable[..., None]  # (label_id, relabel=True): make a label current (labels module)
        after_accepts: Callable[[Callable[[], object]], None]  # run fn once accepts in flight are stored
        _push: Callable[[Edit], None]  # push an undoable edit after the accepts in flight (accepts module)
