"""The text prompt dock in the real MainWindow (offscreen): key T, phrases -> proposals drawn on the
canvas (detector on the worker thread), live threshold re-filtering, accept as one undo step, and
the notice shown without transformers."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.core.rle import rle_to_mask
from tests.detector_support import make_tiny_grounding_dino
from tests.ui.window_support import key, make_images, open_window, predictor  # noqa: F401 - a fixture


@pytest.fixture(scope="module")
def detector_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_grounding_dino(tmp_path_factory.mktemp("det") / "tiny-gdino", seed=2, num_queries=12)


@pytest.fixture
def window(qtbot, tmp_path: Path, predictor):
    win = open_window(qtbot, make_images(tmp_path / "photos", n=2), predictor)
    yield win
    win.close()


def _detect(qtbot, win, prompt: str, detector: Path) -> None:
    key(win, Qt.Key.Key_T)
    dock = win.text_prompts.dock
    assert dock.isVisible() and dock.prompt.hasFocus()
    dock.detector.setCurrentText(str(detector))
    QTest.keyClicks(dock.prompt, prompt)
    with qtbot.waitSignal(win.text_prompts.proposalsShown, timeout=60000,
                          check_params_cb=lambda n: n > 0):
        QTest.keyClick(dock.prompt, Qt.Key.Key_Return)


def test_phrases_to_proposals_to_one_undo_step(qtbot, window, detector_dir: Path, predictor) -> None:
    threads: list[str] = []
    real = type(predictor).predict

    def predict(self, *a, **k):
        threads.append(threading.current_thread().name)
        return real(self, *a, **k)

    predictor.predict = predict.__get__(predictor)
    tp = window.text_prompts
    tp.dock.box_threshold.set_value(0.9)
    tp.dock.text_threshold.set_value(0.9)
    _detect(qtbot, window, "cat. fire hydrants", detector_dir)
    assert set(threads) == {"sam-inference-worker"}  # SAM (and the detector) never on the GUI thread
    strict = [r.detection for r in tp.results]
    assert strict == tp.answer.session.raw.select(0.9, 0.9)
    assert tp.item.count() == len(strict) == tp.dock.list.count()
    assert "(new)" in tp.dock.list.item(0).text()

    decodes = len(threads)
    with qtbot.waitSignal(tp.proposalsShown, timeout=60000, check_params_cb=lambda n: n > len(strict)):
        tp.dock.box_threshold.set_value(0.3)  # lower: new boxes are decoded on the worker
        tp.dock.text_threshold.set_value(0.5)
    loose = tp.answer.session.raw.select(0.3, 0.5)
    qtbot.waitUntil(lambda: [r.detection for r in tp.results] == loose, timeout=60000)
    assert len(threads) == decodes + len(loose) - len(strict)
    n_before = len(threads)
    tp.dock.box_threshold.set_value(0.9)  # back up: instant, nothing decoded
    tp.dock.text_threshold.set_value(0.9)
    assert [r.detection for r in tp.results] == strict and len(threads) == n_before

    assert len(strict) >= 3
    tp.dock.list.item(0).setCheckState(Qt.CheckState.Unchecked)
    tp.cycle_candidate(1)  # the second proposal: SAM's next candidate instead of the best one
    second = tp.results[1]
    assert tp.choice[second.detection.index] == (second.masks.best + 1) % 3
    assert "mask " + str(tp.choice[second.detection.index] + 1) + "/3" in tp.dock.list.item(1).text()
    chosen = [(r.detection, tp.choice.get(r.detection.index, r.masks.best)) for r in tp.results[1:]]
    with qtbot.waitSignal(tp.stored, timeout=60000):
        tp.dock.accept_checked.click()
    anns = window.project.annotations(window.controller.image.id)
    assert len(anns) == len(chosen) and tp.item.count() == 0
    names = {lc.id: lc.name for lc in window.project.label_classes()}
    for ann, (det, k) in zip(anns, chosen):
        assert ann.source == "auto" and names[ann.label_id] == det.phrase
        assert ann.extra["box"] == list(det.box) and ann.extra["candidate"] == k
        emb = predictor.encode(np.zeros((120, 160, 3), np.uint8))
        assert np.array_equal(rle_to_mask(ann.rle), predictor.predict(emb, box=det.box).masks[k])
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one undo step removes them all
    assert window.project.annotations(window.controller.image.id) == []
    assert {lc.name for lc in window.project.label_classes()} == set()
    key(window, Qt.Key.Key_D)  # another image: the proposals are gone
    assert tp.answer is None and tp.item.count() == 0


def test_without_transformers_the_dock_says_how_to_enable(qtbot, window, monkeypatch: pytest.MonkeyPatch) -> None:
    import app.ui.text_prompt.controller as ctl

    sentence = 'Text prompts need the optional package transformers: install it with pip install "sam-labeler[text]"'
    monkeypatch.setattr(ctl, "text_support_problem", lambda: sentence)
    tp = window.text_prompts
    assert tp.run("cat", "grounding-dino-tiny") is False
    assert tp.dock.notice.isVisible() and tp.dock.notice.text() == sentence
    assert not tp.dock.prompt.isEnabled() and not tp.dock.run_button.isEnabled()


def test_a_missing_detector_is_one_sentence_in_the_dock(qtbot, window) -> None:
    tp = window.text_prompts
    assert tp.run("cat", "grounding-dino-base")
    qtbot.waitUntil(lambda: "models download grounding-dino-base" in tp.dock.status.text(), timeout=30000)
    assert tp.item.count() == 0
    assert tp.run(" . ", "grounding-dino-base") is False
    assert tp.dock.status.text().startswith("The text prompt has no phrase")


def test_accepting_text_proposals_marks_an_auto_labeled_image_reviewed(qtbot, window, detector_dir: Path) -> None:
    """As with segment everything: accepting proposals on an image waiting for review reviews it, in
    the same undo step (the text prompt used to leave the "to review" mark)."""
    from app.automation.review import needs_review

    project = window.project
    rec = window.controller.image
    project.set_image_extra(rec.id, {"autolabel": {"text": {"settings": {}, "annotations": 2, "time": 1.0}}})
    assert needs_review(project.image(rec.id).extra)
    tp = window.text_prompts
    tp.dock.box_threshold.set_value(0.3)
    tp.dock.text_threshold.set_value(0.3)
    _detect(qtbot, window, "cat", detector_dir)
    with qtbot.waitSignal(tp.stored, timeout=60000):
        tp.dock.accept_all.click()
    assert project.annotations(rec.id) and not needs_review(project.image(rec.id).extra)
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one step: the mark comes back too
    assert project.annotations(rec.id) == [] and needs_review(project.image(rec.id).extra)
