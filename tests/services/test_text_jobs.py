"""Text prompt jobs through the InferenceService: they run in the worker thread on the predictor's
device, newest wins per channel, re-filtering runs no detector, failures are one sentence."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.services.automation_jobs import TaskResult
from app.services.text_jobs import CHANNEL, TextAnswer, detect_job, refilter_job
from tests.detector_support import tiny_detector_dir  # noqa: F401 - a fixture

SMALL_SAM = dict(depth=2, embed_dim=64, num_heads=2, global_attn_indexes=[1], window_size=8)


@pytest.fixture
def small_sam():
    import torch

    from sam_backend import SamPredictor, build_model

    torch.manual_seed(3)
    return SamPredictor(build_model("sam_vit_b", SMALL_SAM), "sam_vit_b", "cpu")


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    arr = (np.random.default_rng(2).random((60, 80, 3)) * 255).astype(np.uint8)
    path = tmp_path / "pic.png"
    Image.fromarray(arr).save(path)
    return path


def _run(qtbot, svc, path: Path, fn) -> TaskResult:
    with qtbot.waitSignal(svc.taskFinished, timeout=120000) as blocker:
        svc.run_task(CHANNEL, "k0", path, fn)
    return blocker.args[0]


def test_detect_then_refilter_in_the_worker_thread(qtbot, make_service, small_sam, picture: Path,
                                                   tiny_detector_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sam_backend.detectors.grounding_dino import GroundingDinoDetector

    svc = make_service()
    svc.set_predictor(small_sam, "sam_vit_b")
    decodes: list[str] = []
    detects: list[str] = []
    real_predict, real_detect = small_sam.predict, GroundingDinoDetector.detect

    def predict(*a, **k):
        decodes.append(threading.current_thread().name)
        return real_predict(*a, **k)

    def detect(self, *a, **k):
        detects.append(threading.current_thread().name)
        return real_detect(self, *a, **k)

    monkeypatch.setattr(small_sam, "predict", predict)
    monkeypatch.setattr(GroundingDinoDetector, "detect", detect)
    res = _run(qtbot, svc, picture, detect_job("cat. fire hydrants", str(tiny_detector_dir), 0.9, 0.9))
    assert res.error is None and isinstance(res.value, TextAnswer)
    answer = res.value
    assert answer.detector_id == "tiny-gdino" and len(answer.results) >= 1
    assert detects == ["sam-inference-worker"]
    assert set(decodes) == {"sam-inference-worker"} and len(decodes) == len(answer.session.decoded)
    assert {r.detection.phrase for r in answer.results} <= {"cat", "fire hydrants"}

    res2 = _run(qtbot, svc, picture, refilter_job(answer.session, 0.3, 0.5))
    loose = res2.value
    assert res2.error is None and loose.session is answer.session
    assert [r.detection for r in loose.results] == [
        d for d in answer.session.raw.select(0.3, 0.5) if answer.session.decoded[d.index].best >= 0]
    assert len(loose.results) > len(answer.results)
    assert detects == ["sam-inference-worker"]  # no second detector run
    assert len(decodes) == len(answer.session.decoded)  # each box decoded once
    assert svc._worker._detectors.loads == 1


def test_only_the_newest_task_of_a_channel_reports(qtbot, make_service, small_sam, picture: Path) -> None:
    svc = make_service()
    svc.set_predictor(small_sam, "sam_vit_b")
    started, release = threading.Event(), threading.Event()
    got: list[TaskResult] = []
    svc.taskFinished.connect(got.append)

    def slow(ctx):
        started.set()
        release.wait(10)
        return "first" if not ctx.cancel.is_set() else "cancelled"

    svc.run_task(CHANNEL, "k0", picture, slow)
    assert started.wait(30)
    svc.run_task(CHANNEL, "k0", picture, lambda ctx: "dropped")
    svc.run_task(CHANNEL, "k0", picture, lambda ctx: ctx.predictor.model_id)
    release.set()
    qtbot.waitUntil(lambda: len(got) >= 1, timeout=30000)
    qtbot.wait(200)
    assert [r.value for r in got] == ["sam_vit_b"]


def test_task_errors_are_one_sentence(qtbot, make_service, small_sam, picture: Path) -> None:
    svc = make_service()
    res = _run(qtbot, svc, picture, lambda ctx: 1)
    assert res.error == "No SAM model is loaded; choose one in the model manager."
    svc.set_predictor(small_sam, "sam_vit_b")
    res = _run(qtbot, svc, picture, detect_job("cat", "grounding-dino-base", 0.35, 0.25))
    assert res.error is not None and "sam-labeler models download grounding-dino-base" in res.error
    assert "\n" not in res.error
    with pytest.raises(ValueError, match="no phrase"):
        detect_job(" ", "grounding-dino-tiny", 0.35, 0.25)
