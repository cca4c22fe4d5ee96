"""GeometryService (the accept service): shapes converted in a worker process, delivered in submission
order; a dead worker costs nothing but time; manual shapes get their outline; `wait` delivers."""
from __future__ import annotations

import multiprocessing
import os
import signal
import time

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from app.core import codec
from app.core.geometry import parts_to_mask
from app.core.model import Annotation, Part
from app.core.outline import outline_of_annotation
from app.core.rle import rle_to_mask
from app.services import geometry as gs
from app.services.geometry import AcceptJob, AcceptResult, GeometryService


def _mask(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = np.zeros((60, 80), bool)
    x, y = rng.integers(5, 50, 2)
    m[y:y + 8, x:x + 12] = True
    m |= rng.random(m.shape) > 0.99
    return m


def _job(mask: np.ndarray, z: int = 1) -> AcceptJob:
    return AcceptJob(0, 1, 1, None, mask, np.zeros((256, 256), np.float32), 0.9, z)


def _die_in_a_worker(parts: tuple[Part, ...]) -> object:
    """A `prepare` that kills any worker process it runs in (a worker killed for memory)."""
    if multiprocessing.parent_process() is not None:
        os._exit(3)
    return len(parts)


def _count_parts(parts: tuple[Part, ...]) -> object:
    return ("parts", len(parts), os.getpid())


class _Collector:
    """Every result `service` delivers, in order (connected before anything is submitted)."""

    def __init__(self, service: GeometryService) -> None:
        self.results: list[AcceptResult] = []
        service.finished.connect(self.results.append)

    def wait(self, n: int, timeout_s: float = 60.0) -> list[AcceptResult]:
        end = time.monotonic() + timeout_s
        while len(self.results) < n and time.monotonic() < end:
            QApplication.processEvents()
            time.sleep(0.005)
        return list(self.results)


def _check(result: AcceptResult) -> None:
    assert result.error is None and result.geometry is not None
    mask = result.job.mask
    assert mask is not None
    geo = result.geometry
    poly = parts_to_mask(geo.parts, *mask.shape)  # simplified polygons: IoU >= 0.98
    assert (poly & mask).sum() / (poly | mask).sum() >= 0.98
    assert geo.rle is not None and np.array_equal(rle_to_mask(geo.rle), mask)
    assert isinstance(geo.parts, codec.EncodedParts) and codec.decode_parts(geo.parts.blob) == geo.parts
    assert geo.outline is not None and geo.outline.source is geo.rle  # tied to what is stored with it


def test_jobs_convert_in_a_worker_process_in_submission_order(qtbot) -> None:  # noqa: ARG001
    service = GeometryService(_count_parts)
    got = _Collector(service)
    try:
        for z in range(5):
            service.submit(_job(_mask(z), z))
        assert service.pending() == 5 and [j.z for j in service.pending_jobs()] == [0, 1, 2, 3, 4]
        done = got.wait(5)
        assert [r.job.z for r in done] == [0, 1, 2, 3, 4]
        for r in done:
            _check(r)
            assert r.geometry is not None and isinstance(r.geometry.drawing, tuple)
            kind, n, pid = r.geometry.drawing
            assert n == len(r.geometry.parts) and pid != os.getpid()  # prepared in the worker
        assert service.pending() == 0 and service.process_failures == 0
    finally:
        service.shutdown()


def test_wait_delivers_everything_before_it_returns(qtbot) -> None:  # noqa: ARG001
    service = GeometryService()
    got = _Collector(service)
    try:
        for z in range(3):
            service.submit(_job(_mask(20 + z), z))
        assert service.wait(60)
        assert [r.job.z for r in got.results] == [0, 1, 2]  # no event processing needed
        assert service.pending() == 0
    finally:
        service.shutdown()


def test_a_killed_worker_costs_only_time(qtbot) -> None:  # noqa: ARG001
    service = GeometryService()
    got = _Collector(service)
    try:
        service.submit(_job(_mask(1)))
        assert len(got.wait(1)) == 1
        pids = service.worker_pids()
        assert len(pids) == 1 and pids[0] != os.getpid()
        os.kill(pids[0], signal.SIGKILL)  # the worker dies (e.g. killed for memory)
        time.sleep(0.5)
        service.submit(_job(_mask(2), 2))
        service.submit(_job(_mask(3), 3))
        done = got.wait(3)[1:]
        assert [r.job.z for r in done] == [2, 3]
        for r in done:
            _check(r)
        assert service.process_failures == 1 and service.uses_process()
        assert service.worker_pids() and service.worker_pids() != pids  # a fresh worker
    finally:
        service.shutdown()


def test_a_worker_that_cannot_work_is_given_up_for_a_thread(qtbot) -> None:  # noqa: ARG001
    service = GeometryService(_die_in_a_worker)
    got = _Collector(service)
    try:
        n = gs.MAX_FAILURES_IN_A_ROW + 2
        for k in range(n):
            service.submit(_job(_mask(10 + k), k))
        done = got.wait(n, timeout_s=120)
        assert [r.job.z for r in done] == list(range(n))  # every accept delivered, in order
        for r in done:
            _check(r)  # converted (in the thread once the process was given up)
        assert service.process_failures == gs.MAX_FAILURES_IN_A_ROW and not service.uses_process()
    finally:
        service.shutdown()


def test_empty_and_malformed_masks_are_refused_with_a_sentence(qtbot) -> None:  # noqa: ARG001
    service = GeometryService(use_process=False)
    got = _Collector(service)
    try:
        service.submit(_job(_mask(4)))
        service.submit(_job(np.zeros((60, 80), bool)))
        done = got.wait(2)
        _check(done[0])
        assert done[1].geometry is None and done[1].error is not None and "empty" in done[1].error
        with pytest.raises(ValueError):
            service.submit(_job(np.zeros((2, 3, 4), bool)))
        assert service.pending() == 0
    finally:
        service.shutdown()


def test_manual_shapes_get_their_outline_and_blob_in_the_worker(qtbot) -> None:  # noqa: ARG001
    service = GeometryService()
    got = _Collector(service)
    try:
        tri = (Part(exterior=((10.0, 10.0), (50.0, 10.0), (10.0, 40.0))),)
        service.submit(AcceptJob(0, 1, 2, None, None, None, None, 3, parts=tri, image_size=(60, 80)))
        service.submit(AcceptJob(0, 1, 2, None, None, None, None, 4, parts=tri))  # no size known: none
        done = got.wait(2)
        first = done[0].geometry
        assert done[0].error is None and done[0].job.source == "manual" and first is not None
        assert first.parts == tri and isinstance(first.parts, codec.EncodedParts)
        assert first.parts.blob == codec._pack_parts(tri) and first.rle is None
        fresh = outline_of_annotation(Annotation(1, 2, tri), 60, 80)
        assert first.outline is not None and fresh is not None and fresh.area > 0
        assert first.outline == fresh and first.outline.source is first.parts
        second = done[1].geometry
        assert second is not None and second.outline is None and done[1].error is None
    finally:
        service.shutdown()


def test_convert_blocking_from_another_thread(qtbot) -> None:  # noqa: ARG001
    import threading

    service = GeometryService()
    out: list = []
    try:
        th = threading.Thread(target=lambda: out.append(service.convert_blocking(_mask(7))))
        th.start()
        th.join(60)
        assert len(out) == 1 and out[0].rle is not None
        assert np.array_equal(rle_to_mask(out[0].rle), _mask(7))
    finally:
        service.shutdown()
    assert service.convert_blocking(_mask(8)).rle is not None  # after shutdown: in the calling thread


def test_convert_rle_blocking_equals_converting_the_decoded_mask(qtbot) -> None:  # noqa: ARG001
    """Accepted proposals travel as their RLE (decoded in the worker within their bounding box): the
    same polygons, RLE and outline as converting the whole decoded mask, at a density and at Auto,
    in the worker and, after shutdown, in the calling thread."""
    from app.core.mask_convert import convert_mask
    from app.core.rle import mask_to_rle

    service = GeometryService()
    mask = _mask(9)
    rle = mask_to_rle(mask)
    try:
        for tol in (None, 3.0):
            got, want = service.convert_rle_blocking(rle, tol), convert_mask(mask, tol)
            assert (got.geometry, got.rle) == (want.geometry, want.rle) and got.outline == want.outline
    finally:
        service.shutdown()
    after = service.convert_rle_blocking(rle)
    assert after.geometry == convert_mask(mask).geometry
