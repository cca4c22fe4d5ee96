"""Off-GUI-thread conversion of an accepted candidate mask into polygons + exact RLE.

`mask_to_parts` costs ~30 ms at 2 MP, ~100 ms at 12 MP and far more for fragmented masks, so the GUI
thread never runs it: `submit(job)` queues the job on ONE worker thread (FIFO, so accepts are stored
in the order they were made) and `finished(job)` delivers it back to the GUI thread with `parts`/`rle`
(or `error`) filled in. The controller then pushes the undoable edit. The worker also packs the
geometry for the store and builds the canvas item's drawing data (app.ui.canvas.prepared), so the
GUI thread's share of an accept stays a database write and a few lookups.
"""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.core import codec
from app.core.geometry import mask_to_parts, mask_to_rle
from app.core.model import Part
from app.ui.canvas import prepared


@dataclass
class AcceptJob:
    """One accepted candidate.

    mask: bool (H, W) in original-image pixels; logits: float32 (256, 256) low-res logits of the
    candidate (kept for a later refine); target: annotation id whose geometry is replaced, or None for a
    new annotation with label_id / z / score on image_id. generation: the controller's project session.
    parts / rle / error: filled by the worker.
    """

    generation: int
    image_id: int
    label_id: int | None
    target: int | None
    mask: np.ndarray
    logits: np.ndarray
    score: float
    z: int
    parts: tuple[Part, ...] = ()
    rle: dict | None = None
    error: str | None = None


class GeometryWorker(QObject):
    """One thread converting masks; `finished(AcceptJob)` arrives in the GUI thread (queued)."""

    finished = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: queue.Queue[AcceptJob | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="sam-labeler-geometry")
        self._thread.start()

    def submit(self, job: AcceptJob) -> None:
        """Queue a job (returns at once)."""
        self._queue.put(job)

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Finish the queued jobs, stop and join the thread."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout_s)

    def is_alive(self) -> bool:
        """True while the thread runs."""
        return self._thread.is_alive()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                job.parts = mask_to_parts(job.mask)
                job.rle = mask_to_rle(job.mask) if job.parts else None
                if not job.parts:
                    job.error = "The candidate mask is empty; add prompts or pick another candidate."
                else:
                    # what the GUI thread would otherwise do next: pack the geometry for the store
                    # (remembered by codec for this tuple) and build the canvas item's drawing data
                    codec.encode_parts(job.parts)
                    prepared.prepare(job.parts)
            except Exception as exc:  # noqa: BLE001 - reported to the user, the thread lives on
                job.error = f"The mask could not be converted to polygons: {exc}"
            self.finished.emit(job)
