"""Polygon density preview benchmark: GUI-thread cost and latency of the live outline preview.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_polygon_density.py [--rounds 3]

For a 2 MP blob, a 12 MP blob and a fragmented 12 MP mask (thousands of parts), through the real
accept worker process (app.services.geometry.GeometryService + app.services.polygon_preview):
  request_ms: time the GUI thread spends in `request` (packing the mask, submitting) - median;
  latency_ms: request -> `ready` per tolerance (Auto, 0, 1, 5 px) - median over rounds;
  vertices: vertex count per tolerance;
  burst: 20 requests 15 ms apart (a spin box turned quickly) while a 5 ms QTimer ticks:
         computed (conversions actually run), stall_ms (longest gap between ticks; target < 50 ms),
         last_ms (last request -> its preview shown).
Prints JSON with the machine load (`os.getloadavg`). Never part of the test run's pass/fail.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TOLERANCES: tuple[float | None, ...] = (None, 0.0, 1.0, 5.0)


def blob(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = np.arctan2(yy - h / 2, xx - w / 2)
    r = np.hypot(yy - h / 2, xx - w / 2)
    s = min(h, w) / 3
    return r < s + s / 8 * np.sin(7 * ang) + s / 30 * np.sin(31 * ang)


def fragmented(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = blob(h, w)
    m ^= rng.random((h, w)) > 0.995  # specks inside (holes) and outside (islands)
    return m


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.services.geometry import GeometryService
    from app.services.polygon_preview import PolygonPreviewService, PreviewResult

    app = QApplication.instance() or QApplication(sys.argv)
    service = GeometryService()
    service.warm_up()
    preview = PolygonPreviewService(service)
    shown: list[tuple[float, PreviewResult]] = []
    preview.ready.connect(lambda r: shown.append((time.perf_counter(), r)))

    def pump(cond: Callable[[], bool], timeout_s: float = 300.0) -> None:
        end = time.monotonic() + timeout_s
        while not cond() and time.monotonic() < end:
            app.processEvents()
            time.sleep(0.001)

    masks = {"blob_2mp": blob(1200, 1600), "blob_12mp": blob(3000, 4000), "fragmented_12mp": fragmented(3000, 4000)}
    load_before = os.getloadavg()
    report: dict[str, object] = {}
    results: dict[str, dict[str, list[float]]] = {k: {} for k in masks}
    vertices: dict[str, dict[str, int]] = {k: {} for k in masks}
    request_ms: dict[str, list[float]] = {k: [] for k in masks}
    for _round in range(args.rounds):  # masks alternate within each round (load drifts evenly)
        for name, mask in masks.items():
            for tol in TOLERANCES:
                shown.clear()
                t0 = time.perf_counter()
                serial = preview.request(mask, tol)
                request_ms[name].append((time.perf_counter() - t0) * 1000)
                pump(lambda: any(r.serial == serial for _t, r in shown))
                t1, res = shown[-1]
                results[name].setdefault(str(tol), []).append((t1 - t0) * 1000)
                vertices[name][str(tol)] = res.outline.vertices
    for name, mask in masks.items():
        ticks: list[float] = []
        timer = QTimer()
        timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
        timer.start(5)
        shown.clear()
        before = preview.computed
        steps = [0.5 * (k % 11) for k in range(20)]
        last = -1
        t_last = 0.0
        for tol in steps:
            t_last = time.perf_counter()
            last = preview.request(mask, tol)
            end = time.perf_counter() + 0.015
            while time.perf_counter() < end:
                app.processEvents()
                time.sleep(0.001)
        pump(lambda: any(r.serial == last for _t, r in shown))
        timer.stop()
        gaps = np.diff(np.asarray(ticks)) * 1000 if len(ticks) > 1 else np.zeros(1)
        report[name] = {
            "request_ms": round(statistics.median(request_ms[name]), 2),
            "latency_ms": {k: round(statistics.median(v), 1) for k, v in results[name].items()},
            "vertices": vertices[name],
            "burst": {"requests": len(steps), "computed": preview.computed - before,
                      "stall_ms": round(float(gaps.max()), 1),
                      "last_ms": round((shown[-1][0] - t_last) * 1000, 1)},
        }
    service.shutdown()
    report["load_avg_before_after"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
    report["cpus"] = os.cpu_count()
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
