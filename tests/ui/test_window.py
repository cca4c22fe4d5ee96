"""The real MainWindow, offscreen, driven by mouse clicks and shortcut keys, with the fake predictor."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.core import edits
from app.core.outline import outline_of_annotation
from app.core.geometry import parts_to_mask
from app.core.model import Part
from app.core.project import Project
from app.core.rle import rle_to_mask
from app.ui.controller import image_key
from app.ui.dialogs.export_dialog import ExportChoice
from tests.ui.window_support import (RecordingPredictor, click_image, key, make_images, open_window, predictor,  # noqa: F401
                                     settle, wait_candidates, window)

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def test_open_folder_shows_first_image_and_title(window) -> None:
    proj = window.project
    assert proj is not None and proj.image_count() == 4
    assert window.controller.image.path == "img_000.png"
    assert window.canvas.image_size() == (160, 120)
    assert "photos" in window.windowTitle() and "*" not in window.windowTitle()
    assert window.images_dock.model.rowCount() == 4
    assert "4 images" in window.images_dock.counts_label.text()
    # the decoded size was recorded for export
    assert proj.image(window.controller.image.id).width == 160
    assert window.banner.isHidden()


def test_point_prompt_tab_and_enter_accept(qtbot, window) -> None:
    click_image(window, 80, 60)
    wait_candidates(qtbot, window)
    assert window.controller.candidate == 0  # highest predicted IoU first
    assert window.strip.caption(0) == "IoU 0.90" and window.strip.current() == 0
    assert window.canvas.overlay_item().isVisible()
    key(window, Qt.Key.Key_Tab)
    assert window.controller.candidate == 1 and window.strip.current() == 1
    key(window, Qt.Key.Key_Tab, SHIFT)
    key(window, Qt.Key.Key_Tab, SHIFT)
    assert window.controller.candidate == 2
    expected = window.controller.prediction.masks[2].copy()
    key(window, Qt.Key.Key_Return)
    anns = window.project.annotations(window.controller.image.id)
    assert len(anns) == 1
    ann = anns[0]
    assert ann.source == "sam" and abs(ann.score - 0.7) < 1e-6
    assert np.array_equal(rle_to_mask(ann.rle), expected)  # exact mask kept
    poly = parts_to_mask(ann.parts, 120, 160)
    assert (poly & expected).sum() / (poly | expected).sum() > 0.9
    assert window.project.label_classes()[0].name == "object"  # created on first accept
    assert window.strip.count() == 0 and window.canvas.prompts().is_empty()
    assert window.project.image(ann.image_id).status == "in_progress"
    assert window.images_dock.model.record(0).status == "in_progress"


def test_label_keys_choose_class_and_relabel(qtbot, window) -> None:
    window.undo.push(edits.AddLabelClass("cat", "#ff0000"))
    window.undo.push(edits.AddLabelClass("dog", "#00ff00"))
    cat, dog = window.project.label_classes()
    key(window, Qt.Key.Key_2)
    assert window.controller.label_id == dog.id
    assert window.labels_dock.current_class().id == dog.id
    click_image(window, 40, 30)
    wait_candidates(qtbot, window)
    key(window, Qt.Key.Key_Return)
    ann = window.project.annotations(window.controller.image.id)[0]
    assert ann.label_id == dog.id
    key(window, Qt.Key.Key_9)
    assert "no label class 9" in window.status.message.text()
    window.controller.select_annotation(ann.id)
    key(window, Qt.Key.Key_1)  # with a selection, a label key relabels it
    assert window.project.annotation(ann.id).label_id == cat.id


def test_next_and_previous_image_keys(qtbot, window) -> None:
    key(window, Qt.Key.Key_D)
    qtbot.waitUntil(lambda: window.canvas.has_image() and window.controller.image.path == "img_001.png")
    assert window.images_dock.view.currentIndex().row() == 1
    assert image_key(window.controller.image) in window.status.encode_text() or \
        "image:" in window.status.encode_text()
    key(window, Qt.Key.Key_D)
    key(window, Qt.Key.Key_D)
    key(window, Qt.Key.Key_D)  # past the end: stays, says so
    assert window.controller.image.path == "img_003.png"
    assert "last image" in window.status.message.text()
    key(window, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: window.controller.image.path == "img_002.png" and window.canvas.has_image())


def test_undo_redo_of_accept_and_label_class_edits(qtbot, window) -> None:
    click_image(window, 80, 60)
    wait_candidates(qtbot, window)
    key(window, Qt.Key.Key_Return)
    img = window.controller.image.id
    first = window.project.annotations(img)[0]
    key(window, Qt.Key.Key_Z, CTRL)
    assert window.project.annotations(img) == []
    assert window.project.image(img).status == "new"
    key(window, Qt.Key.Key_Z, CTRL | SHIFT)
    again = window.project.annotations(img)
    assert [a.id for a in again] == [first.id] and again[0].rle == first.rle
    window.labels_dock.addRequested.emit("tree", "")
    assert [lc.name for lc in window.project.label_classes()] == ["object", "tree"]
    assert window.labels_dock.list.count() == 2
    tree = window.project.label_by_name("tree")
    window.labels_dock.renameRequested.emit(tree.id, "bush")
    assert window.project.label_class(tree.id).name == "bush"
    assert "bush" in window.labels_dock.list.item(1).text()
    key(window, Qt.Key.Key_Z, CTRL)
    assert window.project.label_class(tree.id).name == "tree"
    key(window, Qt.Key.Key_Z, CTRL)
    assert window.project.label_by_name("tree") is None and window.labels_dock.list.count() == 1
    obj = window.project.label_by_name("object")
    window.labels_dock.deleteRequested.emit(obj.id)  # the dock asked for confirmation before emitting
    assert window.project.annotations(img) == [] and window.annotations_dock.list.count() == 0
    key(window, Qt.Key.Key_Y, CTRL)  # nothing to redo after a new edit: no change
    key(window, Qt.Key.Key_Z, CTRL)
    assert [a.id for a in window.project.annotations(img)] == [first.id]


def test_refine_selected_annotation_uses_its_mask(qtbot, window, predictor: RecordingPredictor) -> None:
    click_image(window, 80, 60)
    wait_candidates(qtbot, window)
    key(window, Qt.Key.Key_Return)
    img = window.controller.image.id
    ann = window.project.annotations(img)[0]
    window.controller.select_annotation(ann.id)
    assert window.annotations_dock.selected_id() == ann.id
    predictor.mask_inputs.clear()
    click_image(window, 100, 60)
    wait_candidates(qtbot, window)
    mi = predictor.mask_inputs[-1]
    assert mi is not None and mi.shape == (256, 256)
    # the accepted candidate's own low-res logits: (80, 60) * 256/160 = column 128, row 96 is inside
    assert mi[96, 128] > 0 and mi[0, 0] < 0 and mi[96, 160] < 0
    expected = window.controller.prediction.masks[window.controller.candidate].copy()
    assert expected[60, 100] and not expected[60, 70]  # the new disk is centred on the new click
    key(window, Qt.Key.Key_Return)
    anns = window.project.annotations(img)
    assert len(anns) == 1 and anns[0].id == ann.id  # geometry replaced, no new annotation
    moved = rle_to_mask(anns[0].rle)
    assert np.array_equal(moved, expected)
    key(window, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(rle_to_mask(window.project.annotation(ann.id).rle), rle_to_mask(ann.rle))


def test_refine_without_stored_logits_rasterises_the_annotation(qtbot, window, predictor) -> None:
    from app.core.model import Annotation, Part

    window.undo.push(edits.AddLabelClass("box", None))
    label = window.project.label_by_name("box").id
    square = (Part(((20.0, 20.0), (59.0, 20.0), (59.0, 59.0), (20.0, 59.0))),)
    add = edits.AddAnnotation(Annotation(window.controller.image.id, label, square))
    window.undo.push(add)
    window.controller.select_annotation(add.annotation_id)
    click_image(window, 40, 40)
    wait_candidates(qtbot, window)
    mi = predictor.mask_inputs[-1]
    s = 256 / 160
    assert mi[int(40 * s), int(40 * s)] > 0 and mi[int(90 * s), int(90 * s)] < 0
    assert mi[200, 10] < 0  # padding below the 160x120 image (rows >= 192) is background


def test_delete_key_removes_selected_annotation(qtbot, window) -> None:
    click_image(window, 80, 60)
    wait_candidates(qtbot, window)
    key(window, Qt.Key.Key_Return)
    img = window.controller.image.id
    ann = window.project.annotations(img)[0]
    key(window, Qt.Key.Key_Delete)
    assert len(window.project.annotations(img)) == 1  # nothing selected: nothing deleted
    assert "Select an annotation" in window.status.message.text()
    window.annotations_dock.list.setCurrentRow(0)  # selecting in the dock selects on the canvas too
    assert window.controller.selected == ann.id and window.canvas.selected_annotation() == ann.id
    key(window, Qt.Key.Key_Delete)
    assert window.project.annotations(img) == []
    key(window, Qt.Key.Key_Z, CTRL)
    assert [a.id for a in window.project.annotations(img)] == [ann.id]


def test_polygon_tool_adds_manual_annotation(qtbot, window) -> None:
    key(window, Qt.Key.Key_P)
    assert window.canvas.tool() == "polygon"
    assert window.registry.action("tool_polygon").isChecked()
    for x, y in ((20, 20), (60, 20), (60, 50)):
        click_image(window, x, y)
    click_image(window, 20, 20)  # click on the first vertex closes
    settle(window)  # its outline is computed on the geometry thread first
    anns = window.project.annotations(window.controller.image.id)
    assert len(anns) == 1 and anns[0].source == "manual" and anns[0].rle is None
    assert len(anns[0].parts[0].exterior) == 3
    fresh = outline_of_annotation(anns[0], 120, 160)
    assert anns[0].outline is not None and fresh is not None
    assert anns[0].outline == fresh
    # moving vertices (the edit tool's signal) replaces the geometry, again via the geometry thread
    moved = (Part(exterior=((30.0, 30.0), (90.0, 30.0), (90.0, 80.0), (30.0, 80.0))),)
    window.canvas.geometryEdited.emit(anns[0].id, moved)
    settle(window)
    after = window.project.annotation(anns[0].id)
    assert after.parts == moved and after.outline is not None
    assert after.outline.bbox == (30, 30, 61, 51) and after.outline.area == 61 * 51
    window.undo.undo()
    assert window.project.annotation(anns[0].id).parts == anns[0].parts


def test_export_coco_from_window(qtbot, window, tmp_path: Path) -> None:
    click_image(window, 80, 60)
    wait_candidates(qtbot, window)
    key(window, Qt.Key.Key_Return)
    out = tmp_path / "out" / "coco.json"
    out.parent.mkdir()
    job = window.start_export(ExportChoice("coco", out, "auto"))
    assert job is not None
    done: list[str] = []
    job.succeeded.connect(lambda dest: done.append(str(dest)))
    qtbot.waitUntil(lambda: bool(done) or job.error is not None, timeout=15000)
    assert job.error is None
    data = json.loads(out.read_text())
    assert len(data["annotations"]) == 1 and len(data["images"]) >= 1
    assert data["categories"][0]["name"] == "object"
    assert "Exported to" in window.status.message.text()


def test_close_stops_every_thread_and_closes_project(qtbot, tmp_path: Path) -> None:
    before = set(threading.enumerate())
    win = open_window(qtbot, make_images(tmp_path / "imgs", n=3), RecordingPredictor(radius=6))
    click_image(win, 50, 50)
    wait_candidates(qtbot, win)
    proj = win.project
    assert proj.checkpointer is not None and proj.checkpointer.is_alive()  # WAL checkpoints off the GUI thread
    assert [t for t in threading.enumerate() if t not in before]  # worker + loader are running
    win.close()
    assert [t for t in threading.enumerate() if t not in before and t.is_alive()] == []
    assert proj.closed
    again = Project.open(proj.path)  # the lock was released
    again.close()


def test_locked_project_offers_read_only(qtbot, tmp_path: Path) -> None:
    folder = make_images(tmp_path / "locked", n=2)
    holder = Project.open_folder(folder)
    try:
        asked: list[str] = []
        win = open_window(qtbot, make_images(tmp_path / "other", n=1), None)
        win.confirm = lambda title, text: asked.append(text) or True
        assert win.open_path(folder)
        assert asked and "another instance" in asked[0]
        assert win.project.read_only and "read-only" in win.windowTitle()
        assert win.open_path(tmp_path / "other")
        win.confirm = lambda title, text: False
        assert not win.open_path(folder)  # declined: the current project stays open
        assert win.project.root.name == "other" and not win.project.read_only
        win.close()
    finally:
        holder.close()


def test_bad_path_is_one_message_and_no_model_shows_banner(qtbot, tmp_path: Path) -> None:
    win = open_window(qtbot, make_images(tmp_path / "imgs", n=1), None)
    assert not win.open_path(tmp_path / "nope.samlabel")
    assert "does not exist" in win.status.message.text()
    assert win.project is not None  # the open project was kept
    win.start_model("mobile_sam", None, "cpu")  # nothing installed in the test home
    assert win.banner.isVisible()
    click_image(win, 10, 10)
    assert "No SAM model" in win.status.message.text()
    win.close()


def test_image_status_and_filter(qtbot, window) -> None:
    window.mark_done_action.trigger()
    assert window.project.image(window.controller.image.id).status == "done"
    assert "done 1" in window.images_dock.counts_label.text()
    window.images_dock.filter_box.setCurrentIndex(3)  # "Done"
    assert window.images_dock.model.rowCount() == 1
    qtbot.waitUntil(lambda: window.canvas.has_image())
    assert window.controller.image.status == "done"
    window.undo.undo()
    assert window.project.image(window.controller.image.id).status == "new"


@pytest.mark.parametrize("n_images", [600])
def test_images_model_pages_without_loading_everything(qtbot, tmp_path: Path, n_images: int) -> None:
    from app.ui.docks.images_dock import PAGE_SIZE, ImageListModel

    proj = Project.create(tmp_path / "big.samlabel")
    try:
        for i in range(n_images):
            proj.add_image(f"x/{i:05d}.jpg", 10, 10)
        calls: list[tuple] = []
        real = proj.images
        proj.images = lambda off=0, lim=None, status=None: calls.append((off, lim)) or real(off, lim, status)  # type: ignore[method-assign]
        model = ImageListModel()
        model.set_project(proj)
        assert model.rowCount() == n_images and calls == []
        assert model.record(n_images - 1).path == f"x/{n_images - 1:05d}.jpg"
        assert model.record(0).path == "x/00000.jpg"
        assert all(lim == PAGE_SIZE for _, lim in calls) and len(calls) == 2
        model.record(1)
        assert len(calls) == 2  # cached page
    finally:
        proj.close()


def test_import_coco_and_export_labelme_from_window(qtbot, window, tmp_path: Path) -> None:
    from app.ui.dialogs.export_dialog import ImportChoice

    click_image(window, 80, 60)
    wait_candidates(qtbot, window)
    key(window, Qt.Key.Key_Return)
    img = window.controller.image.id
    original = window.project.annotations(img)[0]
    out = tmp_path / "coco.json"
    job = window.start_export(ExportChoice("coco", out, "rle"))
    qtbot.waitUntil(lambda: not job.is_running() and "Exported" in window.status.message.text(), timeout=15000)
    window.controller.select_annotation(original.id)
    key(window, Qt.Key.Key_Delete)
    assert window.project.annotations(img) == []
    window.run_import(ImportChoice("coco", out, window.project.root))
    back = window.project.annotations(img)
    assert len(back) == 1 and np.array_equal(rle_to_mask(back[0].rle), rle_to_mask(original.rle))
    assert window.annotations_dock.list.count() == 1
    assert not window.undo.stack.canUndo()  # imports are not undoable; older entries are dropped
    window.run_import(ImportChoice("coco", tmp_path / "missing.json", None))
    assert "Import failed" in window.status.message.text()
    lm = tmp_path / "labelme"
    job = window.start_export(ExportChoice("labelme", lm, "auto"))
    qtbot.waitUntil(lambda: not job.is_running() and "Exported" in window.status.message.text(), timeout=15000)
    files = sorted(p.name for p in lm.rglob("*.json"))
    assert "img_000.json" in files


def test_annotations_dock_hide_and_z_order(qtbot, window) -> None:
    for x in (50, 100):
        click_image(window, x, 60)
        wait_candidates(qtbot, window)
        key(window, Qt.Key.Key_Return)
    img = window.controller.image.id
    low, high = sorted(window.project.annotations(img), key=lambda a: a.z)
    dock = window.annotations_dock
    assert dock.list.item(0).data(Qt.ItemDataRole.UserRole) == high.id  # top-most first
    dock.set_visible(high.id, False)
    assert window.controller.hidden == {high.id}
    dock.list.setCurrentRow(1)  # select the lower one, then raise it
    assert window.controller.selected == low.id
    dock.up_button.click()
    z = {a.id: a.z for a in window.project.annotations(img)}
    assert z[low.id] > z[high.id]
    assert dock.list.item(0).data(Qt.ItemDataRole.UserRole) == low.id
    assert dock.list.item(1).checkState() == Qt.CheckState.Unchecked  # still hidden after the refresh
    window.undo.undo()
    assert {a.id: a.z for a in window.project.annotations(img)}[low.id] == low.z


def test_undo_right_after_accept_undoes_that_accept(qtbot, window) -> None:
    from PySide6.QtTest import QTest

    from tests.ui.window_support import settle

    window.undo.push(edits.AddLabelClass("cat", None))
    click_image(window, 80, 60)
    wait_candidates(qtbot, window)
    QTest.keyClick(window.canvas, Qt.Key.Key_Return)  # the conversion runs on the geometry thread...
    QTest.keyClick(window.canvas, Qt.Key.Key_Z, CTRL)  # ...and this undo waits for it
    settle(window)
    assert window.project.annotations(window.controller.image.id) == []
    assert window.project.label_by_name("cat") is not None  # the earlier edit was not undone instead


def test_close_stores_an_accept_still_in_flight(qtbot, tmp_path: Path) -> None:
    from PySide6.QtTest import QTest

    win = open_window(qtbot, make_images(tmp_path / "imgs", n=1), RecordingPredictor(radius=9))
    click_image(win, 60, 60)
    wait_candidates(qtbot, win)
    QTest.keyClick(win.canvas, Qt.Key.Key_Return)
    path = win.project.path
    win.close()
    with Project.open(path, read_only=True) as proj:
        assert proj.annotation_count() == 1


def test_reopening_the_open_project_keeps_it(qtbot, window) -> None:
    proj = window.project
    assert window.open_path(proj.root)
    assert window.open_path(proj.path)
    assert window.project is proj and not proj.closed and not proj.read_only


def test_corrupt_image_is_reported_and_skipped(qtbot, tmp_path: Path) -> None:
    folder = make_images(tmp_path / "mixed", n=2)
    (folder / "aaa_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    from app.services.settings import Settings
    from app.ui.main_window import MainWindow

    win = MainWindow(settings=Settings.load())
    qtbot.addWidget(win)
    win.show()
    win.inference.set_predictor(RecordingPredictor(), "fake")
    assert win.open_path(folder)
    assert win.controller.image.path == "aaa_broken.png"
    shown = lambda: [m for m in win.status.history if "Cannot show this image" in m]  # noqa: E731
    qtbot.waitUntil(lambda: bool(shown()), timeout=5000)
    assert "aaa_broken.png" in shown()[0] and "Press D" in shown()[0] and not win.canvas.has_image()
    key(win, Qt.Key.Key_D)
    qtbot.waitUntil(lambda: win.canvas.has_image() and win.controller.image.path == "img_000.png")
    win.close()


def test_long_lived_objects_are_frozen_out_of_full_gc_passes(qtbot, window) -> None:
    """Opening a project and a model becoming ready freeze what exists (app.ui.gc_tuning): later
    full collections only walk newer objects."""
    import gc

    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    window._on_model_state("ready", "fake on cpu")
    assert gc.get_freeze_count() > 10_000  # the window, the services, the test session...
    gc.unfreeze()
    window.set_project(None)  # closing/opening a project
    assert gc.get_freeze_count() > 10_000
