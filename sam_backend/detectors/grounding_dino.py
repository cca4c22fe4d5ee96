"""Grounding DINO (and MM-Grounding-DINO, same architecture) through Hugging Face ``transformers``.

The only module of the application that imports ``transformers`` (lazily, when a detector is
loaded): the rest works without the optional ``text`` extra. A detector is a folder written by
``save_pretrained`` (a hub snapshot): config.json, the weights, the tokenizer and the processor
configuration.

``detect`` runs the library's processor and model and keeps every query's scores: the box
arithmetic is the library's (``center_to_corners_format``, scaled by (W, H, W, H) in float32), so
the boxes equal ``GroundingDinoProcessor.post_process_grounded_object_detection`` exactly; the
thresholds are applied later by ``RawDetections.select``.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sam_backend.detectors.types import (ENABLE_TEXT, RawDetections, TextPromptsUnavailable, caption_of,
                                         text_support_problem, token_phrases)
from sam_backend.errors import CheckpointError

MODEL_TYPES = ("grounding-dino", "mm-grounding-dino")
PRECISIONS = ("fp32", "fp16", "bf16")


class GroundingDinoDetector:
    """A Grounding DINO model on one device, used by one thread at a time.

    model_id: what the user chose (an id such as "grounding-dino-tiny", or the folder's name);
    precision: "fp32", or "fp16"/"bf16" = CUDA autocast of the forward pass (ignored elsewhere).
    """

    prompt_kinds: frozenset[str] = frozenset({"text"})
    score_name = "detector score"

    def __init__(self, model: Any, processor: Any, model_id: str, device: str = "auto",
                 precision: str = "fp32") -> None:
        """Wrap an already built ``GroundingDinoForObjectDetection`` and its ``GroundingDinoProcessor``
        (benchmarks, tests); ``load_grounding_dino`` loads both from a folder."""
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r}: choose {', '.join(PRECISIONS)}.")
        import torch

        from sam_backend.device import resolve_device

        if not getattr(processor.tokenizer, "is_fast", False):
            raise CheckpointError(f"the tokenizer of {model_id} is not a fast tokenizer (tokenizer.json): one is "
                                  "needed to tell which phrase each token belongs to.")
        self._torch = torch
        self.model_id = model_id
        self.precision = precision
        self.processor = processor
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.max_text_len = int(model.config.max_text_len)

    @property
    def device_name(self) -> str:
        """Where the network runs ("cpu", "cuda:0")."""
        return str(self.device)

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        torch = self._torch
        if self.device.type == "cuda" and self.precision != "fp32":
            dtype = torch.float16 if self.precision == "fp16" else torch.bfloat16
            return torch.autocast("cuda", dtype=dtype)
        return contextlib.nullcontext()

    def inputs(self, image: np.ndarray, phrases: Sequence[str]) -> tuple[dict[str, Any], np.ndarray]:
        """The processor's model inputs for an (H, W, 3) uint8 RGB image and the phrases (on this
        device), and each token's phrase index (-1 for [CLS], [SEP] and the dots). ValueError (one
        sentence) for a prompt longer than the model's text length."""
        caption, spans = caption_of(tuple(phrases))
        enc = self.processor(images=image, text=caption, return_tensors="pt", return_offsets_mapping=True)
        offsets = [(int(start), int(end)) for start, end in enc.pop("offset_mapping")[0].tolist()]
        n_tokens = int(enc["input_ids"].shape[1])
        if n_tokens > self.max_text_len:
            raise ValueError(f"the text prompt is too long for {self.model_id}: {n_tokens} tokens, at most "
                             f"{self.max_text_len}; use fewer or shorter phrases.")
        inputs = {k: v.to(self.device) for k, v in enc.items()}
        return inputs, token_phrases(offsets, spans)

    def detect(self, image: np.ndarray, phrases: Sequence[str]) -> RawDetections:
        """Every query box for ``phrases`` on ``image`` ((H, W, 3) uint8 RGB), before thresholds."""
        from transformers.image_transforms import center_to_corners_format

        torch = self._torch
        phrases = tuple(phrases)
        if not phrases:
            raise ValueError("no phrase to detect.")
        arr = np.ascontiguousarray(image)
        if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
            raise ValueError(f"the image must be an (H, W, 3) uint8 RGB array, got {arr.dtype} {arr.shape}.")
        h, w = int(arr.shape[0]), int(arr.shape[1])
        inputs, owner = self.inputs(arr, phrases)
        with torch.inference_mode(), self._autocast():
            out = self.model(**inputs)
        logits = out.logits[0].float()
        probs = torch.sigmoid(logits)                          # (Q, max_text_len)
        scores = probs.max(dim=-1).values                      # the library's box score
        scale = torch.tensor([w, h, w, h], dtype=torch.float32, device=logits.device)
        boxes = center_to_corners_format(out.pred_boxes[0].float()) * scale
        p = probs[:, : len(owner)].cpu().numpy()
        phrase_scores = np.zeros((p.shape[0], len(phrases)), dtype=np.float32)
        for k in range(len(phrases)):
            cols = np.flatnonzero(owner == k)
            if len(cols):
                phrase_scores[:, k] = p[:, cols].max(axis=1)
        return RawDetections(self.model_id, phrases, boxes.cpu().numpy().astype(np.float32),
                             scores.cpu().numpy().astype(np.float32), phrase_scores, (h, w))


def load_grounding_dino(folder: str | os.PathLike[str], model_id: str | None = None, device: str = "auto",
                        precision: str = "fp32") -> GroundingDinoDetector:
    """A GroundingDinoDetector for a save_pretrained folder (config.json, weights, tokenizer.json,
    processor configuration). CheckpointError (one sentence) when the folder does not hold a usable
    Grounding DINO model; TextPromptsUnavailable without transformers."""
    if text_support_problem() is not None:
        raise TextPromptsUnavailable(ENABLE_TEXT)
    from transformers import AutoConfig, AutoImageProcessor, AutoTokenizer, GroundingDinoForObjectDetection
    from transformers import GroundingDinoProcessor

    path = Path(folder)
    try:
        config = AutoConfig.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{path} is not a readable detector model folder: {_first_line(exc)}") from None
    if config.model_type not in MODEL_TYPES:
        raise CheckpointError(f"{path} holds a {config.model_type!r} model, not Grounding DINO.")
    try:
        # the PIL image processor explicitly: the same pixels with or without torchvision installed
        images = AutoImageProcessor.from_pretrained(path, local_files_only=True, backend="pil")
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        processor = GroundingDinoProcessor(image_processor=images, tokenizer=tokenizer)
        with _quiet_loading():
            model = GroundingDinoForObjectDetection.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise CheckpointError(f"the detector in {path} cannot be loaded: {_first_line(exc)}") from None
    return GroundingDinoDetector(model, processor, model_id or path.name, device, precision)


@contextlib.contextmanager
def _quiet_loading() -> Iterator[None]:
    """No "Loading weights" progress bar from transformers while loading (it would break the CLI's
    progress line and means nothing for a local folder); the previous setting is restored."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__).rstrip(".") + "."
