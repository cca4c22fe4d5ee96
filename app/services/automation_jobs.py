"""Automation jobs on the inference worker (Qt-free): the GUI posts a ``WorkerTask`` (a function of
a ``TaskContext``) and gets a ``TaskResult`` back; the function runs in the worker thread, next to
the predictor, on the predictor's device.

Tasks are kept per channel, newest wins: posting a task on a channel replaces the queued one and
sets the ``cancel`` event of the running one (automations check it between steps and raise
app.core.formats.common.Cancelled). The worker serves tasks after decodes and before prefetch.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.automation.api import AutomationInput
from app.core.formats.common import Cancelled
from app.core.images import load_image
from app.services.requests import describe_error
from sam_backend.families import Detector, Embedding, Predictor

ProgressSink = Callable[[str, int, int], None]
DetectorLoad = Callable[..., Detector]


@dataclass
class WorkerTask:
    """One job: ``run(ctx)`` on image ``image_key`` (file ``path``, project id ``image_id``)."""

    task_id: int
    channel: str
    image_key: str
    path: Path
    run: Callable[["TaskContext"], object]
    image_id: int | None = None
    posted_at: float = field(default_factory=time.perf_counter)
    cancel: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class TaskResult:
    """What a task returned (``value``), or its error as one sentence; cancelled: it stopped early
    for a newer task of its channel (or shutdown). elapsed_ms: from posting to the end."""

    task_id: int
    channel: str
    image_key: str
    value: object = None
    error: str | None = None
    cancelled: bool = False
    elapsed_ms: float = 0.0


def _load_detector(id_or_path: str, device: str = "auto", precision: str = "fp32") -> Detector:
    from sam_backend.detectors import load_detector

    return load_detector(id_or_path, device=device, precision=precision)


class DetectorCache:
    """The detector last used, kept loaded between tasks (worker thread only); one at a time (a
    large detector holds about a gigabyte)."""

    def __init__(self, loader: DetectorLoad | None = None) -> None:
        self._loader = loader if loader is not None else _load_detector
        self._held: tuple[str, str, Detector] | None = None
        self.loads = 0

    def get(self, id_or_path: str, device: str, progress: ProgressSink | None = None) -> Detector:
        """The detector ``id_or_path`` on ``device``, loaded when it is not the one held."""
        if self._held is not None and self._held[:2] == (id_or_path, device):
            return self._held[2]
        self._held = None
        text = f"Loading {id_or_path}"
        if progress is not None:
            progress(text, 0, -1)
        try:
            det = self._loader(id_or_path, device=device)
        finally:
            if progress is not None:
                progress(text, 1, 1)
        self.loads += 1
        self._held = (id_or_path, device, det)
        return det

    def clear(self) -> None:
        """Forget the held detector (model change, shutdown)."""
        self._held = None


class TaskContext:
    """An AutomationContext (+ ``detector``) for one task in the worker thread: the predictor, the
    image's embedding (from the worker's caches), its pixels (loaded once) and its ``cancel`` event."""

    def __init__(self, task: WorkerTask, predictor: Predictor, embed: Callable[[], Embedding],
                 detectors: DetectorCache, progress: ProgressSink | None = None) -> None:
        self.task = task
        self.cancel = task.cancel
        self._predictor = predictor
        self._embed = embed
        self._detectors = detectors
        self._progress = progress
        self._image: np.ndarray | None = None

    @property
    def predictor(self) -> Predictor:
        """The loaded segmentation model."""
        return self._predictor

    def embedding(self, item: AutomationInput | None = None) -> Embedding:
        """The embedding of the task's image (the worker's hot copy or caches, else encoded)."""
        return self._embed()

    def detector(self, id_or_path: str) -> Detector:
        """A detector on the predictor's device (kept loaded for the next task)."""
        device = getattr(self._predictor, "device_name", None) or str(getattr(self._predictor, "device", "cpu"))
        return self._detectors.get(id_or_path, device, self._progress)

    def image(self) -> np.ndarray:
        """The task image's pixels, (H, W, 3) uint8 RGB after EXIF rotation."""
        if self._image is None:
            self._image = load_image(self.task.path).array
        return self._image

    def report_progress(self, text: str, done: int, total: int) -> None:
        """Progress of the task for the GUI (InferenceService.progress): total -1 when unknown,
        done == total when it ended."""
        if self._progress is not None:
            self._progress(text, int(done), int(total))

    def item(self) -> AutomationInput:
        """The task's image as an AutomationInput."""
        return AutomationInput(self.image(), self.task.image_id)


def execute(task: WorkerTask, ctx: TaskContext) -> TaskResult:
    """Run ``task`` in this thread; every exception becomes the result's one-sentence error."""
    value: object = None
    error: str | None = None
    cancelled = False
    try:
        if task.cancel.is_set():
            raise Cancelled("superseded")
        value = task.run(ctx)
    except Cancelled:
        cancelled = True
    except Exception as exc:  # noqa: BLE001 - reported to the GUI; the worker lives on
        error = describe_error(exc, f"running {task.channel} on {task.path.name}")
    return TaskResult(task.task_id, task.channel, task.image_key, value, error, cancelled,
                      (time.perf_counter() - task.posted_at) * 1000.0)
