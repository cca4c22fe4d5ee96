"""Manual polygon tool: vertices by click; close by first vertex, double click or Enter;
Backspace, Esc; the canvas wins Enter over a window shortcut while drawing."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.core.model import Part
from tests.ui.canvas_support import click, close_to, make_view, tol, vp

TRI = [(50.0, 50.0), (200.0, 60.0), (120.0, 180.0)]


def _poly_view(qtbot):
    view = make_view(qtbot)
    view.set_tool("polygon")
    got: list[tuple[Part, ...]] = []
    view.polygonFinished.connect(got.append)
    return view, got


def _ring_matches(ring, expected, t) -> bool:
    return len(ring) == len(expected) and all(close_to(a, b, t) for a, b in zip(ring, expected))


def test_click_on_first_vertex_closes(qtbot) -> None:
    view, got = _poly_view(qtbot)
    for p in TRI:
        click(view, *p)
    assert got == []
    click(view, 52.0, 51.0)  # within a few screen px of the first vertex
    assert len(got) == 1
    (part,) = got[0]
    assert isinstance(part, Part) and part.holes == ()
    assert _ring_matches(part.exterior, TRI, tol(view))


def test_double_click_and_enter_close(qtbot) -> None:
    view, got = _poly_view(qtbot)
    for p in TRI:
        click(view, *p)
    QTest.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                      vp(view, 60.0, 170.0))
    assert len(got) == 1 and _ring_matches(got[0][0].exterior, TRI + [(60.0, 170.0)], tol(view))

    for p in TRI:
        click(view, *p)
    QTest.keyClick(view, Qt.Key.Key_Return)
    assert len(got) == 2 and _ring_matches(got[1][0].exterior, TRI, tol(view))


def test_backspace_escape_and_minimum_three_points(qtbot) -> None:
    view, got = _poly_view(qtbot)
    click(view, *TRI[0])
    click(view, *TRI[1])
    QTest.keyClick(view, Qt.Key.Key_Return)  # only 2 points: nothing
    assert got == []
    click(view, 300.0, 250.0)
    QTest.keyClick(view, Qt.Key.Key_Backspace)  # removes (300, 250)
    click(view, *TRI[2])
    QTest.keyClick(view, Qt.Key.Key_Enter, Qt.KeyboardModifier.KeypadModifier)
    assert len(got) == 1 and _ring_matches(got[0][0].exterior, TRI, tol(view))

    click(view, *TRI[0])
    click(view, *TRI[1])
    click(view, *TRI[2])
    QTest.keyClick(view, Qt.Key.Key_Escape)
    QTest.keyClick(view, Qt.Key.Key_Return)
    assert len(got) == 1, "Esc cancelled the unfinished polygon"
    click(view, *TRI[0])
    view.clear_prompts()  # the window's Esc action: also cancels the polygon
    click(view, *TRI[1])
    click(view, *TRI[2])
    QTest.keyClick(view, Qt.Key.Key_Return)
    assert len(got) == 1


def test_vertices_are_clamped_to_the_image(qtbot) -> None:
    view, got = _poly_view(qtbot)
    view.zoom_out()
    for p in [(-30.0, -20.0), (200.0, -25.0), (420.0, 320.0)]:
        click(view, *p)
    QTest.keyClick(view, Qt.Key.Key_Return)
    ring = got[0][0].exterior
    assert ring[0] == (-0.5, -0.5) and ring[1][1] == -0.5 and ring[2] == (399.5, 299.5)


def test_canvas_wins_enter_over_a_window_shortcut_only_while_drawing(qtbot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    fired: list[bool] = []
    accept = QAction("accept", window)
    accept.setShortcut(QKeySequence(Qt.Key.Key_Return))
    accept.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    accept.triggered.connect(lambda: fired.append(True))
    window.addAction(accept)
    from app.ui.canvas import CanvasView

    view = CanvasView()
    QVBoxLayout(window).addWidget(view)
    window.resize(800, 600)
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    import numpy as np

    view.set_image(np.zeros((300, 400, 3), np.uint8))
    view.set_tool("polygon")
    view.setFocus()
    got: list[object] = []
    view.polygonFinished.connect(got.append)
    QTest.keyClick(view, Qt.Key.Key_Return)
    assert fired == [True], "no polygon in progress: the window's shortcut gets Enter"
    for p in TRI:
        QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         view.mapFromScene(*p))
    QTest.keyClick(view, Qt.Key.Key_Return)
    assert fired == [True] and len(got) == 1


def test_degenerate_polygon_is_not_emitted(qtbot) -> None:
    view, got = _poly_view(qtbot)
    for p in [(50.0, 50.0), (100.0, 50.0), (150.0, 50.0)]:  # collinear: no area
        click(view, *p)
    QTest.keyClick(view, Qt.Key.Key_Return)
    assert got == []
    click(view, 100.0, 120.0)  # drawing went on: a fourth vertex makes a real polygon
    QTest.keyClick(view, Qt.Key.Key_Return)
    assert len(got) == 1 and len(got[0][0].exterior) == 4
