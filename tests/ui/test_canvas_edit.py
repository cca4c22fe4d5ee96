"""Edit tool: select, vertex drag, edge insert, vertex delete, whole-shape move (holes and parts)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.core.model import Annotation, Part
from tests.ui.canvas_support import click, close_to, drag, hover, make_view, tol

OUTER = ((50.0, 50.0), (250.0, 50.0), (250.0, 250.0), (50.0, 250.0))
HOLE = ((120.0, 120.0), (180.0, 120.0), (180.0, 180.0), (120.0, 180.0))
SECOND = ((300.0, 60.0), (380.0, 60.0), (340.0, 140.0))


def _setup(qtbot):
    view = make_view(qtbot)
    ann = Annotation(image_id=1, label_id=1, parts=(Part(OUTER, (HOLE,)), Part(SECOND)), id=7)
    low = Annotation(image_id=1, label_id=2, parts=(Part(((60.0, 200.0), (100.0, 200.0), (80.0, 240.0))),),
                     id=3, z=-1)
    view.set_annotations([ann, low], {1: "#ff8800", 2: "#00ff00"})
    view.set_tool("edit")
    selected: list[object] = []
    edited: list[tuple[int, tuple[Part, ...]]] = []
    view.annotationSelected.connect(selected.append)
    view.geometryEdited.connect(lambda i, p: edited.append((i, p)))
    return view, selected, edited


def _rings_close(a, b, t) -> bool:
    return len(a) == len(b) and all(close_to(p, q, t) for p, q in zip(a, b))


def test_click_selects_top_shape_hole_and_background_deselect(qtbot) -> None:
    view, selected, edited = _setup(qtbot)
    click(view, 80.0, 220.0)  # inside both: the top one (z=0) wins over z=-1
    assert selected == [7] and view.selected_annotation() == 7
    assert len(view.handles().points()) == 4 + 4 + 3, "handles on every vertex of every ring"
    click(view, 150.0, 150.0)  # in the hole: not part of the shape
    assert selected == [7, None]
    click(view, 340.0, 90.0)  # the second part selects the same annotation
    click(view, 80.0, 215.0)
    assert selected == [7, None, 7]
    assert edited == [], "clicks without dragging change no geometry"


def test_vertex_drag_emits_once_on_release(qtbot) -> None:
    view, _, edited = _setup(qtbot)
    view.select_annotation(7)
    drag(view, [(250.0, 50.0), (260.0, 40.0), (270.0, 30.0)])
    assert len(edited) == 1
    ann_id, parts = edited[0]
    t = tol(view)
    assert ann_id == 7
    assert _rings_close(parts[0].exterior, (OUTER[0], (270.0, 30.0), OUTER[2], OUTER[3]), t)
    assert parts[0].holes == (HOLE,) and parts[1].exterior == SECOND
    assert view.annotation_parts(7) == parts


def test_hole_vertex_drag(qtbot) -> None:
    view, _, edited = _setup(qtbot)
    view.select_annotation(7)
    drag(view, [(180.0, 180.0), (200.0, 200.0)])
    (_, parts), = edited
    assert _rings_close(parts[0].holes[0], (HOLE[0], HOLE[1], (200.0, 200.0), HOLE[3]), tol(view))
    assert parts[0].exterior == OUTER


def test_click_on_edge_inserts_vertex(qtbot) -> None:
    view, _, edited = _setup(qtbot)
    view.select_annotation(7)
    click(view, 150.0, 50.0)  # middle of the top edge
    (_, parts), = edited
    ring = parts[0].exterior
    assert len(ring) == 5
    assert close_to(ring[1], (150.0, 50.0), tol(view)) and ring[0] == OUTER[0] and ring[2] == OUTER[1]


def test_delete_hovered_vertex_keeps_three(qtbot) -> None:
    view, _, edited = _setup(qtbot)
    view.select_annotation(7)
    hover(view, 50.0, 250.0)
    QTest.keyClick(view, Qt.Key.Key_Delete)
    (_, parts), = edited
    assert parts[0].exterior == OUTER[:3]
    hover(view, 300.0, 60.0)  # the triangle part: cannot lose a vertex
    QTest.keyClick(view, Qt.Key.Key_Backspace)
    assert len(edited) == 1 and view.annotation_parts(7)[1].exterior == SECOND
    hover(view, 10.0, 10.0)  # nothing hovered: Delete is not the canvas's
    QTest.keyClick(view, Qt.Key.Key_Delete)
    assert len(edited) == 1


def test_grabbed_vertex_can_be_deleted_after_the_mouse_leaves(qtbot) -> None:
    view, _, edited = _setup(qtbot)
    view.select_annotation(7)
    click(view, 120.0, 120.0)  # grab a hole vertex without moving it
    assert edited == []
    hover(view, 10.0, 10.0)
    QTest.keyClick(view, Qt.Key.Key_Delete)
    (_, parts), = edited
    assert parts[0].holes[0] == HOLE[1:]


def test_drag_inside_moves_all_parts_and_holes(qtbot) -> None:
    view, selected, edited = _setup(qtbot)
    drag(view, [(70.0, 70.0), (80.0, 75.0), (90.0, 80.0)])
    assert selected == [7]
    (ann_id, parts), = edited
    t = tol(view)
    shifted = lambda ring: tuple((x + 20.0, y + 10.0) for x, y in ring)  # noqa: E731
    assert ann_id == 7
    assert _rings_close(parts[0].exterior, shifted(OUTER), t)
    assert _rings_close(parts[0].holes[0], shifted(HOLE), t)
    assert _rings_close(parts[1].exterior, shifted(SECOND), t)
    # the translation is exactly uniform
    dx = parts[0].exterior[0][0] - OUTER[0][0]
    assert all(abs((p[0] - q[0]) - dx) < 1e-9 for p, q in zip(parts[1].exterior, SECOND))


def test_switching_tool_hides_handles_and_other_tools_do_not_select(qtbot) -> None:
    view, selected, _ = _setup(qtbot)
    click(view, 70.0, 70.0)
    assert view.handles().points()
    view.set_tool("point")
    assert view.handles().points() == []
    click(view, 200.0, 200.0)
    assert selected == [7] and len(view.prompts().points) == 1


def test_edits_chain_when_the_window_redraws_after_each_signal(qtbot) -> None:
    """Like the window: every signal is answered by set_annotations/select_annotation at once."""
    view = make_view(qtbot)
    state = {"parts": (Part(OUTER),)}

    def redraw() -> None:
        view.set_annotations([Annotation(1, 1, state["parts"], id=9)], {1: "#ff0000"})

    def on_edit(ann_id: int, parts) -> None:
        state["parts"] = parts
        redraw()

    view.annotationSelected.connect(view.select_annotation)
    view.geometryEdited.connect(on_edit)
    redraw()
    view.set_tool("edit")
    drag(view, [(100.0, 100.0), (110.0, 100.0)])      # select + move by (10, 0)
    drag(view, [(60.0, 50.0), (60.0, 40.0)])          # then drag the moved top-left vertex up
    click(view, 160.0, 250.0)                         # insert on the bottom edge
    t = tol(view)
    ext = state["parts"][0].exterior
    assert view.selected_annotation() == 9
    assert len(ext) == 5
    assert close_to(ext[0], (60.0, 40.0), t) and close_to(ext[1], (260.0, 50.0), t)
    assert close_to(ext[3], (160.0, 250.0), t) and close_to(ext[4], (60.0, 250.0), t)
    assert view.annotation_parts(9) == state["parts"]
