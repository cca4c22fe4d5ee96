"""Issue 13 "Missing": context menus of annotations (canvas shape, list row, keyboard) and the details
dialog (group id, description, flags) — every change undoable and exported by LabelMe."""
from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMenu

from tests.ui.window_support import RecordingPredictor, click_image, key, make_images, open_window, wait_candidates

CTRL = Qt.KeyboardModifier.ControlModifier


def _accept_at(qtbot, win, x: float, y: float) -> None:  # type: ignore[no-untyped-def]
    click_image(win, x, y)
    wait_candidates(qtbot, win)
    key(win, Qt.Key.Key_Return)
    key(win, Qt.Key.Key_Escape)


def _texts(menu: QMenu) -> list[str]:
    return [a.text() for a in menu.actions() if not a.isSeparator()]


def test_menu_entries_act_undoably(qtbot, tmp_path: Path) -> None:
    win = open_window(qtbot, make_images(tmp_path / "imgs", n=1), RecordingPredictor(radius=6))
    win.labels_dock.addRequested.emit("cat", "")
    win.labels_dock.addRequested.emit("dog", "")
    cat, dog = win.project.label_classes()
    key(win, Qt.Key.Key_1)
    _accept_at(qtbot, win, 40, 40)
    _accept_at(qtbot, win, 100, 80)
    a, b = win.controller.annotations()
    menus = win.annotation_menus
    menu = menus.menu_for(a.id)
    assert _texts(menu)[:2] == ["Label", "Edit vertices"] and "Bring to front" in _texts(menu)
    labels = menu.actions()[0].menu()
    assert [x.text() for x in labels.actions()] == ["cat", "dog"] and labels.actions()[0].isChecked()
    labels.actions()[1].trigger()  # relabel to dog
    assert win.project.annotation(a.id).label_id == dog.id
    next(x for x in menu.actions() if x.text() == "Bring to front").trigger()
    assert win.project.annotation(a.id).z > win.project.annotation(b.id).z
    key(win, Qt.Key.Key_Z, CTRL)
    key(win, Qt.Key.Key_Z, CTRL)
    assert win.project.annotation(a.id).label_id == cat.id and win.project.annotation(a.id).z < b.z + 1
    next(x for x in menu.actions() if x.text() == "Hide").trigger()
    assert not win.canvas._layer.items[a.id].isVisible()
    next(x for x in menu.actions() if x.text() == "Edit vertices").trigger()
    assert win.canvas.tool() == "edit" and win.controller.selected == a.id
    next(x for x in menu.actions() if x.text() == "Delete").trigger()
    assert [x.id for x in win.project.annotations(win.controller.image.id)] == [b.id]
    win.close()


def test_right_click_on_a_shape_with_the_edit_tool_opens_its_menu(qtbot, tmp_path: Path) -> None:
    win = open_window(qtbot, make_images(tmp_path / "imgs", n=1), RecordingPredictor(radius=6))
    _accept_at(qtbot, win, 60, 60)
    ann = win.controller.annotations()[0]
    key(win, Qt.Key.Key_E)
    seen: list[list[str]] = []

    def close_menu() -> None:
        popup = QApplication.activePopupWidget()
        if isinstance(popup, QMenu):
            seen.append(_texts(popup))
            popup.close()

    QTimer.singleShot(200, close_menu)
    from PySide6.QtGui import QContextMenuEvent

    pos = win.canvas.mapFromScene(QPointF(60, 60))
    ev = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, win.canvas.viewport().mapToGlobal(pos))
    QApplication.sendEvent(win.canvas.viewport(), ev)
    assert seen and "Edit vertices" in seen[0] and win.controller.selected == ann.id
    win.close()


def test_details_dialog_sets_group_description_and_flags_in_one_undo_step(qtbot, tmp_path: Path,
                                                                           monkeypatch) -> None:
    from app.ui.dialogs.annotation_details import AnnotationDetailsDialog

    win = open_window(qtbot, make_images(tmp_path / "imgs", n=1), RecordingPredictor(radius=6))
    _accept_at(qtbot, win, 60, 60)
    ann = win.controller.annotations()[0]
    win.controller.select_annotation(ann.id)

    def fill(self) -> int:  # type: ignore[no-untyped-def]
        self.group.setValue(7)
        self.description.setText("partly hidden")
        self.new_flag.setText("occluded")
        self._add_typed_flag()
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(AnnotationDetailsDialog, "exec", fill)
    key(win, Qt.Key.Key_E, CTRL | Qt.KeyboardModifier.ShiftModifier)
    got = win.project.annotation(ann.id)
    assert (got.group_id, got.description, got.flags) == (7, "partly hidden", {"occluded": True})
    out = tmp_path / "lm"
    from app.ui.dialogs.export_dialog import ExportChoice, run_export

    win.project.checkpoint()
    import threading

    run_export(win.project.path, ExportChoice("labelme", out, "polygon"), lambda d, t: None, threading.Event())
    shape = json.loads(next(out.rglob("*.json")).read_text())["shapes"][0]
    assert (shape["group_id"], shape["description"], shape["flags"]) == (7, "partly hidden", {"occluded": True})
    key(win, Qt.Key.Key_Z, CTRL)  # one step back to the original
    got = win.project.annotation(ann.id)
    assert (got.group_id, got.description, got.flags) == (None, "", {})
    win.close()
