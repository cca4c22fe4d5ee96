"""One end-to-end run with a REAL (randomly initialised) MobileSAM through the service."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from app.services.prompts import PromptSet
from sam_backend import SamPredictor, build_model
from sam_backend.cache import CacheKey, EmbeddingCache, sha1_of_file
from sam_backend.paths import embeddings_dir


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_real_mobile_sam_encode_decode_and_disk_cache(qtbot, make_service, images) -> None:
    torch.manual_seed(0)
    predictor = SamPredictor(build_model("mobile_sam"), "mobile_sam", "cpu")
    svc = make_service(None, disk=True)
    svc.set_predictor(predictor, "mobile_sam")
    assert svc.model_text() == "mobile_sam on cpu"
    key, path = images[1]
    svc.encode(key, path)
    prompts = PromptSet().with_point(30, 20, 1).with_box(10, 10, 50, 40)
    with qtbot.waitSignal(svc.decodeFinished, timeout=240000) as blocker:
        svc.decode(key, prompts)
    pred = blocker.args[0].prediction
    assert pred.masks.shape == (3, 48, 64) and pred.masks.dtype == bool
    assert pred.scores.shape == (3,) and np.isfinite(pred.scores).all()
    assert pred.low_res_logits.shape == (3, 256, 256) and pred.low_res_logits.dtype == np.float32
    # the embedding went to the persistent cache under (model id, file sha1, preprocess version)
    cached = EmbeddingCache(0, embeddings_dir()).get(CacheKey("mobile_sam", sha1_of_file(path), 1))
    assert cached is not None and tuple(cached.features.shape) == (1, 256, 64, 64)
    assert cached.original_size == (48, 64)
    # refinement with the previous low-res logits goes through the same path
    with qtbot.waitSignal(svc.decodeFinished, timeout=60000) as again:
        svc.decode(key, prompts.with_point(40, 30, 0), mask_input=pred.low_res_logits[0])
    assert again.args[0].prediction.masks.shape == (3, 48, 64)


@pytest.mark.timeout(120)
def test_load_model_from_a_checkpoint_file(qtbot, make_service, tmp_path) -> None:
    """The real load path: sam_backend.load_predictor(model=, checkpoint=, device=) in the worker."""
    torch.manual_seed(1)
    ckpt = tmp_path / "random_mobile_sam.pt"
    torch.save(build_model("mobile_sam").state_dict(), ckpt)
    svc = make_service(None)
    prog: list = []
    svc.progress.connect(lambda *a: prog.append(a))
    with qtbot.waitSignal(svc.modelStateChanged, timeout=100000,
                          check_params_cb=lambda state, text: state != "loading") as blocker:
        svc.load_model("mobile_sam", str(ckpt), "cpu")
    assert blocker.args == ["ready", "mobile_sam on cpu"] and svc.has_model()
    assert prog[0] == ("Loading mobile_sam", 0, -1) and prog[-1] == ("Loading mobile_sam", 1, 1)
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    with qtbot.waitSignal(svc.failed, timeout=100000) as failed:
        svc.load_model("mobile_sam", str(broken), "cpu")
    assert "broken.pt" in failed.args[0]
    qtbot.waitUntil(lambda: svc.model_state() == "ready", timeout=5000)  # the loaded model stays


@pytest.mark.timeout(240)
def test_a_fast_mode_is_loaded_shown_and_cached_apart_from_exact(qtbot, make_service, images, tmp_path) -> None:
    """Issue 16: the model manager's speed mode reaches load_predictor; the status says the mode; its
    (approximate) embeddings are cached apart, so that exact mode never reads them."""
    torch.manual_seed(2)
    ckpt = tmp_path / "random_mobile_sam.pt"
    torch.save(build_model("mobile_sam").state_dict(), ckpt)
    svc = make_service(None, disk=True)
    with qtbot.waitSignal(svc.modelStateChanged, timeout=200000,
                          check_params_cb=lambda state, text: state != "loading") as blocker:
        svc.load_model("mobile_sam", str(ckpt), "cpu", "int8")
    assert blocker.args == ["ready", "mobile_sam (int8) on cpu"]
    assert svc.requested_model() == ("mobile_sam", str(ckpt), "cpu", "int8")
    key, path = images[1]
    svc.encode(key, path)
    with qtbot.waitSignal(svc.decodeFinished, timeout=200000):
        svc.decode(key, PromptSet().with_point(30, 20, 1))
    disk = EmbeddingCache(0, embeddings_dir())
    sha = sha1_of_file(path)
    assert disk.get(CacheKey("mobile_sam.int8", sha, 1)) is not None
    assert disk.get(CacheKey("mobile_sam", sha, 1)) is None
