"""InferenceService: the GUI's only door to SAM models (design.md "Inference threading").

The service is a QObject living in the GUI thread. It owns one InferenceWorker thread (app.services.worker)
that holds the predictor, and, while a download runs, one short-lived download thread. Every public
signal is emitted in the GUI thread: the threads report through private signals connected with
Qt.QueuedConnection, so no Qt object is ever touched from a worker. No method blocks on the model.

Newest decode wins: each `decode` returns an increasing request id; queued decodes are replaced and
`decodeFinished` is emitted only for the newest id (results of older requests are dropped).
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal, Slot

from app.services.automation_jobs import TaskContext, TaskResult, WorkerTask
from app.services.prompts import PromptSet
from app.services.requests import DecodeRequest, DecodeResult, ImageItem
from app.services.settings import Settings
from app.services.worker import InferenceWorker
from sam_backend.cache import EmbeddingCache
from sam_backend.paths import embeddings_dir

log = logging.getLogger(__name__)

__all__ = ["InferenceService", "DecodeResult"]


class InferenceService(QObject):
    """Model loading, encoding, decoding, prefetch, batch encoding and downloads off the GUI thread.

    Signals (all emitted in the GUI thread):
        modelStateChanged(state, text): state "none" | "loading" | "ready" | "error"; text e.g. "mobile_sam on cpu".
        encodeStateChanged(image_key, state): "queued" | "encoding" | "ready" | "error" (also for prefetched
            neighbours; filter on the key you show).
        decodeFinished(DecodeResult): only for the newest decode request.
        failed(text): one human sentence.
        progress(text, done, total): total -1 when unknown; done == total means the job ended.
        taskFinished(TaskResult): an automation task ended (only the newest task of its channel).
    """

    modelStateChanged = Signal(str, str)
    encodeStateChanged = Signal(str, str)
    decodeFinished = Signal(object)
    failed = Signal(str)
    progress = Signal(str, int, int)
    taskFinished = Signal(object)

    # private relays: emitted from the worker/download threads, delivered queued in the GUI thread
    _wModel = Signal(str, str)
    _wEncode = Signal(str, str)
    _wDecode = Signal(object)
    _wFailed = Signal(str)
    _wProgress = Signal(str, int, int)
    _wTask = Signal(object)

    def __init__(self, settings: Settings | None = None, parent: QObject | None = None,
                 cache: EmbeddingCache | None = None) -> None:
        """Start the worker. Cache from settings (memory MB, disk on/off) unless `cache` is given."""
        super().__init__(parent)
        self._settings = settings if settings is not None else Settings.load()
        if cache is None:
            cache = _cache_from(self._settings)
        self._latest_id = 0
        self._task_id = 0
        self._model_state = "none"
        self._model_text = "no model"
        self._closed = False
        q = Qt.ConnectionType.QueuedConnection
        self._wModel.connect(self._on_model, q)
        self._wEncode.connect(self.encodeStateChanged, q)
        self._wDecode.connect(self._on_decode, q)
        self._wFailed.connect(self.failed, q)
        self._wProgress.connect(self.progress, q)
        self._wTask.connect(self._on_task, q)
        self._latest_task: dict[str, int] = {}
        self._worker = InferenceWorker(_Relay(self), cache, prefetch_count=self._settings.prefetch_count)
        self._worker.start()

    # ------------------------------------------------------------------------------------- model
    def load_model(self, model_id: str, checkpoint: str | None = None, device: str = "auto",
                   precision: str = "fp32") -> None:
        """Load `model_id` in the worker (checkpoint None: the verified file in the model cache);
        precision: the encoder's mode ("fp32" exact, or an opt-in fast mode of sam_backend.modes).

        modelStateChanged("loading", ...) now, then "ready" or "error" (+ failed) later.
        """
        self._set_model_state("loading", self.tr("Loading {model}…").format(model=model_id))
        self._requested = (model_id, checkpoint, device, precision)
        self._worker.post_load(model_id, checkpoint, device, precision)

    def requested_model(self) -> tuple[str, str | None, str, str] | None:
        """(model id, checkpoint, device, precision) of the last load_model (None before any): what
        batch jobs load."""
        return getattr(self, "_requested", None)

    def set_predictor(self, predictor: Any, model_id: str) -> None:
        """Use an already built predictor (tests, FakePredictor); state becomes "ready" at once."""
        self._worker.post_install(predictor, model_id)
        self._set_model_state("ready", self.tr("{model} on {device}").format(
            model=model_id, device=getattr(predictor, "device", "cpu")))

    def has_model(self) -> bool:
        """True when a model is ready (as last reported to the GUI thread)."""
        return self._model_state == "ready"

    def model_state(self) -> str:
        """"none" | "loading" | "ready" | "error"."""
        return self._model_state

    def model_text(self) -> str:
        """Human description of the model state, e.g. "mobile_sam on cpu"."""
        return self._model_text

    # ---------------------------------------------------------------------------------- images
    def set_image_list(self, items: list[tuple[str, Path]], current: int) -> None:
        """The project's (image_key, path) in navigation order and the current index, for prefetch."""
        self._worker.set_image_list(items, current)

    def apply_settings(self, settings: Settings) -> None:
        """Take over prefetch count, memory cache size and disk cache on/off (the cache is rebuilt)."""
        self._settings = settings
        self._worker.post_cache(_cache_from(settings), settings.prefetch_count)

    def set_prefetch_count(self, count: int) -> None:
        """Neighbours pre-encoded on each side of the current image (takes effect at once)."""
        self._worker.set_prefetch_count(count)

    def encode(self, image_key: str, path: Path) -> None:
        """Make `image_key` current and encode it ahead of decodes and prefetch ("queued" is emitted now)."""
        self.encodeStateChanged.emit(image_key, "queued")
        self._worker.post_encode(image_key, Path(path))

    def decode(self, image_key: str, prompts: PromptSet, mask_input: np.ndarray | None = None) -> int:
        """Post a decode; returns its request id. Only the newest id's result is ever emitted.

        Empty prompts post nothing but still make every older request stale (use after clearing).
        mask_input: float32 square low-res logits in the model's frame (256x256 for SAM and SAM 2.1, 288x288
        for SAM 3; e.g. a previous result's low_res_logits[k]) or None.
        """
        self._latest_id += 1
        rid = self._latest_id
        if prompts.is_empty():
            self._worker.drop_decodes(rid)
            return rid
        if mask_input is not None:
            mask_input = np.asarray(mask_input, dtype=np.float32)
            if mask_input.ndim != 2 or mask_input.shape[0] != mask_input.shape[1]:
                self._worker.drop_decodes(rid)
                self.failed.emit(self.tr("A mask input must be square low-res logits, not {shape}.").format(
                    shape=mask_input.shape))
                return rid
        self._worker.post_decode(DecodeRequest(rid, image_key, prompts, mask_input, time.perf_counter()))
        return rid

    def run_task(self, channel: str, image_key: str, path: Path, run: Callable[[TaskContext], object],
                 image_id: int | None = None) -> int:
        """Run ``run(ctx)`` in the worker thread for image ``image_key`` (an automation: text prompts, ...);
        returns the task id. Newest wins per channel: an older task of the channel is cancelled and
        its result dropped; ``taskFinished(TaskResult)`` comes for the newest one only."""
        self._task_id += 1
        self._latest_task[channel] = self._task_id
        self._worker.post_task(WorkerTask(self._task_id, channel, image_key, Path(path), run, image_id))
        return self._task_id

    # ------------------------------------------------------------------------------------- jobs
    def encode_all(self, items: Sequence[ImageItem]) -> None:
        """Pre-compute embeddings of `items` into the cache, one per worker turn (progress "Encoding images")."""
        if not self.has_model() and self._model_state != "loading":
            self.failed.emit(self.tr("No model is loaded; choose one in the model manager before encoding images."))
            return
        self._worker.post_encode_all(list(items))

    def cancel(self) -> None:
        """Cancel the model load and the batch job (each ends with a final progress)."""
        self._worker.cancel()

    # --------------------------------------------------------------------------------- shutdown
    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Stop and join the worker thread (call from closeEvent); idempotent."""
        self._closed = True
        self._worker.stop(timeout_s)
        if self._worker.is_alive():
            log.warning("inference worker did not stop within %.1f s", timeout_s)

    def is_running(self) -> bool:
        """True while the worker thread is alive."""
        return self._worker.is_alive()

    # ----------------------------------------------------------------------------- GUI-thread slots
    @Slot(str, str)
    def _on_model(self, state: str, text: str) -> None:
        self._set_model_state(state, text)

    @Slot(object)
    def _on_decode(self, result: DecodeResult) -> None:
        if result.request_id == self._latest_id and not self._closed:
            self.decodeFinished.emit(result)

    @Slot(object)
    def _on_task(self, result: TaskResult) -> None:
        if result.task_id == self._latest_task.get(result.channel) and not self._closed:
            self.taskFinished.emit(result)

    def _set_model_state(self, state: str, text: str) -> None:
        self._model_state = state
        self._model_text = text
        self.modelStateChanged.emit(state, text)


def _cache_from(settings: Settings) -> EmbeddingCache:
    """EmbeddingCache sized by settings.memory_cache_mb, on disk in embeddings_dir() when settings.disk_cache."""
    disk = embeddings_dir() if settings.disk_cache else None
    return EmbeddingCache(max_bytes=int(settings.memory_cache_mb) * 1024 * 1024, disk_dir=disk)


class _Relay:
    """WorkerSink that emits the service's private signals (safe from any thread)."""

    def __init__(self, service: InferenceService) -> None:
        self._s = service

    def _emit(self, signal_name: str, *args: object) -> None:
        try:
            getattr(self._s, signal_name).emit(*args)
        except RuntimeError:  # the service's C++ object is gone (application closing)
            log.debug("dropped %s after the service was deleted", signal_name)

    def model_state(self, state: str, text: str) -> None:
        self._emit("_wModel", state, text)

    def encode_state(self, image_key: str, state: str) -> None:
        self._emit("_wEncode", image_key, state)

    def decoded(self, result: DecodeResult) -> None:
        self._emit("_wDecode", result)

    def failed(self, text: str) -> None:
        self._emit("_wFailed", text)

    def progress(self, text: str, done: int, total: int) -> None:
        self._emit("_wProgress", text, done, total)

    def task_finished(self, result: TaskResult) -> None:
        self._emit("_wTask", result)
