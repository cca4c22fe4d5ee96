"""Cooperative abort of SamPredictor.encode (should_abort polled between encoder blocks)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sam_backend import SamPredictor, build_model
from sam_backend.errors import EncodeAborted, SamBackendError


class _Counter:
    """should_abort that counts its calls and answers True from call number `abort_at` on (0: never)."""

    def __init__(self, abort_at: int = 0) -> None:
        self.abort_at = abort_at
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.abort_at > 0 and self.calls >= self.abort_at


def _image() -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, size=(60, 80, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def mobile_sam() -> SamPredictor:
    torch.manual_seed(0)
    return SamPredictor(build_model("mobile_sam"), "mobile_sam", "cpu")


@pytest.mark.timeout(120)
def test_mobile_sam_abort_after_k_polls_then_identical_embeddings(mobile_sam: SamPredictor) -> None:
    image = _image()
    for k in (1, 5):
        stop = _Counter(abort_at=k)
        with pytest.raises(EncodeAborted) as info:
            mobile_sam.encode(image, should_abort=stop)
        assert stop.calls == k  # stopped at the first True, without polling again
        assert isinstance(info.value, SamBackendError) and str(info.value).endswith("request")
    never = _Counter()
    polled = mobile_sam.encode(image, should_abort=never)
    assert never.calls >= 10  # polled between the TinyViT blocks, not only at the start and the end
    plain = mobile_sam.encode(image)  # the predictor is intact after the aborts
    assert torch.equal(polled.features, plain.features)
    assert polled.features.shape == (1, 256, 64, 64)
    assert polled.original_size == plain.original_size == (60, 80)
    assert polled.input_size == plain.input_size


@pytest.mark.timeout(60)
def test_vit_encoder_polls_before_every_block() -> None:
    torch.manual_seed(1)
    net = build_model("sam_vit_b", depth=3, embed_dim=32, num_heads=2, global_attn_indexes=(2,))
    predictor = SamPredictor(net, "sam_vit_b", "cpu")
    image = _image()
    never = _Counter()
    polled = predictor.encode(image, should_abort=never)
    assert never.calls == 1 + 3 + 1  # before preprocessing, before each of the 3 blocks, before the neck
    assert torch.equal(polled.features, predictor.encode(image).features)
    stop = _Counter(abort_at=3)
    with pytest.raises(EncodeAborted):
        predictor.encode(image, should_abort=stop)
    assert stop.calls == 3
