"""Fixtures for the automation tests: a tiny random Grounding DINO snapshot, a small random SAM,
an image and a context running them directly."""
from __future__ import annotations

import numpy as np
import pytest

from tests.detector_support import tiny_detector_dir  # noqa: F401 - a fixture

SMALL_SAM = dict(depth=2, embed_dim=64, num_heads=2, global_attn_indexes=[1], window_size=8)


@pytest.fixture(scope="session")
def small_sam():
    """A small randomly initialised SAM (ViT, 2 blocks) on the CPU, with a fixed seed."""
    import torch

    from sam_backend import SamPredictor, build_model

    torch.manual_seed(3)
    return SamPredictor(build_model("sam_vit_b", SMALL_SAM), "sam_vit_b", "cpu")


@pytest.fixture(scope="session")
def scene() -> np.ndarray:
    """A 90 x 120 RGB image: a bright disk and a dark rectangle on a gradient."""
    yy, xx = np.mgrid[0:90, 0:120]
    img = np.zeros((90, 120, 3), np.uint8)
    img[..., 0] = (xx * 2).astype(np.uint8)
    img[..., 1] = (yy * 2).astype(np.uint8)
    img[(xx - 35) ** 2 + (yy - 40) ** 2 < 15 ** 2] = (250, 240, 30)
    img[55:80, 70:110] = (20, 30, 200)
    return img
