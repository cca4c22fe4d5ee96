"""The inference worker's state and its GUI-thread API (non-blocking `post_*` calls guarded by one
condition); the worker thread's side is app.services.worker.InferenceWorker."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from PySide6.QtCore import QCoreApplication

from app.services.automation_jobs import DetectorCache, WorkerTask
from app.services.requests import DecodeRequest, ImageItem, WorkerSink
from app.services.tr_noop import QT_TRANSLATE_NOOP
from app.services.worker_batch import BatchQueue
from app.services.worker_models import FileHashes, WorkerPredictor, load_predictor
from sam_backend.cache import CacheKey, EmbeddingCache
from sam_backend.types import ImageEmbedding

BATCH_TEXT = QT_TRANSLATE_NOOP("InferenceWorker", "Encoding images")  # English source; shown translated
translate = QCoreApplication.translate  # thread-safe: the worker's messages are in the user's language


class WorkerState:
    """The worker's state; public `post_*` methods are called from the GUI thread and never block."""

    def __init__(self, sink: WorkerSink, cache: EmbeddingCache, prefetch_count: int = 2,
                 loader: Callable[..., Any] | None = None) -> None:
        self._sink = sink
        self._cache = cache
        self._loader = loader if loader is not None else load_predictor
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="sam-inference-worker", daemon=True)
        # --- guarded by _cond
        self._stop = False
        self._load: tuple[Any, ...] | None = None
        self._install_next: tuple[Any, str] | None = None
        self._current: ImageItem | None = None
        self._encode_pending = False
        self._decode: DecodeRequest | None = None
        self._latest_decode = 0
        self._paths: dict[str, Path] = {}
        self._items: list[ImageItem] = []
        self._index_of: dict[str, int] = {}
        self._prefetch_count = max(0, int(prefetch_count))
        self._prefetch_done: set[str] = set()
        self._settled: str | None = None  # key of the current image once its encode ended (any outcome)
        self._batch = BatchQueue()
        self._has_predictor = False
        self._new_cache: EmbeddingCache | None = None
        self._load_cancel = threading.Event()
        self._tasks: dict[str, WorkerTask] = {}  # newest queued task per channel
        self._running_task: WorkerTask | None = None
        # --- worker thread only
        self._detectors = DetectorCache()
        self._predictor: WorkerPredictor | None = None
        self._model_id = ""
        self._precision = "fp32"  # the installed model's encoder precision in effect
        self._device = "cpu"
        self._hot: tuple[str, CacheKey, ImageEmbedding] | None = None
        self._fallback_seen: str | None = None
        self._hashes = FileHashes()

    # ------------------------------------------------------------------ GUI-thread API (non-blocking)
    def start(self) -> None:
        """Start the thread (once)."""
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Ask the thread to stop after its current step, join it; True when it has ended."""
        with self._cond:
            self._stop = True
            self._load_cancel.set()
            self._cond.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def is_alive(self) -> bool:
        """True while the thread runs."""
        return self._thread.is_alive()

    def post_load(self, model_id: str, checkpoint: str | None, device: str, precision: str = "fp32") -> None:
        """Load a model with sam_backend.load_predictor (replaces a pending load); precision: the
        encoder's mode ("fp32" exact, or a fast mode of sam_backend.modes)."""
        with self._cond:
            self._load_cancel.clear()
            self._load = ("load", model_id, checkpoint, device, precision)
            self._cond.notify_all()

    def post_install(self, predictor: Any, model_id: str) -> None:
        """Use an already built predictor (tests, fake predictor); a pending model load is dropped."""
        with self._cond:
            self._load = None
            self._install_next = (predictor, model_id)
            self._cond.notify_all()

    def set_image_list(self, items: Sequence[ImageItem], current: int) -> None:
        """The project's images in navigation order and the current index.

        Prefetch plans around the current image, and starts only once that image has been encoded
        (`post_encode`); this call alone encodes nothing.
        """
        with self._cond:
            self._items = [(str(k), Path(p)) for k, p in items]
            self._index_of = {k: i for i, (k, _) in enumerate(self._items)}
            self._paths.update(dict(self._items))
            if 0 <= current < len(self._items):
                if self._current is None or self._current[0] != self._items[current][0]:
                    self._prefetch_done.clear()  # a new current image: re-plan the neighbours
                self._current = self._items[current]
            self._cond.notify_all()

    def set_prefetch_count(self, count: int) -> None:
        """Neighbours on each side to pre-encode when idle."""
        with self._cond:
            self._prefetch_count = max(0, int(count))
            self._cond.notify_all()

    def post_cache(self, cache: EmbeddingCache, prefetch_count: int | None = None) -> None:
        """Replace the embedding cache (settings changed) before the next job; optionally the prefetch count too."""
        with self._cond:
            self._new_cache = cache
            if prefetch_count is not None:
                self._prefetch_count = max(0, int(prefetch_count))
            self._cond.notify_all()

    def post_encode(self, image_key: str, path: Path) -> None:
        """Make `image_key` the current image and encode it before anything but a model load."""
        with self._cond:
            if self._current is None or self._current[0] != image_key:
                self._prefetch_done.clear()  # re-plan: neighbours are re-checked (cheap when cached)
            self._current = (image_key, Path(path))
            self._paths[image_key] = Path(path)
            self._encode_pending = True
            self._cond.notify_all()

    def post_decode(self, request: DecodeRequest) -> None:
        """Queue a decode; it replaces any queued decode (only the newest is ever served)."""
        with self._cond:
            self._latest_decode = max(self._latest_decode, request.request_id)
            self._decode = request
            self._cond.notify_all()

    def drop_decodes(self, newest_id: int) -> None:
        """Forget queued decodes older than or equal to `newest_id` (e.g. the prompts were cleared)."""
        with self._cond:
            self._latest_decode = max(self._latest_decode, newest_id)
            if self._decode is not None and self._decode.request_id <= newest_id:
                self._decode = None

    def post_task(self, task: WorkerTask) -> None:
        """Queue an automation task (app.services.automation_jobs); it replaces the queued task of its
        channel and cancels the running one (newest wins). Served after decodes, before prefetch."""
        with self._cond:
            self._paths.setdefault(task.image_key, Path(task.path))
            old = self._tasks.get(task.channel)
            if old is not None:
                old.cancel.set()
            running = self._running_task
            if running is not None and running.channel == task.channel:
                running.cancel.set()
            self._tasks[task.channel] = task
            self._cond.notify_all()

    def post_encode_all(self, items: Sequence[ImageItem]) -> None:
        """Pre-compute embeddings of `items` into the cache (batch job with progress)."""
        with self._cond:
            for k, p in items:
                self._paths.setdefault(str(k), Path(p))
            report = self._batch.add(items)
            self._cond.notify_all()
        self._sink.progress(translate("InferenceWorker", BATCH_TEXT), report.done, report.total)

    def cancel(self) -> None:
        """Cancel a pending/running model load and the batch job."""
        with self._cond:
            self._load_cancel.set()
            self._load = None
            done = self._batch.cancel()
        if done is not None:
            self._sink.progress(translate("InferenceWorker", "Encoding cancelled"), done, done)

    if TYPE_CHECKING:  # the worker thread's body, implemented by InferenceWorker (app.services.worker)
        _run: Callable[[], None]
