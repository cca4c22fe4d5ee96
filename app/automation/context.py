"""An AutomationContext for a process that owns its models (the batch CLI, tests, benchmarks).

The GUI's context lives in the inference worker (app.services.automation_jobs); this one is for
code that runs automations directly in its own thread.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from app.automation.api import AutomationInput
from sam_backend.families import Detector, Embedding, Predictor

DetectorLoader = Callable[..., Detector]


def _default_loader(id_or_path: str, device: str = "auto", precision: str = "fp32") -> Detector:
    from sam_backend.detectors import load_detector

    return load_detector(id_or_path, device=device, precision=precision)


class LocalContext:
    """The predictor, the embedding of the last image asked for (kept while the same pixel array is
    passed again), and detectors loaded on first use on the predictor's device (one kept at a time:
    a large detector holds about a gigabyte)."""

    def __init__(self, predictor: Predictor, *, detector_precision: str = "fp32",
                 loader: DetectorLoader | None = None) -> None:
        self._predictor = predictor
        self._precision = detector_precision
        self._loader = loader if loader is not None else _default_loader
        self._detector: tuple[str, Detector] | None = None
        self._emb: tuple[np.ndarray, Embedding] | None = None
        self.encodes = 0

    @property
    def predictor(self) -> Predictor:
        """The segmentation model."""
        return self._predictor

    def embedding(self, item: AutomationInput) -> Embedding:
        """The predictor's embedding of ``item.image`` (encoded once per image array)."""
        if self._emb is None or self._emb[0] is not item.image:
            self._emb = (item.image, self._predictor.encode(item.image))
            self.encodes += 1
        return self._emb[1]

    def detector(self, id_or_path: str) -> Detector:
        """The detector ``id_or_path``, loaded on the predictor's device the first time."""
        if self._detector is None or self._detector[0] != id_or_path:
            self._detector = None  # free the previous one before loading the next
            det = self._loader(id_or_path, device=self._predictor.device_name, precision=self._precision)
            self._detector = (id_or_path, det)
        return self._detector[1]
