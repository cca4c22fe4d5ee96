"""Accept bookkeeping: a candidate (or a drawn / edited shape) becomes an undoable edit, in order.

The accept service (app.services.geometry.GeometryService) turns the shape into the geometry the store
keeps, off the GUI thread, and delivers results in accept order; this module pushes the edit for
each. Edits requested while accepts are in flight wait for them (`after_accepts`), so the undo
stack keeps the order in which things were done.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from app.core import edits
from app.core.density import Tolerance
from app.core.model import Annotation, Part
from app.services.geometry import AcceptJob, AcceptResult, GeometryService, StoredGeometry
from app.services.undo import Edit
from app.ui.canvas.overlay import MaskOverlayItem
from app.ui.canvas.prepared import PreparedGeometry, drawing_data
from app.ui.labeling.state import LabelingState, translate


class AcceptsMixin(LabelingState):
    """Accepts go to the accept service; their edits are pushed when they come back, in accept order."""

    geometry: GeometryService
    _deferred: list[Callable[[], object]]
    _geometry_warm: bool
    _shown_pending: list[tuple[AcceptJob, MaskOverlayItem]]  # accepted masks drawn until stored
    polygon_tolerance: Tolerance  # polygon density of accepted masks (app.core.density; None = Auto)

    def _init_accepts(self) -> None:
        self._deferred, self._shown_pending = [], []
        self.polygon_tolerance = None
        self.geometry = GeometryService(drawing_data, parent=self)
        self.geometry.finished.connect(self._on_geometry)
        self._geometry_warm = False
        self.canvas.polygonFinished.connect(self._on_polygon)
        self.canvas.geometryEdited.connect(self._on_geometry_edited)
        self.canvas.acceptRequested.connect(self.accept)

    def _end_session(self) -> None:
        super()._end_session()
        self._deferred = []

    def _leave_image(self) -> None:
        super()._leave_image()
        self._shown_pending = []  # the canvas drops them with the image

    def model_ready(self) -> None:
        """A model finished loading: the accept worker starts now too (its process start then overlaps
        the model's warm-up, not the first prompts; measured in benchmarks/bench_gui.py)."""
        super().model_ready()
        self._warm_geometry()

    def _first_answer(self) -> None:
        super()._first_answer()
        self._warm_geometry()  # a model given directly (set_predictor): at the first answer

    def _warm_geometry(self) -> None:
        if not self._geometry_warm:
            self._geometry_warm = True
            self.geometry.warm_up()

    def accept(self) -> None:
        """Enter / Space: store the current candidate (new annotation, or new geometry when refining).

        The mask -> polygons conversion runs on the geometry thread; the edit is pushed when it is
        done (in accept order). Edits requested meanwhile wait for it (see `after_accepts`).
        """
        if self.image is None:
            return
        if self.prediction is None or self.candidate < 0:
            self.message.emit(translate("LabelingController", "Nothing to accept: click on an object first."))
            return
        k = self.candidate
        mask = np.array(self.prediction.masks[k], dtype=bool)
        if not mask.any():
            self.message.emit(translate("LabelingController", "The candidate mask is empty; add prompts or pick another candidate."))
            return
        label_id = None if self.selected is not None else self._ensure_label()
        if self.selected is None and label_id is None:
            return
        job = AcceptJob(self._generation, self.image.id, label_id, self.selected, mask,
                        np.array(self.prediction.low_res_logits[k], dtype=np.float32),
                        float(self.prediction.scores[k]), self._next_z(), tolerance=self.polygon_tolerance)
        if self._submit(job):
            # shown at once in the label colour, until the stored geometry replaces it (issue 13, defect 3)
            self._shown_pending.append((job, self.canvas.pending.add(mask, self.label_color())))
        self.canvas.clear_prompts()
        self._clear_candidates()

    def busy(self) -> bool:
        """True while accepted shapes are still being converted (their edits not yet pushed)."""
        return self.geometry.pending() > 0

    def after_accepts(self, fn: Callable[[], object]) -> None:
        """Run `fn` now, or once every pending accept has been stored (keeps the undo order right)."""
        if self.geometry.pending() == 0:
            fn()
        else:
            self._deferred.append(fn)

    def _next_z(self) -> int:
        """The drawing order of a new annotation on the current image (above the stored ones and
        above those still being converted)."""
        assert self.image is not None
        image_id = self.image.id
        in_flight = [j.z for j in self.geometry.pending_jobs() if j.image_id == image_id and j.target is None]
        return max([a.z for a in self.annotations()] + in_flight + [0]) + 1

    def _submit(self, job: AcceptJob) -> bool:
        """Hand a job to the accept service; its edit is pushed when it comes back (in order)."""
        try:
            self.geometry.submit(job)
            return True
        except ValueError as exc:
            self.message.emit(translate("LabelingController", "The mask could not be converted to polygons: {reason}").format(
                reason=exc))
            return False

    def _push(self, edit: Edit) -> None:
        self.after_accepts(lambda: self.undo.push(edit))

    def _on_geometry(self, result: AcceptResult) -> None:
        job, geo = result.job, result.geometry
        if job.generation == self._generation and self.project is not None:
            if result.error is not None or geo is None:
                self.message.emit(result.error or "")
            elif job.target is not None:
                if self._push_stored(edits.SetGeometry(job.target, geo.parts, geo.rle, outline=geo.outline), geo):
                    if job.logits is not None:
                        self._logits[job.target] = job.logits
                    else:
                        self._logits.pop(job.target, None)
            else:
                edit = edits.AddAnnotation(Annotation(job.image_id, int(job.label_id or 0), geo.parts, geo.rle,
                                                      z=job.z, source=job.source, score=job.score,
                                                      outline=geo.outline))
                if self._push_stored(edit, geo) and edit.annotation_id is not None and job.logits is not None:
                    self._logits[edit.annotation_id] = job.logits
        self._unshow_pending(job)
        if self.geometry.pending() == 0:
            deferred, self._deferred = self._deferred, []
            for fn in deferred:
                fn()

    def _unshow_pending(self, job: AcceptJob) -> None:
        """The accept of `job` is stored (or failed): its stand-in mask goes."""
        for k, (shown, item) in enumerate(self._shown_pending):
            if shown is job:
                self.canvas.pending.remove(item)
                del self._shown_pending[k]
                return

    def _push_stored(self, edit: Edit, geo: StoredGeometry) -> bool:
        """Push the edit storing `geo`; the canvas item drawn for it meanwhile gets the drawing data
        the service computed (see LabelingState._show_annotations)."""
        self._incoming = (geo.parts, geo.drawing) if isinstance(geo.drawing, PreparedGeometry) else None
        try:
            return self.undo.push(edit)
        finally:
            self._incoming = None

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

    def flush(self, timeout_s: float = 30.0) -> None:
        """Store every pending accept now (project switch): waits for the service (bounded), whose
        results are pushed in order before this returns."""
        self.geometry.wait(timeout_s)

    def shutdown(self) -> None:
        """Store the accepts still in flight (nothing accepted is lost), then stop the service's worker."""
        self.geometry.shutdown()
