"""InferenceService with the fake predictor: newest wins, encode before decode, priorities, prefetch, errors."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from app.services.fake_predictor import FakePredictor
from app.services.prompts import PromptSet
from sam_backend import load_predictor
from sam_backend.errors import CheckpointMissing

P = PromptSet().with_point(30, 20, 1)


def _collect(signal) -> list:
    seen: list = []
    signal.connect(lambda *a: seen.append(a if len(a) > 1 else a[0]))
    return seen


def test_decode_result_is_the_fake_disk(qtbot, make_service, images) -> None:
    fake = FakePredictor(radius=5)
    svc = make_service(fake)
    key, path = images[0]
    svc.encode(key, path)
    with qtbot.waitSignal(svc.decodeFinished, timeout=5000) as blocker:
        rid = svc.decode(key, P)
    res = blocker.args[0]
    assert res.request_id == rid and res.image_key == key and res.prompts == P
    m = res.prediction.masks
    assert m.shape == (3, 48, 64) and m.dtype == bool
    assert m[0, 20, 30] and not m[0, 20, 36] and m[1, 20, 36]  # r=5 then 7.5
    assert res.prediction.low_res_logits.shape == (3, 256, 256)
    assert res.finished_at >= res.posted_at and res.elapsed_ms >= res.decode_ms >= 0


def _hold(call_no: int) -> tuple[threading.Event, object]:
    """A hook that blocks call number `call_no` until the returned event is set."""
    gate = threading.Event()

    def hook(n: int) -> None:
        if n == call_no:
            gate.wait(10)

    return gate, hook


def test_newest_decode_wins(qtbot, make_service, images) -> None:
    fake = FakePredictor()
    gate, fake.on_decode = _hold(1)
    svc = make_service(fake)
    key, path = images[0]
    svc.encode(key, path)
    seen = _collect(svc.decodeFinished)
    ids = [svc.decode(key, PromptSet().with_point(10 + i, 10, 1)) for i in range(10)]
    gate.set()  # the first decode may have started meanwhile; the 8 in between were replaced
    qtbot.waitUntil(lambda: len(seen) >= 1, timeout=5000)
    qtbot.wait(200)  # anything still in flight would arrive now
    assert [r.request_id for r in seen] == [ids[-1]]
    assert seen[0].prompts.points == ((19.0, 10.0),)
    assert fake.decode_calls <= 2  # queued requests were replaced, not computed


def test_stale_result_is_dropped(qtbot, make_service, images) -> None:
    fake = FakePredictor()
    gate, fake.on_decode = _hold(1)
    svc = make_service(fake)
    key, path = images[0]
    svc.encode(key, path)
    seen = _collect(svc.decodeFinished)
    first = svc.decode(key, P)
    qtbot.waitUntil(lambda: fake.decode_calls == 1, timeout=5000)  # the first one is being computed
    second = svc.decode(key, PromptSet().with_point(5, 5, 1))
    gate.set()
    qtbot.waitUntil(lambda: len(seen) == 1, timeout=5000)
    qtbot.wait(100)
    assert fake.decode_calls == 2 and first < second
    assert [r.request_id for r in seen] == [second]
    # clearing the prompts (an empty decode) makes a running request stale too
    gate3, fake.on_decode = _hold(3)
    svc.decode(key, P)
    qtbot.waitUntil(lambda: fake.decode_calls == 3, timeout=5000)
    with qtbot.assertNotEmitted(svc.decodeFinished, wait=300):
        svc.decode(key, PromptSet())
        gate3.set()


def test_decode_before_encode_waits_then_completes(qtbot, make_service, images) -> None:
    fake = FakePredictor(encode_delay=0.15)
    svc = make_service(fake)
    svc.set_image_list(images, 0)
    states = _collect(svc.encodeStateChanged)
    key = images[3][0]  # never encoded: the decode must encode it first
    with qtbot.waitSignal(svc.decodeFinished, timeout=5000) as blocker:
        svc.decode(key, P)
    assert blocker.args[0].waited_for_encode is True
    assert (key, "encoding") in states and (key, "ready") in states
    assert fake.encode_calls == 1


def test_current_encode_jumps_ahead_of_prefetch(qtbot, make_service, images) -> None:
    fake = FakePredictor()
    gate, fake.on_encode = _hold(2)  # hold the first prefetch (k1) while the current image changes
    svc = make_service(fake, prefetch=2)
    svc.set_image_list(images, 0)
    states = _collect(svc.encodeStateChanged)
    svc.encode("k0", images[0][1])
    qtbot.waitUntil(lambda: fake.encode_calls == 2, timeout=5000)  # prefetch of k1 started
    svc.encode("k4", images[4][1])
    gate.set()
    qtbot.waitUntil(lambda: fake.encode_calls == 6, timeout=5000)
    qtbot.wait(100)
    order = [k for k, s in states if s == "encoding"]
    # k1 (already running) finishes, then the new current image, then its neighbours nearest first
    assert order == ["k0", "k1", "k4", "k5", "k3", "k2"]


def test_prefetch_fills_the_cache_for_neighbours(qtbot, make_service, images) -> None:
    fake = FakePredictor()
    svc = make_service(fake, prefetch=1)
    svc.set_image_list(images, 2)
    svc.encode("k2", images[2][1])
    qtbot.waitUntil(lambda: fake.encode_calls == 3, timeout=5000)
    qtbot.wait(150)
    assert fake.encode_calls == 3  # k2 and the neighbours k1, k3 only (prefetch_count = 1)
    states = _collect(svc.encodeStateChanged)
    with qtbot.waitSignal(svc.decodeFinished, timeout=5000) as blocker:
        svc.encode("k3", images[3][1])
        svc.decode("k3", P)
    assert blocker.args[0].waited_for_encode is False  # the current-image encode found it in the cache
    qtbot.waitUntil(lambda: fake.encode_calls == 4, timeout=5000)  # k4 is the new neighbour
    assert ("k3", "encoding") not in states and ("k3", "ready") in states


def test_disk_cache_survives_a_new_service(qtbot, make_service, images) -> None:
    first = FakePredictor()
    svc = make_service(first, disk=True)
    with qtbot.waitSignal(svc.encodeStateChanged, timeout=5000,
                          check_params_cb=lambda k, s: s == "ready"):
        svc.encode(*images[0])
    svc.shutdown()
    second = FakePredictor()
    svc2 = make_service(second, disk=True)
    with qtbot.waitSignal(svc2.decodeFinished, timeout=5000) as blocker:
        svc2.encode(*images[0])
        svc2.decode(images[0][0], P)
    assert second.encode_calls == 0
    assert blocker.args[0].prediction.masks.shape == (3, 48, 64)


def test_errors_become_failed_and_the_worker_keeps_serving(qtbot, make_service, images, tmp_path: Path) -> None:
    fake = FakePredictor()
    svc = make_service(fake)
    svc.encode(*images[0])
    fake.decode_error = RuntimeError("boom")
    with qtbot.waitSignal(svc.failed, timeout=5000) as blocker:
        svc.decode("k0", P)
    assert "boom" in blocker.args[0] and blocker.args[0].endswith(".")
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG not really")
    states = _collect(svc.encodeStateChanged)
    with qtbot.waitSignal(svc.failed, timeout=5000) as blocker:
        svc.encode("bad", bad)
    assert "broken.png" in blocker.args[0]
    qtbot.waitUntil(lambda: ("bad", "error") in states, timeout=2000)
    fake.encode_error = MemoryError()
    with qtbot.waitSignal(svc.failed, timeout=5000) as blocker:
        svc.encode(*images[1])
    assert "out of memory" in blocker.args[0]
    with qtbot.waitSignal(svc.decodeFinished, timeout=5000) as blocker:
        svc.encode(*images[2])
        svc.decode("k2", P)
    assert blocker.args[0].image_key == "k2"
    with qtbot.waitSignal(svc.failed, timeout=5000) as blocker:
        svc.decode("never-seen", P)
    assert "never opened" in blocker.args[0]


def test_decode_without_model_fails_with_a_sentence(qtbot, make_service, images) -> None:
    svc = make_service(None)
    assert not svc.has_model() and svc.model_state() == "none"
    with qtbot.waitSignal(svc.failed, timeout=5000) as blocker:
        svc.encode(*images[0])
        svc.decode("k0", P)
    assert "No model is loaded" in blocker.args[0]
    with qtbot.waitSignal(svc.failed, timeout=1000):
        svc.encode_all(images)


def test_missing_checkpoint_load_fails_with_the_backend_sentence(qtbot, make_service) -> None:
    svc = make_service(None)
    states = _collect(svc.modelStateChanged)
    with pytest.raises(CheckpointMissing) as direct:
        load_predictor("mobile_sam", None, "cpu")
    with qtbot.waitSignal(svc.failed, timeout=20000) as blocker:
        svc.load_model("mobile_sam", None, "cpu")
    assert blocker.args[0].rstrip(".") == str(direct.value).rstrip(".")
    qtbot.waitUntil(lambda: bool(states) and states[-1][0] == "error", timeout=2000)
    assert states[0][0] == "loading" and states[-1][1] == blocker.args[0]
    assert not svc.has_model()


def test_set_predictor_reports_ready_and_model_text(qtbot, make_service) -> None:
    svc = make_service(None)
    with qtbot.waitSignal(svc.modelStateChanged, timeout=1000) as blocker:
        svc.set_predictor(FakePredictor(device="cpu"), "fake")
    assert blocker.args == ["ready", "fake on cpu"]
    assert svc.has_model() and svc.model_text() == "fake on cpu"


def test_encode_all_progress_and_cancel(qtbot, make_service, images) -> None:
    fake = FakePredictor(encode_delay=0.02)
    svc = make_service(fake)
    prog = _collect(svc.progress)
    svc.encode_all(images)
    qtbot.waitUntil(lambda: any(p[1] == p[2] == 6 for p in prog), timeout=5000)
    assert fake.encode_calls == 6
    dones = [p[1] for p in prog if p[0] == "Encoding images"]
    assert dones == sorted(dones) and dones[-1] == 6
    svc.encode_all(images)  # everything is cached now: no new encodes
    qtbot.waitUntil(lambda: sum(1 for p in prog if p[1] == p[2] == 6) == 2, timeout=5000)
    assert fake.encode_calls == 6
    slow = FakePredictor()
    gate, slow.on_encode = _hold(1)
    svc2 = make_service(slow)
    prog2 = _collect(svc2.progress)
    svc2.encode_all(images)
    qtbot.waitUntil(lambda: slow.encode_calls == 1, timeout=5000)
    svc2.cancel()
    gate.set()
    qtbot.waitUntil(lambda: bool(prog2) and prog2[-1][1] == prog2[-1][2], timeout=5000)
    qtbot.wait(200)
    assert slow.encode_calls == 1
    assert prog2[-1] == ("Encoding cancelled", 0, 0)


def test_shutdown_joins_every_thread(qtbot, make_service, images) -> None:
    before = {t.ident for t in threading.enumerate()}
    fake = FakePredictor(encode_delay=0.1)
    svc = make_service(fake, prefetch=2)
    svc.set_image_list(images, 0)
    svc.encode(*images[0])
    svc.decode("k0", P)
    qtbot.waitUntil(lambda: fake.encode_calls >= 1, timeout=5000)
    assert svc.is_running()
    svc.shutdown(5.0)
    assert not svc.is_running()
    alive = [t for t in threading.enumerate() if t.ident not in before]
    assert alive == []
    with qtbot.assertNotEmitted(svc.decodeFinished, wait=100):
        svc.decode("k0", P)  # after shutdown nothing is served (and nothing raises)


def test_mask_input_shape_is_checked(qtbot, make_service, images) -> None:
    svc = make_service(FakePredictor())
    svc.encode(*images[0])
    with qtbot.waitSignal(svc.failed, timeout=1000) as blocker:
        svc.decode("k0", P, mask_input=np.zeros((64, 32), np.float32))
    assert "square" in blocker.args[0]  # the exact side is the model's (256 for SAM/SAM 2.1, 288 for SAM 3)
    with qtbot.waitSignal(svc.decodeFinished, timeout=5000):
        svc.decode("k0", P, mask_input=np.zeros((256, 256), np.float32))


class _FallingPredictor(FakePredictor):
    """Moves itself to the CPU during its first encode, like SamPredictor after CUDA out-of-memory."""

    fallback_reason: str | None = None

    def encode(self, image: np.ndarray, should_abort=None):  # type: ignore[no-untyped-def]
        emb = super().encode(image, should_abort)
        self.device = "cpu"
        self.fallback_reason = "CUDA ran out of memory while encoding; continuing on the CPU"
        return emb


def test_cuda_fallback_is_reported_once(qtbot, make_service, images) -> None:
    fake = _FallingPredictor(device="cuda:0")
    svc = make_service(fake)
    assert svc.model_text() == "fake on cuda:0"
    fails = _collect(svc.failed)
    with qtbot.waitSignal(svc.modelStateChanged, timeout=5000) as blocker:
        svc.encode(*images[0])
    assert blocker.args == ["ready", "fake on cpu"] and svc.model_text() == "fake on cpu"
    with qtbot.waitSignal(svc.decodeFinished, timeout=5000):
        svc.encode(*images[1])
        svc.decode("k1", P)
    assert len(fails) == 1 and fails[0].startswith("The model now runs on the CPU: CUDA ran out of memory")


def test_apply_settings_turns_on_disk_cache_and_prefetch(qtbot, make_service, images) -> None:
    from app.services.settings import Settings
    from sam_backend.paths import embeddings_dir

    fake = FakePredictor()
    svc = make_service(fake)  # memory only, no prefetch
    svc.set_image_list(images, 0)
    with qtbot.waitSignal(svc.encodeStateChanged, timeout=5000, check_params_cb=lambda k, s: s == "ready"):
        svc.encode(*images[0])
    assert list(embeddings_dir().rglob("*.emb")) == []
    s = Settings.load()
    s.disk_cache, s.prefetch_count = True, 1
    svc.apply_settings(s)
    with qtbot.waitSignal(svc.encodeStateChanged, timeout=5000, check_params_cb=lambda k, s: k == "k3" and s == "ready"):
        svc.encode(*images[2])  # neighbours k1 and k3 are prefetched into the new (disk) cache
    qtbot.waitUntil(lambda: len(list(embeddings_dir().rglob("*.emb"))) == 3, timeout=5000)
    assert fake.encode_calls == 4


def test_failed_load_keeps_the_previous_model(qtbot, make_service, images) -> None:
    svc = make_service(FakePredictor())
    states = _collect(svc.modelStateChanged)
    with qtbot.waitSignal(svc.failed, timeout=20000):
        svc.load_model("mobile_sam", None, "cpu")  # no checkpoint installed in the test home
    qtbot.waitUntil(lambda: len(states) >= 2, timeout=2000)
    assert states[0][0] == "loading" and states[-1] == ("ready", "fake on cpu") and svc.has_model()
    with qtbot.waitSignal(svc.decodeFinished, timeout=5000):
        svc.encode(*images[0])
        svc.decode("k0", P)


def test_navigation_replans_prefetch_from_cache(qtbot, make_service, images) -> None:
    """Moving k1 -> k2 -> k1 (list set before each encode, as the window does) re-checks neighbours
    without re-encoding what is cached."""
    fake = FakePredictor()
    svc = make_service(fake, prefetch=1)
    states = _collect(svc.encodeStateChanged)
    for idx, expected_calls in ((1, 3), (2, 4), (1, 4)):
        svc.set_image_list(images, idx)
        svc.encode(*images[idx])
        qtbot.waitUntil(lambda: fake.encode_calls == expected_calls, timeout=5000)
    qtbot.waitUntil(lambda: states[-2:] in ([("k0", "ready"), ("k2", "ready")], [("k2", "ready"), ("k0", "ready")]),
                    timeout=5000)
    assert fake.encode_calls == 4


def test_loading_a_model_warms_it_up_before_ready(qtbot, make_service, monkeypatch) -> None:
    """A loaded model runs one blank encode + predict while "loading" is shown (first-call costs,
    some of them GIL-holding, are paid there and not at the first click)."""
    from app.services import worker_api as worker_mod

    fake = FakePredictor()
    seen: list[tuple[str, int]] = []
    fake.on_encode = lambda n: seen.append(("encode", n))
    fake.on_decode = lambda n: seen.append(("decode", n))
    monkeypatch.setattr(worker_mod, "load_predictor", lambda **kw: fake)
    svc = make_service(None)
    states = _collect(svc.modelStateChanged)
    svc.load_model("fake", None, "cpu")
    qtbot.waitUntil(lambda: bool(states) and states[-1][0] == "ready", timeout=5000)
    assert seen == [("encode", 1), ("decode", 1)]
    assert [s for s, _ in states] == ["loading", "ready"]
