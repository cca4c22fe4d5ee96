"""Accept bookkeeping: a candidate (or a drawn / edited shape) becomes an undoable edit, in order."""
from __future__ import annotations

import time
from typing import Callable

import numpy as np
from PySide6.QtCore import QCoreApplication

from app.core import edits
from app.core.model import Annotation, Part
from app.services.undo import Edit
from app.ui.geometry_worker import AcceptJob, GeometryWorker
from app.ui.labeling.state import LabelingState, translate


class AcceptsMixin(LabelingState):
    """Accepts go to the geometry worker; their edits are pushed when they come back, in accept order.
    Edits requested meanwhile wait for them (`after_accepts`)."""

    geometry: GeometryWorker
    _pending: int
    _pending_z: dict[int, int]
    _deferred: list[Callable[[], object]]
    _geometry_warm: bool

    def _init_accepts(self) -> None:
        self._pending, self._pending_z, self._deferred = 0, {}, []
        self.geometry = GeometryWorker(self)
        self.geometry.finished.connect(self._on_geometry)
        self._geometry_warm = False
        self.canvas.polygonFinished.connect(self._on_polygon)
        self.canvas.geometryEdited.connect(self._on_geometry_edited)
        self.canvas.acceptRequested.connect(self.accept)

    def _end_session(self) -> None:
        super()._end_session()
        self._deferred = []

    def _first_answer(self) -> None:
        super()._first_answer()
        if not self._geometry_warm:
            self._geometry_warm = True
            self.geometry.warm_up()  # its helper process starts while the person looks at the candidates

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
                        float(self.prediction.scores[k]), self._next_z())
        self._submit(job)
        self.canvas.clear_prompts()
        self._clear_candidates()

    def busy(self) -> bool:
        """True while accepted candidates are still being converted (their edits not yet pushed)."""
        return self._pending > 0

    def after_accepts(self, fn: Callable[[], object]) -> None:
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

    def _push(self, edit: Edit) -> None:
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
