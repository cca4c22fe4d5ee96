"""The fake predictor's contract (other helpers build GUI tests on it) and the GUI never waiting."""
from __future__ import annotations

import time

import numpy as np
import pytest

from app.services.fake_predictor import FakePredictor
from app.services.prompts import PromptSet


def test_fake_disks_points_box_and_single_mask() -> None:
    fake = FakePredictor()
    emb = fake.encode(np.zeros((100, 200, 3), np.uint8))
    assert emb.original_size == (100, 200) and emb.input_size == (512, 1024)
    pred = fake.predict(emb, points=[(40, 50), (60, 50), (5, 5)], labels=[1, 1, 0])
    areas = pred.masks.sum(axis=(1, 2))
    assert pred.masks[:, 50, 50].all() and areas[0] < areas[1] < areas[2]
    r = 100 / 16  # default radius: min(H, W) / 16 around the mean foreground point (50, 50)
    assert abs(areas[0] - np.pi * r * r) / (np.pi * r * r) < 0.15
    assert list(pred.scores) == pytest.approx([0.9, 0.8, 0.7]) and pred.scores.dtype == np.float32
    low = pred.low_res_logits
    assert low.shape == (3, 256, 256) and low.dtype == np.float32
    assert low[0, 64, 64] == 10.0 and low[0, 0, 255] == -10.0  # (50, 50) px -> (64, 64) low-res
    assert pred.logits(2).shape == (100, 200) and pred.logits(2)[50, 50] == 10.0
    boxed = fake.predict(emb, box=(100, 20, 180, 80), multimask=False)
    assert boxed.masks.shape == (1, 100, 200) and boxed.masks[0, 50, 140] and not boxed.masks[0, 50, 100]
    with pytest.raises(ValueError):
        fake.predict(emb, points=[(1, 1)], labels=[0])
    assert (fake.encode_calls, fake.decode_calls) == (1, 3)


def test_gui_calls_return_at_once_while_the_worker_is_busy(qtbot, make_service, images) -> None:
    fake = FakePredictor(encode_delay=0.4, decode_delay=0.2)
    svc = make_service(fake, prefetch=2)
    svc.set_image_list(images, 0)
    t0 = time.perf_counter()
    svc.encode(*images[0])
    for i in range(20):
        svc.decode("k0", PromptSet().with_point(i, i, 1))
    svc.encode_all(images)
    svc.set_image_list(images, 1)
    svc.encode(*images[1])
    assert time.perf_counter() - t0 < 0.3  # nothing above waited for the 0.4 s encode
    with qtbot.waitSignal(svc.decodeFinished, timeout=10000):
        svc.decode("k1", PromptSet().with_point(3, 3, 1))
