"""Fixtures for the services tests: small image files and an InferenceService with a fake predictor."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pytest
from PIL import Image

from app.services.inference import InferenceService
from app.services.settings import Settings


@pytest.fixture
def images(tmp_path: Path) -> list[tuple[str, Path]]:
    """Six distinct 48x64 PNG files as (image_key, path)."""
    out = []
    for i in range(6):
        arr = np.full((48, 64, 3), 20 * i, dtype=np.uint8)
        arr[5:10, 5:10] = (255, 0, i)
        path = tmp_path / f"img{i}.png"
        Image.fromarray(arr).save(path)
        out.append((f"k{i}", path))
    return out


@pytest.fixture
def make_service(qtbot) -> Iterator[Callable[..., InferenceService]]:
    """Factory: InferenceService(settings) with `predictor` installed; every service is shut down after the test."""
    made: list[InferenceService] = []

    def factory(predictor: object | None = None, prefetch: int = 0, disk: bool = False) -> InferenceService:
        s = Settings.load()
        s.prefetch_count = prefetch
        s.disk_cache = disk
        s.memory_cache_mb = 64
        svc = InferenceService(s)
        made.append(svc)
        if predictor is not None:
            svc.set_predictor(predictor, "fake")
        return svc

    yield factory
    for svc in made:
        svc.shutdown(5.0)
