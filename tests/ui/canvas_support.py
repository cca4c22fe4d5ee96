"""Helpers for the canvas tests: a shown CanvasView and mouse input in IMAGE coordinates."""
from __future__ import annotations

import numpy as np
import shiboken6
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from app.ui.canvas import CanvasView
from app.ui.canvas.convert import qimage_to_rgba
from app.ui.canvas.overlay import MaskOverlayItem

IMAGE_H, IMAGE_W = 300, 400
# Views stay referenced until their C++ object is gone: a view whose Python wrapper became garbage
# could otherwise be collected (and its C++ object deleted) by a GC pass inside its own paint event,
# which pytest-qt processes after the test function has returned. Old views are deleted with
# deleteLater, i.e. by the event loop, never inside a paint.
_VIEWS: list[CanvasView] = []


def make_view(qtbot: object, width: int = 800, height: int = 600) -> CanvasView:
    """A shown 800x600 CanvasView with a 400x300 random RGB image, fitted."""
    _VIEWS[:] = [v for v in _VIEWS if shiboken6.isValid(v)]
    for old in _VIEWS:
        old.deleteLater()
    view = CanvasView()
    _VIEWS.append(view)
    qtbot.addWidget(view)  # type: ignore[attr-defined]
    view.resize(width, height)
    view.show()
    qtbot.waitExposed(view)  # type: ignore[attr-defined]
    rng = np.random.default_rng(0)
    view.set_image(rng.integers(0, 255, (IMAGE_H, IMAGE_W, 3), dtype=np.uint8))
    view.setFocus()
    return view


def vp(view: CanvasView, x: float, y: float) -> QPoint:
    """Viewport position of image point (x, y) (rounded to whole widget pixels)."""
    return view.mapFromScene(QPointF(x, y))


def tol(view: CanvasView) -> float:
    """How far (image px) a mapped click can land from its target: one screen pixel."""
    return 1.0 / view.scale_factor() + 1e-6


def click(view: CanvasView, x: float, y: float, button: Qt.MouseButton = Qt.MouseButton.LeftButton) -> None:
    """Press and release at image (x, y)."""
    QTest.mouseClick(view.viewport(), button, Qt.KeyboardModifier.NoModifier, vp(view, x, y))


def drag(view: CanvasView, points: list[tuple[float, float]],
         button: Qt.MouseButton = Qt.MouseButton.LeftButton) -> None:
    """Press at the first image point, move through the others, release at the last."""
    w = view.viewport()
    QTest.mousePress(w, button, Qt.KeyboardModifier.NoModifier, vp(view, *points[0]))
    for p in points[1:]:
        QTest.mouseMove(w, vp(view, *p))
    QTest.mouseRelease(w, button, Qt.KeyboardModifier.NoModifier, vp(view, *points[-1]))


def hover(view: CanvasView, x: float, y: float) -> None:
    """Move the mouse (no button) to image (x, y)."""
    QTest.mouseMove(view.viewport(), vp(view, x, y))


def close_to(a: tuple[float, float], b: tuple[float, float], t: float) -> bool:
    """True when both coordinates differ by at most t."""
    return abs(a[0] - b[0]) <= t and abs(a[1] - b[1]) <= t


def overlay_rgba(item: MaskOverlayItem) -> np.ndarray:
    """The candidate overlay as a full HxWx4 RGBA array (its bbox crop put back in place)."""
    shape = item.mask_shape()
    assert shape is not None, "the overlay is hidden"
    out = np.zeros((*shape, 4), np.uint8)
    image = item.image()
    if not image.isNull():
        c0, r0 = item.crop_origin()
        out[r0:r0 + image.height(), c0:c0 + image.width()] = qimage_to_rgba(image)
    return out
