"""The embedding cache keeps SAM 2 embeddings (image embedding + two high-resolution maps of other
shapes) in memory and on disk, keyed by model id, and a restored embedding predicts like a fresh one."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("transformers", reason="the sam2 extra (transformers) is not installed")

from sam_backend.cache import CacheKey, EmbeddingCache  # noqa: E402
from sam_backend.hf.predictor import HfSamPredictor  # noqa: E402
from tests.sam_backend import _hf_tiny  # noqa: E402


def test_sam2_embedding_round_trips_through_the_disk_cache(tmp_path: Path) -> None:
    pred = HfSamPredictor(_hf_tiny.sam2_image_model(seed=2), "sam2.1_hiera_tiny", "sam2")
    image = np.random.default_rng(3).integers(0, 256, (70, 90, 3), dtype=np.uint8)
    emb = pred.encode(image)
    shapes = [tuple(emb.features.shape)] + [tuple(t.shape) for t in emb.early_features]
    assert len(set(shapes)) == 3  # three resolutions
    key = CacheKey("sam2.1_hiera_tiny", "c" * 40, pred.preprocess_version)
    disk = tmp_path / "emb"
    EmbeddingCache(max_bytes=1 << 30, disk_dir=disk).put(key, emb, strict=True)
    assert EmbeddingCache(max_bytes=0, disk_dir=disk).path_for(key).parent.parent.name == "sam2.1_hiera_tiny"
    back = EmbeddingCache(max_bytes=1 << 30, disk_dir=disk).get(key)  # a fresh cache: read from disk
    assert back is not None
    assert [tuple(back.features.shape)] + [tuple(t.shape) for t in back.early_features] == shapes
    assert back.original_size == emb.original_size and back.input_size == emb.input_size
    for a, b in zip((emb.features, *emb.early_features), (back.features, *back.early_features)):
        torch.testing.assert_close(b, a, atol=2e-3 * float(a.abs().max()), rtol=1e-3)  # stored as float16
    fresh = pred.predict(emb, points=[[20.0, 30.0]], labels=[1])
    cached = pred.predict(back, points=[[20.0, 30.0]], labels=[1])
    np.testing.assert_allclose(cached.low_res_logits, fresh.low_res_logits, atol=0.05)
    assert np.mean(cached.masks != fresh.masks) < 0.01
    other = CacheKey("mobile_sam", "c" * 40, pred.preprocess_version)
    assert EmbeddingCache(max_bytes=1 << 30, disk_dir=disk).get(other) is None  # keyed by model id
