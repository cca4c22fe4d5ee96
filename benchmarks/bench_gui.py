"""GUI responsiveness benchmark: drives the real MainWindow offscreen through a labeling session.

    python benchmarks/bench_gui.py [--predictor mobile_sam|fake] [--images 12] [--size 1600x1200]
                                   [--prompts 20] [--steps 5] [--device cpu]

A folder of generated photo-like images is opened; for each of `steps` images: `prompts` point
prompts (each waits for its overlay), accept, then D (next image), waiting first until the next image
was pre-encoded by the prefetcher. Afterwards a few far-away ("cold", not prefetched) images are
visited with prefetch off. Prints JSON:
  stall_ms: longest gap between ticks of a 5 ms QTimer during the session (target < 50 ms), plus p99
  prompt_to_overlay_ms: click -> candidate overlay shown (median, p95, n)
  switch_to_overlay_ms: image switch key -> first overlay, for prefetched and cold images (median each)
  encode/decode timings reported by the inference service, and the machine/predictor used.
The model is a REAL mobile_sam with random weights (same compute as the released one) unless --predictor
fake. Never part of the test run's pass/fail.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def make_photos(folder: Path, n: int, w: int, h: int, seed: int = 0) -> Path:
    """`n` photo-like JPEGs: smooth gradients, blurred noise, a few filled ellipses and rectangles."""
    import cv2

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for i in range(n):
        base = np.stack([xx / w * 200 + 30, yy / h * 180 + 40, (xx + yy) / (w + h) * 150 + 50], -1)
        noise = cv2.GaussianBlur(rng.normal(0, 40, (h, w, 3)).astype(np.float32), (0, 0), 9)
        img = np.clip(base + noise, 0, 255).astype(np.uint8)
        for _ in range(6):
            c = tuple(int(v) for v in rng.integers(0, 255, 3))
            cx, cy = int(rng.integers(w // 8, 7 * w // 8)), int(rng.integers(h // 8, 7 * h // 8))
            if rng.random() < 0.5:
                cv2.ellipse(img, (cx, cy), (int(rng.integers(w // 20, w // 6)), int(rng.integers(h // 20, h // 6))),
                            float(rng.integers(0, 180)), 0, 360, c, -1)
            else:
                cv2.rectangle(img, (cx - w // 12, cy - h // 12), (cx + w // 12, cy + h // 12), c, -1)
        cv2.imwrite(str(folder / f"photo_{i:03d}.jpg"), img[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
    return folder


def real_predictor(model_id: str, device: str, seed: int = 0) -> Any:
    """A sam_backend predictor around a randomly initialised model (no checkpoint needed; `seed`
    fixes the weights, so runs see the same masks)."""
    import torch

    from sam_backend import build_model
    from sam_backend import predictor as predictor_mod

    torch.manual_seed(seed)
    model = build_model(model_id)
    from app.services.worker import warm_up

    predictor = predictor_mod.SamPredictor(model, model_id=model_id, device=device)
    warm_up(predictor)  # as the app's model load does (InferenceWorker._do_load)
    return predictor


def pct(values: list[float], q: float) -> float | None:
    """q-th percentile (0..100) or None for no values."""
    return None if not values else float(np.percentile(np.asarray(values), q))


class Session:
    """Runs the labeling session on a MainWindow with nested event loops (no blocking waits)."""

    def __init__(self, win: Any, app: Any) -> None:
        self.win, self.app = win, app
        self.ticks: list[float] = []
        self.recording = False
        self.last_overlay = 0.0
        self.overlays = 0
        self.encode_ready: set[str] = set()
        self.results: list[Any] = []
        self.shown_ms: list[float] = []
        self.phase = "setup"
        self.tick_phase: list[str] = []
        win.controller.candidatesChanged.connect(self._on_candidates)
        win.inference.encodeStateChanged.connect(self._on_encode)
        win.inference.decodeFinished.connect(self.results.append)

    def _on_candidates(self, prediction: Any, _k: int) -> None:
        if prediction is not None:
            self.overlays += 1
            self.last_overlay = time.perf_counter()

    def _on_encode(self, key: str, state: str) -> None:
        if state == "ready":
            self.encode_ready.add(key)
        elif key in self.encode_ready:
            self.encode_ready.discard(key)

    def tick(self) -> None:
        if self.recording:
            self.ticks.append(time.perf_counter())
            self.tick_phase.append(self.phase)

    def wait(self, cond: Callable[[], bool], timeout_s: float = 120.0) -> bool:
        """Spin the event loop until cond() or timeout (events keep flowing: this is not a GUI block)."""
        end = time.perf_counter() + timeout_s
        while not cond():
            if time.perf_counter() > end:
                return False
            self.app.processEvents()
            time.sleep(0.001)
        return True

    def click(self, x: float, y: float) -> float:
        """Left click at image px; returns the click -> overlay latency in ms."""
        from PySide6.QtCore import QPointF, Qt
        from PySide6.QtTest import QTest

        before = self.overlays
        pos = self.win.canvas.mapFromScene(QPointF(x, y))
        t0 = time.perf_counter()
        QTest.mouseClick(self.win.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
        if not self.wait(lambda: self.overlays > before):
            raise RuntimeError("no overlay within the timeout")
        return (self.last_overlay - t0) * 1000.0

    def key(self, k: Any, mods: Any = None) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        self.win.canvas.setFocus()
        QTest.keyClick(self.win.canvas, k, mods if mods is not None else Qt.KeyboardModifier.NoModifier)

    def switch_and_click(self, do_switch: Callable[[], None], rng: np.random.Generator) -> float:
        """Switch image, click as soon as it is shown; ms from the switch to the first overlay."""
        t0 = time.perf_counter()
        target_row = None
        do_switch()
        target_row = self.win.controller.row
        self.wait(lambda: self.win.canvas.has_image() and self.win.controller.row == target_row
                  and self.win.controller.image_shape is not None)
        self.shown_ms.append((time.perf_counter() - t0) * 1000.0)
        h, w = self.win.controller.image_shape
        before = self.overlays
        from PySide6.QtCore import QPointF, Qt
        from PySide6.QtTest import QTest

        pos = self.win.canvas.mapFromScene(QPointF(float(rng.uniform(0.2, 0.8) * w), float(rng.uniform(0.2, 0.8) * h)))
        QTest.mouseClick(self.win.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
        if not self.wait(lambda: self.overlays > before):
            raise RuntimeError("no overlay after the image switch")
        return (self.last_overlay - t0) * 1000.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--predictor", default="mobile_sam", help="mobile_sam (random weights) | fake")
    ap.add_argument("--images", type=int, default=12)
    ap.add_argument("--size", default="1600x1200")
    ap.add_argument("--prompts", type=int, default=20)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--cold", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    ap.add_argument("--no-accept", action="store_true",
                    help="clear instead of accepting (random-weight masks are noise with thousands of parts, "
                         "whose painting then dominates; this isolates the inference-driven stalls)")
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    work = Path(tempfile.mkdtemp(prefix="bench_gui_"))
    os.environ["SAM_LABELER_HOME"] = str(work / "home")  # empty caches: nothing is pre-encoded
    folder = make_photos(work / "photos", args.images, w, h)

    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from app.services.settings import Settings
    from app.ui.launch import make_application
    from app.ui.main_window import MainWindow

    app = make_application()
    if args.predictor == "fake":
        from app.services.fake_predictor import FakePredictor

        predictor: Any = FakePredictor(encode_delay=0.3, decode_delay=0.02)
    else:
        predictor = real_predictor(args.predictor, args.device, args.seed)
    settings = Settings.load()
    settings.prefetch_count = 2
    win = MainWindow(settings=settings)
    win.resize(1400, 900)
    win.show()
    s = Session(win, app)
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(s.tick)
    timer.start(5)
    win.inference.set_predictor(predictor, args.predictor)
    win.ask_project_location = lambda _folder, default: default  # type: ignore[method-assign]  # no dialog
    t_open = time.perf_counter()
    win.open_path(folder)
    s.wait(lambda: win.canvas.has_image())
    first_image_ms = (time.perf_counter() - t_open) * 1000.0
    rng = np.random.default_rng(1)
    latencies: list[float] = []
    prefetched: list[float] = []
    cold: list[float] = []
    s.recording = True
    first_overlay_ms = s.switch_and_click(lambda: None, rng)  # image 0: encode on demand (cold)
    if not args.no_accept:
        win.controller.accept()
    from app.ui.controller import image_key

    for step in range(args.steps):
        s.phase = f"image {step}: prompts"
        for j in range(args.prompts):
            if j % 5 == 0:
                s.key(Qt.Key.Key_Escape)
            hh, ww = win.controller.image_shape
            latencies.append(s.click(float(rng.uniform(0.1, 0.9) * ww), float(rng.uniform(0.1, 0.9) * hh)))
        s.phase = f"image {step}: accept"
        s.key(Qt.Key.Key_Escape if args.no_accept else Qt.Key.Key_Return)
        s.phase = f"image {step}: waiting for prefetch"
        row = win.controller.row
        if win.images_dock.model.record(row + 1) is None:
            break
        # a person spends seconds per image: let the prefetcher finish every planned neighbour first
        planned = [image_key(r) for d in (1, 2, -1, -2)
                   if (r := win.images_dock.model.record(row + d)) is not None and row + d >= 0]
        s.wait(lambda: all(k in s.encode_ready for k in planned), timeout_s=300)
        s.phase = f"image {step}: switch (prefetched)"
        prefetched.append(s.switch_and_click(lambda: s.key(Qt.Key.Key_D), rng))
    win.inference.set_prefetch_count(0)
    win.controller.prefetch_count = 0
    far = list(range(win.controller.row + 3, win.images_dock.model.rowCount(), 2))[: args.cold]
    for row in far:
        s.phase = f"cold switch to row {row}"
        s.wait(lambda: True)
        cold.append(s.switch_and_click(lambda row=row: win.controller.go_to_row(row), rng))
    s.recording = False
    gaps = np.diff(np.asarray(s.ticks)) * 1000.0 if len(s.ticks) > 1 else np.zeros(1)
    decode_ms = [r.decode_ms for r in s.results]
    win.controller.flush()
    n_anns = win.project.annotation_count()
    parts = [len(a.parts) for a in win.project.iter_annotations()]
    win.close()
    QApplication.processEvents()
    out = {
        "predictor": args.predictor, "device": args.device, "seed": args.seed, "accepts": not args.no_accept,
        "image_size": [w, h], "images": args.images,
        "cpu_count": os.cpu_count(), "platform": platform.platform(),
        "first_image_shown_ms": round(first_image_ms, 1),
        "first_overlay_cold_ms": round(first_overlay_ms, 1),
        "stall_ms": {"max": round(float(gaps.max()), 1), "p99": round(float(np.percentile(gaps, 99)), 1),
                     "max_during": s.tick_phase[int(np.argmax(gaps)) + 1] if len(s.tick_phase) > 1 else None,
                     "over_50ms": int((gaps > 50).sum()),
                     "ticks": int(len(s.ticks)), "target_max": 50},
        "prompt_to_overlay_ms": {"median": round(statistics.median(latencies), 1),
                                 "p95": round(pct(latencies, 95) or 0.0, 1), "n": len(latencies)},
        "switch_to_overlay_ms": {
            "prefetched_median": round(statistics.median(prefetched), 1) if prefetched else None,
            "prefetched": [round(v, 1) for v in prefetched],
            "cold_median": round(statistics.median(cold), 1) if cold else None,
            "cold": [round(v, 1) for v in cold]},
        "switch_to_image_shown_ms": [round(v, 1) for v in s.shown_ms],
        "waited_for_encode": [bool(r.waited_for_encode) for r in s.results][-(len(prefetched) + len(cold)) * 1:],
        "decode_ms_in_worker": {"median": round(statistics.median(decode_ms), 1) if decode_ms else None},
        "annotations_accepted": n_anns,
        "parts_per_accepted_annotation": parts,
    }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
