"""Polygon density in the accept service (accepts at a tolerance) and the coalescing outline preview."""
from __future__ import annotations

import threading
from concurrent.futures import Future
import time

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from app.core.density import mask_to_parts_at, vertex_count
from app.core.geometry import mask_to_parts, parts_to_mask
from app.core.rle import rle_to_mask
from app.services import geometry_work
from app.services import polygon_preview as pp
from app.services.geometry import AcceptJob, AcceptResult, GeometryService
from app.services.polygon_preview import PolygonPreviewService, PreviewResult


def _blob(h: int = 200, w: int = 260) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    ang = np.arctan2(yy - h / 2, xx - w / 2)
    return np.hypot(yy - h / 2, xx - w / 2) < 70 + 9 * np.sin(5 * ang)


def _pump(cond, timeout_s: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.003)
    QApplication.processEvents()
    assert cond()


def test_accepts_are_converted_at_their_tolerance_and_keep_the_exact_mask(qtbot) -> None:  # noqa: ARG001
    mask = _blob()
    service = GeometryService()  # the real worker process
    got: list[AcceptResult] = []
    service.finished.connect(got.append)
    try:
        for z, tol in enumerate((None, 0.0, 4.0)):
            service.submit(AcceptJob(0, 1, 1, None, mask, None, 0.9, z, tolerance=tol))
        _pump(lambda: len(got) == 3)
        auto, exact, coarse = (r.geometry for r in got)
        assert auto is not None and exact is not None and coarse is not None
        assert auto.parts == mask_to_parts(mask)  # Auto: today's polygons
        assert exact.parts == mask_to_parts(mask, simplify=False)
        assert np.array_equal(parts_to_mask(exact.parts, *mask.shape), mask)
        assert coarse.parts == mask_to_parts_at(mask, 4.0)
        assert vertex_count(coarse.parts) < vertex_count(auto.parts) < vertex_count(exact.parts)
        for geo in (auto, exact, coarse):
            assert geo.rle is not None and np.array_equal(rle_to_mask(geo.rle), mask)  # RLE exact
        with pytest.raises(ValueError):
            service.submit(AcceptJob(0, 1, 1, None, mask, None, 0.9, 9, tolerance=-1.0))
        assert service.pending() == 0
    finally:
        service.shutdown()


def test_preview_in_the_worker_process_gives_the_stored_outline(qtbot) -> None:  # noqa: ARG001
    mask = _blob()
    service = GeometryService()
    preview = PolygonPreviewService(service)
    shown: list[PreviewResult] = []
    preview.ready.connect(shown.append)
    try:
        serial = preview.request(mask, 2.0)
        _pump(lambda: bool(shown))
        assert shown[0].serial == serial
        assert shown[0].outline.vertices == shown[0].outline.drawn == vertex_count(mask_to_parts_at(mask, 2.0))
        assert shown[0].outline.tolerance == 2.0
    finally:
        service.shutdown()


def test_rapid_requests_are_coalesced_and_run_off_the_gui_thread(qtbot, monkeypatch) -> None:  # noqa: ARG001
    threads: list[int] = []
    release = threading.Event()

    def slow_preview(mask, tolerance):  # type: ignore[no-untyped-def]
        threads.append(threading.get_ident())
        release.wait(10)
        return geometry_work.preview_outline(mask, tolerance)

    monkeypatch.setattr(pp, "preview_outline", slow_preview)
    mask = _blob()
    service = GeometryService(use_process=False)  # a thread: the patched function need not pickle
    preview = PolygonPreviewService(service)
    shown: list[PreviewResult] = []
    preview.ready.connect(shown.append)
    try:
        for tol in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0):  # the first is computing while the others come
            last = preview.request(mask, tol)
        assert preview.computed == 1 and not shown
        release.set()
        _pump(lambda: bool(shown) and not preview.busy())
        assert preview.computed == 2  # the first, then only the newest
        assert [r.serial for r in shown] == [last]  # the stale first result was never shown
        assert shown[0].outline.tolerance == 3.0
        assert shown[0].outline.vertices == vertex_count(mask_to_parts_at(mask, 3.0))
        assert threads and threading.main_thread().ident not in threads
        preview.request(mask, 5.0)
        preview.cancel()  # e.g. the candidate was accepted meanwhile
        _pump(lambda: not preview.busy())
        QApplication.processEvents()
        assert len(shown) == 1
    finally:
        release.set()
        service.shutdown()


def test_a_preview_done_at_once_is_delivered_after_request_returns(qtbot) -> None:  # noqa: ARG001
    """A future already done when its callback is added runs the callback in the GUI thread: `ready`
    must still come later, once the caller holds the serial that `request` returns."""
    mask = _blob(40, 50)
    service = GeometryService(use_process=False)

    def done_at_once(fn, *args):  # type: ignore[no-untyped-def]
        future: Future = Future()
        future.set_result(fn(*args))
        return future

    service.submit_work = done_at_once  # type: ignore[method-assign]
    preview = PolygonPreviewService(service)
    seen: list[tuple[int, int]] = []
    holder: dict[str, int] = {}
    preview.ready.connect(lambda r: seen.append((r.serial, holder.get("serial", -1))))
    try:
        holder["serial"] = preview.request(mask, 1.0)
        assert seen == []  # not inside request
        _pump(lambda: bool(seen))
        assert seen == [(holder["serial"], holder["serial"])]
    finally:
        service.shutdown()
