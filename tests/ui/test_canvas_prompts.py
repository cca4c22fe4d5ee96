"""SAM prompt tools driven by real mouse events: points, boxes, scribbles, prompt undo."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from app.services.prompts import PromptSet, sample_stroke
from tests.ui.canvas_support import click, close_to, drag, make_view, tol

LEFT, RIGHT = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton


@pytest.mark.parametrize("zoom_steps", [-1, 0, 3, 9])
def test_point_clicks_in_image_px_at_several_zooms(qtbot, zoom_steps: int) -> None:
    view = make_view(qtbot)
    for _ in range(abs(zoom_steps)):
        view.zoom_in() if zoom_steps > 0 else view.zoom_out()
    view.centerOn(QPointF(123.0, 77.0))
    emitted: list[PromptSet] = []
    view.promptsChanged.connect(emitted.append)

    click(view, 123.0, 77.0, LEFT)
    click(view, 130.0, 70.0, RIGHT)

    t = tol(view)
    assert len(emitted) == 2
    ps = view.prompts()
    assert emitted[-1] == ps
    assert ps.labels == (1, 0)
    assert close_to(ps.points[0], (123.0, 77.0), t)
    assert close_to(ps.points[1], (130.0, 70.0), t)
    assert view.prompt_layer.marker_count() == 2


def test_zoom_changes_scale_and_click_mapping_is_exact_to_a_screen_pixel(qtbot) -> None:
    view = make_view(qtbot)
    fit_scale = view.scale_factor()
    for _ in range(9):
        view.zoom_in()
    assert view.scale_factor() > fit_scale * 7
    view.centerOn(QPointF(10.0, 10.0))
    click(view, 10.0, 10.0)
    (x, y), = view.prompts().points
    assert abs(x - 10.0) < 0.1 and abs(y - 10.0) < 0.1  # one screen px is < 0.1 image px here


def test_click_outside_image_adds_nothing(qtbot) -> None:
    view = make_view(qtbot)
    view.zoom_out()
    emitted: list[PromptSet] = []
    view.promptsChanged.connect(emitted.append)
    click(view, -20.0, 150.0)
    click(view, 150.0, 310.0)
    assert emitted == [] and view.prompts().is_empty()


def test_box_drag_sets_and_replaces_the_box(qtbot) -> None:
    view = make_view(qtbot)
    view.set_tool("box")
    emitted: list[PromptSet] = []
    view.promptsChanged.connect(emitted.append)

    drag(view, [(50.0, 40.0), (120.0, 100.0), (200.0, 150.0)])
    assert len(emitted) == 1
    t = tol(view)
    x0, y0, x1, y1 = view.prompts().box
    assert close_to((x0, y0), (50, 40), t) and close_to((x1, y1), (200, 150), t)

    drag(view, [(300.0, 250.0), (260.0, 210.0)])  # reversed drag: corners normalised, box replaced
    x0, y0, x1, y1 = view.prompts().box
    assert close_to((x0, y0), (260, 210), t) and close_to((x1, y1), (300, 250), t)
    assert view.prompts().points == ()
    assert len(emitted) == 2


def test_box_is_clamped_to_the_image_and_tiny_drags_are_ignored(qtbot) -> None:
    view = make_view(qtbot)
    view.set_tool("box")
    emitted: list[PromptSet] = []
    view.promptsChanged.connect(emitted.append)
    drag(view, [(100.0, 100.0), (101.0, 100.5)])
    assert emitted == []
    view.zoom_out()
    drag(view, [(350.0, 250.0), (450.0, 330.0)])
    assert view.prompts().box[2:] == (399.5, 299.5)


def test_scribble_strokes_become_sampled_points(qtbot) -> None:
    view = make_view(qtbot)
    view.set_tool("scribble")
    emitted: list[PromptSet] = []
    view.promptsChanged.connect(emitted.append)

    path = [(40.0 + 10 * i, 50.0 + 3 * i) for i in range(16)]
    drag(view, path, LEFT)
    assert len(emitted) == 1, "one promptsChanged per stroke, on release"
    ps = view.prompts()
    assert len(ps.strokes) == 1 and ps.strokes[0][0] == 1
    stroke = ps.strokes[0][1]
    t = tol(view)
    assert close_to(stroke[0], path[0], t) and close_to(stroke[-1], path[-1], t)
    assert ps.points == sample_stroke(stroke) and len(ps.points) >= 8
    assert set(ps.labels) == {1}

    drag(view, [(300.0, 200.0), (320.0, 220.0), (340.0, 200.0)], RIGHT)
    ps = view.prompts()
    assert [s[0] for s in ps.strokes] == [1, 0]
    assert ps.labels[-1] == 0
    assert view.prompt_layer.marker_count() == 0, "scribble samples are drawn as strokes, not markers"


def test_backspace_undoes_prompts_and_escape_clears(qtbot) -> None:
    view = make_view(qtbot)
    emitted: list[PromptSet] = []
    view.promptsChanged.connect(emitted.append)
    click(view, 100, 100)
    click(view, 200, 100, RIGHT)
    QTest.keyClick(view, Qt.Key.Key_Backspace)
    assert view.prompts().labels == (1,)
    assert emitted[-1] == view.prompts()
    QTest.keyClick(view, Qt.Key.Key_Escape)
    assert view.prompts().is_empty() and emitted[-1].is_empty()
    QTest.keyClick(view, Qt.Key.Key_Backspace)  # undo the clear
    assert view.prompts().labels == (1,)


def test_set_image_and_clear_prompts_reset_without_signal(qtbot) -> None:
    import numpy as np

    view = make_view(qtbot)
    click(view, 100, 100)
    view.set_candidate(np.ones((300, 400), bool), "#ff0000")
    emitted: list[PromptSet] = []
    view.promptsChanged.connect(emitted.append)
    view.clear_prompts()
    assert view.prompts().is_empty() and view.prompt_layer.marker_count() == 0
    click(view, 100, 100)
    view.set_image(np.zeros((50, 60, 3), np.uint8))
    assert view.prompts().is_empty()
    assert not view.overlay_item().isVisible()
    assert view.image_size() == (60, 50)
    assert len(emitted) == 1  # only the click


def test_unknown_tool_is_refused(qtbot) -> None:
    view = make_view(qtbot)
    with pytest.raises(ValueError, match="unknown tool"):
        view.set_tool("lasso")
    assert view.tool() == "point"


def test_cursor_moves_are_reported_in_image_px(qtbot) -> None:
    from tests.ui.canvas_support import hover

    view = make_view(qtbot)
    seen: list[tuple[float, float]] = []
    view.cursorMoved.connect(lambda x, y: seen.append((x, y)))
    hover(view, 250.0, 40.0)
    assert seen and close_to(seen[-1], (250.0, 40.0), tol(view))
