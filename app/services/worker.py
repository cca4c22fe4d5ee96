"""The inference worker: ONE thread that owns the predictor and serves requests by priority (Qt-free).

Priorities, highest first:
  1. model load (or installing a given predictor);
  2. encode of the current image (posted by `post_encode`, jumps ahead of everything below);
  3. decode: only the newest request is kept; one for an image without an embedding encodes it first;
  4. automation tasks (`post_task`: text prompts, ...; app.services.automation_jobs), newest per channel;
  5. prefetch: encode the `prefetch_count` neighbours on each side of the current image (nearest first)
     into the cache, re-planned whenever the current image changes;
  6. batch encode (`post_encode_all`), one image per turn so decodes stay responsive.
Encodes are cooperatively interruptible (`should_abort`, polled by the predictor between encoder
blocks): a prefetch or batch encode stops as soon as a higher-priority request is queued (decode,
current-image encode, model load, shutdown) and is put back to its plan/queue; a current-image (or
decode-triggered) encode stops only for a model load, shutdown, or when another image became current.
An aborted encode reports encodeState "queued" and no failure.
Image loading (app.core.images.load_image) and sha1 hashing happen in this thread. Embeddings live in
a sam_backend EmbeddingCache (memory LRU + optional disk) keyed by (model id, file sha1, preprocess
version); the current image's embedding is also held directly ("hot"). Every exception is turned into
one sentence for the sink; the thread never dies of one. Reports go to a WorkerSink.
"""
from __future__ import annotations

import logging
import time
from functools import partial
from pathlib import Path
from typing import Any, Callable

from app.core.images import load_image
from app.services.automation_jobs import TaskContext, TaskResult, WorkerTask, execute
from app.services.requests import DecodeRequest, DecodeResult, ImageItem, WorkerSink, describe_error
from app.services.worker_api import BATCH_TEXT, WorkerState, translate
from app.services.worker_models import WorkerPredictor, cache_model_id, fallback_reason, precision_in_effect, warm_up
from sam_backend.cache import CacheKey, EmbeddingCache
from sam_backend.errors import EncodeAborted
from sam_backend.types import ImageEmbedding

log = logging.getLogger(__name__)
Job = Callable[[], None]


class InferenceWorker(WorkerState):
    """Owns the worker thread (state and GUI-thread API: app.services.worker_api.WorkerState)."""

    # ------------------------------------------------------------------------------ worker loop
    def _run(self) -> None:
        while True:
            with self._cond:
                job = self._take_job_locked()
                while job is None and not self._stop:
                    self._cond.wait()
                    job = self._take_job_locked()
                if self._stop or job is None:
                    break
            try:
                job()
                self._check_fallback()
            except Exception as exc:  # the worker must survive everything
                log.exception("inference job failed")
                self._sink.failed(describe_error(exc, "running an inference job"))
        self._predictor = None
        self._hot = None
        self._detectors.clear()

    def _take_job_locked(self) -> Job | None:
        if self._stop:
            return None
        if self._new_cache is not None:
            self._cache, self._new_cache = self._new_cache, None
            self._hot = None
            self._prefetch_done.clear()
        if self._install_next is not None:
            (predictor, model_id), self._install_next = self._install_next, None
            return partial(self._install, predictor, model_id)
        if self._load is not None:
            job, self._load = self._load, None
            return partial(self._do_load, job)
        if not self._has_predictor:
            if self._decode is not None:
                self._decode = None
                return partial(self._sink.failed, translate(
                    "InferenceWorker", "No model is loaded; choose one in the model manager."))
            if self._tasks:
                _, task = self._tasks.popitem()
                return partial(self._report_task, TaskResult(task.task_id, task.channel, task.image_key, error=translate(
                    "InferenceWorker", "No SAM model is loaded; choose one in the model manager.")))
            return None
        if self._encode_pending and self._current is not None:
            self._encode_pending = False
            key, path = self._current
            return partial(self._do_encode, key, path, True)
        if self._decode is not None:
            req, self._decode = self._decode, None
            return partial(self._do_decode, req)
        if self._tasks:
            channel = next(iter(self._tasks))
            task = self._tasks.pop(channel)
            self._running_task = task
            return partial(self._do_task, task)
        nxt = self._next_prefetch_locked()
        if nxt is not None:
            self._prefetch_done.add(nxt[0])
            return partial(self._do_encode, nxt[0], nxt[1], False)
        nxt_batch = self._batch.take()
        return None if nxt_batch is None else partial(self._do_batch_item, *nxt_batch)

    def _next_prefetch_locked(self) -> ImageItem | None:
        if self._current is None or self._prefetch_count <= 0 or self._settled != self._current[0]:
            return None
        idx = self._index_of.get(self._current[0])
        if idx is None:
            return None
        for d in range(1, self._prefetch_count + 1):
            for j in (idx + d, idx - d):
                if 0 <= j < len(self._items):
                    key = self._items[j][0]
                    if key not in self._prefetch_done and key != self._current[0]:
                        return self._items[j]
        return None

    # ------------------------------------------------------------------------------------ jobs
    def _do_load(self, job: tuple[Any, ...]) -> None:
        _, model_id, checkpoint, device, precision = job
        text = translate("InferenceWorker", "Loading {model}").format(model=model_id)
        self._sink.progress(text, 0, -1)
        try:
            predictor = self._loader(model=model_id, checkpoint=checkpoint, device=device, precision=precision)
            warm_up(predictor)
        except Exception as exc:
            msg = describe_error(exc, f"loading {model_id}")
            log.warning("model load failed: %s", msg)
            self._sink.progress(text, 1, 1)
            if self._predictor is not None:  # the previous model stays in service
                self._sink.model_state("ready", self._model_text())
            else:
                self._sink.model_state("error", msg)
            self._sink.failed(msg)
            return
        self._sink.progress(text, 1, 1)
        if self._load_cancel.is_set():
            if self._predictor is not None:
                self._sink.model_state("ready", self._model_text())
            else:
                self._sink.model_state("none", translate("InferenceWorker", "Loading {model} was cancelled.").format(
                    model=model_id))
            return
        self._install(predictor, model_id, precision)
        self._sink.model_state("ready", self._model_text())

    def _install(self, predictor: WorkerPredictor, model_id: str, precision: str = "fp32") -> None:
        reencode = self._hot is not None
        self._predictor = predictor
        self._fallback_seen = fallback_reason(predictor)
        self._model_id = model_id
        self._precision = precision_in_effect(predictor, precision)
        self._device = predictor.device_name
        self._hot = None
        with self._cond:
            self._settled = None  # prefetch waits until the current image is encoded by this model
            self._has_predictor = True
            self._prefetch_done.clear()
            if self._current is not None and reencode:
                self._encode_pending = True  # re-encode the current image with the new model

    def _model(self) -> WorkerPredictor:
        """The installed predictor (jobs that need one run only after a model was installed)."""
        if self._predictor is None:
            raise RuntimeError("no model is loaded")
        return self._predictor

    def _check_fallback(self) -> None:
        """Report once when the predictor moved itself to the CPU (CUDA out of memory)."""
        reason = fallback_reason(self._predictor)
        if self._predictor is None or not reason or reason == self._fallback_seen:
            return
        self._fallback_seen = reason
        self._device = self._predictor.device_name
        self._hot = None  # embeddings on the old device are re-read from the cache on the new one
        self._sink.model_state("ready", self._model_text())
        self._sink.failed(translate("InferenceWorker", "The model now runs on the CPU: {reason}.").format(
            reason=str(reason).rstrip(".")))

    def _model_text(self) -> str:
        if self._precision != "fp32":  # an opt-in fast mode: the status bar says so
            return translate("InferenceWorker", "{model} ({mode}) on {device}").format(
                model=self._model_id, mode=self._precision, device=self._device)
        return translate("InferenceWorker", "{model} on {device}").format(model=self._model_id, device=self._device)

    def _do_encode(self, key: str, path: Path, current: bool) -> None:
        """Make sure `key` has an embedding (hot when current); report encodeState; errors -> "error".

        An aborted encode is put back: a prefetch to the prefetch plan, a current image's encode to
        the pending current encode (when that image is still current).
        """
        try:
            self._embedding(key, path, hot=current, should_abort=self._aborter(key, by_decodes=not current))
        except EncodeAborted:
            with self._cond:
                if not current:
                    self._prefetch_done.discard(key)
                elif self._current is not None and self._current[0] == key:
                    self._encode_pending = True
            return
        except Exception as exc:
            msg = describe_error(exc, f"encoding {path.name}")
            log.warning("encode failed: %s", msg)
            with self._cond:
                self._prefetch_done.add(key)  # do not retry a broken neighbour forever
            self._sink.encode_state(key, "error")
            if current:
                self._sink.failed(msg)
        if current:
            self._settle(key)

    def _do_decode(self, req: DecodeRequest) -> None:
        if self._is_stale(req):
            return
        with self._cond:
            path = self._paths.get(req.image_key)
            is_current = self._current is not None and self._current[0] == req.image_key
        if path is None:
            self._sink.failed(translate("InferenceWorker", "Image {key} was never opened; it cannot be segmented.")
                              .format(key=req.image_key))
            return
        waited = not (self._hot is not None and self._hot[0] == req.image_key)
        try:
            emb = self._embedding(req.image_key, path, hot=is_current, quiet_hit=True,
                                  should_abort=self._aborter(req.image_key, by_decodes=False))
        except EncodeAborted:
            with self._cond:  # serve it again after the more urgent job, unless a newer decode came
                if self._decode is None and req.request_id >= self._latest_decode:
                    self._decode = req
            return
        except Exception as exc:
            self._sink.encode_state(req.image_key, "error")
            self._sink.failed(describe_error(exc, f"encoding {path.name}"))
            if is_current:
                self._settle(req.image_key)
            return
        if is_current:
            self._settle(req.image_key)
        if self._is_stale(req):
            return
        p = req.prompts
        t0 = time.perf_counter()
        try:
            pred = self._model().predict(
                emb, points=list(p.points) or None, labels=list(p.labels) or None, box=p.box,
                mask_input=req.mask_input, multimask=True)
        except Exception as exc:
            self._sink.failed(describe_error(exc, "computing the mask"))
            return
        t1 = time.perf_counter()
        self._sink.decoded(DecodeResult(
            request_id=req.request_id, image_key=req.image_key, prompts=p, prediction=pred,
            elapsed_ms=(t1 - req.posted_at) * 1000.0, decode_ms=(t1 - t0) * 1000.0,
            posted_at=req.posted_at, finished_at=t1, waited_for_encode=waited))

    def _do_task(self, task: WorkerTask) -> None:
        """Run an automation task with the predictor, the image's embedding and the detector cache."""
        with self._cond:
            is_current = self._current is not None and self._current[0] == task.image_key

        def embed() -> Any:
            emb = self._embedding(task.image_key, Path(task.path), hot=is_current, quiet_hit=True)
            if is_current:
                self._settle(task.image_key)
            return emb

        try:
            result = execute(task, TaskContext(task, self._model(), embed, self._detectors, self._sink.progress))
        finally:
            with self._cond:
                if self._running_task is task:
                    self._running_task = None
        if not result.cancelled:
            self._report_task(result)

    def _report_task(self, result: TaskResult) -> None:
        report = getattr(self._sink, "task_finished", None)
        if report is not None:
            report(result)
        elif result.error:
            self._sink.failed(result.error)

    def _settle(self, key: str) -> None:
        with self._cond:
            if self._current is not None and self._current[0] == key:
                self._settled = key

    def _is_stale(self, req: DecodeRequest) -> bool:
        with self._cond:
            return req.request_id < self._latest_decode

    def _do_batch_item(self, item: ImageItem, gen: int) -> None:
        key, path = item
        failure = None
        try:
            ck = self._cache_key(path)
            if not self._cache.on_disk(ck):  # on disk: done without loading it into memory
                self._embedding(key, path, hot=False, should_abort=self._aborter(key, by_decodes=True))
        except EncodeAborted:
            with self._cond:
                self._batch.put_back(item, gen)  # again on a later turn
            return
        except Exception as exc:
            failure = describe_error(exc, f"encoding {path.name}")
        with self._cond:
            report = self._batch.finished_one(gen, failure)
        if report is None:
            return  # cancelled meanwhile; cancel() already reported the end
        self._sink.progress(translate("InferenceWorker", BATCH_TEXT), report.done, report.total)
        if report.finished and report.failures:
            self._sink.failed(f"{len(report.failures)} of {report.total} images could not be encoded; "
                              f"first: {report.failures[0]}")

    # -------------------------------------------------------------------------------- embedding
    def _embedding(self, key: str, path: Path, hot: bool, quiet_hit: bool = False,
                   should_abort: Callable[[], bool] | None = None) -> ImageEmbedding:
        """The embedding of `key`: hot copy, cache (memory, then disk), else load + encode + cache.

        Emits encodeState "encoding" before a real encode and "ready" after success (not for a hot
        hit when `quiet_hit`, so that every decode does not repeat "ready"). should_abort is handed to
        an encode that takes it; an aborted encode emits "queued" and raises EncodeAborted.
        """
        ck = self._cache_key(path)
        if self._hot is not None and self._hot[0] == key and self._hot[1] == ck:
            if not quiet_hit:
                self._sink.encode_state(key, "ready")
            return self._hot[2]
        emb = self._cache.get(ck, self._device)
        if emb is None:
            self._sink.encode_state(key, "encoding")
            image = load_image(path).array
            try:
                emb = self._model().encode(image, should_abort=should_abort)
            except EncodeAborted:
                self._sink.encode_state(key, "queued")
                raise
            self._cache.put(ck, emb)
        if hot:
            self._hot = (key, ck, emb)
        self._sink.encode_state(key, "ready")
        return emb

    def _aborter(self, key: str, by_decodes: bool) -> Callable[[], bool]:
        """should_abort for an encode of `key` (polled in this thread; lock-free reads of single fields).

        True on shutdown, a queued model load/install, or a queued encode of another current image;
        with `by_decodes` (prefetch, batch) also for a queued decode of another image.
        """

        def should_abort() -> bool:
            if self._stop or self._load is not None or self._install_next is not None:
                return True
            cur = self._current
            if self._encode_pending and cur is not None and cur[0] != key:
                return True
            if by_decodes:
                dec = self._decode
                return (dec is not None and dec.image_key != key) or bool(self._tasks)
            return False

        return should_abort

    def _cache_key(self, path: Path) -> CacheKey:
        model = cache_model_id(self._model_id, self._precision)  # a fast mode's embeddings apart from exact ones
        return CacheKey(model, self._hashes.sha1(path), int(self._model().preprocess_version))
