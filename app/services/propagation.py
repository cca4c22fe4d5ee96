"""Propagation through frames for the GUI: the video model runs in its own thread (never the GUI's).

`PropagationJob.start(...)` loads the model (sam_backend.propagation.load_propagator), reads frames from
their files, propagates, and prepares each frame's proposals (geometry, RLE, COCO segmentation) in
that thread; `frameReady(image_id, annotations, object_ids)` hands them to the GUI thread, which owns
the project connection and writes each frame in one transaction (app.core.propagated.write_frame).
Progress, cancel (between frames), one-sentence failures. No widget is touched here.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.services.requests import describe_error

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PropagationTask:
    """What to propagate: frames (image id, file path) in sequence order, the anchor's index in them,
    object id -> bool anchor mask, object id -> label id, the model and how far to go."""

    frames: list[tuple[int, Path]]
    anchor: int
    masks: dict[int, np.ndarray]
    labels: dict[int, int]
    model_id: str
    device: str = "auto"
    forward: int | None = None
    backward: int | None = None
    threshold: float = 0.5


DEFAULT_MODEL = "sam2.1_hiera_tiny"


def propagation_model(preferred: str | None) -> str:
    """``preferred`` when its family can propagate (SAM 2.1, SAM 3, EdgeTAM), else SAM 2.1 tiny."""
    from sam_backend.families import family_for

    fam = family_for(preferred) if preferred else None
    return preferred if fam is not None and fam.load_propagator is not None else DEFAULT_MODEL  # type: ignore[return-value]


class PropagationJob(QObject):
    """One propagation in a worker thread. Signals are emitted from that thread (queued to receivers)."""

    frameReady = Signal(int, object, object)  # image id, list[Annotation], list[int] object ids touched
    progressed = Signal(int, int)  # frames done, frames to do (-1 while the model loads)
    finished = Signal(str)  # summary sentence (also after a cancel)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cancel_event = threading.Event()
        self.dialog: QObject | None = None  # the progress dialog the window shows for it (app.ui.propagate_ui)
        self._thread: threading.Thread | None = None

    def start(self, task: PropagationTask) -> None:
        """Run ``task`` in a new thread (returns at once)."""
        self._thread = threading.Thread(target=self._run, args=(task,), name="sam-propagation", daemon=True)
        self._thread.start()

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def cancel(self) -> None:
        """Stop before the next frame (frames already handed over stay stored)."""
        self.cancel_event.set()

    def join(self, timeout_s: float = 10.0) -> None:
        """Wait for the thread (shutdown only)."""
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self, task: PropagationTask) -> None:
        from app.core.images import load_image
        from app.core.propagated import prepare_frame
        from sam_backend.propagation import PropagationCancelled, PropagationPlan, load_propagator

        done = 0
        try:
            self.progressed.emit(0, -1)
            plan = PropagationPlan(len(task.frames), task.anchor, task.forward, task.backward)
            propagator = load_propagator(task.model_id, device=task.device)
            if self.cancel_event.is_set():
                raise PropagationCancelled("propagation cancelled before it started")
            frames = task.frames

            def read(i: int) -> np.ndarray:
                return load_image(frames[i][1]).array

            for result in propagator.propagate(read, plan, task.masks, threshold=task.threshold,
                                               progress=lambda d, t: self.progressed.emit(d, t),
                                               should_cancel=self.cancel_event.is_set):
                image_id = frames[result.frame][0]
                prepared = prepare_frame(image_id, result.masks, result.scores, task.labels)
                self.frameReady.emit(image_id, prepared, [*result.masks, *result.stopped])
                done += 1
        except PropagationCancelled:
            self.finished.emit(self.tr("Propagation cancelled after {done} frames; their proposals are kept.").format(done=done))
            return
        except Exception as exc:  # noqa: BLE001 - the thread reports every failure as one sentence
            log.warning("propagation failed", exc_info=True)
            self.failed.emit(describe_error(exc, f"propagating with {task.model_id}"))
            return
        self.finished.emit(self.tr("Propagated {n} object(s) over {done} frames.").format(n=len(task.masks), done=done))
