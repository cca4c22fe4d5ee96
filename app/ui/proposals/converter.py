"""Accepted proposals -> annotations ready to store, off the GUI thread.

Decoding a 12 MP RLE alone costs 110-170 ms (measured), and converting a mask to polygons far more,
so the GUI thread does neither: ``submit`` hands a batch of proposals to ONE thread, which has each
RLE converted (decoded only within the mask's bounding box) in the accept service's worker process (app.services.geometry.GeometryService;
in the thread without one), builds the (label name, Annotation) items and the canvas
drawing data, and ``finished(ConvertedBatch)`` delivers them to the GUI thread (queued), which only
pushes the one undoable edit.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from app.automation.api import Proposal
from app.automation.store import labelled_annotations
from app.core.density import Tolerance
from app.core.mask_convert import ConvertedMask, convert_rle
from app.core.proposal_edits import LabelledAnnotation
from app.services.geometry import GeometryService

log = logging.getLogger(__name__)


@dataclass
class ConvertedBatch:
    """One accept: the proposals of image ``image_id`` with drawing order from ``z_start``, their
    masks made polygons at ``tolerance`` (the polygon density, app.core.density; None = Auto); filled
    by the thread: ``items`` (empty masks left out) or ``error`` (one sentence)."""

    batch_id: int
    image_id: int
    proposals: tuple[Proposal, ...]
    z_start: int
    default_label: str
    tolerance: Tolerance = None
    items: tuple[LabelledAnnotation, ...] = ()
    error: str | None = None


class ProposalConverter(QObject):
    """One thread converting accepted proposals in submission order (see the module doc)."""

    finished = Signal(object)

    def __init__(self, parent: QObject | None = None, geometry: GeometryService | None = None) -> None:
        super().__init__(parent)
        self._queue: queue.Queue[ConvertedBatch | None] = queue.Queue()
        self._geometry = geometry
        self._thread = threading.Thread(target=self._run, name="sam-labeler-proposals", daemon=True)
        self._thread.start()

    def submit(self, batch: ConvertedBatch) -> None:
        """Queue a batch (returns at once)."""
        self._queue.put(batch)

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Finish the queued batches, join the thread."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout_s)

    def _convert(self, rle: dict, tolerance: Tolerance) -> ConvertedMask:
        if self._geometry is not None:
            return self._geometry.convert_rle_blocking(rle, tolerance)
        return convert_rle(rle, tolerance)

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            try:
                converted = [None if p.rle is None else self._convert(p.rle, batch.tolerance) for p in batch.proposals]
                batch.items = tuple(labelled_annotations(batch.proposals, batch.image_id, z_start=batch.z_start,
                                                         converted=converted, default_label=batch.default_label))
            except Exception as exc:  # noqa: BLE001 - reported to the user; the thread lives on
                log.warning("proposal conversion failed", exc_info=True)
                batch.error = f"The proposals could not be converted to polygons: {exc}"
            self.finished.emit(batch)


def batch_of(batch_id: int, image_id: int, proposals: Sequence[Proposal], z_start: int,
             default_label: str, tolerance: Tolerance = None) -> ConvertedBatch:
    """A ConvertedBatch to submit (tolerance: the user's polygon density)."""
    return ConvertedBatch(batch_id, image_id, tuple(proposals), int(z_start), default_label, tolerance=tolerance)
