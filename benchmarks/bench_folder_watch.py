"""File watcher and hover thumbnails benchmark (issue 13).

    python benchmarks/bench_folder_watch.py [--images 100000] [--new 5000] [--photos 6] [--rounds 3]

1. A folder of `images` files (tiny: the sync never decodes) is opened in the real MainWindow
   (offscreen); the person is on an image in the middle; `new` files are moved into the folder at
   once (names interleaved with the old ones, so rows shift). Measured: the longest gap between
   ticks of a 5 ms QTimer from the copy until the list shows them (GUI stall, target < 50 ms), the
   GUI thread's refresh (ImagesDock.reload + controller + status), the worker's pass, and the time
   from the copy to the refreshed list; idle_stall_max_ms: the same monitor for 2 s before the copy
   (what the machine's load alone costs).
2. Thumbnails of 12 MP photo-like JPEGs: app.core.thumbnails.make_thumbnail (libjpeg reduced
   decode) against a full decode (app.core.images.load_image) + resize, alternated in blocks.
Prints JSON with the machine load (uptime). Never part of the test run's pass/fail.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _load() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def bench_watch(work: Path, n_images: int, n_new: int) -> dict[str, Any]:
    """Section 1 (see the module doc)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["SAM_LABELER_HOME"] = str(work / "home")
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from app.services.settings import Settings
    from app.ui import folder_watch
    from app.ui.main_window import MainWindow

    folder = work / "photos"
    folder.mkdir()
    for i in range(n_images):
        (folder / f"img_{2 * i:07d}.jpg").write_bytes(b"x")
    incoming = work / "incoming"
    incoming.mkdir()
    for i in range(n_new):
        (incoming / f"img_{2 * (i * n_images // max(1, n_new)) + 1:07d}.jpg").write_bytes(b"x")
    past = time.time() - 60
    for f in incoming.iterdir():
        os.utime(f, (past, past))  # finished copies
    app = QApplication.instance() or QApplication([])
    win = MainWindow(settings=Settings.load())
    win.ask_project_location = lambda f, d: work / "photos.samlabel"  # type: ignore[method-assign,assignment]
    win.show()
    t0 = time.perf_counter()
    assert win.open_path(folder)
    open_s = time.perf_counter() - t0
    fw = next(e for e in win.extensions if isinstance(e, folder_watch.FolderWatch))
    end = time.monotonic() + 60
    while not (fw.is_watching() and not fw.worker.busy) and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)
    win.controller.go_to_row(n_images // 2)
    app.processEvents()
    refresh_ms: list[float] = []
    real_reload = fw._reload

    def timed_reload(result: Any) -> None:
        t = time.perf_counter()
        real_reload(result)
        refresh_ms.append((time.perf_counter() - t) * 1000)

    fw._reload = timed_reload  # type: ignore[method-assign]
    pass_ms: list[float] = []
    real_pass = fw.syncer.run_pass if fw.syncer is not None else None
    assert real_pass is not None

    def timed_pass() -> Any:
        t = time.perf_counter()
        try:
            return real_pass()
        finally:
            pass_ms.append((time.perf_counter() - t) * 1000)

    fw.syncer.run_pass = timed_pass  # type: ignore[union-attr,method-assign]
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000)
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(5)
    def run_loop(until: Callable[[], bool], limit_s: float) -> None:
        """Qt's own event loop (as in the app), left when ``until()`` holds or after ``limit_s``."""
        loop = QEventLoop()
        deadline = time.monotonic() + limit_s
        check = QTimer()
        check.timeout.connect(lambda: loop.quit() if until() or time.monotonic() > deadline else None)
        check.start(20)
        loop.exec()
        check.stop()

    start_idle = time.monotonic()
    run_loop(lambda: time.monotonic() - start_idle > 2.0, 3.0)  # nothing happening: what the load alone costs
    idle_gaps, gaps[:] = list(gaps), []
    current = win.controller.image
    t_copy = time.perf_counter()
    for f in incoming.iterdir():
        os.replace(f, folder / f.name)
    moved_s = time.perf_counter() - t_copy
    last[0] = time.perf_counter()
    run_loop(lambda: win.images_dock.model.rowCount() >= n_images + n_new, 120.0)
    run_loop(lambda: False, 1.0)  # the batched layout of the list after the refresh
    appear_s = time.perf_counter() - t_copy - 1.0
    timer.stop()
    kept = win.controller.image is not None and current is not None and win.controller.image.id == current.id
    project = win.project
    row_ok = current is not None and project is not None and win.controller.row == project.image_row(current.id)
    win.close()
    return {"images": n_images, "new": n_new, "open_folder_s": round(open_s, 2),
            "copy_moves_s": round(moved_s, 2), "copy_to_list_s": round(appear_s, 2),
            "gui_stall_max_ms": round(max(gaps), 1) if gaps else None,
            "gui_stall_p99_ms": round(statistics.quantiles(gaps, n=100)[98], 1) if len(gaps) > 100 else None,
            "idle_stall_max_ms": round(max(idle_gaps), 1) if idle_gaps else None,
            "gui_refresh_ms": [round(v, 1) for v in refresh_ms], "worker_pass_ms": [round(v, 1) for v in pass_ms],
            "current_image_kept": kept, "current_row_right": row_ok}


def bench_thumbnails(work: Path, n_photos: int, rounds: int) -> dict[str, Any]:
    """Section 2 (see the module doc)."""
    import cv2

    from app.core.images import load_image
    from app.core.thumbnails import make_thumbnail
    from benchmarks.bench_gui import make_photos

    folder = make_photos(work / "big", n_photos, 4000, 3000)
    photos = sorted(folder.iterdir())

    def full(p: Path) -> None:
        arr = load_image(p).array
        h, w = arr.shape[:2]
        s = 256 / max(h, w)
        cv2.imencode(".jpg", cv2.resize(arr, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA))

    paths = {"reduced_jpeg": lambda p: make_thumbnail(p, 256), "full_decode": full}
    times: dict[str, list[float]] = {k: [] for k in paths}
    for _ in range(rounds):  # alternate the two paths in blocks: ratios survive the machine's load
        for name, fn in paths.items():
            for p in photos:
                t = time.perf_counter()
                fn(p)
                times[name].append((time.perf_counter() - t) * 1000)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"photo": "4000x3000 JPEG", "median_ms": {k: round(v, 1) for k, v in med.items()},
            "speedup": round(med["full_decode"] / med["reduced_jpeg"], 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=100_000)
    ap.add_argument("--new", type=int, default=5000)
    ap.add_argument("--photos", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    load_before = _load()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        watch = bench_watch(work, args.images, args.new)
        thumbs = bench_thumbnails(work, args.photos, args.rounds)
    print(json.dumps({"load_before": load_before, "load_after": _load(), "cpus": os.cpu_count(),
                      "watch": watch, "thumbnails": thumbs}, indent=2))


if __name__ == "__main__":
    main()
