"""Issue 13 "Missing": labels dock counts / visibility / filter, mask display and image adjustment
(view only), status bar fields. Driven through the real window and its keys."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

from app.ui.canvas.display import ImageAdjust, MaskStyle
from tests.ui.window_support import RecordingPredictor, click_image, key, make_images, open_window, wait_candidates


def _accept_at(qtbot, win, x: float, y: float) -> None:  # type: ignore[no-untyped-def]
    click_image(win, x, y)
    wait_candidates(qtbot, win)
    key(win, Qt.Key.Key_Return)
    key(win, Qt.Key.Key_Escape)


def test_label_counts_visibility_and_filter(qtbot, tmp_path: Path) -> None:
    win = open_window(qtbot, make_images(tmp_path / "imgs", n=2), RecordingPredictor(radius=6))
    win.labels_dock.addRequested.emit("cat", "")
    win.labels_dock.addRequested.emit("dog", "")
    cat, dog = win.project.label_classes()
    key(win, Qt.Key.Key_1)
    _accept_at(qtbot, win, 30, 30)
    _accept_at(qtbot, win, 120, 30)
    key(win, Qt.Key.Key_2)
    _accept_at(qtbot, win, 30, 90)
    dock = win.labels_dock
    assert dock.counts(cat.id) == (2, 2) and dock.counts(dog.id) == (1, 1)
    key(win, Qt.Key.Key_D)
    qtbot.waitUntil(lambda: win.controller.row == 1 and win.canvas.has_image())
    key(win, Qt.Key.Key_1)
    _accept_at(qtbot, win, 60, 60)
    assert dock.counts(cat.id) == (1, 3) and dock.counts(dog.id) == (0, 1)
    key(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo updates both counts
    assert dock.counts(cat.id) == (0, 2)
    key(win, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: win.controller.row == 0 and win.canvas.has_image())
    cat_ids = {a.id for a in win.controller.annotations() if a.label_id == cat.id}
    dock.list.item(0).setCheckState(Qt.CheckState.Unchecked)  # hide "cat"
    items = win.canvas._layer.items
    assert {i for i, it in items.items() if not it.isVisible()} == cat_ids
    key(win, Qt.Key.Key_D)  # the label stays hidden on the next image too
    qtbot.waitUntil(lambda: win.controller.row == 1 and win.canvas.has_image())
    key(win, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: win.controller.row == 0 and win.canvas.has_image())
    assert {i for i, it in win.canvas._layer.items.items() if not it.isVisible()} == cat_ids
    win.controller.select_annotation(next(iter(cat_ids)))
    menu = dock.context_menu(1)  # the menu of "dog" while a cat is selected: no relabel by opening it
    assert {a.label_id for a in win.controller.annotations() if a.id in cat_ids} == {cat.id}
    assert [a.text() for a in menu.actions() if not a.isSeparator()][:3] == ["Use this label", "Rename…", "Colour…"]
    dock.show_only(cat.id)
    assert {i for i, it in win.canvas._layer.items.items() if it.isVisible()} == cat_ids
    key(win, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)  # filter field gets the keys
    assert dock.filter_edit.hasFocus() or dock.filter_edit.isVisible()
    dock.filter_edit.setText("DO")
    assert [dock.list.item(k).isHidden() for k in range(2)] == [True, False]
    dock.filter_edit.clear()
    assert not any(dock.list.item(k).isHidden() for k in range(2))
    win.close()


def test_mask_display_keys_change_the_canvas_only(qtbot, tmp_path: Path) -> None:
    win = open_window(qtbot, make_images(tmp_path / "imgs", n=1), RecordingPredictor(radius=6))
    _accept_at(qtbot, win, 60, 60)
    item = next(iter(win.canvas._layer.items.values()))
    stored = win.project.annotations(win.controller.image.id)
    _adjust, style = win.canvas.display()
    assert style == MaskStyle() and item._style.fill_alpha(False) == 79
    key(win, Qt.Key.Key_BracketRight)
    assert win.canvas.display()[1].opacity == 41 and item._style.opacity == 41
    key(win, Qt.Key.Key_O)
    assert item._style.outline_only and item._style.fill_alpha(False) == 0
    key(win, Qt.Key.Key_H)
    assert not item.isVisible()
    click_image(win, 60, 60)  # hidden shapes are not hit
    key(win, Qt.Key.Key_H)
    assert item.isVisible()
    assert win.project.annotations(win.controller.image.id) == stored  # nothing stored changed
    win.close()


def test_brightness_contrast_gamma_are_display_only_and_reset_by_key(qtbot, tmp_path: Path) -> None:
    predictor = RecordingPredictor(radius=6)
    win = open_window(qtbot, make_images(tmp_path / "imgs", n=1), predictor)
    before = win.canvas._image_item.image().copy()
    dock = win.view_features.display_dock
    dock.brightness.setValue(40)
    dock.gamma.setValue(200)
    shown = win.canvas._image_item.image()
    assert shown != before
    px_before, px_after = before.pixelColor(5, 5), shown.pixelColor(5, 5)
    assert px_after.green() > px_before.green()
    click_image(win, 60, 60)  # the model still gets the original pixels
    wait_candidates(qtbot, win)
    key(win, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert dock.adjust() == ImageAdjust() and win.canvas._image_item.image() == before
    win.close()


def test_image_adjust_table() -> None:
    x = np.arange(256, dtype=np.uint8).reshape(16, 16)
    assert ImageAdjust().apply(x) is x
    bright = ImageAdjust(brightness=50).apply(x)
    assert int(bright[0, 0]) == 128 and int(bright.max()) == 255
    flat = ImageAdjust(contrast=-100).apply(x)
    assert set(np.unique(flat).tolist()) <= {127, 128}
    lut = ImageAdjust(gamma=2.0).lut()
    assert lut[64] == round(((64 / 255) ** 0.5) * 255) and lut[0] == 0 and lut[255] == 255


def test_status_bar_shows_index_size_zoom_and_cursor(qtbot, tmp_path: Path) -> None:
    win = open_window(qtbot, make_images(tmp_path / "imgs", n=3, size=(160, 120)), None)
    st = win.status
    assert st.position.text() == "1 / 3"
    qtbot.waitUntil(lambda: st.image_info.text().startswith("160×120 · "))
    key(win, Qt.Key.Key_D)
    qtbot.waitUntil(lambda: st.position.text() == "2 / 3")
    zoom = win.canvas.scale_factor()
    key(win, Qt.Key.Key_Plus)
    assert win.canvas.scale_factor() > zoom
    assert st.image_info.text() == f"160×120 · {win.canvas.scale_factor() * 100:.0f}%"
    from PySide6.QtCore import QPointF
    from PySide6.QtTest import QTest

    QTest.mouseMove(win.canvas.viewport(), win.canvas.mapFromScene(QPointF(40, 30)))
    qtbot.waitUntil(lambda: st.cursor.text() == "x 40  y 30")
    win.close()
