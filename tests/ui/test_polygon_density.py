"""Polygon density in the window (issue 13): the control and its keys, the live preview of the outline
a candidate would be stored with, accepts at the chosen density, and undoable re-simplify."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

from app.core.density import mask_to_parts_at, vertex_count
from app.core.geometry import mask_to_parts
from app.core.model import Part
from app.core.rle import rle_to_mask
from app.services.actions import cheatsheet_rows
from app.services.settings import Settings
from app.ui.polygon_density import PolygonDensity
from tests.ui.window_support import RecordingPredictor, click_image, key, make_images, open_window, settle, wait_candidates

CTRL = Qt.KeyboardModifier.ControlModifier


def _feature(win) -> PolygonDensity:  # type: ignore[no-untyped-def]
    return next(e for e in win.extensions if isinstance(e, PolygonDensity))


def _window(qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    return open_window(qtbot, make_images(tmp_path / "imgs", n=2, size=(320, 240)), RecordingPredictor(radius=40))


def _candidate(win) -> np.ndarray:  # type: ignore[no-untyped-def]
    c = win.controller
    return np.array(c.prediction.masks[c.candidate], dtype=bool)


def _wait_preview(qtbot, pd: PolygonDensity, expected: int) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: pd.preview_vertices() == expected, timeout=15000)


def test_preview_follows_the_candidate_and_the_density(qtbot, tmp_path: Path) -> None:
    win = _window(qtbot, tmp_path)
    pd = _feature(win)
    assert pd.tolerance() is None and pd.preview_vertices() is None and pd.control.vertices.text() == "–"
    click_image(win, 160, 120)
    wait_candidates(qtbot, win)
    mask = _candidate(win)
    _wait_preview(qtbot, pd, vertex_count(mask_to_parts(mask)))  # Auto: today's outline
    counts = []
    for tol in (0.0, 0.5, 2.0, 10.0):
        pd.control.set_tolerance(tol)
        want = vertex_count(mask_to_parts_at(mask, tol))
        _wait_preview(qtbot, pd, want)
        assert pd.control.vertices.text() == f"{want} vertices"
        counts.append(want)
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1]
    key(win, Qt.Key.Key_Tab)  # another candidate: the preview follows it
    other = _candidate(win)
    assert not np.array_equal(other, mask)
    _wait_preview(qtbot, pd, vertex_count(mask_to_parts_at(other, 10.0)))
    key(win, Qt.Key.Key_Escape)  # no candidate: no preview
    qtbot.waitUntil(lambda: pd.preview_vertices() is None and pd.control.vertices.text() == "–", timeout=5000)
    win.close()


def test_keys_step_the_density_and_the_setting_is_kept(qtbot, tmp_path: Path) -> None:
    win = _window(qtbot, tmp_path)
    pd = _feature(win)
    key(win, Qt.Key.Key_BracketRight, CTRL)
    assert pd.tolerance() == 0.0 and win.controller.polygon_tolerance == 0.0
    key(win, Qt.Key.Key_BracketRight, CTRL)
    key(win, Qt.Key.Key_BracketRight, CTRL)
    assert pd.tolerance() == 1.0
    key(win, Qt.Key.Key_BracketLeft, CTRL)
    assert pd.tolerance() == 0.5 and pd.control.spin.text() == "0.5 px"
    win.close()  # settings are saved on close
    assert Settings.load().get("polygon_tolerance") == 0.5
    again = _window(qtbot, tmp_path / "second")
    assert _feature(again).tolerance() == 0.5 and again.controller.polygon_tolerance == 0.5
    _feature(again).control.set_tolerance(None)
    assert _feature(again).control.spin.text() == "Auto" and again.controller.polygon_tolerance is None
    again.close()
    rows = {text: keys for _g, text, keys in cheatsheet_rows()}  # listed in F1 with their keys
    assert rows["Fewer polygon vertices (coarser outline)"] == "Ctrl+]"
    assert rows["Re-simplify polygons at the current density"] == "Ctrl+Shift+R"


def test_accept_stores_the_outline_at_the_chosen_density(qtbot, tmp_path: Path) -> None:
    win = _window(qtbot, tmp_path)
    pd = _feature(win)
    shapes = {}
    for x, tol in ((80, None), (240, 3.0)):
        pd.control.set_tolerance(tol)
        click_image(win, x, 120)
        wait_candidates(qtbot, win)
        shapes[tol] = _candidate(win)
        key(win, Qt.Key.Key_Return)
        settle(win)
        key(win, Qt.Key.Key_Escape)
    auto, coarse = sorted(win.controller.annotations(), key=lambda a: a.id)
    assert auto.parts == mask_to_parts(shapes[None])  # Auto: stored as before
    assert coarse.parts == mask_to_parts_at(shapes[3.0], 3.0)
    assert vertex_count(coarse.parts) < vertex_count(mask_to_parts(shapes[3.0]))
    for ann, mask in ((auto, shapes[None]), (coarse, shapes[3.0])):
        assert np.array_equal(rle_to_mask(ann.rle), mask)  # the mask stays exact
    win.close()


def test_resimplify_is_one_undo_step_and_skips_manual_polygons(qtbot, tmp_path: Path) -> None:
    win = _window(qtbot, tmp_path)
    pd = _feature(win)
    c = win.controller
    masks = []
    for x in (80, 240):
        click_image(win, x, 120)
        wait_candidates(qtbot, win)
        masks.append(_candidate(win))
        key(win, Qt.Key.Key_Return)
        settle(win)
        key(win, Qt.Key.Key_Escape)
    tri = (Part(exterior=((10.0, 10.0), (60.0, 10.0), (10.0, 50.0))),)
    c.canvas.polygonFinished.emit(tri)
    settle(win)
    anns = sorted(c.annotations(), key=lambda a: a.id)
    assert len(anns) == 3 and [a.parts for a in anns[:2]] == [mask_to_parts(m) for m in masks]
    before = {a.id: a for a in anns}
    depth = win.undo.stack.count()

    pd.control.set_tolerance(0.0)
    c.select_annotation(anns[0].id)
    key(win, Qt.Key.Key_R, CTRL | Qt.KeyboardModifier.ShiftModifier)  # only the selected one
    qtbot.waitUntil(lambda: c.annotations()[0].parts != before[anns[0].id].parts, timeout=15000)
    now = {a.id: a for a in c.annotations()}
    assert now[anns[0].id].parts == mask_to_parts(masks[0], simplify=False)
    assert now[anns[0].id].rle == before[anns[0].id].rle
    assert now[anns[1].id].parts == before[anns[1].id].parts

    c.select_annotation(None)
    pd.control.set_tolerance(5.0)
    key(win, Qt.Key.Key_R, CTRL | Qt.KeyboardModifier.ShiftModifier)  # none selected: the whole image
    want = [mask_to_parts_at(m, 5.0) for m in masks]
    qtbot.waitUntil(lambda: [a.parts for a in sorted(c.annotations(), key=lambda a: a.id)][:2] == want,
                    timeout=15000)
    now = {a.id: a for a in c.annotations()}
    assert now[anns[2].id].parts == tri and now[anns[2].id].rle is None  # the manual polygon is left alone
    assert all(now[a.id].rle == before[a.id].rle for a in anns)
    assert "2 annotation(s)" in win.status.message.text()
    assert win.undo.stack.count() == depth + 2

    key(win, Qt.Key.Key_Z, CTRL)  # one undo step takes both back to the exact outline of the first run
    now = {a.id: a for a in c.annotations()}
    assert now[anns[0].id].parts == mask_to_parts(masks[0], simplify=False)
    assert now[anns[1].id].parts == before[anns[1].id].parts
    key(win, Qt.Key.Key_Z, CTRL)
    assert [a.parts for a in sorted(c.annotations(), key=lambda a: a.id)] == [before[a.id].parts for a in anns]
    key(win, Qt.Key.Key_Z, CTRL | Qt.KeyboardModifier.ShiftModifier)
    key(win, Qt.Key.Key_Z, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert [a.parts for a in sorted(c.annotations(), key=lambda a: a.id)][:2] == want

    c.select_annotation(anns[2].id)
    key(win, Qt.Key.Key_R, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert "Nothing to re-simplify" in win.status.message.text()
    win.close()


def test_quick_candidate_changes_compute_one_preview_for_the_last(qtbot, tmp_path: Path) -> None:
    """The preview waits until a candidate has stayed a moment: computed for every candidate it took
    the CPU from the next decode and the next image's encode (bench_gui: cold switch +200 ms)."""
    from app.ui.polygon_density import PREVIEW_DELAY_MS

    win = _window(qtbot, tmp_path)
    pd = _feature(win)
    click_image(win, 160, 120)
    wait_candidates(qtbot, win)
    before = pd.preview.computed
    for _ in range(3):  # Tab through the candidates faster than the delay
        key(win, Qt.Key.Key_Tab)
    assert pd.preview.computed == before and pd.preview_vertices() is None  # nothing yet, no stale outline
    last = _candidate(win)
    _wait_preview(qtbot, pd, vertex_count(mask_to_parts(last)))
    assert pd.preview.computed == before + 1  # one preview, of the candidate left shown
    key(win, Qt.Key.Key_Tab)
    key(win, Qt.Key.Key_D)  # another image before the delay: nothing is computed for the old candidate
    qtbot.wait(PREVIEW_DELAY_MS * 3)
    assert pd.preview.computed == before + 1
