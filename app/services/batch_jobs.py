"""Batch auto-labelling for the GUI: the executor runs in its own thread (never the GUI's), the GUI
thread, which owns the project connection, stores every image as it arrives.

`BatchJob.start()` runs ``executor.run`` (default: app.automation.process_executor.local_executor's
choice — LocalExecutor, which loads the model of the given ModelSpec, the inference service's, in
this process; or, for long CPU runs, worker processes with a model each) in a thread that reads the jobs from a
read-only connection of the project and converts each image's kept proposals (polygons, exact RLE:
the slow half of storing); ``_ready`` then stores them in one transaction per image in the GUI thread
(app.automation.batch.store_result) and emits ``progressed`` and ``imageStored``. Cancel stops
before the next image; images already handed over are stored. No widget is touched here.
"""
from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, Qt, Signal

from app.automation.batch import (BatchPlan, BatchResult, BatchTally, Executor, ModelSpec, iter_jobs, prepare_result,
                                  store_result)
from app.automation.process_executor import ProcessExecutor, local_executor
from app.core.project import Project
from app.services.requests import describe_error

log = logging.getLogger(__name__)


class BatchAutolabelJob(QObject):
    """One batch run. Public signals are emitted in the GUI thread."""

    started = Signal()  # the model is loaded and the first image is on its way
    progressed = Signal(object)  # app.automation.batch.BatchProgress
    imageStored = Signal(int)  # image id whose annotations and done mark were just stored
    finished = Signal(object)  # app.automation.batch.BatchSummary (also after a cancel)
    failed = Signal(str)  # one sentence (the model could not be loaded, the project could not be written)

    _wReady = Signal(object, object)  # BatchResult, conversions (from the thread)
    _wEnd = Signal(str)  # "" when the run ended, else the error sentence

    def __init__(self, project: Project, plan: BatchPlan, model: ModelSpec, executor: Executor | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project, self.plan, self.model = project, plan, model
        self.executor: Executor = executor if executor is not None else local_executor(model, plan.mode, len(plan.todo))
        self.cancel_event = threading.Event()
        self.tally = BatchTally(plan, project)
        self._thread: threading.Thread | None = None
        self._first = True
        self._ended = False
        self._wReady.connect(self._ready, Qt.ConnectionType.QueuedConnection)
        self._wEnd.connect(self._end, Qt.ConnectionType.QueuedConnection)

    def start(self) -> None:
        """Run in a new thread (returns at once); progress at 0 now."""
        self.progressed.emit(self.tally.progress())
        self._thread = threading.Thread(target=self._run, name="sam-batch-autolabel", daemon=True)
        self._thread.start()

    @property
    def worker_processes(self) -> int:
        """The worker processes the run uses (0: it runs in this process, in the batch thread)."""
        return self.executor.workers if isinstance(self.executor, ProcessExecutor) else 0

    def is_running(self) -> bool:
        """The thread runs, or its last results are still to be stored."""
        return not self._ended

    def cancel(self) -> None:
        """Stop before the next image (the images already labelled stay stored)."""
        self.cancel_event.set()

    def join(self, timeout_s: float = 10.0) -> None:
        """Wait for the thread (shutdown, tests)."""
        if self._thread is not None:
            self._thread.join(timeout_s)

    # ------------------------------------------------------------------ the thread
    def _run(self) -> None:
        error = ""
        try:
            reader = Project.open(self.project.path, read_only=True)
            try:
                results = self.executor.run(iter_jobs(reader, self.plan.todo), mode=self.plan.mode,
                                            params=self.plan.params, model=self.model, cancel=self.cancel_event)
                for result in results:
                    prepared, converted = prepare_result(result, self.plan.min_score)
                    self._wReady.emit(prepared, converted)
                    if self.cancel_event.is_set():
                        break
                close = getattr(results, "close", None)
                if close is not None:
                    close()
            finally:
                reader.close()
        except Exception as exc:  # noqa: BLE001 - the thread reports every failure as one sentence
            log.warning("batch auto-labelling failed", exc_info=True)
            error = describe_error(exc, f"auto-labelling with {self.model.name}") or type(exc).__name__
        self._wEnd.emit(error)

    # ------------------------------------------------------------------ the GUI thread
    def _ready(self, result: BatchResult, converted: list) -> None:
        if self.project.closed:
            self.cancel_event.set()  # the project was closed meanwhile: nothing more is written
            return
        if self._first:
            self._first = False
            self.started.emit()
        if result.proposals is None:
            self.progressed.emit(self.tally.failed(result.image_id, result.error))
            return
        try:
            anns = store_result(self.project, self.plan, result, converted)
        except ValueError as exc:
            self.progressed.emit(self.tally.failed(result.image_id, str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - a project that cannot be written stops the run
            self.cancel_event.set()
            self._ended = True
            self.failed.emit(describe_error(exc, "storing auto-labelled annotations"))
            return
        self.progressed.emit(self.tally.stored(result.image_id, anns))
        self.imageStored.emit(result.image_id)

    def _end(self, error: str) -> None:
        if self._ended:
            return
        self._ended = True
        if error:
            self.failed.emit(error)
        else:
            self.finished.emit(self.tally.finish(self.cancel_event))
