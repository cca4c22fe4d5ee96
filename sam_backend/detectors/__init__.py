"""Open-vocabulary detectors for text prompts (Grounded-SAM: phrases -> boxes -> SAM masks).

Cheap to import: numpy only. ``transformers`` (the optional ``text`` extra) is imported by
sam_backend.detectors.grounding_dino when a detector is loaded.

    from sam_backend.detectors import load_detector, parse_prompt
    det = load_detector("grounding-dino-tiny", device="cpu")   # or a save_pretrained folder
    raw = det.detect(image, parse_prompt("cat. traffic light"))
    for d in raw.select(box_threshold=0.35, text_threshold=0.25):
        pred = sam.predict(emb, box=d.box)                      # d.phrase, d.score
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sam_backend.detectors.locate import (DEFAULT_DETECTOR, DETECTOR_IDS, installed_detector_dir,
                                          resolve_detector)
from sam_backend.detectors.types import (ENABLE_TEXT, PROMPT_HELP, Detection, DetectorMissing, RawDetections,
                                         TextPromptsUnavailable, caption_of, parse_prompt, text_support_problem,
                                         token_phrases)

if TYPE_CHECKING:
    from sam_backend.families import Detector

BOX_THRESHOLD = 0.35
TEXT_THRESHOLD = 0.25
"""Grounding DINO's default thresholds."""


def load_detector(id_or_path: str | os.PathLike[str], device: str = "auto", precision: str = "fp32",
                  model_id: str | None = None) -> "Detector":
    """Load a detector by model id (from the model cache) or from a save_pretrained folder.

    model_id: the name it reports (default: the id, or the folder's name).
    TextPromptsUnavailable without transformers; DetectorMissing for an id that is not installed;
    CheckpointError for a folder that does not hold a usable Grounding DINO model.
    """
    problem = text_support_problem()
    if problem is not None:
        raise TextPromptsUnavailable(problem)
    folder = resolve_detector(id_or_path)
    text = os.fspath(id_or_path).strip()
    model_id = model_id or (text if text in DETECTOR_IDS else folder.name)
    from sam_backend.detectors.grounding_dino import load_grounding_dino

    return load_grounding_dino(folder, model_id, device, precision)


__all__ = [
    "BOX_THRESHOLD", "DEFAULT_DETECTOR", "DETECTOR_IDS", "Detection", "DetectorMissing", "ENABLE_TEXT",
    "PROMPT_HELP", "RawDetections", "TEXT_THRESHOLD", "TextPromptsUnavailable", "caption_of",
    "installed_detector_dir", "load_detector", "parse_prompt", "resolve_detector", "text_support_problem",
    "token_phrases",
]
