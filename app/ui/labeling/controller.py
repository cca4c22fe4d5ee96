"""The labeling loop: current image, prompts -> decode requests, candidates, accept / refine, labels.

The controller owns no widgets; it drives the canvas (Canvas protocol), the inference service, the
undo service and the images model, and tells the window what to show through signals. It changes the
project ONLY by pushing core edits on the undo stack (the one exception is `set_image_size`, which
records the decoded size of an image the first time it is shown — metadata, not a user edit).

It is assembled from one mixin per concern, each in its own module of this package:
navigation (images, prefetch), annotations (visibility, selection, order), labels, candidates
(prompts, decode answers) and accepts (candidate -> stored annotation). Their shared state and the
signals are in app.ui.labeling.state.

Coordinate frame of every mask/prompt here: original-image pixels (after EXIF rotation), x right,
y down, pixel centres at integer coordinates.
"""
from __future__ import annotations

from PySide6.QtCore import QObject

from app.services.inference import InferenceService
from app.services.undo import UndoService
from app.ui.docks.images_dock import ImageListModel
from app.ui.image_loader import ImageLoader
from app.ui.labeling.accepts import AcceptsMixin
from app.ui.labeling.annotations import AnnotationsMixin
from app.ui.labeling.candidates import CandidatesMixin
from app.ui.labeling.canvas_api import Canvas
from app.ui.labeling.labels import LabelsMixin
from app.ui.labeling.navigation import NavigationMixin


class LabelingController(AcceptsMixin, CandidatesMixin, AnnotationsMixin, LabelsMixin, NavigationMixin):
    """State of one labeling session over an opened project."""

    def __init__(self, canvas: Canvas, inference: InferenceService, undo: UndoService,
                 images_model: ImageListModel, loader: ImageLoader, prefetch_count: int = 2,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.canvas, self.inference, self.undo = canvas, inference, undo
        self.model, self.loader = images_model, loader
        self.label_id, self.selected, self.hidden = None, None, set()
        self.hidden_labels = set()
        self._logits, self._anns, self._generation, self._incoming = {}, None, 0, None
        self._init_navigation(prefetch_count)
        self._init_candidates()
        self._init_accepts()
        canvas.annotationSelected.connect(self.select_annotation)
        undo.projectChanged.connect(self._on_project_changed)
