"""Issue 13: images added to or removed from the open project's folder appear without reopening
(app.ui.folder_watch): batched, off the GUI thread, current image and prompts kept, a setting to turn
it off, a vanished folder said once."""
from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.core import folder_sync
from app.core.model import Annotation, Part
from app.ui import folder_watch
from app.ui.folder_watch import FolderWatch
from tests.ui.window_support import click_image, make_images, open_window, predictor, wait_candidates  # noqa: F401


@pytest.fixture(autouse=True)
def _short_delays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(folder_watch, "DEBOUNCE_MS", 250)
    monkeypatch.setattr(folder_watch, "SETTING_POLL_MS", 100)


def _watch(win) -> FolderWatch:  # type: ignore[no-untyped-def]
    return next(e for e in win.extensions if isinstance(e, FolderWatch))


def _ready(qtbot, win) -> FolderWatch:  # type: ignore[no-untyped-def]
    fw = _watch(win)
    qtbot.waitUntil(lambda: fw.is_watching() and not fw.worker.busy, timeout=5000)
    return fw


def _copy_in(src: Path, dest: Path) -> list[str]:
    """Move finished files into the folder (as a file manager's copy ends): old modification times."""
    names = []
    for f in sorted(src.iterdir()):
        os.replace(f, dest / f"a_{f.name}")  # sorts before img_*: the rows of the current image shift
        names.append(f"a_{f.name}")
    return names


def test_new_images_appear_in_one_refresh_and_the_current_image_stays(qtbot, tmp_path: Path, predictor) -> None:  # noqa: F811
    folder = make_images(tmp_path / "photos", n=4)
    win = open_window(qtbot, folder, predictor)
    fw = _ready(qtbot, win)
    win.controller.go_to_row(2)
    qtbot.waitUntil(lambda: win.canvas.has_image(), timeout=5000)
    click_image(win, 80, 60)  # a prompt with candidates: must survive the refresh
    wait_candidates(qtbot, win)
    resets: list[int] = []
    refreshes: list[folder_watch.PassResult] = []
    win.images_dock.model.modelReset.connect(lambda: resets.append(1))
    fw.refreshed.connect(refreshes.append)
    names = _copy_in(make_images(tmp_path / "incoming", n=40), folder)
    qtbot.waitUntil(lambda: win.images_dock.model.rowCount() == 44, timeout=10000)
    QApplication.processEvents()
    assert len(refreshes) == 1 and len(resets) == 1  # 40 files, one pass, one list refresh
    assert refreshes[0].added == 40
    assert "40 new images" in win.status.message.text()
    assert win.images_dock.counts_label.text().startswith("44 images")
    c = win.controller
    assert c.image.path == "img_002.png" and c.row == 42  # the same image, at its new row
    assert win.images_dock.view.currentIndex().row() == 42
    assert c.prediction is not None and win.strip.count() == 3  # prompts and candidates kept
    assert [win.images_dock.model.record(r).path for r in (0, 39, 40)] == [names[0], names[39], "img_000.png"]
    c.next_image()
    assert c.image.path == "img_003.png"
    win.close()


def test_removed_images_are_marked_missing_with_their_annotations_kept(qtbot, tmp_path: Path) -> None:
    folder = make_images(tmp_path / "photos", n=3)
    win = open_window(qtbot, folder, None)
    fw = _ready(qtbot, win)
    project = win.project
    rec = project.image_by_path("img_002.png")
    label = project.add_label_class("cat")
    project.add_annotation(Annotation(image_id=rec.id, label_id=label.id,
                                      parts=(Part(((1.0, 1.0), (9.0, 1.0), (9.0, 9.0))),)))
    (folder / "img_002.png").unlink()
    qtbot.waitUntil(lambda: project.image(rec.id).missing, timeout=10000)
    qtbot.waitUntil(lambda: "missing" in win.status.message.text(), timeout=5000)
    assert project.annotation_count(rec.id) == 1 and project.image_count() == 3
    model = win.images_dock.model
    assert "(missing)" in model.data(model.index(2), Qt.ItemDataRole.DisplayRole)
    make_images(tmp_path / "again", n=3)
    shutil.copy(tmp_path / "again" / "img_002.png", folder / "img_002.png")
    qtbot.waitUntil(lambda: not project.image(rec.id).missing, timeout=10000)
    assert fw.passes >= 2
    win.close()


def test_the_scan_and_the_write_run_off_the_gui_thread(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[threading.Thread] = []
    real_scan, real_apply = folder_sync.scan_tree, folder_sync.apply_sync_plan

    def scan(*a, **kw):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread())
        return real_scan(*a, **kw)

    def apply(*a, **kw):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread())
        return real_apply(*a, **kw)

    monkeypatch.setattr(folder_sync, "scan_tree", scan)
    monkeypatch.setattr(folder_sync, "apply_sync_plan", apply)
    folder = make_images(tmp_path / "photos", n=2)
    win = open_window(qtbot, folder, None)
    _ready(qtbot, win)
    _copy_in(make_images(tmp_path / "incoming", n=5), folder)
    qtbot.waitUntil(lambda: win.images_dock.model.rowCount() == 7, timeout=10000)
    assert len(threads) >= 3  # the listing pass, the sync pass's scan and its write
    assert all(t is not threading.main_thread() for t in threads)
    win.close()


def test_turning_watching_off_stops_it_and_on_catches_up(qtbot, tmp_path: Path) -> None:
    folder = make_images(tmp_path / "photos", n=2)
    win = open_window(qtbot, folder, None)
    fw = _ready(qtbot, win)
    assert win.settings.watch_folder
    assert win.apply_settings({}, {"watch_folder": False})
    qtbot.waitUntil(lambda: not fw.is_watching(), timeout=3000)
    passes = fw.passes
    _copy_in(make_images(tmp_path / "incoming", n=3), folder)
    qtbot.wait(1200)
    assert win.images_dock.model.rowCount() == 2 and win.project.image_count() == 2 and fw.passes == passes
    assert win.apply_settings({}, {"watch_folder": True})
    qtbot.waitUntil(lambda: win.images_dock.model.rowCount() == 5, timeout=10000)
    assert fw.is_watching()
    win.close()


def test_a_vanished_folder_is_said_once_and_watched_for_its_return(qtbot, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from app.ui.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "ask_project_location",
                        lambda self, folder, default: Path(folder).parent / "photos.samlabel")
    folder = make_images(tmp_path / "photos", n=2)
    win = open_window(qtbot, folder, None)
    fw = _ready(qtbot, win)
    messages: list[str] = []
    original = win.status.show_message

    def recording(text: str, error: bool = False) -> None:
        messages.append(text)
        original(text, error)

    win.status.show_message = recording
    folder.rename(tmp_path / "renamed")
    qtbot.waitUntil(lambda: any("is gone" in m for m in messages), timeout=10000)
    qtbot.wait(700)
    assert sum("is gone" in m for m in messages) == 1
    assert not any(r.missing for r in win.project.images())  # nothing marked missing
    (tmp_path / "renamed").rename(folder)
    qtbot.waitUntil(lambda: any("is back" in m for m in messages), timeout=10000)
    make_images(tmp_path / "incoming", n=1)
    os.replace(tmp_path / "incoming" / "img_000.png", folder / "new.png")
    qtbot.waitUntil(lambda: win.images_dock.model.rowCount() == 3, timeout=10000)
    assert fw.is_watching()
    win.close()


def test_a_file_still_being_written_appears_once_complete(qtbot, tmp_path: Path) -> None:
    folder = make_images(tmp_path / "photos", n=1)
    win = open_window(qtbot, folder, None)
    fw = _ready(qtbot, win)
    results = []
    fw.worker.finished.connect(lambda _g, r: results.append(r))
    data = (folder / "img_000.png").read_bytes()
    target = folder / "copying.png"
    with open(target, "wb") as fh:  # a copy in progress: the first half, then a pause longer than the debounce
        fh.write(data[: len(data) // 2])
        fh.flush()
        qtbot.waitUntil(lambda: any(getattr(r, "pending", 0) for r in results), timeout=10000)
        assert win.project.image_count() == 1  # not recorded while being written
        fh.write(data[len(data) // 2:])
    t0 = time.monotonic()
    qtbot.waitUntil(lambda: win.project.image_count() == 2, timeout=10000)  # retried without a new event
    assert time.monotonic() - t0 < 8 and win.images_dock.model.rowCount() == 2
    win.close()


def test_a_reload_keeps_the_top_row_and_the_current_row_of_a_long_list(qtbot, tmp_path: Path) -> None:
    from PySide6.QtCore import QPoint

    from app.core.project import Project
    from app.ui.docks.images_dock import ImagesDock

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(3000):
        (folder / f"f_{2 * i:05d}.jpg").write_bytes(b"x")  # the list never decodes
    project = Project.open_folder(folder)
    dock = ImagesDock()
    qtbot.addWidget(dock)
    dock.resize(300, 400)
    dock.show()
    dock.set_project(project)
    dock.select_row(2500)
    view = dock.view

    def shown(row: int) -> bool:
        rect = view.visualRect(dock.model.index(row))
        return view.viewport().rect().contains(rect.center())

    qtbot.waitUntil(lambda: shown(2500), timeout=10000)
    view.scrollTo(dock.model.index(2490), view.ScrollHint.PositionAtTop)
    top = dock.model.record(view.indexAt(QPoint(2, 2)).row())
    assert top is not None
    for i in range(500):  # odd names: interleaved with the old rows
        (folder / f"f_{2 * i + 1:05d}.jpg").write_bytes(b"x")
    assert project.sync_images().added == 500
    dock.reload(project)
    assert dock.model.rowCount() == 3500
    current = project.image_by_path("f_05000.jpg")
    assert current is not None
    new_row = project.image_row(current.id)
    assert new_row == 3000 and view.currentIndex().row() == new_row
    def top_id() -> int | None:
        rec = dock.model.record(view.indexAt(QPoint(2, 2)).row())
        return None if rec is None else rec.id

    qtbot.waitUntil(lambda: top_id() == top.id, timeout=10000)
    assert shown(new_row)
    project.close()


def test_the_setting_is_in_the_settings_dialog_and_survives_a_restart(qtbot, tmp_path: Path) -> None:
    from app.services.actions import ActionRegistry
    from app.services.settings import Settings
    from app.ui.dialogs.settings_dialog import SettingsDialog

    settings = Settings(tmp_path / "settings.json")
    assert settings.watch_folder
    from PySide6.QtWidgets import QWidget

    host = QWidget()
    qtbot.addWidget(host)
    dlg = SettingsDialog(ActionRegistry(host, settings), settings, host)
    assert dlg.values()["watch_folder"] is True
    dlg.watch_folder.setChecked(False)
    assert dlg.values()["watch_folder"] is False
    settings.watch_folder = False
    settings.save()
    assert Settings.load(tmp_path / "settings.json").watch_folder is False
    (tmp_path / "settings.json").write_text('{"watch_folder": "yes"}')  # a wrong type: the default
    assert Settings.load(tmp_path / "settings.json").watch_folder is True
