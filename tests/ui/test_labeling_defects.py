"""Issue 13 defects 1-3 in the labeling loop: hidden rows after undo/redo, prompts and candidates kept
per image, the accepted outline shown at once."""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.core.model import Part
from tests.ui.window_support import click_image, key, predictor, settle, wait_candidates, window  # noqa: F401


def _slow_drawing(parts: tuple[Part, ...]) -> object:
    """The accept service's `prepare`, made slow (the conversion of a large mask takes seconds)."""
    from app.ui.canvas.prepared import drawing_data

    time.sleep(2.0)
    return drawing_data(parts)


def _pixel(win, x: float, y: float) -> QColor:  # type: ignore[no-untyped-def]
    """The colour the canvas shows at image pixel (x, y) (rendered now)."""
    pos: QPoint = win.canvas.mapFromScene(QPointF(x, y))
    return win.canvas.viewport().grab().toImage().pixelColor(pos)


def test_hidden_annotation_undone_and_redone_is_drawn_with_its_checked_row(qtbot, window) -> None:
    """Defect 1: hide an annotation, undo its creation, redo: the row is checked and it is drawn."""
    click_image(window, 80, 60)
    wait_candidates(qtbot, window)
    key(window, Qt.Key.Key_Return)
    (ann,) = window.project.annotations(window.controller.image.id)
    dock = window.annotations_dock
    dock.set_visible(ann.id, False)
    assert not window.canvas._layer.items[ann.id].isVisible()
    window.undo.stack.undo()
    assert window.project.annotations(window.controller.image.id) == []
    window.undo.stack.redo()
    assert [a.id for a in window.project.annotations(window.controller.image.id)] == [ann.id]
    assert dock.list.item(0).checkState() == Qt.CheckState.Checked
    assert window.canvas._layer.items[ann.id].isVisible()  # drawn, as its row says
    assert ann.id not in window.controller.hidden


def test_prompts_and_candidates_come_back_with_their_image(qtbot, window) -> None:
    """Defect 2: going to another image and back keeps the prompts and the chosen candidate."""
    c = window.controller
    click_image(window, 80, 60)
    wait_candidates(qtbot, window)
    key(window, Qt.Key.Key_Tab)
    assert c.candidate == 1
    prompts = window.canvas.prompts()
    masks = c.prediction.masks.copy()
    first = c.image.id
    key(window, Qt.Key.Key_D)
    qtbot.waitUntil(lambda: c.image.id != first and window.canvas.has_image() and c.image_shape is not None)
    assert c.prediction is None and window.canvas.prompts().is_empty()  # the other image has none
    key(window, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: c.image.id == first and window.canvas.has_image() and c.image_shape is not None)
    qtbot.waitUntil(lambda: c.prediction is not None, timeout=5000)
    assert window.canvas.prompts() == prompts
    assert c.candidate == 1 and np.array_equal(c.prediction.masks, masks)
    assert window.canvas.overlay_item().mask_shape() == masks.shape[1:]
    key(window, Qt.Key.Key_Return)  # and it can be accepted as if one had never left
    (ann,) = window.project.annotations(first)
    assert ann.rle is not None


def test_accepted_outline_is_shown_at_once_and_replaced_by_the_stored_one(qtbot, window) -> None:
    """Defect 3: between Enter and the stored annotation, the accepted mask stays visible."""
    c = window.controller
    c.geometry._prepare = _slow_drawing  # the worker takes seconds, like a large fragmented mask
    before = _pixel(window, 80, 60)  # nothing over the image there yet
    click_image(window, 80, 60)
    wait_candidates(qtbot, window)
    QTest.keyClick(window.canvas, Qt.Key.Key_Return)  # no waiting for the store
    QApplication.processEvents()
    assert c.busy() and window.project.annotations(c.image.id) == []  # not stored yet...
    shown = _pixel(window, 80, 60)
    assert shown != before  # ...but the accepted mask is on screen
    settle(window, timeout_s=30)
    (ann,) = window.project.annotations(c.image.id)
    assert window.canvas._layer.items[ann.id].isVisible()
    assert window.canvas.pending.items() == []  # the stand-in is gone, the stored shape replaced it
