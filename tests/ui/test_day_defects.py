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
