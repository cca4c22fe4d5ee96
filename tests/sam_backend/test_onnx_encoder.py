"""engine="onnxruntime": exported once, verified against torch, reused; any failure keeps torch."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sam_backend import build_model, onnx_encoder
from sam_backend.predictor import SamPredictor

pytest.importorskip("onnxruntime")  # the optional 'onnx' extra
SMALL = dict(depth=2, embed_dim=64, num_heads=4, global_attn_indexes=(1,), window_size=14)


@pytest.fixture()
def model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> torch.nn.Module:
    monkeypatch.setenv("SAM_LABELER_HOME", str(tmp_path))
    torch.manual_seed(0)
    return build_model("sam_vit_b", SMALL)


def test_onnx_engine_matches_torch_and_is_exported_once(model: torch.nn.Module, tmp_path: Path) -> None:
    image = np.random.default_rng(1).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    torch_p = SamPredictor(model, "sam_vit_b", "cpu")
    onnx_p = SamPredictor(model, "sam_vit_b", "cpu", engine="onnxruntime")
    setup = onnx_p.encoder_setup
    assert (setup.engine, setup.exact, setup.note) == ("onnxruntime", True, "")
    exports = list((tmp_path / "onnx").glob("*.onnx"))
    assert len(exports) == 1 and exports[0].with_suffix(".verified.json").is_file()
    a, b = torch_p.encode(image), onnx_p.encode(image)
    torch.testing.assert_close(b.features, a.features, atol=1e-4, rtol=0)
    stamp = exports[0].stat().st_mtime_ns
    again = SamPredictor(model, "sam_vit_b", "cpu", engine="onnxruntime")
    assert again.encoder_setup.engine == "onnxruntime" and exports[0].stat().st_mtime_ns == stamp
    with torch.no_grad():  # other weights: another export
        model.image_encoder.neck[0].weight.mul_(2)
    SamPredictor(model, "sam_vit_b", "cpu", engine="onnxruntime")
    assert len(list((tmp_path / "onnx").glob("*.onnx"))) == 2


def test_failed_verification_keeps_torch(model: torch.nn.Module, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(onnx_encoder, "VERIFY_TOL", -1.0)  # no difference passes
    with pytest.warns(UserWarning, match="differs from torch"):
        p = SamPredictor(model, "sam_vit_b", "cpu", engine="onnxruntime")
    assert p.encoder_setup.engine == "torch" and "differs from torch" in p.encoder_setup.note
    emb = p.encode(np.zeros((32, 32, 3), np.uint8))
    assert emb.features.shape == (1, 256, 64, 64)


def test_missing_onnxruntime_keeps_torch(model: torch.nn.Module, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(onnx_encoder, "available", lambda: "ONNX Runtime is not installed (onnxruntime)")
    with pytest.warns(UserWarning, match="not installed"):
        p = SamPredictor(model, "sam_vit_b", "cpu", engine="onnxruntime")
    assert p.encoder_setup.engine == "torch"
    with pytest.warns(UserWarning, match="exact .fp32. encoder on the CPU only"):
        q = SamPredictor(model, "sam_vit_b", "cpu", engine="onnxruntime", precision="int8")
    assert q.encoder_setup.engine == "torch" and q.encoder_setup.precision == "int8"
