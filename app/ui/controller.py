"""The labeling loop: current image, prompts -> decode requests, candidates, accept / refine, labels.

The controller owns no widgets; it drives the canvas (CanvasView API), the inference service, the
undo service and the images model, and tells the window what to show through signals. It changes the
project ONLY by pushing core edits on the undo stack (the one exception is `set_image_size`, which
records the decoded size of an image the first time it is shown — metadata, not a user edit).

Coordinate frame of every mask/prompt here: original-image pixels (after EXIF rotation), x right,
y down, pixel centres at integer coordinates.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

from app.core import edits
from app.core.geometry import annotation_mask
from app.core.model import Annotation, ImageRecord, LabelClass, Part
from app.services.prompts import PromptSet
from app.ui.geometry_worker import AcceptJob, GeometryWorker
from app.ui.mask_input import mask_to_logits

DEFAULT_LABEL = "object"
PREFETCH_DELAY_MS = 1500  # neighbours are planned after the first answer on an image, or after this idle time


def image_key(rec: ImageRecord) -> str:
    """The inference service's key of an image record."""
    return f"image-{rec.id}"


class LabelingController(QObject):
    """State of one labeling session over an opened project."""

    imageChanged = Signal(object)          # ImageRecord | None (before its pixels arrive)
    imageShown = Signal(object)            # ImageRecord, once its pixels are on the canvas
    candidatesChanged = Signal(object, int)  # Prediction | None, current candidate index
    annotationsChanged = Signal()          # annotations of the current image or label classes changed
    labelChanged = Signal(object)          # current label id | None
    selectionChanged = Signal(object)      # selected annotation id | None
    message = Signal(str)                  # one human sentence for the message area

    def __init__(self, canvas: Any, inference: Any, undo: Any, images_model: Any, loader: Any,
                 prefetch_count: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.canvas, self.inference, self.undo = canvas, inference, undo
        self.model, self.loader = images_model, loader
        self.prefetch_count = prefetch_count
        self.project: Any = None
        self.row = -1
        self.image: ImageRecord | None = None
        self.image_shape: tuple[int, int] | None = None
        self.prediction: Any = None
        self.candidate = -1
        self.label_id: int | None = None
        self.selected: int | None = None
        self.hidden: set[int] = set()
        self.hidden_labels: set[int] = set()  # label classes whose annotations are not drawn (all images)
        self._request_id = -1
        self._logits: dict[int, np.ndarray] = {}
        self._neighbour_items: list[tuple[str, Path]] = []
        self._generation = 0
        self._anns: tuple[int, list[Annotation]] | None = None
        self._pending = 0
        self._pending_z: dict[int, int] = {}
        self._deferred: list[Callable[[], Any]] = []
        self.geometry = GeometryWorker(self)
        self.geometry.finished.connect(self._on_geometry)
        self._geometry_warm = False
        self._prefetch_planned = True
        self._prefetch_timer = QTimer(self)
        self._prefetch_timer.setSingleShot(True)
        self._prefetch_timer.setInterval(PREFETCH_DELAY_MS)
        self._prefetch_timer.timeout.connect(self.plan_prefetch)
        canvas.promptsChanged.connect(self._on_prompts)
        canvas.polygonFinished.connect(self._on_polygon)
        canvas.geometryEdited.connect(self._on_geometry_edited)
        canvas.annotationSelected.connect(self.select_annotation)
        canvas.acceptRequested.connect(self.accept)
        inference.decodeFinished.connect(self._on_decoded)
        undo.projectChanged.connect(self._on_project_changed)
        loader.loaded.connect(self._on_image_loaded)
        loader.failed.connect(self._on_image_failed)

    # ----------------------------------------------------------------- project / images
    def set_project(self, project: Any, start_image: int | None = None) -> None:
        """Start a session on `project` (None ends it); shows image `start_image` (an id, e.g. the one
        worked on last) when the images model lists it, else its first image."""
        self.project = project
        self._generation += 1  # results of accepts made on the previous project are dropped
        self._anns = None
        self._deferred = []
        self.undo.set_project(project)
        self._logits.clear()
        self.loader.clear()
        self.model.set_project(project, self.model.status_filter())
        classes = self.label_classes()
        self.label_id = classes[0].id if classes else None
        self.labelChanged.emit(self.label_id)
        self.row, self.image = -1, None
        if project is not None and self.model.rowCount() > 0:
            row = -1 if start_image is None else project.image_row(start_image, self.model.status_filter())
            self.go_to_row(max(0, row))
        else:
            self._reset_image()

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

    def invalidate(self) -> None:
        """Forget memoised project data (after a change that bypassed the undo stack, e.g. an import)."""
        self._anns = None

    def refresh_annotations(self) -> None:
        """Redraw the current image's annotations from the project (after a change outside the undo stack)."""
        self._anns = None
        self._show_annotations()

    def go_to_row(self, row: int) -> bool:
        """Switch to the image at `row` of the images model; False when out of range."""
        rec = self.model.record(row) if self.project is not None else None
        if rec is None:
            return False
        self.row, self.image = row, rec
        self.image_shape = None
        self.hidden = set()
        self._clear_candidates()
        self.selected = None
        self.selectionChanged.emit(None)
        self.canvas.clear_image()
        path = self.project.image_path(rec)
        neighbours = self._neighbours(row)
        self.loader.request(rec.id, path, [(r.id, self.project.image_path(r)) for _, r in neighbours[:2]])
        # Only the current image at first: the single inference worker cannot interrupt an encode, so a
        # neighbour's prefetch must not start before the first click on this image has been answered.
        self._neighbour_items = [(image_key(r), self.project.image_path(r))
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

    def model_ready(self) -> None:
        """A model finished loading: encode the current image now (neighbours follow as prefetch)."""
        if self.image is not None and self.project is not None:
            self.inference.encode(image_key(self.image), self.project.image_path(self.image))

    def next_image(self) -> None:
        """Go to the next image of the list (message at the end)."""
        if self.project is not None and not self.go_to_row(self.row + 1):
            self.message.emit(self.tr("This is the last image."))

    def prev_image(self) -> None:
        """Go to the previous image of the list (message at the start)."""
        if self.project is not None and not self.go_to_row(self.row - 1):
            self.message.emit(self.tr("This is the first image."))

    def set_image_status(self, status: str) -> None:
        """Mark the current image new / in_progress / done (undoable)."""
        if self.image is not None and self.image.status != status:
            self._push(edits.SetImageStatus(self.image.id, status))

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
        if self.image is None or image_id != self.image.id:
            return
        h, w = int(arr.shape[0]), int(arr.shape[1])
        self.image_shape = (h, w)
        self.canvas.set_image(arr)
        if (self.image.width, self.image.height) != (w, h) and not self.project.read_only:
            self.project.set_image_size(self.image.id, w, h)
            self.image = self.project.image(self.image.id)
            self.model.update_record(self.image)
        self._show_annotations()
        self.imageShown.emit(self.image)

    def _on_image_failed(self, image_id: int, sentence: str) -> None:
        if self.image is not None and image_id == self.image.id:
            self.message.emit(self.tr("Cannot show this image: {reason} Press D for the next one.").format(
                reason=sentence))

    # ----------------------------------------------------------------- annotations
    def _colors(self) -> dict[int, str]:
        return {lc.id: lc.color for lc in self.label_classes()}

    def _show_annotations(self) -> None:
        if self.image_shape is not None:
            anns = self.annotations()
            hidden = set(self.hidden) | {a.id for a in anns if a.label_id in self.hidden_labels and a.id is not None}
            self.canvas.set_annotations(anns, self._colors(), hidden)
            self.canvas.select_annotation(self.selected)
        self.annotationsChanged.emit()

    def set_hidden(self, hidden: set[int]) -> None:
        """Hide these annotations on the canvas (view only)."""
        self.hidden = set(hidden)
        self._show_annotations()

    def set_hidden_labels(self, label_ids: set[int]) -> None:
        """Hide the annotations of these label classes on every image (view only)."""
        self.hidden_labels = set(label_ids)
        self._show_annotations()

    def select_annotation(self, ann_id: int | None) -> None:
        """Select an annotation of the current image (None clears); prompts then refine it."""
        if ann_id is not None and ann_id not in {a.id for a in self.annotations()}:
            ann_id = None
        if ann_id == self.selected:
            return
        self.selected = ann_id
        self.canvas.select_annotation(ann_id)
        self.selectionChanged.emit(ann_id)
        if ann_id is not None:
            ann = self.project.annotation(ann_id)
            self.set_label(ann.label_id, relabel=False)

    def delete_selected(self) -> None:
        """Delete the selected annotation (undoable)."""
        if self.selected is None:
            self.message.emit(self.tr("Select an annotation to delete (click it with the edit tool E)."))
            return
        ann_id = self.selected
        self.selected = None
        self.selectionChanged.emit(None)
        self._push(edits.DeleteAnnotation(ann_id))

    def change_z(self, ann_id: int, delta: int) -> None:
        """Move an annotation one step up (+1) or down (-1) in drawing order (undoable)."""
        anns = sorted(self.annotations(), key=lambda a: (a.z, a.id or 0))
        ids = [a.id for a in anns]
        if ann_id not in ids:
            return
        k = ids.index(ann_id)
        j = k + delta
        if not 0 <= j < len(anns):
            return
        other = anns[j]
        new_z = other.z + (1 if delta > 0 else -1)
        self._push(edits.Reorder(ann_id, new_z))

    # ----------------------------------------------------------------- labels
    def set_label(self, label_id: int | None, relabel: bool = True) -> None:
        """Make `label_id` the current label; with a selected annotation (and relabel) relabel it too."""
        self.label_id = label_id
        self.labelChanged.emit(label_id)
        if self.prediction is not None:
            self._show_candidate()
        if relabel and label_id is not None and self.selected is not None:
            ann = self.project.annotation(self.selected)
            if ann.label_id != label_id:
                self._push(edits.Relabel(self.selected, label_id))

    def choose_label_number(self, n: int) -> None:
        """Keys 1..9: choose the n-th label class (1-based)."""
        classes = self.label_classes()
        if 1 <= n <= len(classes):
            self.set_label(classes[n - 1].id)
        else:
            self.message.emit(self.tr("There is no label class {n}; add one in the Labels panel.").format(n=n))

    def _ensure_label(self) -> int | None:
        if self.label_id is not None and self.label_id in {lc.id for lc in self.label_classes()}:
            return self.label_id
        classes = self.label_classes()
        if not classes:
            self.undo.push(edits.AddLabelClass(DEFAULT_LABEL, None))
            classes = self.label_classes()
        self.label_id = classes[0].id if classes else None
        self.labelChanged.emit(self.label_id)
        return self.label_id

    def label_color(self) -> str:
        return self._colors().get(self.label_id or -1, "#00c8ff")

    # ----------------------------------------------------------------- prompts and candidates
    def _on_prompts(self, prompts: PromptSet) -> None:
        if self.image is None:
            return
        if prompts.is_empty():
            self._clear_candidates()
            return
        if not self.inference.has_model():
            self.message.emit(self.tr("No SAM model is loaded: use the polygon tool (P) or open the model manager."))
            return
        self._request_id = self.inference.decode(image_key(self.image), prompts, self._refine_input())

    def _refine_input(self) -> np.ndarray | None:
        """mask_input (256, 256) float32 for refining the selected annotation, else None."""
        if self.selected is None or self.image_shape is None:
            return None
        logits = self._logits.get(self.selected)
        if logits is not None:
            return logits
        ann = self.project.annotation(self.selected)
        return mask_to_logits(annotation_mask(ann, *self.image_shape))

    def _on_decoded(self, result: Any) -> None:
        if self.image is None or result.image_key != image_key(self.image):
            return
        if result.request_id < self._request_id:
            return
        pred = result.prediction
        self.prediction = pred
        if not self._geometry_warm:
            self._geometry_warm = True
            self.geometry.warm_up()  # its helper process starts while the person looks at the candidates
        if not self._prefetch_planned:
            self._prefetch_timer.start(200)  # first answer on this image: prefetch neighbours soon after
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

    # ----------------------------------------------------------------- accept
    def accept(self) -> None:
        """Enter / Space: store the current candidate (new annotation, or new geometry when refining).

        The mask -> polygons conversion runs on the geometry thread; the edit is pushed when it is
        done (in accept order). Edits requested meanwhile wait for it (see `after_accepts`).
        """
        if self.image is None:
            return
        if self.prediction is None or self.candidate < 0:
            self.message.emit(self.tr("Nothing to accept: click on an object first."))
            return
        k = self.candidate
        mask = np.array(self.prediction.masks[k], dtype=bool)
        if not mask.any():
            self.message.emit(self.tr("The candidate mask is empty; add prompts or pick another candidate."))
            return
        label_id = None if self.selected is not None else self._ensure_label()
        if self.selected is None and label_id is None:
            return
        job = AcceptJob(self._generation, self.image.id, label_id, self.selected, mask,
                        np.array(self.prediction.low_res_logits[k], dtype=np.float32),
                        float(self.prediction.scores[k]), self._next_z())
        self._submit(job)
        self.canvas.clear_prompts()
        self._clear_candidates()

    def busy(self) -> bool:
        """True while accepted candidates are still being converted (their edits not yet pushed)."""
        return self._pending > 0

    def after_accepts(self, fn: Callable[[], Any]) -> None:
        """Run `fn` now, or once every pending accept has been stored (keeps the undo order right)."""
        if self._pending == 0:
            fn()
        else:
            self._deferred.append(fn)

    def _next_z(self) -> int:
        """The drawing order of a new annotation on the current image (above the stored ones and
        above those still being converted)."""
        assert self.image is not None
        z = max([a.z for a in self.annotations()] + [self._pending_z.get(self.image.id, 0)]) + 1
        self._pending_z[self.image.id] = z
        return z

    def _submit(self, job: AcceptJob) -> None:
        """Hand a job to the geometry thread; its edit is pushed when it comes back (in order)."""
        self._pending += 1
        self.geometry.submit(job)

    def _push(self, edit: Any) -> None:
        self.after_accepts(lambda: self.undo.push(edit))

    def _on_geometry(self, job: AcceptJob) -> None:
        self._pending = max(0, self._pending - 1)
        if job.generation == self._generation and self.project is not None:
            if job.error is not None:
                self.message.emit(job.error)
            elif job.target is not None:
                if self.undo.push(edits.SetGeometry(job.target, job.parts, job.rle, outline=job.outline)):
                    if job.logits is not None:
                        self._logits[job.target] = job.logits
                    else:
                        self._logits.pop(job.target, None)
            else:
                edit = edits.AddAnnotation(Annotation(job.image_id, int(job.label_id or 0), job.parts, job.rle,
                                                      z=job.z, source=job.source, score=job.score,
                                                      outline=job.outline))
                if self.undo.push(edit) and edit.annotation_id is not None and job.logits is not None:
                    self._logits[edit.annotation_id] = job.logits
        if self._pending == 0:
            self._pending_z.clear()
            deferred, self._deferred = self._deferred, []
            for fn in deferred:
                fn()

    def _on_polygon(self, parts: tuple[Part, ...]) -> None:
        """A finished manual polygon: stored (after its outline, computed on the geometry thread) as
        a new "manual" annotation of the current label class."""
        if self.image is None or not parts:
            return
        label_id = self._ensure_label()
        if label_id is None:
            return
        self._submit(AcceptJob(self._generation, self.image.id, label_id, None, None, None, None,
                               self._next_z(), parts=tuple(parts), image_size=self.image_shape))

    def _on_geometry_edited(self, ann_id: int, parts: tuple[Part, ...]) -> None:
        """Vertices of an annotation were moved: its new polygons replace its geometry (and its mask)."""
        if self.image is None:
            return
        self._logits.pop(ann_id, None)
        self._submit(AcceptJob(self._generation, self.image.id, None, ann_id, None, None, None, 0,
                               parts=tuple(parts), image_size=self.image_shape))

    # ----------------------------------------------------------------- undo notifications
    def _on_project_changed(self, _edit: Any) -> None:
        self._anns = None
        if self.project is None:
            return
        ids = {lc.id for lc in self.label_classes()}
        if self.label_id not in ids:
            classes = self.label_classes()
            self.label_id = classes[0].id if classes else None
        self.labelChanged.emit(self.label_id)
        if self.image is not None:
            self.image = self.project.image(self.image.id)
            self.model.update_record(self.image)
            if self.selected is not None and self.selected not in {a.id for a in self.annotations()}:
                self.selected = None
                self.selectionChanged.emit(None)
        self._show_annotations()

    def flush(self, timeout_s: float = 30.0) -> None:
        """Process events until every pending accept is stored (project switch; bounded wait)."""
        end = time.monotonic() + timeout_s
        while self._pending > 0 and time.monotonic() < end:
            QCoreApplication.processEvents()
            time.sleep(0.002)

    def shutdown(self) -> None:
        """Store the accepts still in flight (nothing accepted is lost), then stop the geometry thread."""
        self.geometry.shutdown()
        QCoreApplication.sendPostedEvents()  # deliver the finished conversions: their edits get pushed

    def image_path(self) -> Path | None:
        """Absolute path of the current image."""
        return None if self.image is None else self.project.image_path(self.image)
