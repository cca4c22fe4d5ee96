"""The accept service: an accepted candidate (or a drawn / edited shape) -> the geometry the store keeps.

Converting a mask to polygons costs ~30 ms at 2 MP, ~0.9 s for a fragmented 12 MP mask, and is mostly
Python work: in a thread of the GUI process it would hold the GIL in small slices and make the event
loop stutter (measured: 100-220 ms gaps while a 9000-part mask converted). So the work runs in ONE
worker process of a `concurrent.futures.ProcessPoolExecutor` (spawn context: no fork of a process
holding Qt and torch threads; `multiprocessing.freeze_support()` in app.__main__ lets a frozen build
serve as its interpreter). The worker returns everything the store and the canvas need - polygons
that carry their blob (codec.EncodedParts), exact RLE, outline and, when the caller asks for it, the
canvas's drawing data - so the GUI thread's share of an accept is one database write. Results are
unpickled by the executor's own thread, not the GUI thread.

`finished(AcceptResult)` is emitted in the GUI thread in submission order (FIFO: the undo stack gets
accepts in the order they were made). A worker process that dies (killed for memory, crashed) costs
only time: its jobs run again in a fresh process; after MAX_FAILURES_IN_A_ROW the service converts in
one thread instead (slower, but never loses an accept).
"""
from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
import time
from collections import deque
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.core.density import Tolerance, check_tolerance
from app.core.mask_convert import ConvertedMask, PackedMask, convert_packed, convert_rle
from app.core.model import Part
from app.services.geometry_work import Prepare, Request, StoredGeometry, convert_request, warm

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_FAILURES_IN_A_ROW = 3  # worker processes that die this often in a row are given up (one thread then)
EMPTY_MASK = "The candidate mask is empty; add prompts or pick another candidate."


@dataclass(frozen=True)
class AcceptJob:
    """One accepted candidate, or one manual shape (coordinates: original-image pixels).

    mask: bool (H, W) of an accepted candidate, or None for a manual shape whose `parts` (pixel-centre
    polygons) are given; logits: float32 (256, 256) low-res logits of the candidate (kept for a later
    refine) or None; target: annotation id whose geometry is replaced, or None for a new annotation
    with label_id / z / score on image_id; image_size: (H, W) of the image (manual shapes: the size
    their outline is computed for); generation: the caller's project session (results of an older
    one are ignored by the caller); tolerance: the polygon density of an accepted mask
    (app.core.density: None = Auto, 0 = exact outline, else px).
    """

    generation: int
    image_id: int
    label_id: int | None
    target: int | None
    mask: np.ndarray | None = field(repr=False)
    logits: np.ndarray | None = field(repr=False)
    score: float | None
    z: int
    parts: tuple[Part, ...] = ()
    image_size: tuple[int, int] | None = None
    tolerance: Tolerance = None

    @property
    def source(self) -> str:
        """The annotation source: "sam" for an accepted candidate, "manual" for a drawn/edited shape."""
        return "manual" if self.mask is None else "sam"


@dataclass(frozen=True)
class AcceptResult:
    """A finished job: its geometry, or `error` (one sentence for the user)."""

    job: AcceptJob
    geometry: StoredGeometry | None
    error: str | None = None


@dataclass
class _Pending:
    job: AcceptJob
    request: Request
    future: Future
    executor: Executor


class GeometryService(QObject):
    """Accepted shapes -> StoredGeometry off the GUI thread, delivered in submission order.

    prepare: a module-level function (it is pickled by reference into the worker) computing the
    canvas's drawing data of a geometry, or None. use_process=False: one thread instead of a process
    (tests; environments where processes cannot start).
    """

    finished = Signal(object)  # AcceptResult, in the GUI thread, in submission order
    _ready = Signal()          # a future completed (emitted from the executor's thread)

    def __init__(self, prepare: Prepare | None = None, use_process: bool = True,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._prepare = prepare
        self._use_process = use_process
        self._executor: Executor | None = None
        self._pending: deque[_Pending] = deque()
        self._executor_lock = threading.Lock()
        self._delivering = False
        self._closed = False
        self.process_failures = 0  # worker processes lost (diagnostics, tests)
        self._failures_in_a_row = 0
        self._ready.connect(self._deliver)

    # ------------------------------------------------------------------ API
    def warm_up(self) -> None:
        """Start the worker process now, so the first accept does not wait for it."""
        if not self._closed:
            executor = self._executor_now()
            try:
                executor.submit(warm, self._prepare)
            except BrokenProcessPool:
                self._restart(executor)

    def submit(self, job: AcceptJob) -> None:
        """Queue a job (returns at once); ValueError for a malformed mask (not 2-D) or tolerance."""
        if self._closed:
            raise RuntimeError("the accept service is shut down")
        request = Request(None if job.mask is None else PackedMask.of(job.mask), tuple(job.parts), job.image_size,
                          check_tolerance(job.tolerance))
        pending = _Pending(job, request, *self._start(request))
        self._pending.append(pending)
        pending.future.add_done_callback(self._on_done)

    def pending(self) -> int:
        """Jobs submitted and not yet delivered."""
        return len(self._pending)

    def pending_jobs(self) -> list[AcceptJob]:
        """The jobs not yet delivered, in order."""
        return [p.job for p in self._pending]

    def wait(self, timeout_s: float | None = 30.0) -> bool:
        """Block until every pending job is delivered (their `finished` emitted, in order, before
        this returns); False when the timeout passed first. GUI thread."""
        end = None if timeout_s is None else time.monotonic() + timeout_s
        while self._pending:
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                break
            wait_futures([p.future for p in self._pending], timeout=left)
            self._deliver()
        return not self._pending

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Deliver the pending jobs, then stop the worker."""
        self.wait(timeout_s)
        self._closed = True
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def convert_blocking(self, mask: np.ndarray, tolerance: Tolerance = None) -> ConvertedMask:
        """convert_mask(mask, tolerance) in the service's worker, waiting for it: for another worker
        thread (e.g. converting accepted proposals), never the GUI thread. Converted in the calling
        thread when the worker is gone or the service is shut down."""
        return self._blocking(convert_packed, PackedMask.of(mask), tolerance)

    def convert_rle_blocking(self, rle: dict, tolerance: Tolerance = None) -> ConvertedMask:
        """convert_blocking of the mask a COCO RLE holds (app.core.mask_convert.convert_rle: the same
        result, decoding only the mask's bounding box; the small RLE travels, not the mask)."""
        return self._blocking(convert_rle, rle, tolerance)

    def _blocking(self, fn: Callable[[Any, Tolerance], ConvertedMask], arg: object,
                  tolerance: Tolerance) -> ConvertedMask:
        if not self._closed:
            try:
                return self._executor_now().submit(fn, arg, tolerance).result()
            except (BrokenProcessPool, RuntimeError):  # the worker died / the executor is shutting down
                log.warning("converting in the calling thread: the accept worker is not available")
        return fn(arg, tolerance)

    def submit_work(self, fn: Callable[..., T], *args: object) -> "Future[T]":
        """Run a module-level function (pickled by reference) in the service's worker, beside the
        accepts (the preview of a candidate's outline, re-simplifying stored annotations); the
        caller gets the future (its callbacks run in an executor thread). RuntimeError once shut down."""
        if self._closed:
            raise RuntimeError("the accept service is shut down")
        for _attempt in range(MAX_FAILURES_IN_A_ROW):
            executor = self._executor_now()
            try:
                return executor.submit(fn, *args)
            except BrokenProcessPool:
                self._restart(executor)
        return self._executor_now().submit(fn, *args)

    def uses_process(self) -> bool:
        """True while jobs go to a worker process (False once it was given up, or never used)."""
        return self._use_process

    def worker_pids(self) -> list[int]:
        """Process ids of the worker processes running now (tests)."""
        procs = getattr(self._executor, "_processes", None) or {}
        return [int(pid) for pid in procs]

    # ------------------------------------------------------------------ internals
    def _executor_now(self) -> Executor:
        with self._executor_lock:  # convert_blocking may come from another thread
            if self._executor is None:
                if self._use_process:
                    self._executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
                else:
                    self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sam-labeler-accept")
            return self._executor

    def _start(self, request: Request) -> tuple[Future, Executor]:
        """Submit to the current executor; one found broken (its worker died while idle) is replaced."""
        while True:
            executor = self._executor_now()
            try:
                return executor.submit(convert_request, request, self._prepare), executor
            except BrokenProcessPool:
                self._restart(executor)

    def _on_done(self, _future: Future) -> None:
        """Executor thread: hand over to the GUI thread (queued signal)."""
        with contextlib.suppress(RuntimeError):  # the service was deleted meanwhile (application exit)
            self._ready.emit()

    def _deliver(self) -> None:
        """GUI thread: emit the finished jobs at the head of the queue, in order."""
        if self._delivering:  # a slot of `finished` got here again: the outer loop goes on
            return
        self._delivering = True
        try:
            while self._pending and self._pending[0].future.done():
                head = self._pending[0]
                exc = None if head.future.cancelled() else head.future.exception()
                if head.future.cancelled() or isinstance(exc, BrokenProcessPool):
                    self._restart(head.executor)
                    continue
                self._pending.popleft()
                if exc is None and isinstance(head.executor, ProcessPoolExecutor):
                    self._failures_in_a_row = 0
                self.finished.emit(self._result(head, exc))
        finally:
            self._delivering = False

    def _result(self, head: _Pending, exc: BaseException | None) -> AcceptResult:
        if exc is not None:
            if not isinstance(exc, ValueError):
                log.warning("an accept could not be converted", exc_info=exc)
            return AcceptResult(head.job, None, f"The mask could not be converted to polygons: {exc}")
        geometry = head.future.result()
        return AcceptResult(head.job, geometry, None if geometry is not None else EMPTY_MASK)

    def _restart(self, broken: Executor) -> None:
        """The worker process died: run every job it held again, in order, in a new one (or in a
        thread once processes failed MAX_FAILURES_IN_A_ROW times in a row)."""
        if self._executor is broken:
            self.process_failures += 1
            self._failures_in_a_row += 1
            log.warning("the accept worker process stopped; its jobs run again")
            self._executor = None
            broken.shutdown(wait=False, cancel_futures=True)
            if self._failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
                log.warning("the accept worker process failed %d times in a row: one thread from now on",
                            self._failures_in_a_row)
                self._use_process = False
        for p in self._pending:
            if p.executor is broken:
                p.future, p.executor = self._start(p.request)
                p.future.add_done_callback(self._on_done)
