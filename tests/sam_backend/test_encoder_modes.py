"""The opt-in encoder modes (bf16, int8) on real MobileSAM weights: what each predictor reports, how
close its masks stay to exact fp32, and that they leave the shared network untouched; the mode list
the model manager shows (sam_backend.modes)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sam_backend import SamPredictor, load_predictor, modes

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "sam_reference"


@pytest.fixture(scope="module")
def exact() -> SamPredictor:
    weights = REFERENCE / "golden_mobile_sam_weights_fp16.pt"
    if not weights.is_file():
        pytest.skip("golden fixtures unavailable")
    return load_predictor("mobile_sam", checkpoint=weights, device="cpu")


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return np.asarray(Image.open(REFERENCE / "golden_image.png").convert("RGB"))


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.count_nonzero(a & b) / max(1, np.count_nonzero(a | b)))


@pytest.mark.parametrize("precision, min_iou", [("bf16", 0.95), ("int8", 0.9)])
def test_low_precision_modes_stay_close_to_exact(exact: SamPredictor, image: np.ndarray, precision: str, min_iou: float) -> None:
    before = {k: v.clone() for k, v in exact.model.image_encoder.state_dict().items()}
    fast = SamPredictor(exact.model, "mobile_sam", "cpu", precision=precision)
    setup = fast.encoder_setup
    assert (setup.precision, setup.exact, setup.engine, setup.route) == (precision, False, "torch", "fast")
    assert setup.describe().startswith(f"approximate {precision}")
    ref_emb, emb = exact.encode(image), fast.encode(image)
    assert emb.features.dtype == torch.float32 and emb.features.shape == ref_emb.features.shape
    diff = float((emb.features - ref_emb.features).abs().max())
    assert 0 < diff < 1.0  # really another arithmetic, still the same embedding up to rounding
    for point in [(100, 80), (250, 200), (400, 300)]:
        ref = exact.predict(ref_emb, points=[point], labels=[1])
        got = fast.predict(emb, points=[point], labels=[1])
        assert min(_iou(a, b) for a, b in zip(ref.masks, got.masks)) >= min_iou
    after = exact.model.image_encoder.state_dict()
    assert all(after[k].dtype == v.dtype and torch.equal(after[k], v) for k, v in before.items())


def test_exact_setup_and_refusals(exact: SamPredictor) -> None:
    assert exact.encoder_setup.exact and exact.encoder_setup.precision == "fp32"
    assert exact.encoder_setup.describe() == "exact fp32, torch fast route on cpu"
    reference = SamPredictor(exact.model, "mobile_sam", "cpu", fast=False)
    assert reference.encoder_setup.route == "reference"
    with pytest.raises(ValueError, match="reference route runs fp32 only"):
        SamPredictor(exact.model, "mobile_sam", "cpu", precision="int8", fast=False)
    with pytest.raises(ValueError, match="unknown precision"):
        SamPredictor(exact.model, "mobile_sam", "cpu", precision="int4")


def test_mode_list_with_figures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    figures = {"device": "cpu", "machine": "test box", "models": {"mobile_sam": {
        "fp32": {"speedup": 1.0, "mask_iou": 1.0, "min_iou": 1.0},
        "bf16": {"speedup": 2.5, "mask_iou": 0.99, "min_iou": 0.95}}}}
    path = tmp_path / "figures.json"
    path.write_text(json.dumps(figures))
    monkeypatch.setattr(modes, "FIGURES", path)
    listed = modes.encoder_modes("mobile_sam", "cpu")
    assert [m.precision for m in listed] == ["fp32", "bf16", "int8", "fp16"]
    fp32, bf16, int8, fp16 = listed
    assert fp32.exact and fp32.available and not bf16.exact
    assert (bf16.speedup, bf16.mask_iou, bf16.min_iou, bf16.measured_on) == (2.5, 0.99, 0.95, "test box")
    assert int8.speedup is None and int8.available  # not measured, but runs on any CPU
    assert not fp16.available and fp16.reason == "CUDA only"
    assert "2.5x faster" in bf16.label() and "99.0% IoU (worst 95.0%)" in bf16.label()
    on_gpu = modes.encoder_modes("mobile_sam", "cuda:0")
    assert [m.available for m in on_gpu] == [True, True, False, True]
    assert all(m.speedup is None for m in on_gpu)  # the figures were measured on the CPU
    assert all(m.speedup is None for m in modes.encoder_modes("sam_vit_h", "cpu"))
    path.write_text("{not json")
    assert modes.encoder_modes("mobile_sam")[1].speedup is None


def test_shipped_figures_cover_the_default_model() -> None:
    data = modes.measured()
    mobile = data["models"]["mobile_sam"]
    for precision in ("fp32", "bf16", "int8"):
        assert mobile[precision]["speedup"] > 0 and 0 < mobile[precision]["mask_iou"] <= 1.0
    assert mobile["fp32"]["mask_iou"] == 1.0


def test_transformers_families_offer_only_what_they_can_run() -> None:
    """SAM 2.1 / SAM 3 / EdgeTAM run half precision only as CUDA autocast and have no int8 route: the
    model manager must not offer those modes as working on the CPU (loading int8 would fail)."""
    from sam_backend.modes import encoder_modes

    cpu = {m.precision: m for m in encoder_modes("sam2.1_hiera_tiny", "cpu")}
    assert cpu["fp32"].available
    assert not cpu["bf16"].available and not cpu["fp16"].available and not cpu["int8"].available
    assert cpu["int8"].reason == "not for this model family"
    cuda = {m.precision: m for m in encoder_modes("sam2.1_hiera_tiny", "cuda")}
    assert cuda["bf16"].available and cuda["fp16"].available and not cuda["int8"].available
    sam = {m.precision: m for m in encoder_modes("mobile_sam", "cpu")}
    assert sam["int8"].available  # our own SAM family keeps its CPU int8 route
