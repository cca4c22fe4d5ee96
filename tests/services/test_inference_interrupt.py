"""Cooperative abort in the inference worker: urgent requests interrupt prefetch/batch encodes.

The fake predictor's encode honours should_abort (polled every few ms during its delay), like
SamPredictor between encoder blocks. Per-call delays are set by the on_encode hook.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np
import pytest

from app.services.fake_predictor import FakePredictor
from app.services.prompts import PromptSet
from sam_backend.errors import EncodeAborted

P = PromptSet().with_point(30, 20, 1)
SLOW = 2.0  # seconds: the encode that gets interrupted; every bound below is far below it


def _collect(signal) -> list:
    seen: list = []
    signal.connect(lambda *a: seen.append(a if len(a) > 1 else a[0]))
    return seen


def _delays(fake: FakePredictor, slow_calls: set[int]) -> Callable[[int], None]:
    """on_encode hook: encode call number n sleeps SLOW seconds when n is in slow_calls, else 0."""

    def hook(n: int) -> None:
        fake.encode_delay = SLOW if n in slow_calls else 0.0

    return hook


def test_fake_encode_honours_should_abort() -> None:
    fake = FakePredictor(encode_delay=SLOW)
    image = np.zeros((8, 8, 3), np.uint8)
    t0 = time.perf_counter()
    with pytest.raises(EncodeAborted):
        fake.encode(image, should_abort=lambda: time.perf_counter() - t0 > 0.05)
    assert time.perf_counter() - t0 < 0.5 and fake.encode_aborts == 1
    fake.encode_delay = 0.05
    emb = fake.encode(image, should_abort=lambda: False)
    assert emb.original_size == (8, 8) and fake.encode_aborts == 1 and fake.encode_calls == 2


def test_decode_during_neighbour_prefetch_is_served_at_once(qtbot, make_service, images) -> None:
    fake = FakePredictor()
    fake.on_encode = _delays(fake, {2})  # call 1: current k0; call 2: prefetch of k1 (slow); call 3: k1 again
    svc = make_service(fake, prefetch=1)
    svc.set_image_list(images, 0)
    states, fails = _collect(svc.encodeStateChanged), _collect(svc.failed)
    svc.encode(*images[0])
    qtbot.waitUntil(lambda: ("k1", "encoding") in states, timeout=5000)  # the slow prefetch runs
    t0 = time.perf_counter()
    with qtbot.waitSignal(svc.decodeFinished, timeout=int(SLOW * 1000)) as blocker:
        svc.decode("k0", P)
    waited = time.perf_counter() - t0
    assert waited < 0.6 * SLOW and blocker.args[0].elapsed_ms < 600 * SLOW
    assert blocker.args[0].image_key == "k0" and blocker.args[0].prediction.masks[:, 20, 30].all()
    # the interrupted neighbour is put back and encoded later, without any error
    qtbot.waitUntil(lambda: ("k1", "ready") in states, timeout=5000)
    assert fake.encode_aborts == 1 and fake.encode_calls == 3
    assert [s for k, s in states if k == "k1"] == ["encoding", "queued", "encoding", "ready"]
    assert fails == [] and not any(s == "error" for _, s in states)
    # it is in the cache: making k1 current does not encode it again
    later = _collect(svc.encodeStateChanged)
    with qtbot.waitSignal(svc.decodeFinished, timeout=5000) as again:
        svc.set_image_list(images, 1)
        svc.encode(*images[1])
        svc.decode("k1", P)
    assert again.args[0].waited_for_encode is False
    assert ("k1", "ready") in later and ("k1", "encoding") not in later


def test_current_encode_is_not_aborted_by_its_own_decode(qtbot, make_service, images) -> None:
    fake = FakePredictor(encode_delay=0.3)
    svc = make_service(fake)
    svc.set_image_list(images, 0)
    t0 = time.perf_counter()
    with qtbot.waitSignal(svc.decodeFinished, timeout=5000):
        svc.encode(*images[0])
        for i in range(3):
            svc.decode("k0", PromptSet().with_point(10 + i, 10, 1))
    assert time.perf_counter() - t0 >= 0.3  # it waited for the one encode instead of restarting it
    assert fake.encode_calls == 1 and fake.encode_aborts == 0


def test_left_image_encode_yields_to_the_new_current_image(qtbot, make_service, images) -> None:
    fake = FakePredictor()
    fake.on_encode = _delays(fake, {1})  # k0's encode is slow; the user moves on to k3 meanwhile
    svc = make_service(fake)
    svc.set_image_list(images, 0)
    states, fails = _collect(svc.encodeStateChanged), _collect(svc.failed)
    svc.encode(*images[0])
    qtbot.waitUntil(lambda: ("k0", "encoding") in states, timeout=5000)
    t0 = time.perf_counter()
    with qtbot.waitSignal(svc.decodeFinished, timeout=int(SLOW * 1000)) as blocker:
        svc.set_image_list(images, 3)
        svc.encode(*images[3])
        svc.decode("k3", P)
    assert time.perf_counter() - t0 < 0.6 * SLOW and blocker.args[0].image_key == "k3"
    assert fake.encode_aborts == 1 and ("k0", "queued") in states and ("k0", "ready") not in states
    assert fails == [] and not any(s == "error" for _, s in states)


def test_batch_encode_yields_to_decodes_and_finishes(qtbot, make_service, images) -> None:
    fake = FakePredictor()
    fake.on_encode = _delays(fake, {2})  # call 1: current k0; call 2: first batch item (slow)
    svc = make_service(fake)
    svc.set_image_list(images, 0)
    progress, fails = _collect(svc.progress), _collect(svc.failed)
    with qtbot.waitSignal(svc.encodeStateChanged, timeout=5000, check_params_cb=lambda k, s: s == "ready"):
        svc.encode(*images[0])
    svc.encode_all(images[1:4])
    qtbot.waitUntil(lambda: fake.encode_calls == 2, timeout=5000)
    t0 = time.perf_counter()
    with qtbot.waitSignal(svc.decodeFinished, timeout=int(SLOW * 1000)):
        svc.decode("k0", P)
    assert time.perf_counter() - t0 < 0.6 * SLOW
    qtbot.waitUntil(lambda: ("Encoding images", 3, 3) in progress, timeout=5000)
    assert fake.encode_aborts == 1 and fake.encode_calls == 5 and fails == []


def test_shutdown_interrupts_a_long_prefetch(qtbot, make_service, images) -> None:
    fake = FakePredictor()
    fake.on_encode = _delays(fake, {2})
    svc = make_service(fake, prefetch=1)
    svc.set_image_list(images, 0)
    states = _collect(svc.encodeStateChanged)
    svc.encode(*images[0])
    qtbot.waitUntil(lambda: ("k1", "encoding") in states, timeout=5000)
    t0 = time.perf_counter()
    svc.shutdown(5.0)
    assert time.perf_counter() - t0 < 0.6 * SLOW and not svc.is_running() and fake.encode_aborts == 1
