"""GeometryWorker: masks converted in a helper process, in order; a dead process costs nothing but time."""
from __future__ import annotations

import os
import signal
import time

import numpy as np
from PySide6.QtWidgets import QApplication

from app.core.geometry import parts_to_mask
from app.core.rle import rle_to_mask
from app.ui.geometry_worker import AcceptJob, GeometryWorker


def _mask(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = np.zeros((60, 80), bool)
    x, y = rng.integers(5, 50, 2)
    m[y:y + 8, x:x + 12] = True
    m |= rng.random(m.shape) > 0.99
    return m


def _job(mask: np.ndarray, z: int = 1) -> AcceptJob:
    return AcceptJob(0, 1, 1, None, mask, np.zeros((256, 256), np.float32), 0.9, z)


class _Collector:
    """Every job `worker` finishes, in order (connected before anything is submitted)."""

    def __init__(self, worker: GeometryWorker) -> None:
        self.jobs: list[AcceptJob] = []
        worker.finished.connect(self._on_finished)

    def _on_finished(self, job: AcceptJob) -> None:
        self.jobs.append(job)

    def wait(self, n: int, timeout_s: float = 60.0) -> list[AcceptJob]:
        """The jobs so far once there are n (fewer after the timeout)."""
        end = time.monotonic() + timeout_s
        while len(self.jobs) < n and time.monotonic() < end:
            QApplication.processEvents()
            time.sleep(0.005)
        return list(self.jobs)


def _check(job: AcceptJob) -> None:
    assert job.error is None
    poly = parts_to_mask(job.parts, *job.mask.shape)  # simplified polygons: IoU >= 0.98
    assert (poly & job.mask).sum() / (poly | job.mask).sum() >= 0.98
    assert job.rle is not None and np.array_equal(rle_to_mask(job.rle), job.mask)


def test_jobs_convert_in_the_helper_process_in_submission_order(qtbot) -> None:  # noqa: ARG001
    worker = GeometryWorker()
    got = _Collector(worker)
    try:
        masks = [_mask(k) for k in range(4)]
        for z, m in enumerate(masks):
            worker.submit(_job(m, z))
        done = got.wait(4)
        assert [j.z for j in done] == [0, 1, 2, 3]
        for j in done:
            _check(j)
        assert worker.process_conversions == 4 and worker.process_failures == 0
    finally:
        worker.shutdown()
    assert not worker.is_alive()


def test_a_killed_helper_process_falls_back_then_restarts(qtbot) -> None:  # noqa: ARG001
    worker = GeometryWorker()
    got = _Collector(worker)
    try:
        worker.submit(_job(_mask(1)))
        assert len(got.wait(1)) == 1
        pid = worker.helper_pid()
        assert pid is not None and pid != os.getpid()
        os.kill(pid, signal.SIGKILL)  # the helper dies (e.g. killed for memory)
        time.sleep(0.5)
        worker.submit(_job(_mask(2)))
        worker.submit(_job(_mask(3)))
        done = got.wait(3)[1:]
        assert len(done) == 2
        for j in done:
            _check(j)
        assert worker.process_failures == 1  # the first after the kill ran in the thread
        assert worker.process_conversions == 2  # the next one in a new helper process
        assert worker.helper_pid() not in (None, pid)
    finally:
        worker.shutdown()


def test_without_a_process_conversion_runs_in_the_thread_and_empty_masks_are_refused(qtbot) -> None:  # noqa: ARG001
    worker = GeometryWorker(use_process=False)
    got = _Collector(worker)
    try:
        worker.submit(_job(_mask(4)))
        worker.submit(_job(np.zeros((60, 80), bool)))
        done = got.wait(2)
        _check(done[0])
        assert done[1].error is not None and "empty" in done[1].error
        assert worker.process_conversions == 0
    finally:
        worker.shutdown()


def test_a_helper_that_cannot_work_is_given_up(qtbot, monkeypatch) -> None:  # noqa: ARG001
    """A helper that dies at once (e.g. a broken install) costs a few retries, then threads only."""
    from app.ui import geometry_worker as gw

    real_init = gw.ConversionProcess.__init__

    def broken_init(self) -> None:  # type: ignore[no-untyped-def]
        real_init(self)
        self._proc.kill()  # dies before answering
        self._proc.wait()

    monkeypatch.setattr(gw.ConversionProcess, "__init__", broken_init)
    worker = GeometryWorker()
    got = _Collector(worker)
    try:
        for k in range(gw.MAX_FAILURES_IN_A_ROW + 2):
            worker.submit(_job(_mask(10 + k)))
        done = got.wait(gw.MAX_FAILURES_IN_A_ROW + 2)
        assert len(done) == gw.MAX_FAILURES_IN_A_ROW + 2
        for j in done:
            _check(j)  # every mask still converted (in the thread)
        assert worker.process_failures == gw.MAX_FAILURES_IN_A_ROW
        assert worker.process_conversions == 0 and worker.helper_pid() is None
    finally:
        worker.shutdown()


def test_manual_shapes_get_their_outline_in_the_thread(qtbot) -> None:  # noqa: ARG001
    from app.core.model import Annotation, Part
    from app.core.outline import outline_of_annotation

    worker = GeometryWorker()
    got = _Collector(worker)
    try:
        tri = (Part(exterior=((10.0, 10.0), (50.0, 10.0), (10.0, 40.0))),)
        worker.submit(AcceptJob(0, 1, 2, None, None, None, None, 3, parts=tri, image_size=(60, 80)))
        worker.submit(AcceptJob(0, 1, 2, None, None, None, None, 4, parts=tri))  # no size known: none
        done = got.wait(2)
        assert done[0].error is None and done[0].source == "manual" and done[0].parts is tri
        fresh = outline_of_annotation(Annotation(1, 2, tri), 60, 80)
        assert done[0].outline is not None and fresh is not None and fresh.area > 0
        assert done[0].outline == fresh and done[0].outline.source == tri
        assert done[1].outline is None and done[1].error is None
        assert worker.process_conversions == 0  # nothing to convert: no helper process involved
    finally:
        worker.shutdown()


def test_a_frozen_build_starts_its_own_executable_as_the_helper(monkeypatch) -> None:
    """In a bundled app sys.executable is the app itself: the helper is the app with the helper argument."""
    import sys

    from app.core.mask_convert import FROZEN_HELPER_ARG, helper_command

    assert helper_command()[:2] == [sys.executable, "-c"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert helper_command() == [sys.executable, FROZEN_HELPER_ARG]


def test_the_app_entry_point_serves_the_helper_protocol() -> None:
    """`sam-labeler --mask-convert-helper` (what a frozen build runs) answers conversions like the plain helper."""
    import pickle
    import subprocess
    import sys
    from pathlib import Path

    from app.core.mask_convert import FROZEN_HELPER_ARG, PackedMask, convert_mask

    mask = _mask(20)
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-m", "app", FROZEN_HELPER_ARG], cwd=root, capture_output=True,
                          input=pickle.dumps(PackedMask.of(mask)), timeout=120, check=True)
    status, value = pickle.loads(proc.stdout)
    expected = convert_mask(mask)
    assert status == "ok" and value.geometry == expected.geometry and value.rle == expected.rle
