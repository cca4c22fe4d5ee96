"""load_predictor: checkpoint reading, strict layout checks with clear errors, devices, precision,
and the CUDA out-of-memory fallback (simulated)."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from sam_backend import CheckpointError, CheckpointMissing, SamBackendError, SamPredictor, load_predictor
from sam_backend.models.loading import identify, read_state_dict

SMALL = dict(depth=4, embed_dim=128, num_heads=4, global_attn_indexes=[1, 3], window_size=14)


@pytest.fixture(scope="module")
def small_state(tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    path = Path(__file__).resolve().parents[2].parent / "shared" / "sam_reference" / "golden_sam_vit_small_weights_fp16.pt"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return torch.load(path, map_location="cpu", weights_only=True)


@pytest.fixture
def small_file(tmp_path: Path, small_state: dict[str, torch.Tensor]) -> Path:
    path = tmp_path / "small.pth"
    torch.save(small_state, path)
    return path


def test_fp16_file_is_cast_to_float32(small_file: Path, small_state: dict) -> None:
    assert small_state["mask_decoder.iou_token.weight"].dtype == torch.float16
    predictor = load_predictor("sam_vit_b", checkpoint=small_file, device="cpu", config=SMALL)
    params = dict(predictor.model.named_parameters())
    assert all(p.dtype == torch.float32 for p in params.values())
    assert torch.equal(params["mask_decoder.iou_token.weight"], small_state["mask_decoder.iou_token.weight"].float())
    assert predictor.model_id == "sam_vit_b-custom"
    assert predictor.device == torch.device("cpu")


def test_truncated_file(tmp_path: Path, small_file: Path) -> None:
    bad = tmp_path / "truncated.pth"
    bad.write_bytes(small_file.read_bytes()[: small_file.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=r"is not a readable checkpoint \(truncated or corrupt\?\)"):
        load_predictor("sam_vit_b", checkpoint=bad, device="cpu", config=SMALL)


def test_garbage_and_missing_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"this is not a checkpoint" * 10)
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        read_state_dict(junk)
    with pytest.raises(CheckpointError, match="does not exist"):
        read_state_dict(tmp_path / "nope.pth")


def test_not_a_state_dict(tmp_path: Path) -> None:
    path = tmp_path / "list.pth"
    torch.save([torch.zeros(3)], path)
    with pytest.raises(CheckpointError, match="not a SAM checkpoint"):
        read_state_dict(path)


def test_wrapped_state_dict_is_unwrapped(tmp_path: Path, small_state: dict) -> None:
    path = tmp_path / "wrapped.pth"
    torch.save({"model": small_state}, path)
    assert set(read_state_dict(path)) == set(small_state)


def test_missing_unexpected_and_mismatched_keys_are_named(tmp_path: Path, small_state: dict) -> None:
    state = dict(small_state)
    del state["mask_decoder.iou_token.weight"]
    state["extra.weight"] = torch.zeros(2)
    state["mask_decoder.mask_tokens.weight"] = torch.zeros(5, 256)
    path = tmp_path / "edited.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError) as err:
        load_predictor("sam_vit_b", checkpoint=path, device="cpu", config=SMALL)
    text = str(err.value)
    assert "1 missing key(s): mask_decoder.iou_token.weight" in text
    assert "1 unexpected key(s): extra.weight" in text
    assert "mask_decoder.mask_tokens.weight (5, 256) vs (4, 256)" in text
    assert "\n" not in text


def test_checkpoint_of_another_model_is_recognised(sam_reference: Path) -> None:
    weights = sam_reference / "golden_mobile_sam_weights_fp16.pt"
    with pytest.raises(CheckpointError, match="looks like a mobile_sam checkpoint") as err:
        load_predictor("sam_hq_vit_tiny", checkpoint=weights, device="cpu")
    assert "missing key(s): mask_decoder.hf_token.weight" in str(err.value)
    with pytest.raises(CheckpointError, match="does not fit model sam_vit_b.*looks like a mobile_sam"):
        load_predictor("sam_vit_b", checkpoint=weights, device="cpu")
    assert identify(read_state_dict(sam_reference / "golden_sam_hq_vit_tiny_weights_fp16.pt")) == "sam_hq_vit_tiny"


def test_no_installed_checkpoint() -> None:
    with pytest.raises(CheckpointMissing, match="mobile_sam"):
        load_predictor("mobile_sam", checkpoint=None, device="cpu")


def test_bad_device_and_precision(small_file: Path) -> None:
    with pytest.raises(SamBackendError, match="tpu"):
        load_predictor("sam_vit_b", checkpoint=small_file, device="tpu", config=SMALL)
    with pytest.raises(ValueError, match="unknown precision"):
        load_predictor("sam_vit_b", checkpoint=small_file, device="cpu", config=SMALL, precision="fp8")
    with pytest.raises(ValueError, match="unknown engine"):
        load_predictor("sam_vit_b", checkpoint=small_file, device="cpu", config=SMALL, engine="tensorrt")
    with pytest.warns(UserWarning, match="only used on CUDA"):
        p = load_predictor("sam_vit_b", checkpoint=small_file, device="cpu", config=SMALL, precision="fp16")
    assert p.precision == "fp16"
    assert p.encoder_setup.precision == "fp32" and p.encoder_setup.exact and "only used on CUDA" in p.encoder_setup.note


def test_cuda_oom_falls_back_to_cpu(small_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    predictor = load_predictor("sam_vit_b", checkpoint=small_file, device="cpu", config=SMALL)
    image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    expected = predictor.encode(image).features
    real_encode = SamPredictor._encode
    calls: list[str] = []

    def flaky(self: SamPredictor, rgb: np.ndarray):
        calls.append(self.device.type)
        if len(calls) == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_encode(self, rgb)

    monkeypatch.setattr(SamPredictor, "_encode", flaky)
    predictor.device = torch.device("cuda")  # pretend the model lives on a GPU
    with pytest.warns(RuntimeWarning, match="CUDA ran out of memory.*continuing on the CPU"):
        emb = predictor.encode(image)
    assert calls == ["cuda", "cpu"]
    assert predictor.device == torch.device("cpu")
    assert predictor.fallback_reason is not None and "out of memory" in predictor.fallback_reason
    assert torch.equal(emb.features, expected)


def test_oom_on_cpu_is_not_swallowed(small_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    predictor = load_predictor("sam_vit_b", checkpoint=small_file, device="cpu", config=SMALL)

    def oom(self: SamPredictor, rgb: np.ndarray):
        raise torch.cuda.OutOfMemoryError("out of memory")

    monkeypatch.setattr(SamPredictor, "_encode", oom)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(torch.cuda.OutOfMemoryError):
            predictor.encode(np.zeros((8, 8, 3), np.uint8))
    assert predictor.fallback_reason is None
