"""Navigation: the current project and image, image loading for display, neighbour prefetch."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer

from app.automation.review import mark_reviewed, needs_review
from app.core import edits
from app.core.image_edits import SetImageExtra
from app.core.model import ImageRecord
from app.core.project_api import LabelingProject
from app.core.errors import ProjectError
from app.ui.labeling.state import LabelingState, image_key, translate

PREFETCH_DELAY_MS = 1500  # neighbours are planned after the first answer on an image, or after this idle time


class NavigationMixin(LabelingState):
    """Which image is shown; what the image loader and the inference worker prepare next."""

    prefetch_count: int
    _neighbour_items: list[tuple[str, Path]]
    _prefetch_planned: bool
    _prefetch_timer: QTimer

    def _init_navigation(self, prefetch_count: int) -> None:
        self.prefetch_count = prefetch_count
        self.project, self.row, self.image, self.image_shape = None, -1, None, None
        self._neighbour_items = []
        self._prefetch_planned = True
        self._prefetch_timer = QTimer(self)
        self._prefetch_timer.setSingleShot(True)
        self._prefetch_timer.setInterval(PREFETCH_DELAY_MS)
        self._prefetch_timer.timeout.connect(self.plan_prefetch)
        self.loader.loaded.connect(self._on_image_loaded)
        self.loader.failed.connect(self._on_image_failed)

    def set_project(self, project: LabelingProject | None, start_image: int | None = None) -> None:
        """Start a session on `project` (None ends it); shows image `start_image` (an id, e.g. the one
        worked on last) when the images model lists it, else its first image."""
        self.project = project
        self._generation += 1  # results of accepts made on the previous project are dropped
        self._anns = None
        self._end_session()
        self.undo.set_project(project)
        self._logits.clear()
        self.loader.clear()
        self.model.set_project(project, self.model.status_filter())
        classes = self.label_classes()
        self.label_id = classes[0].id if classes else None
        self.labelChanged.emit(self.label_id)
        self.row, self.image = -1, None
        if project is not None and self.model.rowCount() > 0:
            row = -1 if start_image is None else project.image_row(start_image, self.model.status_filter(),
                                                                   self.model.name_filter() or None)
            self.go_to_row(max(0, row))
        else:
            self._reset_image()

    def invalidate(self) -> None:
        """Forget memoised project data (after a change that bypassed the undo stack, e.g. an import)."""
        self._anns = None

    def images_reloaded(self) -> None:
        """The images model was reloaded after images were added or marked missing (file watcher): find
        the current image's row again and take its new record; the image, prompts, candidates and
        selection stay. A session without an image shows the first one that appeared."""
        if self.project is None:
            return
        if self.image is None:
            if self.model.rowCount() > 0:
                self.go_to_row(0)
            return
        try:
            rec = self.project.image(self.image.id)
        except ProjectError:
            return
        self.image = rec
        self.row = self.project.image_row(rec.id, self.model.status_filter(), self.model.name_filter() or None)

    def refresh_annotations(self) -> None:
        """Redraw the current image's annotations from the project (after a change outside the undo stack)."""
        self._anns = None
        self._show_annotations()

    def image_path(self) -> Path | None:
        """Absolute path of the current image."""
        return None if self.image is None or self.project is None else self.project.image_path(self.image)

    def go_to_row(self, row: int) -> bool:
        """Switch to the image at `row` of the images model; False when out of range."""
        project = self.project
        rec = self.model.record(row) if project is not None else None
        if rec is None or project is None:
            return False
        self._leave_image()
        self.row, self.image = row, rec
        self.image_shape = None
        self.hidden = set()
        self._clear_candidates()
        self.selected = None
        self.selectionChanged.emit(None)
        self.canvas.clear_image()
        path = project.image_path(rec)
        neighbours = self._neighbours(row)
        self.loader.request(rec.id, path, [(r.id, project.image_path(r)) for _, r in neighbours[:2]])
        # Only the current image at first: the single inference worker cannot interrupt an encode, so a
        # neighbour's prefetch must not start before the first click on this image has been answered.
        self._neighbour_items = [(image_key(r), project.image_path(r))
                                 for _, r in sorted(neighbours + [(row, rec)], key=lambda t: t[0])]
        self.inference.set_image_list([(image_key(rec), path)], 0)
        self._prefetch_planned = False
        self._prefetch_timer.start(PREFETCH_DELAY_MS)
        if self.inference.has_model():
            self.inference.encode(image_key(rec), path)
        self.imageChanged.emit(rec)
        self.annotationsChanged.emit()  # the lists show the new image's annotations before its pixels arrive
        return True

    def plan_prefetch(self) -> None:
        """Give the worker the neighbours of the current image to pre-encode while idle."""
        self._prefetch_timer.stop()
        if self._prefetch_planned or self.image is None:
            return
        self._prefetch_planned = True
        keys = [k for k, _ in self._neighbour_items]
        current = image_key(self.image)
        if current in keys:
            self.inference.set_image_list(list(self._neighbour_items), keys.index(current))

    def _first_answer(self) -> None:
        """A decode on this image was answered: the first one plans the neighbours' prefetch soon after."""
        super()._first_answer()
        if not self._prefetch_planned:
            self._prefetch_timer.start(200)

    def model_ready(self) -> None:
        """A model finished loading: encode the current image now (neighbours follow as prefetch)."""
        super().model_ready()
        if self.image is not None and self.project is not None:
            self.inference.encode(image_key(self.image), self.project.image_path(self.image))

    def next_image(self) -> None:
        """Go to the next image of the list (message at the end)."""
        if self.project is not None and not self.go_to_row(self.row + 1):
            self.message.emit(translate("LabelingController", "This is the last image."))

    def prev_image(self) -> None:
        """Go to the previous image of the list (message at the start)."""
        if self.project is not None and not self.go_to_row(self.row - 1):
            self.message.emit(translate("LabelingController", "This is the first image."))

    def set_image_status(self, status: str) -> None:
        """Mark the current image new / in_progress / done (undoable); "done" also marks an
        auto-labeled image reviewed, in the same undo step."""
        if self.image is not None and self.project is not None and self.image.status != status:
            edit: edits.Edit = edits.SetImageStatus(self.image.id, status)
            extra = self.project.image(self.image.id).extra
            if status == "done" and needs_review(extra):
                edit = edits.CompoundEdit("Mark image done", [edit, SetImageExtra(self.image.id, mark_reviewed(extra))])
            self._push(edit)

    def _neighbours(self, row: int) -> list[tuple[int, ImageRecord]]:
        """Rows after and before `row` (nearest first, alternating), up to prefetch_count each side."""
        out: list[tuple[int, ImageRecord]] = []
        for d in range(1, max(0, self.prefetch_count) + 1):
            for r in (row + d, row - d):
                rec = self.model.record(r) if r >= 0 else None
                if rec is not None and not rec.missing:
                    out.append((r, rec))
        return out

    def _reset_image(self) -> None:
        self._prefetch_timer.stop()
        self.image, self.image_shape, self.row = None, None, -1
        self._clear_candidates()
        self.canvas.clear_image()
        self.imageChanged.emit(None)

    def _on_image_loaded(self, image_id: int, arr: np.ndarray) -> None:
        if self.image is None or self.project is None or image_id != self.image.id:
            return
        h, w = int(arr.shape[0]), int(arr.shape[1])
        self.image_shape = (h, w)
        self.canvas.set_image(arr)
        if (self.image.width, self.image.height) != (w, h) and not self.project.read_only:
            self.project.set_image_size(self.image.id, w, h)
            self.image = self.project.image(self.image.id)
            self.model.update_record(self.image)
        self._show_annotations()
        self._image_shown()
        self.imageShown.emit(self.image)

    def _on_image_failed(self, image_id: int, sentence: str) -> None:
        if self.image is not None and image_id == self.image.id:
            self.message.emit(translate("LabelingController", "Cannot show this image: {reason} Press D for the next one.").format(
                reason=sentence))
