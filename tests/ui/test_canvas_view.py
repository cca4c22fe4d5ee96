"""Zoom, pan, Space tap vs Space+drag, annotation drawing with holes."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QKeyEvent, QPainter
from PySide6.QtWidgets import QApplication
from PySide6.QtTest import QTest

from app.core.model import Annotation, Part
from app.ui.canvas.convert import qimage_to_rgba
from tests.ui.canvas_support import drag, make_view, vp

SPACE = Qt.Key.Key_Space
NOMOD = Qt.KeyboardModifier.NoModifier


def _scroll(view) -> tuple[int, int]:
    return view.horizontalScrollBar().value(), view.verticalScrollBar().value()


def test_space_tap_emits_accept_and_space_drag_pans(qtbot) -> None:
    view = make_view(qtbot)
    for _ in range(4):
        view.zoom_in()
    accepted: list[bool] = []
    view.acceptRequested.connect(lambda: accepted.append(True))
    prompts: list[object] = []
    view.promptsChanged.connect(prompts.append)

    QTest.keyPress(view, SPACE)
    for _ in range(3):  # a held key repeats: still one tap
        QApplication.sendEvent(view, QKeyEvent(QEvent.Type.KeyPress, SPACE, NOMOD, " ", True))
    QTest.keyRelease(view, SPACE)
    assert accepted == [True]

    before = _scroll(view)
    QTest.keyPress(view, SPACE)
    w = view.viewport()
    QTest.mousePress(w, Qt.MouseButton.LeftButton, NOMOD, QPoint(400, 300))
    QTest.mouseMove(w, QPoint(350, 280))
    QTest.mouseMove(w, QPoint(300, 260))
    QTest.mouseRelease(w, Qt.MouseButton.LeftButton, NOMOD, QPoint(300, 260))
    QTest.mouseClick(w, Qt.MouseButton.RightButton, NOMOD, QPoint(300, 260))  # no prompt while Space is held
    QTest.keyRelease(view, SPACE)
    after = _scroll(view)
    assert accepted == [True], "Space+drag is a pan, not an accept"
    assert prompts == [], "the panning click adds no prompt"
    assert after == (before[0] + 100, before[1] + 40)


def test_middle_drag_pans(qtbot) -> None:
    view = make_view(qtbot)
    for _ in range(4):
        view.zoom_in()
    centre = view.to_image(QPointF(400, 300))
    drag(view, [(centre.x(), centre.y()), (centre.x() - 20, centre.y() - 10)], Qt.MouseButton.MiddleButton)
    moved = view.to_image(QPointF(400, 300))
    s = view.scale_factor()
    assert abs((moved.x() - centre.x()) - 20) <= 1.5 / s and abs((moved.y() - centre.y()) - 10) <= 1.5 / s
    assert view.prompts().is_empty()


def test_wheel_zooms_around_the_cursor(qtbot) -> None:
    view = make_view(qtbot)
    s0 = view.scale_factor()
    target = QPointF(300.0, 80.0)
    pos = vp(view, target.x(), target.y())
    qtbot.wait(1)
    for _ in range(3):
        QTest.mouseMove(view.viewport(), pos)
        view.wheelEvent(_wheel(view, pos, 120))
    assert view.scale_factor() > s0 * 1.9
    under = view.to_image(QPointF(pos))
    assert abs(under.x() - target.x()) < 1.0 and abs(under.y() - target.y()) < 1.0
    view.fit()
    assert abs(view.scale_factor() - s0) < 1e-9


def _wheel(view, pos: QPoint, delta: int):
    from PySide6.QtGui import QWheelEvent

    return QWheelEvent(QPointF(pos), QPointF(view.viewport().mapToGlobal(pos)), QPoint(0, 0), QPoint(0, delta),
                       Qt.MouseButton.NoButton, NOMOD, Qt.ScrollPhase.NoScrollPhase, False)


def test_zoom_is_bounded(qtbot) -> None:
    view = make_view(qtbot)
    for _ in range(60):
        view.zoom_in()
    assert view.scale_factor() <= 64.0 + 1e-9
    for _ in range(80):
        view.zoom_out()
    assert view.scale_factor() >= min(1.0, 1.98) / 2 - 1e-9


def _render(view, w: int, h: int) -> np.ndarray:
    img = QImage(w, h, QImage.Format.Format_ARGB32)
    img.fill(QColor(0, 0, 0))
    p = QPainter(img)
    view.scene().render(p, QRectF(0, 0, w, h), QRectF(-0.5, -0.5, w, h))
    p.end()
    return qimage_to_rgba(img)


def test_annotations_draw_holes_hidden_and_selection(qtbot) -> None:
    view = make_view(qtbot)
    view.set_image(np.zeros((100, 100, 3), np.uint8))
    square = Part(exterior=((10.0, 10.0), (60.0, 10.0), (60.0, 60.0), (10.0, 60.0)),
                  holes=(((25.0, 25.0), (45.0, 25.0), (45.0, 45.0), (25.0, 45.0)),))
    other = Part(exterior=((70.0, 70.0), (90.0, 70.0), (90.0, 90.0), (70.0, 90.0)))
    anns = [Annotation(image_id=1, label_id=1, parts=(square,), id=5),
            Annotation(image_id=1, label_id=2, parts=(other,), id=6)]
    view.set_annotations(anns, {1: "#ff0000", 2: "#0000ff"}, hidden={6})
    rgba = _render(view, 100, 100)
    assert rgba[15, 15, 0] > 40 and rgba[15, 15, 2] == 0, "filled in class colour"
    assert tuple(rgba[35, 35, :3]) == (0, 0, 0), "the hole is not filled"
    assert tuple(rgba[80, 80, :3]) == (0, 0, 0), "hidden annotation not drawn"

    view.select_annotation(5)
    assert view.selected_annotation() == 5
    view.set_annotations(anns, {1: "#ff0000", 2: "#0000ff"})
    assert view.selected_annotation() == 5, "selection kept when the id remains"
    assert _render(view, 100, 100)[80, 80, 2] > 40
    view.set_annotations(anns[1:], {2: "#0000ff"})
    assert view.selected_annotation() is None
    view.clear_image()
    assert view.image_size() is None and view.annotation_parts(6) is None


def test_prompt_markers_and_handles_keep_their_screen_size(qtbot) -> None:
    view = make_view(qtbot)
    from tests.ui.canvas_support import click

    click(view, 200.0, 150.0)
    marker = next(i for i in view.scene().items() if type(i).__name__ == "PointMarker")

    def screen_width() -> float:
        return marker.deviceTransform(view.viewportTransform()).mapRect(marker.boundingRect()).width()

    w0 = screen_width()
    for _ in range(6):
        view.zoom_in()
    assert view.scale_factor() > 5
    assert abs(screen_width() - w0) <= 1 and w0 > 10
    centre = marker.deviceTransform(view.viewportTransform()).map(QPointF(0, 0))
    assert (centre - QPointF(view.mapFromScene(QPointF(200.0, 150.0)))).manhattanLength() <= 2
