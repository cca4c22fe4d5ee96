"""Issue 13: hovering a row of the images list shows a tooltip with a thumbnail, the image size and its
annotation count; previews are made off the GUI thread, cached in a bounded LRU; a broken file gives text."""
from __future__ import annotations

import base64
import re
import threading
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip

from app.core.model import Annotation, Part
from app.core.thumbnails import Thumbnail, make_thumbnail
from app.ui.thumbnails import ThumbnailService
from tests.ui.window_support import make_images, open_window


def _tip(win, row: int) -> str:  # type: ignore[no-untyped-def]
    model = win.images_dock.model
    return str(model.data(model.index(row), Qt.ItemDataRole.ToolTipRole))


def _jpeg_in(tip: str) -> np.ndarray:
    found = re.search(r'src="data:image/jpeg;base64,([^"]+)"', tip)
    assert found, tip[:200]
    bgr = cv2.imdecode(np.frombuffer(base64.b64decode(found.group(1)), np.uint8), cv2.IMREAD_COLOR)
    assert bgr is not None
    return np.asarray(bgr)


def test_the_tooltip_carries_the_thumbnail_once_made(qtbot, tmp_path: Path) -> None:
    folder = make_images(tmp_path / "photos", n=2, size=(640, 480))
    win = open_window(qtbot, folder, None)
    project = win.project
    rec = project.image_by_path("img_001.png")
    label = project.add_label_class("cat")
    for _ in range(2):
        project.add_annotation(Annotation(image_id=rec.id, label_id=label.id,
                                          parts=(Part(((1.0, 1.0), (9.0, 1.0), (9.0, 9.0))),)))
    first = _tip(win, 1)  # asks the worker; answers at once
    assert "<img" not in first and "preview" in first and "annotations: 2" in first
    thumbs = win.images_dock.thumbnails
    qtbot.waitUntil(lambda: isinstance(thumbs.peek(project.image_path(rec)), Thumbnail), timeout=10000)
    tip = _tip(win, 1)
    small = _jpeg_in(tip)
    assert small.shape == (192, 256, 3)  # 640x480 -> 256 px on the longest side
    assert "640x480" in tip and "img_001.png" in tip and "annotations: 2" in tip
    assert thumbs._thread is not None and thumbs._thread is not threading.main_thread()
    win.close()


def test_a_visible_tooltip_is_refreshed_when_its_preview_arrives(qtbot, tmp_path: Path) -> None:
    folder = make_images(tmp_path / "photos", n=3, size=(320, 200))
    win = open_window(qtbot, folder, None)
    view = win.images_dock.view
    rect = view.visualRect(win.images_dock.model.index(2))
    pos = rect.center()
    QApplication.sendEvent(view.viewport(), QHelpEvent(QEvent.Type.ToolTip, pos, view.viewport().mapToGlobal(pos)))
    qtbot.waitUntil(QToolTip.isVisible, timeout=5000)
    qtbot.waitUntil(lambda: "data:image/jpeg" in QToolTip.text(), timeout=10000)
    assert "img_002.png" in QToolTip.text()
    QToolTip.hideText()
    win.close()


def test_a_broken_file_gets_a_text_tooltip_and_a_fixed_one_is_retried(qtbot, tmp_path: Path) -> None:
    folder = make_images(tmp_path / "photos", n=1)
    (folder / "zz_broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 half a file")
    win = open_window(qtbot, folder, None)
    model = win.images_dock.model
    row = next(r for r in range(model.rowCount()) if model.record(r).path == "zz_broken.jpg")
    thumbs = win.images_dock.thumbnails
    path = win.project.image_path(model.record(row))
    _tip(win, row)
    qtbot.waitUntil(lambda: isinstance(thumbs.peek(path), str), timeout=10000)
    tip = _tip(win, row)
    assert "<img" not in tip and "no preview" in tip and "zz_broken.jpg" in tip
    made = thumbs.made
    Image.fromarray(np.full((50, 70, 3), 128, np.uint8)).save(path, format="JPEG")  # the copy finished
    # the next hover looks at the file again: it changed, so a new preview is made
    qtbot.waitUntil(lambda: "<img" in _tip(win, row) and thumbs.made > made, timeout=10000)
    assert _jpeg_in(_tip(win, row)).shape == (50, 70, 3)
    win.close()


def test_the_cache_is_bounded_and_keeps_the_newest(qtbot, tmp_path: Path) -> None:
    folder = make_images(tmp_path / "photos", n=12, size=(300, 300))
    sizes = [len(make_thumbnail(p, 64).jpeg) for p in sorted(folder.iterdir())]
    budget = sum(sizes[:4]) + 10  # room for about four previews
    service = ThumbnailService(max_bytes=budget, side=64)
    try:
        done: list[str] = []
        service.ready.connect(done.append)
        paths = sorted(folder.iterdir())
        for p in paths:
            service.lookup(p)
            qtbot.waitUntil(lambda p=p: str(p) in done, timeout=10000)
        assert service.made == 12
        assert service.cached_bytes() <= budget and 1 <= service.cached_count() <= 5
        assert isinstance(service.peek(paths[-1]), Thumbnail) and service.peek(paths[0]) is None
        made = service.made
        service.lookup(paths[-1])  # cached and unchanged: the worker only looks at the file
        qtbot.wait(300)
        assert service.made == made
    finally:
        service.shutdown()
