"""The whole text-prompt pipeline without Qt: text -> detector -> boxes -> SAM masks -> proposals ->
stored annotations (tiny random Grounding DINO, small random SAM)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.automation.api import AutomationInput
from app.automation.context import LocalContext
from app.automation.store import store_proposals
from app.automation.text_prompt import TEXT_AUTOMATION, TextSession, detect_text, text_params
from app.core.project import Project
from app.core.rle import rle_to_mask
from app.extensions.registry import get_automation
from sam_backend.detectors import load_detector

PROMPT = "cat. traffic light. fire hydrants"
PARAMS = {"prompt": PROMPT, "box_threshold": 0.3, "text_threshold": 0.6}


class CountingDetector:
    """Wraps a detector and counts detect calls."""

    def __init__(self, inner) -> None:
        self.inner, self.calls = inner, 0
        self.model_id, self.prompt_kinds = inner.model_id, inner.prompt_kinds

    @property
    def device_name(self) -> str:
        return self.inner.device_name

    def detect(self, image, phrases):
        self.calls += 1
        return self.inner.detect(image, phrases)


class CountingPredictor:
    """Wraps a predictor and counts predict calls."""

    def __init__(self, inner) -> None:
        self.inner, self.calls = inner, 0
        self.model_id, self.prompt_kinds = inner.model_id, inner.prompt_kinds
        self.candidates, self.score_name = inner.candidates, inner.score_name

    @property
    def device_name(self) -> str:
        return self.inner.device_name

    def encode(self, image, should_abort=None):
        return self.inner.encode(image)

    def predict(self, emb, **kw):
        self.calls += 1
        return self.inner.predict(emb, **kw)


@pytest.fixture
def ctx(small_sam, tiny_detector_dir: Path):
    det = CountingDetector(load_detector(tiny_detector_dir, device="cpu"))
    context = LocalContext(CountingPredictor(small_sam), loader=lambda *a, **k: det)
    context.det = det
    return context


def test_text_automation_is_registered() -> None:
    auto = get_automation("text")
    assert auto is TEXT_AUTOMATION and auto.needs == frozenset({"box"})
    assert {o.name: o.default for o in auto.options} == {
        "prompt": "", "box_threshold": 0.35, "text_threshold": 0.25, "detector": "grounding-dino-tiny"}


def test_params_are_checked() -> None:
    assert text_params({"prompt": "cat. dog"})[:3] == (("cat", "dog"), 0.35, 0.25)
    with pytest.raises(ValueError, match="no phrase"):
        text_params({"prompt": "  "})
    with pytest.raises(ValueError, match="text threshold"):
        text_params({"prompt": "cat", "text_threshold": 2.0})


def test_each_mask_equals_predict_with_its_box(ctx, small_sam, scene) -> None:
    item = AutomationInput(scene, image_id=None)
    props = TEXT_AUTOMATION.propose(ctx, item, params=PARAMS)
    session = detect_text(ctx, item, PARAMS)
    kept = session.raw.select(0.3, 0.6)
    assert len(props) >= 3 and ctx.encodes == 1
    emb = small_sam.encode(scene)
    by_box = {tuple(d.box): d for d in kept}
    for p in props:
        x = p.extra
        d = by_box[tuple(x["box"])]
        assert p.label == d.phrase == x["phrase"] and x["detector_score"] == d.score
        pred = small_sam.predict(emb, box=x["box"])
        k = x["candidate"]
        assert np.array_equal(rle_to_mask(p.rle), pred.masks[k])
        assert p.score == pytest.approx(float(pred.scores[k]), abs=0) and x["predicted_iou"] == p.score
        nonempty = [j for j in range(3) if pred.masks[j].any()]
        assert k == max(nonempty, key=lambda j: pred.scores[j])  # the best non-empty candidate


def test_refiltering_never_runs_the_detector_again_and_decodes_only_new_boxes(ctx, scene) -> None:
    item = AutomationInput(scene)
    session = detect_text(ctx, item, PARAMS)
    emb = ctx.embedding(item)
    strict = session.results(ctx.predictor, emb, 0.9, 0.9)
    decoded = ctx.predictor.calls
    assert decoded == len(session.raw.select(0.9, 0.9)) and decoded >= 1
    loose = session.results(ctx.predictor, emb, 0.3, 0.6)
    new = {d.index for d in session.raw.select(0.3, 0.6)} - {r.detection.index for r in strict}
    assert ctx.predictor.calls == decoded + len(new) and len(new) >= 1
    again = session.results(ctx.predictor, emb, 0.9, 0.9)
    assert ctx.predictor.calls == decoded + len(new)  # nothing decoded twice
    assert [r.detection for r in again] == [r.detection for r in strict]
    assert ctx.det.calls == 1
    # the same as a fresh run at those thresholds
    fresh = TextSession(session.raw, None).results(ctx.predictor.inner, emb, 0.3, 0.6)
    assert [(r.detection, r.masks.rles) for r in fresh] == [(r.detection, r.masks.rles) for r in loose]


def test_boxes_whose_candidates_are_all_empty_are_not_proposed(ctx, scene) -> None:
    """SAM answers empty masks for boxes in the left half: those boxes give no proposal."""
    from sam_backend.types import Prediction

    class HalfEmpty(CountingPredictor):
        def predict(self, emb, **kw):
            pred = self.inner.predict(emb, **kw)
            if kw["box"][2] < 60:
                return Prediction(np.zeros_like(pred.masks), pred.scores, pred.low_res_logits)
            return pred

    item = AutomationInput(scene)
    session = detect_text(ctx, item, PARAMS)
    kept = session.raw.select(0.3, 0.6)
    right = [d for d in kept if d.box[2] >= 60]
    assert 0 < len(right) < len(kept)
    results = session.results(HalfEmpty(ctx.predictor.inner), ctx.embedding(item), 0.3, 0.6)
    assert [r.detection for r in results] == right
    assert all(session.decoded[d.index].best == -1 for d in kept if d.box[2] < 60)


def test_proposals_become_stored_annotations_one_undo_step(ctx, scene, tmp_path: Path) -> None:
    from PIL import Image

    Image.fromarray(scene).save(tmp_path / "scene.png")
    project = Project.open_folder(tmp_path)
    try:
        rec = project.images()[0]
        project.set_image_size(rec.id, 120, 90)
        existing = project.add_label_class("Cat")  # the phrase "cat" maps to it (case ignored)
        props = TEXT_AUTOMATION.propose(ctx, AutomationInput(scene, rec.id), params=PARAMS)
        phrases = {p.label for p in props}
        assert "cat" in phrases and len(phrases) >= 2
        edit = store_proposals(project, rec.id, props)
        stored = project.annotations(rec.id)
        assert len(stored) == len(props) and [a.id for a in edit.annotations] == [a.id for a in stored]
        names = {lc.id: lc.name for lc in project.label_classes()}
        for ann, prop in zip(stored, props):
            assert ann.source == "auto" and ann.shape == "mask" and ann.score == prop.score
            assert names[ann.label_id] == ("Cat" if prop.label == "cat" else prop.label)
            assert ann.extra["phrase"] == prop.label and ann.extra["box"] == prop.extra["box"]
            assert ann.extra["detector_score"] == prop.extra["detector_score"]
            assert np.array_equal(rle_to_mask(ann.rle), rle_to_mask(prop.rle)) and ann.parts
            assert ann.outline is not None and ann.outline.area == int(rle_to_mask(prop.rle).sum())
        created = {lc.name for lc in edit.created_classes}
        assert created == phrases - {"cat"} and existing.id in names
        assert project.image(rec.id).status == "in_progress"
        edit.revert(project)  # one undo step: annotations and the classes it created are gone
        assert project.annotations(rec.id) == [] and [lc.name for lc in project.label_classes()] == ["Cat"]
        assert project.image(rec.id).status == "new"
        edit.apply(project)  # redo: same ids
        assert [a.id for a in project.annotations(rec.id)] == [a.id for a in stored]
        assert {lc.name for lc in project.label_classes()} == created | {"Cat"}
    finally:
        project.close()
