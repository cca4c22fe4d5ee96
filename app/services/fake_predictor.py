"""A deterministic, fast stand-in for a SAM predictor (tests and GUI development without weights).

It has the predictor interface of sam_backend (`encode`, `predict`, `device`, `model_id`,
`preprocess_version`) and produces recognisable output: three concentric disks of radius r, 1.5 r
and 2 r around the mean foreground point (or the box centre) with scores (0.9, 0.8, 0.7).
Coordinates: original-image pixels, x right, y down, pixel centres at integer coordinates.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Sequence

import numpy as np
import torch

from sam_backend.errors import EncodeAborted
from sam_backend.types import ImageEmbedding, Prediction

LOW_RES = 256
SCORES = (0.9, 0.8, 0.7)
ABORT_POLL_S = 0.005  # how often a delayed encode polls should_abort (like SamPredictor between blocks)


class FakePredictor:
    """Fake predictor with optional artificial delays and injectable failures.

    Args:
        encode_delay / decode_delay: seconds slept inside encode / predict (to test "newest wins" and stalls).
        radius: base disk radius r in image px; None -> box: min(box w, h) / 4, points: min(H, W) / 16 (>= 1).
        model_id: reported as `model_id` and stored in embeddings.
        device: reported device string.

    Attributes:
        encode_calls / decode_calls: how many times each ran (thread-safe counters; aborted encodes count).
        encode_aborts: how many encodes stopped early because `should_abort` returned True.
        encode_error / decode_error: when set, the next call raises it (then it is cleared).
        on_encode / on_decode: optional hooks called with the 1-based call number at the start of each
            call, in the calling thread (tests use them to hold a call at a known point).
    """

    preprocess_version = 1
    prompt_kinds: frozenset[str] = frozenset({"points", "box", "mask"})  # sam_backend.families.Predictor
    candidates = 3
    score_name = "predicted IoU"

    def __init__(self, encode_delay: float = 0.0, decode_delay: float = 0.0, radius: float | None = None,
                 model_id: str = "fake", device: str = "cpu") -> None:
        self.encode_delay = encode_delay
        self.decode_delay = decode_delay
        self.radius = radius
        self.model_id = model_id
        self.device = device
        self.encode_calls = 0
        self.decode_calls = 0
        self.encode_aborts = 0
        self.encode_error: BaseException | None = None
        self.decode_error: BaseException | None = None
        self.on_encode: Callable[[int], None] | None = None
        self.on_decode: Callable[[int], None] | None = None
        self._lock = threading.Lock()

    @property
    def device_name(self) -> str:
        """Where it "runs" (the device given)."""
        return str(self.device)

    def encode(self, image: np.ndarray, should_abort: Callable[[], bool] | None = None) -> ImageEmbedding:
        """HxWx3 uint8 RGB -> ImageEmbedding with a tiny (1, 3, 4, 4) float32 `features` (per-channel means).

        should_abort: like SamPredictor.encode: polled before and every ABORT_POLL_S during a positive
        `encode_delay`; when it returns True, EncodeAborted is raised (and `encode_aborts` counted).
        """
        with self._lock:
            self.encode_calls += 1
            n = self.encode_calls
            err, self.encode_error = self.encode_error, None
        if self.on_encode is not None:
            self.on_encode(n)
        if err is not None:
            raise err
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 image, got shape {image.shape} dtype {image.dtype}")
        if should_abort is None:
            if self.encode_delay > 0:
                time.sleep(self.encode_delay)
        else:
            self._abortable_sleep(self.encode_delay, should_abort)
        h, w = int(image.shape[0]), int(image.shape[1])
        means = torch.from_numpy(image.reshape(-1, 3).mean(axis=0).astype(np.float32))
        features = means.view(1, 3, 1, 1).expand(1, 3, 4, 4).contiguous()
        scale = 1024.0 / max(h, w)
        input_size = (int(h * scale + 0.5), int(w * scale + 0.5))
        return ImageEmbedding(model_id=self.model_id, features=features, original_size=(h, w),
                              input_size=input_size, preprocess_version=self.preprocess_version)

    def _abortable_sleep(self, delay: float, should_abort: Callable[[], bool]) -> None:
        """Sleep `delay` seconds in ABORT_POLL_S slices, raising EncodeAborted once should_abort() is True.

        Without a delay there is nothing to interrupt: should_abort is not polled (an instant encode
        never aborts, so call counts of tests without delays do not depend on thread timing).
        """
        if delay <= 0:
            return
        end = time.perf_counter() + delay
        while True:
            if should_abort():
                with self._lock:
                    self.encode_aborts += 1
                raise EncodeAborted("the image encode was aborted for a more urgent request")
            left = end - time.perf_counter()
            if left <= 0:
                return
            time.sleep(min(ABORT_POLL_S, left))

    def predict(self, emb: ImageEmbedding, points: Sequence[tuple[float, float]] | None = None,
                labels: Sequence[int] | None = None, box: tuple[float, float, float, float] | None = None,
                mask_input: np.ndarray | None = None, multimask: bool = True) -> Prediction:
        """Three disks (C=3, or the first only when multimask is False).

        masks bool (C, H, W); scores float32 (C,); low_res_logits float32 (C, 256, 256) with +10 inside
        the disk and -10 outside (the 256x256 frame covers the padded 1024 square, like SAM).
        Raises ValueError when there is neither a foreground point nor a box.
        """
        with self._lock:
            self.decode_calls += 1
            n = self.decode_calls
            err, self.decode_error = self.decode_error, None
        if self.on_decode is not None:
            self.on_decode(n)
        if err is not None:
            raise err
        if self.decode_delay > 0:
            time.sleep(self.decode_delay)
        h, w = emb.original_size
        cx, cy, r = self._centre_radius(h, w, points, labels, box)
        radii = [r, 1.5 * r, 2.0 * r][: 3 if multimask else 1]
        masks = np.zeros((len(radii), h, w), dtype=bool)
        low = np.full((len(radii), LOW_RES, LOW_RES), -10.0, dtype=np.float32)
        s = LOW_RES / max(h, w)  # image px -> low-res px (256 covers the padded 1024 square)
        for k, rad in enumerate(radii):
            _disk(masks[k], cx, cy, rad, True)
            _disk(low[k], cx * s, cy * s, rad * s, 10.0)
        scores = np.asarray(SCORES[: len(radii)], dtype=np.float32)

        def full_logits(k: int) -> np.ndarray:
            return np.where(masks[k], np.float32(10.0), np.float32(-10.0)).astype(np.float32)

        return Prediction(masks=masks, scores=scores, low_res_logits=low, _logits_fn=full_logits)

    def _centre_radius(self, h: int, w: int, points: Sequence[tuple[float, float]] | None,
                       labels: Sequence[int] | None, box: tuple[float, float, float, float] | None
                       ) -> tuple[float, float, float]:
        pts = list(points or [])
        labs = list(labels) if labels is not None else [1] * len(pts)
        fg = [p for p, lab in zip(pts, labs) if lab == 1]
        if fg:
            cx = float(np.mean([p[0] for p in fg]))
            cy = float(np.mean([p[1] for p in fg]))
            default_r = min(h, w) / 16.0
        elif box is not None:
            x0, y0, x1, y1 = box
            cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
            default_r = min(x1 - x0, y1 - y0) / 4.0
        else:
            raise ValueError("the fake predictor needs a foreground point or a box")
        r = self.radius if self.radius is not None else default_r
        return cx, cy, max(float(r), 1.0)


def _disk(arr: np.ndarray, cx: float, cy: float, r: float, value: object) -> None:
    """Set arr[y, x] = value where (x - cx)^2 + (y - cy)^2 <= r^2, touching only the bounding window."""
    hh, ww = arr.shape
    x0, x1 = max(int(np.floor(cx - r)), 0), min(int(np.ceil(cx + r)) + 1, ww)
    y0, y1 = max(int(np.floor(cy - r)), 0), min(int(np.ceil(cy + r)) + 1, hh)
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.ogrid[y0:y1, x0:x1]
    inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
    arr[y0:y1, x0:x1][inside] = value
