"""Shared helpers for the main-window tests: generated image folders, a window driven with the fake
predictor, clicks in image coordinates and key presses through the real shortcut machinery."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.services.fake_predictor import FakePredictor
from app.services.settings import Settings

def make_images(folder: Path, n: int = 4, size: tuple[int, int] = (160, 120)) -> Path:
    """`n` RGB PNGs (w x h = size) with a bright disc on a gradient, named img_000.png..."""
    folder.mkdir(parents=True, exist_ok=True)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(n):
        arr = np.zeros((h, w, 3), dtype=np.uint8)
        arr[..., 0] = (xx * 255 // max(1, w - 1)).astype(np.uint8)
        arr[..., 1] = (yy * 255 // max(1, h - 1)).astype(np.uint8)
        arr[..., 2] = 40 * i % 255
        disc = (xx - w // 2) ** 2 + (yy - h // 2) ** 2 <= (min(w, h) // 5) ** 2
        arr[disc] = (250, 250, 250)
        Image.fromarray(arr).save(folder / f"img_{i:03d}.png")
    return folder


class RecordingPredictor(FakePredictor):
    """FakePredictor that remembers the mask_input of every predict call."""

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.mask_inputs: list[np.ndarray | None] = []

    def predict(self, emb, points=None, labels=None, box=None, mask_input=None, multimask=True):  # type: ignore[no-untyped-def]
        self.mask_inputs.append(None if mask_input is None else np.array(mask_input))
        return super().predict(emb, points, labels, box, mask_input, multimask)


def open_window(qtbot, folder: Path, predictor: object | None = None, model_id: str = "fake"):  # type: ignore[no-untyped-def]
    """A shown MainWindow on `folder` with `predictor` (None: no model); waits for the first image."""
    from app.ui.main_window import MainWindow

    win = MainWindow(settings=Settings.load())
    if MainWindow.ask_project_location.__qualname__ == "MainWindow.ask_project_location":  # not replaced by a test
        # the first-open question (a modal dialog) answered with the folder itself, the layout these
        # tests were written for; tests/ui/conftest.py does the same for windows made elsewhere
        win.ask_project_location = lambda folder, default: Path(folder) / (Path(folder).name + ".samlabel")  # type: ignore[method-assign]
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    if predictor is not None:
        win.inference.set_predictor(predictor, model_id)
    assert win.open_path(folder)
    qtbot.waitUntil(lambda: win.canvas.has_image(), timeout=5000)
    win.canvas.setFocus()
    return win


@pytest.fixture
def predictor() -> RecordingPredictor:
    """A fast fake predictor (disks of radius 10, 15, 20 px)."""
    return RecordingPredictor(radius=10)


@pytest.fixture
def window(qtbot, tmp_path: Path, predictor: RecordingPredictor) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """MainWindow on a folder of 4 generated images with the fake predictor; closed afterwards."""
    win = open_window(qtbot, make_images(tmp_path / "photos"), predictor)
    yield win
    win.close()


def click_image(win, x: float, y: float, button: Qt.MouseButton = Qt.MouseButton.LeftButton) -> None:  # type: ignore[no-untyped-def]
    """A real mouse click on the canvas at image pixel (x, y)."""
    pos: QPoint = win.canvas.mapFromScene(QPointF(x, y))
    QTest.mouseClick(win.canvas.viewport(), button, Qt.KeyboardModifier.NoModifier, pos)


def key(win, k: Qt.Key, mods: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    """Press a key on the canvas (shortcuts are resolved as for a real key press)."""
    win.canvas.setFocus()
    QTest.keyClick(win.canvas, k, mods)
    settle(win)


def settle(win, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """Process events until every accepted candidate has been stored (the geometry thread is async)."""
    end = time.monotonic() + timeout_s
    QApplication.processEvents()
    while win.controller.busy() and time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.002)
    QApplication.processEvents()


def wait_candidates(qtbot, win) -> None:  # type: ignore[no-untyped-def]
    """Wait until the strip shows three candidates."""
    qtbot.waitUntil(lambda: win.strip.count() == 3, timeout=5000)
