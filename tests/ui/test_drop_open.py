"""Issue 13 "Missing": drag and drop of a folder, an image or a .samlabel file onto the window."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from app.ui.drop_open import dropped_path
from tests.ui.window_support import make_images, open_window


def _drop(win, path: Path) -> bool:  # type: ignore[no-untyped-def]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    ev = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    ev.ignore()
    # Qt does not deliver a synthetic drop without a drag in progress: hand it to the window's filter,
    # as QApplication does for a real one
    win.drop_opener.eventFilter(win, ev)
    return ev.isAccepted()


def test_dropping_a_folder_an_image_and_a_project(qtbot, tmp_path: Path) -> None:
    first = make_images(tmp_path / "first", n=1)
    second = make_images(tmp_path / "second", n=3)
    win = open_window(qtbot, first, None)
    assert win.acceptDrops()
    assert _drop(win, second)
    assert win.project.image_root == second
    assert _drop(win, first / "img_000.png") and win.project.image_root == first
    assert _drop(win, second / "img_002.png")  # an image: its folder, at that image
    qtbot.waitUntil(lambda: win.controller.image is not None and win.controller.image.path == "img_002.png")
    project_file = win.project.path
    assert _drop(win, first) and win.project.image_root == first
    assert _drop(win, project_file) and win.project.path == project_file
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    assert not _drop(win, notes) and win.project.path == project_file  # not usable: ignored
    win.close()


def test_dropped_path_skips_remote_and_unknown_files(tmp_path: Path) -> None:
    mime = QMimeData()
    (tmp_path / "a.txt").write_text("x")
    mime.setUrls([QUrl("https://example.org/x.png"), QUrl.fromLocalFile(str(tmp_path / "a.txt")),
                  QUrl.fromLocalFile(str(tmp_path))])
    assert dropped_path(mime) == tmp_path
