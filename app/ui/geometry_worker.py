"""Off-GUI-thread conversion of an accepted candidate mask into polygons + exact RLE.

`mask_to_parts` costs ~30 ms at 2 MP, ~100 ms at 12 MP and far more for fragmented masks, so the GUI
thread never runs it: `submit(job)` queues the job on ONE worker thread (FIFO, so accepts are stored
in the order they were made) and `finished(job)` delivers it back to the GUI thread with `parts`/`rle`
(or `error`) filled in. The controller then pushes the undoable edit. The conversion runs in a
helper process (see GeometryWorker); the thread decodes its result, which codec remembers for the
store, and builds the canvas item's drawing data (app.ui.canvas.prepared), so the GUI thread's share
of an accept stays a database write and a few lookups.
"""
from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.core import codec
from app.core.mask_convert import ConvertedMask, PackedMask, convert_mask, helper_command
from app.core.model import Annotation, Outline, Part
from app.core.outline import outline_of_annotation
from app.ui.canvas import prepared

log = logging.getLogger(__name__)


@dataclass
class AcceptJob:
    """One accepted candidate, or one manual shape.

    mask: bool (H, W) in original-image pixels of an accepted candidate, or None for a manual shape
    whose `parts` (pixel-centre polygons) are given; logits: float32 (256, 256) low-res logits of the
    candidate (kept for a later refine) or None; target: annotation id whose geometry is replaced, or
    None for a new annotation with label_id / z / score on image_id; image_size: (H, W) of the image
    (manual shapes: the size their outline is computed for). generation: the controller's project
    session. parts / rle / outline (app.core.outline, what the store keeps) / error: filled by the
    worker (manual shapes: outline only).
    """

    generation: int
    image_id: int
    label_id: int | None
    target: int | None
    mask: np.ndarray | None
    logits: np.ndarray | None
    score: float | None
    z: int
    parts: tuple[Part, ...] = ()
    rle: dict | None = None
    outline: Outline | None = None
    error: str | None = None
    image_size: tuple[int, int] | None = None

    @property
    def source(self) -> str:
        """The annotation source: "sam" for an accepted candidate, "manual" for a drawn/edited shape."""
        return "manual" if self.mask is None else "sam"


class ConversionProcess:
    """The helper process (app.core.mask_convert.main) and its pipes; used by one thread.

    `convert` sends one PackedMask and waits for the answer. HelperGone when the process cannot be
    started or died (killed for memory, crashed); ValueError with the helper's sentence when the
    conversion itself failed.
    """

    def __init__(self) -> None:
        root = str(Path(__file__).resolve().parents[2])  # the folder holding the `app` package
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        try:
            self._proc = subprocess.Popen(
                helper_command(), stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, env=env, cwd=root)
        except OSError as exc:
            raise HelperGone(f"cannot start {sys.executable}: {exc}") from exc

    def convert(self, mask: np.ndarray) -> ConvertedMask:
        """Polygons + RLE of a bool (H, W) mask, computed by the helper process."""
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        packed = PackedMask.of(mask)  # ValueError for a malformed mask: the job's error, not the helper's
        try:
            pickle.dump(packed, proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            proc.stdin.flush()
            status, value = pickle.load(proc.stdout)
        except (OSError, EOFError, pickle.UnpicklingError, ValueError) as exc:
            raise HelperGone(f"the helper process stopped (exit code {proc.poll()})") from exc
        if status != "ok":
            raise ValueError(str(value))
        assert isinstance(value, ConvertedMask)
        return value

    def close(self, timeout_s: float = 5.0) -> None:
        """End the helper (end of input makes it exit; killed if it does not)."""
        proc = self._proc
        for pipe in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    @property
    def pid(self) -> int:
        """The helper's process id."""
        return int(self._proc.pid)


class HelperGone(RuntimeError):
    """The conversion helper process could not be started or has died."""


class GeometryWorker(QObject):
    """One thread handling accepted masks in order; `finished(AcceptJob)` arrives in the GUI thread
    (queued).

    The conversion itself runs in a helper process (ConversionProcess): done in a thread, its Python
    work would hold this process's GIL for up to seconds in small slices and stall the event loop
    (measured: 100-220 ms gaps while a 9000-part noise mask converted). The thread only decodes the
    returned geometry blob and prepares the canvas drawing data. When the helper cannot start or dies,
    the job is converted in the thread, as before, and a new helper is started for the next one.
    The helper starts on `warm_up()` or with the first job, not with the window.
    """

    finished = Signal(object)

    def __init__(self, parent: QObject | None = None, use_process: bool = True) -> None:
        super().__init__(parent)
        self._queue: queue.Queue[AcceptJob | str | None] = queue.Queue()
        self._use_process = use_process
        self._helper: ConversionProcess | None = None
        self.process_conversions = 0  # conversions done by the helper process (diagnostics, tests)
        self.process_failures = 0  # conversions that fell back to the thread because the helper died
        self._failures_in_a_row = 0
        self._thread = threading.Thread(target=self._run, name="sam-labeler-geometry")
        self._thread.start()

    def submit(self, job: AcceptJob) -> None:
        """Queue a job (returns at once)."""
        self._queue.put(job)

    def warm_up(self) -> None:
        """Start the helper process now (in the background), so the first accept does not wait for it."""
        self._queue.put(_WARM_UP)

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Finish the queued jobs, end the helper process, stop and join the thread."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout_s)

    def is_alive(self) -> bool:
        """True while the thread runs."""
        return self._thread.is_alive()

    def helper_pid(self) -> int | None:
        """The helper process's id while one runs (tests)."""
        return None if self._helper is None else self._helper.pid

    def _ensure_helper(self) -> ConversionProcess | None:
        if self._helper is None and self._use_process:
            try:
                self._helper = ConversionProcess()
            except HelperGone as exc:
                log.warning("masks are converted in a thread: %s", exc)
                self._use_process = False
        return self._helper

    def _drop_helper(self) -> None:
        helper, self._helper = self._helper, None
        if helper is not None:
            helper.close()

    def _convert(self, job: AcceptJob) -> ConvertedMask:
        helper = self._ensure_helper()
        if helper is not None:
            try:
                done = helper.convert(job.mask)
                self.process_conversions += 1
                self._failures_in_a_row = 0
                return done
            except HelperGone as exc:  # killed (e.g. out of memory): this job in the thread
                self.process_failures += 1
                self._failures_in_a_row += 1
                log.warning("%s; converting this mask in a thread", exc)
                self._drop_helper()
                if self._failures_in_a_row >= MAX_FAILURES_IN_A_ROW:  # it cannot work here
                    log.warning("the mask conversion helper failed %d times in a row: not used again",
                                self._failures_in_a_row)
                    self._use_process = False
        return convert_mask(job.mask)

    @staticmethod
    def _measure_manual(job: AcceptJob) -> None:
        """Outline of a manual shape (rasterising a large polygon takes tens of ms at 12 MP).
        Left None when it cannot be computed: the store then computes it (or leaves it empty)."""
        if job.image_size is None:
            return
        try:
            h, w = job.image_size
            job.outline = outline_of_annotation(Annotation(job.image_id, int(job.label_id or 0), job.parts), h, w)
        except Exception:  # noqa: BLE001 - optional: the store computes it itself
            log.warning("the outline of a manual shape could not be computed", exc_info=True)

    def _run(self) -> None:
        try:
            while True:
                job = self._queue.get()
                if job is None:
                    return
                if job is _WARM_UP:
                    self._ensure_helper()
                    continue
                assert isinstance(job, AcceptJob)
                if job.mask is None:
                    self._measure_manual(job)
                    self.finished.emit(job)
                    continue
                try:
                    done = self._convert(job)
                    if done.geometry is None:
                        job.error = "The candidate mask is empty; add prompts or pick another candidate."
                    else:
                        # decoding registers blob <-> tuple with codec, so the store's write and
                        # read-back of these parts cost no packing or unpacking on the GUI thread
                        job.parts = codec.decode_parts(done.geometry)
                        job.rle = done.rle
                        job.outline = done.outline
                        # the canvas item's drawing data, from the blob's arrays
                        prepared.prepare(job.parts, codec.unpack_arrays(done.geometry))
                except Exception as exc:  # noqa: BLE001 - reported to the user, the thread lives on
                    job.error = f"The mask could not be converted to polygons: {exc}"
                self.finished.emit(job)
        finally:
            self._drop_helper()


_WARM_UP = "warm-up"
MAX_FAILURES_IN_A_ROW = 3  # a helper that dies this often in a row is given up (threads only from then on)
