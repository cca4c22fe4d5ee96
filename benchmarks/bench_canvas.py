"""Canvas painting benchmark (offscreen): GUI-thread cost of repaints, hover, set_candidate, set_image.

    python benchmarks/bench_canvas.py [--repeats 7] [--parts-size 1600x1200] [--view 1400x900]

Scenarios (every figure is the MEDIAN over `repeats` runs, in ms, GUI thread):
  many_part_annotation: a noise mask (like a random-weight SAM mask or foliage) turned into an
    annotation with thousands of parts by app.core.geometry.mask_to_parts, shown on a fitted view.
      repaint_full_ms      full viewport repaint (e.g. after a pan)
      repaint_zoom_ms      zoom in one step + full repaint (caches keyed to the zoom are rebuilt);
                           repaint_zoom_without_annotation_ms: the same with only the image shown
      hover_point_ms       mouse move over the annotation, point tool, including the resulting paint
      hover_edit_ms        the same with the edit tool and the annotation selected (vertex handles)
      first_paint_ms       set_annotations + the first repaint (builds any cache)
      first_paint_prepared_ms  the same when the drawing data was prepared beforehand off the GUI
                           thread (app.ui.canvas.prepared, as the geometry worker does after an accept)
  candidate_12mp: set_candidate with a 4000x3000 mask (small object / large object), and the first
    repaint after it.
  image_12mp: set_image with a 4000x3000 RGB array, and the first repaint after it.
Prints JSON. Never part of the test run's pass/fail.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def noise_mask(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A fragmented bool mask: thresholded lightly blurred noise (thousands of small components)."""
    import cv2

    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 2.0)
    return noise > 0.85 * float(noise.std())  # about 8500 parts at 1600x1200


def timed(fn: Callable[[], Any], repeats: int, setup: Callable[[], Any] | None = None) -> float:
    """Median wall time of fn() in ms over `repeats` runs (setup() untimed before each)."""
    times = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return round(statistics.median(times), 2)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--parts-size", default="1600x1200")
    ap.add_argument("--view", default="1400x900")
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QPointF
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from app.core.geometry import mask_to_parts
    from app.core.model import Annotation
    from app.ui.canvas import CanvasView, prepared

    app = QApplication.instance() or QApplication([])
    vw, vh = (int(v) for v in args.view.lower().split("x"))
    pw, ph = (int(v) for v in args.parts_size.lower().split("x"))
    view = CanvasView()
    view.resize(vw, vh)
    view.show()
    app.processEvents()
    r = args.repeats

    # ---- many-part annotation --------------------------------------------------------------
    mask = noise_mask(ph, pw)
    t0 = time.perf_counter()
    parts = mask_to_parts(mask)
    parts_s = time.perf_counter() - t0
    rng = np.random.default_rng(3)
    view.set_image(rng.integers(0, 255, (ph, pw, 3), dtype=np.uint8))
    app.processEvents()
    ann = Annotation(image_id=1, label_id=1, parts=parts, id=1)
    vertices = sum(len(p.exterior) + sum(len(h) for h in p.holes) for p in parts)

    def first_paint() -> None:
        view.set_annotations([ann], {1: "#33cc66"})
        view.viewport().repaint()

    def clear_anns() -> None:
        view.set_annotations([], {})
        view.viewport().repaint()

    many: dict[str, Any] = {"parts": len(parts), "vertices": vertices,
                            "mask_to_parts_s": round(parts_s, 2)}

    def zoom_repaint() -> float:
        zooms = []
        for _ in range(r):
            view.fit()
            view.viewport().repaint()
            t0 = time.perf_counter()
            view.zoom_in()
            view.viewport().repaint()
            zooms.append((time.perf_counter() - t0) * 1000.0)
        return round(statistics.median(zooms), 2)

    many["repaint_zoom_without_annotation_ms"] = zoom_repaint()
    many["first_paint_ms"] = timed(first_paint, max(1, r // 2), clear_anns)

    def clear_and_prepare() -> None:
        clear_anns()
        prepared.prepare(ann.parts)  # not timed: the geometry thread's work

    many["first_paint_prepared_ms"] = timed(first_paint, max(1, r // 2), clear_and_prepare)
    view.viewport().repaint()
    many["repaint_full_ms"] = timed(view.viewport().repaint, r)
    many["repaint_zoom_ms"] = zoom_repaint()
    view.fit()
    view.viewport().repaint()
    # hover over (on or next to) the annotation: alternate two nearby positions
    cx, cy = pw / 2, ph / 2
    positions = [view.mapFromScene(QPointF(cx + dx, cy + dy)) for dx, dy in ((0, 0), (3, 2), (6, 5), (1, 7))]

    def hover_once(i: list[int] = [0]) -> None:  # noqa: B006 - a counter
        QTest.mouseMove(view.viewport(), positions[i[0] % len(positions)])
        i[0] += 1
        app.processEvents()

    many["hover_point_ms"] = timed(hover_once, r)
    view.set_tool("edit")
    view.select_annotation(1)
    view.viewport().repaint()
    many["hover_edit_ms"] = timed(hover_once, r)
    many["repaint_full_selected_edit_ms"] = timed(view.viewport().repaint, r)
    view.set_tool("point")
    view.set_annotations([], {})

    # ---- 12 MP image and candidate ------------------------------------------------------------
    h, w = 3000, 4000
    img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    img2 = img[:, ::-1].copy()
    flip = [0]

    def set_image() -> None:
        flip[0] ^= 1
        view.set_image(img if flip[0] else img2)

    image: dict[str, Any] = {"set_image_ms": timed(set_image, r)}
    image["set_image_and_repaint_ms"] = timed(lambda: (set_image(), view.viewport().repaint()), r)
    small = np.zeros((h, w), bool)
    small[1400:1650, 2000:2300] = True
    large = np.zeros((h, w), bool)
    large[300:2800, 400:3700] = True
    large[1000:1500, 1000:1500] = False
    cand: dict[str, Any] = {}
    for name, m in (("small_object", small), ("large_object", large)):
        cand[f"set_candidate_{name}_ms"] = timed(lambda m=m: view.set_candidate(m, "#ff0000"), r,
                                                 lambda: view.set_candidate(None, "#000000"))
        cand[f"set_candidate_{name}_and_repaint_ms"] = timed(
            lambda m=m: (view.set_candidate(m, "#ff0000"), view.viewport().repaint()), r,
            lambda: (view.set_candidate(None, "#000000"), view.viewport().repaint()))
    out = {"platform": platform.platform(), "cpu_count": os.cpu_count(), "repeats": r,
           "view": [vw, vh], "many_part_annotation": many, "image_12mp": image, "candidate_12mp": cand}
    print(json.dumps(out, indent=2))
    view.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
