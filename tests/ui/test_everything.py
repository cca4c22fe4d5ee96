"""Segment everything in the real MainWindow (offscreen): key G runs the registered automation on
the inference worker, proposals are drawn and listed, filters and overlap suppression re-filter at
once, clicks on the canvas check/uncheck, accepting is one undo step, Esc cancels, and auto-labeled
images show and lose their "to review" state."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolBar

from app.automation.review import needs_review
from app.core.edits import AddLabelClass
from app.core.model import Annotation
from app.core.proposal_edits import AddLabelledAnnotations
from app.core.rle import mask_to_rle, rle_to_mask
from app.ui.docks.images_dock import REVIEW_COLOR
from tests.ui.everything_support import SPECS, RectAutomation, spec_mask
from tests.ui.window_support import click_image, key, make_images, open_window, predictor  # noqa: F401 - a fixture


@pytest.fixture
def window(qtbot, tmp_path: Path, predictor):
    win = open_window(qtbot, make_images(tmp_path / "photos", n=3), predictor)
    yield win
    win.close()


def _use(win, automation: RectAutomation) -> None:
    win.everything.lookup = lambda _id: automation


def _run(qtbot, win) -> None:
    with qtbot.waitSignal(win.everything.finished, timeout=30000):
        key(win, Qt.Key.Key_G)


def _shown(win) -> list[int]:
    return list(win.everything.visible)


def test_key_g_runs_on_the_worker_and_shows_proposals(qtbot, window) -> None:
    auto = RectAutomation()
    _use(window, auto)
    ev = window.everything
    toolbar = window.findChild(QToolBar, "MainToolBar")
    assert window.registry.action("segment_everything") in toolbar.actions()
    _run(qtbot, window)
    assert auto.threads == ["sam-inference-worker"]
    assert _shown(window) == [0, 1, 2, 3, 4]
    assert ev.item.count() == 5 and ev.dock.list.count() == 5
    assert "#3 · 3000 px · IoU 0.90 · stab 0.85" in ev.dock.list.item(2).text()
    assert ev.dock.progress.isHidden() and not ev.dock.cancel_button.isEnabled()
    assert window.project.annotations(window.controller.image.id) == []  # proposals are not stored
    assert ev.answer.items[2].box == (70.0, 60.0, 129.0, 109.0)
    key(window, Qt.Key.Key_D)  # another image: the proposals are gone
    assert ev.answer is None and ev.item.count() == 0


def test_filters_refilter_at_once_without_another_run(qtbot, window) -> None:
    auto = RectAutomation()
    _use(window, auto)
    ev = window.everything
    _run(qtbot, window)
    ev.dock.min_area.set_value(500)
    assert _shown(window) == [0, 2, 4] and ev.item.count() == 3
    ev.dock.min_iou.set_value(0.93)
    assert _shown(window) == [0, 4]
    ev.dock.min_area.set_value(0)
    assert _shown(window) == [0, 4]  # 3 (IoU 0.92) stays out
    ev.dock.min_stability.set_value(0.98)
    assert _shown(window) == [4]
    for s in (ev.dock.min_iou, ev.dock.min_stability):
        s.set_value(0.0)
    assert _shown(window) == [0, 1, 2, 3, 4]
    assert len(auto.threads) == 1  # all of it without running the automation again


def test_accept_checked_is_one_undo_step(qtbot, window) -> None:
    _use(window, RectAutomation())
    ev = window.everything
    _run(qtbot, window)
    ev.dock.list.item(1).setCheckState(Qt.CheckState.Unchecked)  # by the list
    click_image(window, 25, 25)  # by a click on the canvas: proposal 0
    assert ev.unchecked == {0, 1}
    assert ev.item._items[0][0].checked is False
    click_image(window, 85, 75)  # inside 2 and 3: the smaller one (3) toggles
    assert ev.unchecked == {0, 1, 3}
    click_image(window, 85, 75)
    assert ev.unchecked == {0, 1}
    key(window, Qt.Key.Key_P)  # the polygon tool draws over proposals: its click is a vertex
    click_image(window, 85, 75)
    assert ev.unchecked == {0, 1}
    key(window, Qt.Key.Key_Escape)
    key(window, Qt.Key.Key_S)
    assert window.project.annotations(window.controller.image.id) == []  # the clicks made no SAM prompt
    with qtbot.waitSignal(ev.stored, timeout=30000):
        ev.dock.accept_checked.click()
    image_id = window.controller.image.id
    anns = window.project.annotations(image_id)
    assert [a.source for a in anns] == ["auto"] * 3
    assert [a.score for a in anns] == pytest.approx([SPECS[i][4] for i in (2, 3, 4)])
    for ann, i in zip(anns, (2, 3, 4)):
        assert np.array_equal(rle_to_mask(ann.rle), spec_mask(SPECS[i]))
        assert ann.extra["stability_score"] == SPECS[i][5]
    names = {lc.id: lc.name for lc in window.project.label_classes()}
    assert {names[a.label_id] for a in anns} == {"object"}  # no label yet: the default class
    assert _shown(window) == [0, 1]  # the accepted ones left the review
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one undo step removes them all
    assert window.project.annotations(image_id) == []
    assert window.project.label_classes() == []


def test_accept_all_with_a_chosen_label(qtbot, window) -> None:
    _use(window, RectAutomation())
    ev = window.everything
    window.undo.push(AddLabelClass("car"))
    window.undo.push(AddLabelClass("tree"))
    _run(qtbot, window)
    assert [ev.dock.label.itemData(k) for k in range(ev.dock.label.count())] == [None, "car", "tree"]
    ev.dock.label.setCurrentIndex(2)
    ev.dock.min_area.set_value(500)
    with qtbot.waitSignal(ev.stored, timeout=30000):
        ev.dock.accept_all.click()
    anns = window.project.annotations(window.controller.image.id)
    names = {lc.id: lc.name for lc in window.project.label_classes()}
    assert len(anns) == 3 and {names[a.label_id] for a in anns} == {"tree"}
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.project.annotations(window.controller.image.id) == []
    assert [lc.name for lc in window.project.label_classes()] == ["car", "tree"]


def test_escape_cancels_a_run(qtbot, window) -> None:
    auto = RectAutomation(block=True)
    _use(window, auto)
    ev = window.everything
    key(window, Qt.Key.Key_G)
    assert ev.running() and ev.dock.progress.isVisible() and ev.dock.cancel_button.isEnabled()
    assert auto.started.wait(10)
    with qtbot.waitSignal(ev.finished, timeout=5000):
        key(window, Qt.Key.Key_Escape)
    assert auto.saw_cancel.wait(10)
    assert not ev.running() and ev.dock.progress.isHidden() and ev.dock.status.text() == "Cancelled."
    assert ev.item.count() == 0
    auto.block = False  # a new run works after a cancel
    _run(qtbot, window)
    assert _shown(window) == [0, 1, 2, 3, 4]


def test_overlaps_with_annotations_and_accepted_proposals_are_suppressed(qtbot, window) -> None:
    _use(window, RectAutomation())
    ev = window.everything
    image_id = window.controller.image.id
    m = np.zeros((120, 160), dtype=bool)
    m[5:55, 95:155] = True  # holds proposal 4 entirely (IoU 2000 / 3000)
    window.undo.push(AddLabelledAnnotations([("tree", Annotation(image_id, 0, (), mask_to_rle(m), shape="mask"))]))
    _run(qtbot, window)
    assert auto_inputs_have(window, 1)
    assert _shown(window) == [0, 1, 2, 3]  # 4 lies inside the annotation
    ev.dock.suppress.setChecked(False)
    assert _shown(window) == [0, 1, 2, 3, 4]
    ev.dock.suppress.setChecked(True)
    ev.dock.overlap.set_value(1.0)  # only full containment or identity counts now
    assert _shown(window) == [0, 1, 2, 3, 4][:4]  # 4 is fully inside: still hidden
    ev.dock.overlap.set_value(0.5)
    ev.dock.check_none.click()
    ev.dock.list.item(2).setCheckState(Qt.CheckState.Checked)  # proposal 2 only
    with qtbot.waitSignal(ev.stored, timeout=30000):
        ev.dock.accept_checked.click()
    assert _shown(window) == [0, 1]  # 3 lies inside the accepted 2


def auto_inputs_have(win, n: int) -> bool:
    """The automation saw the image's annotations (its input carries them)."""
    return len(win.everything.lookup("everything").inputs[-1].annotations) == n


def test_to_review_state_in_the_images_list_and_cleared_by_accepting(qtbot, window) -> None:
    _use(window, RectAutomation())
    ev = window.everything
    project = window.project
    rec = project.images()[1]
    mark = {"autolabel": {"everything": {"settings": {}, "annotations": 4, "time": 1.0}}, "coco": {"id": 7}}
    project.set_image_extra(rec.id, mark)
    window.images_dock.set_project(project)  # as when the project is opened
    model = window.images_dock.model
    idx = model.index(1)
    assert model.data(idx, Qt.ItemDataRole.DecorationRole).name() == REVIEW_COLOR
    assert "to review" in model.data(idx, Qt.ItemDataRole.ToolTipRole)
    assert "(to review)" in model.data(idx, Qt.ItemDataRole.DisplayRole)
    assert "to review" not in model.data(model.index(0), Qt.ItemDataRole.ToolTipRole)
    key(window, Qt.Key.Key_D)
    assert window.controller.image.id == rec.id and ev.dock.reviewed_button.isEnabled()
    _run(qtbot, window)
    with qtbot.waitSignal(ev.stored, timeout=30000):
        ev.dock.accept_all.click()
    extra = project.image(rec.id).extra
    assert not needs_review(extra) and extra["coco"] == {"id": 7}
    assert model.data(model.index(1), Qt.ItemDataRole.DecorationRole).name() != REVIEW_COLOR
    assert not ev.dock.reviewed_button.isEnabled()
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the same step brings the mark back
    assert project.annotations(rec.id) == [] and needs_review(project.image(rec.id).extra)
    assert model.data(model.index(1), Qt.ItemDataRole.DecorationRole).name() == REVIEW_COLOR
    assert ev.dock.reviewed_button.isEnabled()
    ev.dock.reviewed_button.click()  # opening it and marking it reviewed, without accepting
    assert not needs_review(project.image(rec.id).extra)
    assert "to review" not in model.data(model.index(1), Qt.ItemDataRole.ToolTipRole)
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert needs_review(project.image(rec.id).extra)


def test_a_missing_automation_is_one_sentence(qtbot, window) -> None:
    def lookup(automation_id: str) -> RectAutomation:
        raise ValueError(f"unknown automation {automation_id!r}")

    window.everything.lookup = lookup
    assert window.everything.run() is False
    assert window.everything.dock.error.text() == 'The automation "everything" is not installed.'
    assert window.everything.dock.error.isVisibleTo(window.everything.dock) and window.everything.dock.status.isHidden()
    assert not window.everything.running()


def test_the_images_list_filters_images_to_review(qtbot, window) -> None:
    project = window.project
    rec = project.images()[2]
    project.set_image_extra(rec.id, {"autolabel": {"boxes": {"settings": {}, "annotations": 1, "time": 1.0}}})
    dock = window.images_dock
    dock.filter_box.setCurrentIndex(dock.filter_box.findData("to_review"))
    assert dock.model.rowCount() == 1 and dock.model.record(0).id == rec.id
    qtbot.waitUntil(lambda: window.controller.image is not None and window.controller.image.id == rec.id)


SMALL_SAM = dict(depth=2, embed_dim=64, num_heads=2, global_attn_indexes=[1], window_size=8)


def test_the_registered_automation_with_a_real_sam_matches_a_direct_run(qtbot, tmp_path: Path) -> None:
    import torch

    from app.automation.api import AutomationInput
    from app.automation.context import LocalContext
    from app.automation.everything import EVERYTHING_AUTOMATION
    from app.core.images import load_image
    from sam_backend import SamPredictor, build_model

    torch.manual_seed(3)
    sam = SamPredictor(build_model("sam_vit_b", SMALL_SAM), "sam_vit_b", "cpu")
    folder = make_images(tmp_path / "photos", n=1)
    win = open_window(qtbot, folder, sam, model_id="sam_vit_b")
    try:
        ev = win.everything
        assert ev.lookup("everything") is EVERYTHING_AUTOMATION
        ev.dock.points.setValue(4)
        ev.extra_params = {"pred_iou_thresh": 0.0, "stability_score_thresh": 0.0, "box_nms_thresh": 1.0}
        with qtbot.waitSignal(ev.finished, timeout=120000):
            key(win, Qt.Key.Key_G)
        assert ev.answer is not None, ev.dock.error.text()
        # the sliders start at the generator's defaults; lowered, everything the run kept shows
        assert (ev.dock.min_iou.value(), ev.dock.min_stability.value()) == (0.88, 0.95)
        ev.dock.min_iou.set_value(0.0)
        ev.dock.min_stability.set_value(0.0)
        ev.dock.suppress.setChecked(False)
        image = load_image(folder / "img_000.png").array
        direct = EVERYTHING_AUTOMATION.propose(LocalContext(sam), AutomationInput(image), params={
            "points_per_side": 4, "pred_iou_thresh": 0.0, "stability_score_thresh": 0.0, "box_nms_thresh": 1.0})
        assert len(direct) > 1 and len(ev.answer.items) == len(direct)
        # random weights predict negative IoUs too: those stay below the slider's 0
        assert ev.visible == [i for i, r in enumerate(ev.answer.items) if r.predicted_iou >= 0]
        for item, prop in zip(ev.answer.items, direct):
            assert np.array_equal(rle_to_mask(item.proposal.rle), rle_to_mask(prop.rle))
            assert item.predicted_iou == prop.extra["predicted_iou"]
            assert item.stability == prop.extra["stability_score"]
    finally:
        win.close()


def test_marking_an_auto_labeled_image_done_clears_to_review_in_the_same_step(qtbot, window) -> None:
    project = window.project
    rec = window.controller.image
    project.set_image_extra(rec.id, {"autolabel": {"boxes": {"settings": {}, "annotations": 2, "time": 1.0}}})
    window.controller.image = project.image(rec.id)
    window.mark_done_action.trigger()
    assert project.image(rec.id).status == "done" and not needs_review(project.image(rec.id).extra)
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert project.image(rec.id).status != "done" and needs_review(project.image(rec.id).extra)


def test_accepted_proposals_become_polygons_at_the_chosen_density(qtbot, window) -> None:
    """Issue 13: the polygon density applies to segment-everything (and text) accepts too."""
    from app.core import codec
    from app.core.mask_convert import convert_mask
    from app.ui.proposals.converter import ProposalConverter, batch_of
    from app.automation.api import Proposal

    _use(window, RectAutomation())
    ev = window.everything
    _run(qtbot, window)
    window.controller.polygon_tolerance = 6.0
    sent: list = []
    real = ev.converter.submit
    ev.converter.submit = lambda batch: (sent.append(batch), real(batch))[1]
    with qtbot.waitSignal(ev.stored, timeout=30000):
        ev.dock.accept_all.click()
    assert [b.tolerance for b in sent] == [6.0]
    # the converter makes the polygons at that density (a round blob: far fewer vertices than exact)
    yy, xx = np.mgrid[0:120, 0:160]
    blob = np.hypot(yy - 60, xx - 80) < 40 + 6 * np.sin(np.arctan2(yy - 60, xx - 80) * 9)
    conv = ProposalConverter()
    got: list = []
    conv.finished.connect(got.append)
    for tol in (6.0, 0.0):
        conv.submit(batch_of(1, window.controller.image.id, [Proposal(rle=mask_to_rle(blob), label="x")], 1, "x", tol))
    qtbot.waitUntil(lambda: len(got) == 2, timeout=30000)
    conv.shutdown()
    coarse, exact = (b.items[0][1].parts for b in got)
    assert coarse == codec.decode_parts(convert_mask(blob, 6.0).geometry)
    assert sum(len(p.exterior) for p in exact) > 3 * sum(len(p.exterior) for p in coarse)
