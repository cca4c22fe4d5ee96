"""End to end: the keyboard-only labeling loop on the real window (only the prompts use the mouse), and
the real start-up path `python -m app FOLDER` in a subprocess (first image shown within a second of the
window appearing; the model is not waited for)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from app.core import edits
from app.core.project import Project
from app.core.rle import rle_to_mask
from tests.ui.window_support import (RecordingPredictor, click_image, key, make_images, open_window, settle,
                                     wait_candidates)

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
ROOT = Path(__file__).resolve().parents[2]


def _drag_box(win, x0: float, y0: float, x1: float, y1: float) -> None:  # type: ignore[no-untyped-def]
    vp = win.canvas.viewport()
    a = win.canvas.mapFromScene(QPointF(x0, y0))
    b = win.canvas.mapFromScene(QPointF(x1, y1))
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    QTest.mouseMove(vp, (a + b) / 2)
    QTest.mouseMove(vp, b)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)


def test_keyboard_only_loop(qtbot, tmp_path: Path) -> None:
    folder = make_images(tmp_path / "shots", n=3)
    win = open_window(qtbot, folder, RecordingPredictor(radius=12))
    win.undo.push(edits.AddLabelClass("car", "#ff4040"))
    win.undo.push(edits.AddLabelClass("person", "#40ff40"))
    car, person = win.project.label_classes()
    expected: dict[str, tuple[int, np.ndarray]] = {}

    # image 1: point prompt, second candidate, label 2, accept with Space
    key(win, Qt.Key.Key_2)
    click_image(win, 80, 60)
    wait_candidates(qtbot, win)
    key(win, Qt.Key.Key_Tab)
    expected[win.controller.image.path] = (person.id, win.controller.prediction.masks[1].copy())
    QTest.keyPress(win.canvas, Qt.Key.Key_Space)
    QTest.keyRelease(win.canvas, Qt.Key.Key_Space)
    settle(win)
    assert len(win.project.annotations(win.controller.image.id)) == 1

    # image 2: box tool, label 1, a wrong accept undone and redone, Esc clears prompts
    key(win, Qt.Key.Key_D)
    qtbot.waitUntil(lambda: win.controller.image.path == "img_001.png" and win.canvas.has_image())
    key(win, Qt.Key.Key_B)
    key(win, Qt.Key.Key_1)
    _drag_box(win, 30, 20, 90, 80)
    wait_candidates(qtbot, win)
    assert win.canvas.prompts().box is not None
    key(win, Qt.Key.Key_Escape)
    assert win.strip.count() == 0 and win.canvas.prompts().is_empty()
    _drag_box(win, 30, 20, 90, 80)
    wait_candidates(qtbot, win)
    expected[win.controller.image.path] = (car.id, win.controller.prediction.masks[0].copy())
    key(win, Qt.Key.Key_Return)
    key(win, Qt.Key.Key_Z, CTRL)
    assert win.project.annotations(win.controller.image.id) == []
    key(win, Qt.Key.Key_Z, CTRL | SHIFT)
    assert len(win.project.annotations(win.controller.image.id)) == 1

    # image 3: nothing; save; back to image 1 shows its annotation
    key(win, Qt.Key.Key_D)
    qtbot.waitUntil(lambda: win.controller.image.path == "img_002.png" and win.canvas.has_image())
    key(win, Qt.Key.Key_S, CTRL)
    assert "saved" in win.status.message.text()
    key(win, Qt.Key.Key_A)
    key(win, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: win.controller.image.path == "img_000.png" and win.canvas.has_image())
    assert win.annotations_dock.list.count() == 1
    path = win.project.path
    win.close()

    with Project.open(path, read_only=True) as proj:
        assert proj.status_counts() == {"new": 1, "in_progress": 2, "done": 0}
        for rec in proj.images():
            anns = proj.annotations(rec.id)
            if rec.path not in expected:
                assert anns == []
                continue
            label, mask = expected[rec.path]
            assert len(anns) == 1 and anns[0].label_id == label
            assert np.array_equal(rle_to_mask(anns[0].rle), mask)


def test_cli_start_shows_first_image_quickly(tmp_path: Path) -> None:
    folder = make_images(tmp_path / "start", n=2, size=(640, 480))
    script = textwrap.dedent(f"""
        import json, sys, time
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication
        from app.ui.launch import make_application
        app = make_application()
        t0 = time.perf_counter()
        out = {{}}
        def poll():
            wins = [w for w in QApplication.topLevelWidgets() if hasattr(w, "canvas") and w.isVisible()]
            if wins and "shown" not in out:
                out["shown"] = time.perf_counter()
            if wins and wins[0].canvas.has_image() and "ms" not in out:
                w = wins[0]
                now = time.perf_counter()
                out["ms"] = (now - out.pop("shown")) * 1000
                out["total_ms"] = (now - t0) * 1000
                out["title"] = w.windowTitle()
                out["banner"] = w.banner.isVisible()
                out["model"] = w.status.model.text()
                w.close()
                app.quit()
        timer = QTimer(); timer.timeout.connect(poll); timer.start(5)
        QTimer.singleShot(20000, app.quit)
        from pathlib import Path
        from app.services.settings import Settings
        from app.ui.session_memory import remember_project_file
        settings = Settings.load()  # the person answered "where does the project go" before (beside the folder)
        remember_project_file(settings, Path({str(folder)!r}), Path({str(folder)!r} + ".samlabel"))
        from app.core.project import Project
        Project.open_folder(Path({str(folder)!r}), project_path=Path({str(folder)!r} + ".samlabel")).close()
        settings.save()
        from app.__main__ import main
        code = main([{str(folder)!r}, "--device", "cpu"])
        print("RESULT " + json.dumps(dict(out, code=code)))
    """)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert line, proc.stdout + proc.stderr
    res = json.loads(line[-1][7:])
    assert res["code"] == 0
    assert res["ms"] < 1000, res  # window on screen -> first image (process start incl. torch import: total_ms)
    assert "start" in res["title"]
    assert res["banner"] is True and res["model"] == "no model"  # nothing installed in the test home
