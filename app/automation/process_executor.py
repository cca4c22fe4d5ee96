"""Batch auto-labelling in worker processes on this machine: several images at a time, each worker
process holding its own model with its own torch threads.

Why processes: on a CPU, one encode spread over all cores scales imperfectly (2 cores: 566-607 ms
wall for a mobile_sam encode that takes 895 ms on one core, i.e. 1.5-1.6x for 2x the cores), and
the mask decoder's small matrix products scale worse. Two workers with one thread each keep both
cores busy with whole images: measured on 2 cores (mobile_sam, 1500x1000, 5 boxes per image,
quiet machine) 1.80-1.89 images/s against 1.54-1.73 for the one-process pipeline; 2 boxes:
2.06-2.10 against 1.82-1.99 (benchmarks/bench_autolabel.py --sections pipeline). They also
degrade gracefully when another program takes a core, which two threads of one encode do not. Threads cannot do this in one process: torch's thread count is shared by
the whole process.

Each worker is a spawned process (no fork: torch and Qt are not fork-safe) that loads the model
once, then labels the jobs the parent sends through its own pipe (decoding the image itself, so
decoding is parallel too) and sends each result back. The parent keeps two jobs per worker in
flight (the next one waits in the pipe), yields results in order of arrival, and notices a worker
that dies (the image it was labelling gets an error result; the jobs queued behind it go to the
others). Ctrl+C is the parent's alone: the workers start with SIGINT blocked, then ignore it; on
any end (done, cancel, interrupt, error) the parent tells them to stop and terminates stragglers.
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import cast
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from app.automation.batch import (BatchJob, BatchResult, Executor, LocalExecutor, ModelSpec, PredictorLoader,
                                  _load_predictor, compute)
from app.core.formats.common import Cancelled
from app.core.options import OptionValue

DEPTH = 2
"""Jobs in flight per worker: the one being labelled and the next, waiting in the pipe."""
STOP_GRACE_S = 5.0
"""How long a worker may take to finish after being told to stop before it is terminated."""


class WorkerError(RuntimeError):
    """The worker processes cannot go on (one sentence: they all stopped, or could not start)."""


# ---------------------------------------------------------------------------- the worker side
def _mirror(source: Connection, target: threading.Event) -> None:
    """Set ``target`` once the parent closes its end of ``source`` (a stop, or the parent's death)."""
    with contextlib.suppress(EOFError, OSError):
        source.recv()
    target.set()


def _worker_main(conn: Connection, stop: Connection, threads: int, mode: str, params: Mapping[str, OptionValue],
                 model: ModelSpec, loader: PredictorLoader) -> None:
    """A worker process: load the model, then label the jobs that arrive until None (or EOF)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C belongs to the parent (it stops us)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    import torch

    from app.automation.context import LocalContext
    from app.extensions.registry import get_automation

    torch.set_num_threads(threads)  # this worker process's own setting (its only work is this run)
    try:
        automation = get_automation(mode)
        ctx = LocalContext(loader(model))
    except Exception as exc:  # noqa: BLE001 - any load failure is reported to the parent, which raises it
        with contextlib.suppress(OSError):  # the parent may be gone already
            conn.send(("failed", exc if _picklable(exc) else RuntimeError(str(exc) or type(exc).__name__)))
        return
    cancel = threading.Event()
    threading.Thread(target=_mirror, args=(stop, cancel), daemon=True).start()
    try:
        conn.send(("ready", None))
        while True:
            job = conn.recv()
            if job is None:
                return
            try:
                result = compute(job, automation, ctx, params, cancel=cancel)
            except Cancelled:
                conn.send(("cancelled", job.image_id))
                continue
            except Exception as exc:  # noqa: BLE001 - a model error on this image: it fails, the run goes on
                result = BatchResult(job.image_id, None, str(exc) or type(exc).__name__, 0, 0)
            conn.send(("result", result))
    except (EOFError, OSError):  # the parent is gone (killed): nobody wants the results
        return


def _picklable(exc: BaseException) -> bool:
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - whatever pickling raises, send a plain error instead
        return False
    return True


# ---------------------------------------------------------------------------- the parent side
@dataclass(eq=False)  # one per process: compared and hashed by identity
class _Worker:
    process: BaseProcess
    conn: Connection  # jobs out, messages back
    stop: Connection  # closed by the parent to cancel the image in hand (a pipe: a worker that dies
    # waiting on a multiprocessing.Event would leave the next set() waiting for it forever)
    jobs: deque[BatchJob] = field(default_factory=deque)  # sent, no result yet (the first is being labelled)


def _answer(w: _Worker, message: tuple[str, object]) -> BatchResult | None:
    """What a worker's message means for the run: its load error is raised, "ready" is nothing,
    "result" / "cancelled" end its oldest job in flight (the result, or None)."""
    kind, payload = message
    if kind == "failed":
        raise cast(BaseException, payload)
    if kind == "ready" or not w.jobs:
        return None
    w.jobs.popleft()
    return cast(BatchResult, payload) if kind == "result" else None


class ProcessExecutor:
    """Executor over ``workers`` worker processes with ``threads`` torch threads each (see the
    module doc). ``loader`` builds each worker's predictor from the ModelSpec (picklable: a
    module-level function; default sam_backend.load_predictor)."""

    def __init__(self, *, workers: int = 2, threads: int = 1, loader: PredictorLoader | None = None,
                 keep: bool = False) -> None:
        if workers < 1:
            raise ValueError(f"--workers must be at least 1 (got {workers}).")
        if threads < 1:
            raise ValueError(f"threads per worker must be at least 1 (got {threads}).")
        self.workers = int(workers)
        self.threads = int(threads)
        self._loader = loader if loader is not None else _load_predictor
        self.keep = keep
        self._kept: tuple[tuple[object, ...], list[_Worker]] | None = None

    def close(self) -> None:
        """Stop the workers kept from the last run (with ``keep``)."""
        kept, self._kept = self._kept, None
        if kept is not None:
            self._stop(kept[1])

    def __enter__(self) -> ProcessExecutor:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def describe(self) -> str:
        """Where the run runs, for the summary line."""
        return f"{self.workers} worker processes, {self.threads} thread{'s' if self.threads > 1 else ''} each"

    def _start(self, mode: str, params: Mapping[str, OptionValue], model: ModelSpec) -> list[_Worker]:
        ctx = get_context("spawn")
        started: list[_Worker] = []
        # the children inherit this thread's signal mask: SIGINT stays blocked in them until they
        # ignore it, so a Ctrl+C during their start-up cannot print a traceback from each of them
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            for i in range(self.workers):
                mine, theirs = ctx.Pipe(duplex=True)
                stop_reader, stop_writer = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_worker_main, name=f"sam-autolabel-{i}", daemon=True,
                                   args=(theirs, stop_reader, self.threads, mode, dict(params), model, self._loader))
                proc.start()
                theirs.close()
                stop_reader.close()
                started.append(_Worker(proc, mine, stop_writer))
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        return started

    def run(self, jobs: Iterable[BatchJob], *, mode: str, params: Mapping[str, OptionValue], model: ModelSpec,
            cancel: threading.Event | None = None) -> Iterator[BatchResult]:
        """See Executor.run: results in order of arrival. Raises the workers' load error when the
        model cannot be loaded, WorkerError when every worker has stopped with images left. With
        ``keep``, workers that ended the run normally stay for the next run with the same mode,
        parameters and model (close() stops them); otherwise each run starts and stops its own."""
        source: Iterator[BatchJob] = iter(jobs)
        queued: deque[BatchJob] = deque()  # taken back from a worker that died before starting them

        def next_job() -> BatchJob | None:
            """The next job: one taken back from a dead worker first, then the source's."""
            return queued.popleft() if queued else next(source, None)

        key = (mode, tuple(sorted(params.items())), model)
        if self._kept is not None and self._kept[0] == key and all(w.process.is_alive() for w in self._kept[1]):
            workers = self._kept[1]
            self._kept = None
        else:
            self.close()
            workers = self._start(mode, params, model)
        live = list(workers)
        clean = False
        try:
            def feed(w: _Worker) -> None:
                while len(w.jobs) < DEPTH:
                    job = next_job()  # (an exhausted iterator stays exhausted: no flag needed)
                    if job is None:
                        return
                    w.jobs.append(job)
                    try:
                        w.conn.send(job)
                    except OSError:  # died meanwhile: noticed by its sentinel
                        return

            for w in live:
                feed(w)
            while live and any(w.jobs for w in live):
                if cancel is not None and cancel.is_set():
                    return
                by_conn = {id(w.conn): w for w in live}
                by_sentinel = {w.process.sentinel: w for w in live}
                ready = wait([w.conn for w in live] + list(by_sentinel), timeout=0.2)
                dead: list[_Worker] = []
                for obj in ready:
                    if isinstance(obj, int):
                        dead.append(by_sentinel[obj])
                        continue
                    w = by_conn[id(obj)]
                    try:
                        message = w.conn.recv()
                    except (EOFError, OSError):
                        dead.append(w)
                        continue
                    result = _answer(w, message)
                    feed(w)
                    if result is not None:
                        yield result
                for w in dict.fromkeys(dead):
                    while w.conn.poll():  # what it sent before dying is still good
                        try:
                            message = w.conn.recv()
                        except (EOFError, OSError):
                            break
                        result = _answer(w, message)
                        if result is not None:
                            yield result
                    w.process.join(1.0)
                    live.remove(w)
                    code = w.process.exitcode
                    if w.jobs:
                        lost = w.jobs.popleft()
                        yield BatchResult(lost.image_id, None, f"the worker process labelling this image stopped "
                                          f"(exit code {code}; out of memory?)", 0, 0)
                    queued.extendleft(reversed(w.jobs))
                    w.jobs.clear()
                    if not live:
                        left = next_job()
                        if left is not None:
                            queued.appendleft(left)
                            raise WorkerError(f"the worker processes stopped (the last with exit code {code})")
                    for other in live:
                        feed(other)
            clean = len(live) == len(workers)
        finally:
            if self.keep and clean:
                self._kept = (key, workers)
            else:
                self._stop(workers)

    @staticmethod
    def _stop(workers: list[_Worker]) -> None:
        for w in workers:
            w.stop.close()  # the image being labelled stops at its next cancel check
        for w in workers:
            with contextlib.suppress(OSError):  # already gone
                w.conn.send(None)
        for w in workers:
            w.process.join(STOP_GRACE_S)
            if w.process.is_alive():
                w.process.terminate()
                w.process.join(1.0)
            if w.process.is_alive():
                w.process.kill()
                w.process.join(1.0)
            w.conn.close()


def cpu_cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


AUTO_MODES = frozenset({"boxes", "everything"})
"""Modes worth spreading over processes by default: they need the segmentation model only (text
mode would load a detector of about a gigabyte in every worker)."""
AUTO_MIN_IMAGES = 32
"""Fewer images run in this process: starting the workers (importing torch, loading the model:
2-3 s here) costs more than the parallel images save (about 0.06 s per mobile_sam image)."""
AUTO_WORKERS = 2


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _weights_bytes(model: ModelSpec) -> int | None:
    from sam_backend import registry

    if model.checkpoint:
        try:
            return os.path.getsize(model.checkpoint)
        except OSError:
            return None
    try:
        return registry.get_spec(model.model).size_bytes
    except registry.UnknownModel:
        return None


def auto_workers(model: ModelSpec, mode: str, images: int, *, cores: int | None = None,
                 memory: int | None = None) -> int:
    """How many worker processes a local run uses when not told (1: this process).

    Several only on a CPU with at least 2 cores, for AUTO_MODES, with at least AUTO_MIN_IMAGES
    images, and when AUTO_WORKERS workers fit in the available memory, each needing about 4x its
    checkpoint (weights and activations). ``cores``/``memory``: for tests."""
    from sam_backend.device import resolve_device
    from sam_backend.errors import SamBackendError

    cores = cpu_cores() if cores is None else cores
    if mode not in AUTO_MODES or images < AUTO_MIN_IMAGES or cores < 2:
        return 1
    try:
        if resolve_device(model.device).type != "cpu":
            return 1
    except SamBackendError:  # an unusable device: the in-process run reports it
        return 1
    weights = _weights_bytes(model)
    memory = _available_memory() if memory is None else memory
    if weights is None or memory is None or AUTO_WORKERS * 4 * weights > memory:
        return 1
    return AUTO_WORKERS


def local_executor(model: ModelSpec, mode: str, images: int, workers: int | None = None,
                   threads: float | None = None) -> Executor:
    """This machine's executor: this process for one worker, else worker processes (``workers``
    None: auto_workers decides); ``threads`` per worker default to the cores shared among them."""
    if workers is not None and workers < 1:
        raise ValueError(f"--workers must be at least 1 (got {workers})")
    if threads is not None and (threads < 1 or threads != int(threads)):
        raise ValueError(f"--cpus-per-worker takes a whole number of at least 1 here (got {threads:g})")
    n = auto_workers(model, mode, images) if workers is None else workers
    if n == 1:
        return LocalExecutor()
    return ProcessExecutor(workers=n, threads=int(threads) if threads is not None else max(1, cpu_cores() // n))
