"""Issue 13 "Missing": copy / paste, copy the previous image's annotations, duplicate (one undo step
each), mark done and next image not done, file name filter of the image list — by keyboard."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from tests.ui.window_support import RecordingPredictor, click_image, key, make_images, open_window, wait_candidates

CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier


def _accept_at(qtbot, win, x: float, y: float) -> None:  # type: ignore[no-untyped-def]
    click_image(win, x, y)
    wait_candidates(qtbot, win)
    key(win, Qt.Key.Key_Return)
    key(win, Qt.Key.Key_Escape)


def _go(qtbot, win, k: Qt.Key, row: int, mods=Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    key(win, k, mods)
    qtbot.waitUntil(lambda: win.controller.row == row and win.canvas.has_image())


def _shapes(win, image_id: int) -> list[tuple]:  # type: ignore[no-untyped-def]
    return sorted(((a.label_id, a.parts, a.rle is not None) for a in win.project.annotations(image_id)), key=repr)


def test_copy_previous_paste_and_duplicate_are_single_undo_steps(qtbot, tmp_path: Path) -> None:
    win = open_window(qtbot, make_images(tmp_path / "imgs", n=3), RecordingPredictor(radius=6))
    _accept_at(qtbot, win, 30, 30)
    _accept_at(qtbot, win, 110, 80)
    first = win.controller.image.id
    _go(qtbot, win, Qt.Key.Key_D, 1)
    second = win.controller.image.id
    key(win, Qt.Key.Key_V, CTRL | SHIFT)  # copy the previous image's annotations here
    assert _shapes(win, second) == _shapes(win, first) and len(_shapes(win, second)) == 2
    assert all(a.source == "sam" for a in win.project.annotations(second))
    key(win, Qt.Key.Key_Z, CTRL)  # one undo removes both copies
    assert win.project.annotations(second) == []
    ann = win.project.annotations(first)[0]
    _go(qtbot, win, Qt.Key.Key_A, 0)
    win.controller.select_annotation(ann.id)
    key(win, Qt.Key.Key_C, CTRL)
    _go(qtbot, win, Qt.Key.Key_D, 1)
    _go(qtbot, win, Qt.Key.Key_D, 2)
    key(win, Qt.Key.Key_V, CTRL)
    third = win.controller.image.id
    assert [a.parts for a in win.project.annotations(third)] == [ann.parts]
    pasted = win.project.annotations(third)[0]
    win.controller.select_annotation(pasted.id)
    key(win, Qt.Key.Key_D, CTRL)  # duplicate: same shape, on top
    anns = win.project.annotations(third)
    assert len(anns) == 2 and anns[0].parts == anns[1].parts and anns[1].z > anns[0].z
    key(win, Qt.Key.Key_Z, CTRL)
    assert len(win.project.annotations(third)) == 1
    win.close()


def test_mark_done_next_undone_and_name_filter(qtbot, tmp_path: Path) -> None:
    win = open_window(qtbot, make_images(tmp_path / "imgs", n=4), None)
    key(win, Qt.Key.Key_Return, CTRL)  # mark img_000 done
    assert win.project.image(win.controller.image.id).status == "done"
    _go(qtbot, win, Qt.Key.Key_D, 1)
    key(win, Qt.Key.Key_Return, CTRL)  # img_001 done
    _go(qtbot, win, Qt.Key.Key_D, 2, SHIFT)  # next not done: img_002
    _go(qtbot, win, Qt.Key.Key_D, 3, SHIFT)
    _go(qtbot, win, Qt.Key.Key_D, 2, SHIFT)  # wraps past the done ones
    key(win, Qt.Key.Key_F, CTRL | SHIFT)
    dock = win.images_dock
    dock.name_edit.setText("_003")
    assert dock.model.rowCount() == 1 and dock.model.record(0).path == "img_003.png"
    qtbot.waitUntil(lambda: win.controller.image.path == "img_003.png")
    dock.name_edit.clear()
    assert dock.model.rowCount() == 4
    win.close()
