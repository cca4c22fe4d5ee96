"""Issue 13, "a day of labeling": defects 4, 6 and 7 (each test fails on the code before the fix)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.ui.dialogs.export_dialog import default_destination
from app.ui.main_window import MainWindow
from tests.ui.window_support import RecordingPredictor, click_image, key, make_images, open_window, wait_candidates


def test_first_open_asks_where_the_project_goes_and_leaves_the_image_folder_clean(
        qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = make_images(tmp_path / "photos", n=2)
    before = sorted(os.listdir(folder))
    asked: list[tuple[Path, Path]] = []
    monkeypatch.setattr(MainWindow, "ask_project_location",
                        lambda self, f, default: asked.append((f, default)) or default)
    win = open_window(qtbot, folder, RecordingPredictor(radius=6))
    assert asked == [(folder.absolute(), tmp_path / "photos.samlabel")]  # default: beside the folder
    assert win.project.path == tmp_path / "photos.samlabel"
    click_image(win, 50, 50)
    wait_candidates(qtbot, win)
    key(win, Qt.Key.Key_Return)
    assert win.project.annotation_count() == 1
    for fmt in ("coco", "labelme"):  # exports default outside the image folder too
        dest = default_destination(fmt, win.project)
        assert folder not in (dest, *dest.parents), (fmt, dest)
    win.close()
    assert sorted(os.listdir(folder)) == before  # no project, WAL, SHM or lock file among the images
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos", "photos.samlabel"]  # no .lock after quit
    again = open_window(qtbot, folder, None)
    assert len(asked) == 1  # remembered: not asked again
    assert again.project.path == tmp_path / "photos.samlabel" and again.project.annotation_count() == 1
    again.close()


def test_cancelling_the_location_question_opens_nothing(qtbot, tmp_path: Path, monkeypatch) -> None:
    first = make_images(tmp_path / "first", n=1)
    win = open_window(qtbot, first, None)
    monkeypatch.setattr(MainWindow, "ask_project_location", lambda self, f, default: None)
    second = make_images(tmp_path / "second", n=1)
    assert not win.open_path(second)
    assert win.project.image_root == first and not (tmp_path / "second.samlabel").exists()
    win.close()


def _inside(outer, inner) -> bool:  # type: ignore[no-untyped-def]
    return outer.contains(inner.topLeft()) and outer.contains(inner.bottomRight())


def test_window_fits_the_screen_with_its_status_bar_visible(qtbot, tmp_path: Path) -> None:
    from PySide6.QtCore import QPoint, QRect

    from app.ui.window_geometry import clamp_to_screen

    win = open_window(qtbot, make_images(tmp_path / "imgs", n=1), None)
    area = win.screen().availableGeometry()  # offscreen platform: 800 px high
    assert win.frameGeometry().height() <= area.height()
    bar = win.statusBar()
    bottom = bar.mapToGlobal(QPoint(0, bar.height() - 1)).y()
    assert bar.isVisible() and area.top() <= bottom <= area.bottom()
    laptop = QRect(0, 0, 1280, 800 - 30)  # 1280x800 with a desktop panel
    win.resize(1600, 1000)
    clamp_to_screen(win, laptop)
    assert win.minimumSizeHint().width() <= laptop.width()
    assert _inside(laptop, win.frameGeometry())
    win.close()


def test_saved_geometry_from_a_bigger_monitor_is_pulled_onto_the_screen(qtbot, tmp_path: Path) -> None:
    from app.services.settings import Settings

    win = open_window(qtbot, make_images(tmp_path / "imgs", n=1), None)
    win.showNormal()
    win.setGeometry(2600, 1500, 2400, 1300)  # as if saved on a 4K monitor to the right
    win.close()  # saves the geometry
    assert isinstance(Settings.load().get("window_geometry"), str)
    again = MainWindow(settings=Settings.load())
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    area = again.screen().availableGeometry()
    assert _inside(area, again.frameGeometry()) or (
        again.frameGeometry().left() >= area.left() and again.frameGeometry().top() >= area.top()
        and again.frameGeometry().height() <= area.height()
        and again.width() == again.minimumSizeHint().expandedTo(again.minimumSize()).width())
    again.close()


# ----------------------------------------------------------------------------- defect 7: the text slips
def _status_texts(win) -> str:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QLabel

    return " | ".join(lbl.text() for lbl in win.statusBar().findChildren(QLabel) if lbl.isVisible())


def test_loading_a_model_is_said_once_with_one_ellipsis(qtbot, tmp_path: Path) -> None:
    win = open_window(qtbot, make_images(tmp_path / "imgs", n=1), None)
    win.inference.modelStateChanged.emit("loading", "Loading mobile_sam…")
    win.inference.progress.emit("Loading mobile_sam", 0, -1)  # what the worker reports meanwhile
    text = _status_texts(win)
    assert text.count("Loading mobile_sam") == 1 and "……" not in text, text
    win.inference.progress.emit("Encoding 4 images…", 0, -1)
    assert win.status.message.text() == "Encoding 4 images…"
    win.close()


def test_cheatsheet_mouse_rows_put_the_gesture_in_the_keys_column(qtbot, tmp_path: Path) -> None:
    from app.ui.dialogs.cheatsheet import cheatsheet_html

    win = open_window(qtbot, make_images(tmp_path / "imgs", n=1), None)
    page = cheatsheet_html(win.registry)
    assert "<td width='220'><b>Mouse wheel</b></td><td>zoom around the cursor</td>" in page
    assert "<td width='220'><b>Ctrl+Z</b></td><td>Undo</td>" in page  # same order as the shortcuts
    win.close()


def test_label_hint_names_a_key_that_adds_a_label(qtbot, tmp_path: Path, monkeypatch) -> None:
    from PySide6.QtWidgets import QInputDialog

    win = open_window(qtbot, make_images(tmp_path / "imgs", n=1), None)
    hint = win.labels_dock.hint.text()
    assert "press +" not in hint and "Ctrl+L" in hint
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("tree", True))
    key(win, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert [lc.name for lc in win.project.label_classes()] == ["tree"]
    key(win, Qt.Key.Key_Plus)  # + still zooms and adds nothing
    assert len(win.project.label_classes()) == 1
    win.close()


def test_space_accept_is_listed_in_settings_and_cheatsheet(qtbot, tmp_path: Path) -> None:
    from app.ui.dialogs.cheatsheet import shortcut_rows
    from app.ui.dialogs.settings_dialog import SettingsDialog
    from app.services.actions import ACTIONS

    win = open_window(qtbot, make_images(tmp_path / "imgs", n=1), None)
    dlg = SettingsDialog(win.registry, win.settings, win)
    row = list(ACTIONS).index("accept")
    cells = [dlg.table.item(row, c).text() for c in range(dlg.table.columnCount())]
    assert "Space" in " ".join(cells[1:]), cells
    assert not dlg.table.item(row, 2).flags() & Qt.ItemFlag.ItemIsEditable
    assert dlg.mapping()["accept"] == ("Return", "Enter")  # the fixed key is not a remappable shortcut
    rows = {text: keys for _g, text, keys in shortcut_rows(win.registry)}
    assert "Space" in rows["Accept candidate"]
    dlg.close()
    win.close()


def test_open_dialogs_start_in_the_last_folder(qtbot, tmp_path: Path, monkeypatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    first = make_images(tmp_path / "a" / "first", n=1)
    second = make_images(tmp_path / "b" / "second", n=1)
    win = open_window(qtbot, first, None)
    starts: list[str] = []
    answers = iter([str(second), ""])
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda _p, _t, start, *a: starts.append(start)
                        or next(answers))
    win.ask_open_folder()
    assert win.project.image_root == second
    win.ask_open_folder()
    assert starts[1] == str(second)
    opened: list[str] = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda _p, _t, start, *a: opened.append(start) or ("", ""))
    win.ask_open_project()
    assert opened == [str(second)]
    win.close()


def test_reopening_a_project_shows_the_image_worked_on_last(qtbot, tmp_path: Path) -> None:
    folder = make_images(tmp_path / "imgs", n=4)
    win = open_window(qtbot, folder, None)
    key(win, Qt.Key.Key_D)
    key(win, Qt.Key.Key_D)
    qtbot.waitUntil(lambda: win.controller.row == 2)
    image_id = win.controller.image.id
    win.close()
    again = open_window(qtbot, folder, None)
    assert again.controller.row == 2 and again.controller.image.id == image_id
    assert again.images_dock.view.currentIndex().row() == 2
    again.close()


def test_deleting_a_label_class_says_how_many_annotations_go(qtbot, tmp_path: Path, monkeypatch) -> None:
    from PySide6.QtWidgets import QMessageBox

    win = open_window(qtbot, make_images(tmp_path / "imgs", n=2), RecordingPredictor(radius=6))
    for x in (40, 110):
        click_image(win, x, 60)
        wait_candidates(qtbot, win)
        key(win, Qt.Key.Key_Return)
        key(win, Qt.Key.Key_Escape)
    assert win.project.annotation_count() == 2
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question", lambda _p, _t, text, *a: asked.append(text)
                        or QMessageBox.StandardButton.No)
    win.labels_dock.list.setCurrentRow(0)
    win.labels_dock.ask_delete()
    assert asked and "2 annotation" in asked[0], asked
    win.close()


def test_annotation_rows_are_not_cut_off_in_a_narrow_dock(qtbot, tmp_path: Path) -> None:
    win = open_window(qtbot, make_images(tmp_path / "imgs", n=1), RecordingPredictor(radius=6))
    win.labels_dock.addRequested.emit("traffic sign", "")
    win.controller.choose_label_number(1)
    click_image(win, 60, 60)
    wait_candidates(qtbot, win)
    key(win, Qt.Key.Key_Return)
    lst = win.annotations_dock.list
    qtbot.waitUntil(lambda: lst.count() == 1)
    win.annotations_dock.setMaximumWidth(210)  # a narrow right column
    qtbot.waitUntil(lambda: lst.viewport().width() <= 200)
    item = lst.item(0)
    rect = lst.visualItemRect(item)
    fm = lst.fontMetrics()
    decoration = 48  # checkbox + colour swatch + margins
    for line in item.text().split("\n"):
        assert fm.horizontalAdvance(line) + decoration <= min(rect.width(), lst.viewport().width()), (line, rect)
    assert "traffic sign" in item.toolTip() and "SAM" in item.toolTip()
    win.close()
