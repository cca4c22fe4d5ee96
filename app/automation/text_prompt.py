"""The "text" automation (Grounded-SAM): phrases -> detector boxes -> SAM masks -> proposals.

"cat. dog. traffic light" is split into phrases; an open-vocabulary detector (Grounding DINO, see
sam_backend.detectors) answers every query box with its scores; the boxes above the box threshold
whose phrase is above the text threshold are each decoded by the current SAM model into its three
candidates; the best non-empty candidate of each box becomes a proposal labelled by its phrase.

Re-filtering without re-running the detector: ``detect_text`` returns a ``TextSession`` holding the
detector's raw answer and SAM's answer for every box decoded so far; ``TextSession.results`` applies
new thresholds and decodes only the boxes it has not decoded yet.

Qt-free; runs in the inference worker (GUI) or directly (CLI).
"""
from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from app.automation.api import AutomationContext, AutomationInput, AutomationScope, Progress, Proposal
from app.core.formats.common import check_cancel
from app.core.options import Option, OptionValue, resolve_options
from app.core.rle import mask_to_rle
from sam_backend.detectors.locate import DEFAULT_DETECTOR
from sam_backend.detectors.types import Detection, RawDetections, parse_prompt
from sam_backend.families import Detector, Embedding, Predictor

BOX_THRESHOLD = 0.35
TEXT_THRESHOLD = 0.25
MAX_OUTLINES = 64  # contours kept per candidate for drawing (random or noisy masks can have thousands)

OPTIONS: tuple[Option, ...] = (
    Option("prompt", "Text prompt", "str", "", help='phrases separated by "." ("cat. dog. traffic light")'),
    Option("box_threshold", "Box threshold", "float", BOX_THRESHOLD,
           help="keep boxes whose detector score is above this (Grounding DINO's default 0.35)"),
    Option("text_threshold", "Text threshold", "float", TEXT_THRESHOLD,
           help="keep boxes whose phrase score is above this (Grounding DINO's default 0.25)"),
    Option("detector", "Detector", "str", DEFAULT_DETECTOR,
           help="detector model id (sam-labeler models list) or a save_pretrained folder"),
)


@runtime_checkable
class DetectorContext(AutomationContext, Protocol):
    """An AutomationContext that can also give a detector (loaded once, on the predictor's device)."""

    def detector(self, id_or_path: str) -> Detector:
        """The detector ``id_or_path`` (model id or save_pretrained folder), loaded on first use."""


@dataclass(frozen=True)
class BoxMasks:
    """SAM's answer for one box: each candidate's mask as COCO RLE, its predicted IoU and outline
    (contours as float32 (N, 2) x, y arrays in pixel-centre coordinates, for drawing); best: the
    candidate proposed (highest predicted IoU among the non-empty ones; -1 when all are empty)."""

    rles: tuple[dict, ...]
    scores: tuple[float, ...]
    outlines: tuple[tuple[np.ndarray, ...], ...]
    areas: tuple[int, ...]
    best: int


@dataclass(frozen=True)
class TextResult:
    """One kept box and SAM's candidates for it."""

    detection: Detection
    masks: BoxMasks

    def proposal(self, detector_id: str, candidate: int | None = None) -> Proposal:
        """The proposal of candidate ``candidate`` (default: the best one)."""
        k = self.masks.best if candidate is None else int(candidate)
        if not 0 <= k < len(self.masks.rles):
            raise IndexError(f"candidate {k} does not exist: this box has {len(self.masks.rles)}.")
        d = self.detection
        extra = {"automation": "text", "phrase": d.phrase, "box": list(d.box), "detector_score": d.score,
                 "phrase_score": d.phrase_score, "detector": detector_id, "candidate": k,
                 "predicted_iou": self.masks.scores[k]}
        return Proposal(rle=self.masks.rles[k], label=d.phrase, score=float(self.masks.scores[k]), extra=extra)


@dataclass
class TextSession:
    """The detector's answer for one image and prompt, and SAM's answers for the boxes decoded so far.

    Used by one thread at a time (the inference worker, or the CLI). ``sam_model``: the SAM model
    whose masks ``decoded`` holds (a new model decodes again).
    """

    raw: RawDetections
    image_id: int | None
    sam_model: str = ""
    decoded: dict[int, BoxMasks] = field(default_factory=dict)

    def results(self, predictor: Predictor, emb: Embedding, box_threshold: float, text_threshold: float,
                cancel: threading.Event | None = None, progress: Progress | None = None) -> list[TextResult]:
        """The boxes kept by the thresholds (highest detector score first) with SAM's candidates;
        boxes whose candidates are all empty are left out. Decodes only boxes not decoded before."""
        if predictor.model_id != self.sam_model:
            self.decoded.clear()
            self.sam_model = predictor.model_id
        kept = self.raw.select(box_threshold, text_threshold)
        todo = [d for d in kept if d.index not in self.decoded]
        for i, det in enumerate(todo):
            check_cancel(cancel)
            self.decoded[det.index] = decode_box(predictor, emb, det.box)
            if progress is not None:
                progress(i + 1, len(todo))
        return [TextResult(d, self.decoded[d.index]) for d in kept if self.decoded[d.index].best >= 0]

    def proposals(self, predictor: Predictor, emb: Embedding, box_threshold: float, text_threshold: float,
                  cancel: threading.Event | None = None) -> list[Proposal]:
        """``results`` as proposals (each box's best candidate)."""
        return [r.proposal(self.raw.detector_id)
                for r in self.results(predictor, emb, box_threshold, text_threshold, cancel)]


def decode_box(predictor: Predictor, emb: Embedding, box: Sequence[float]) -> BoxMasks:
    """SAM's three candidates for one box (``predictor.predict(emb, box=box)``), as BoxMasks."""
    pred = predictor.predict(emb, box=tuple(float(v) for v in box), multimask=True)
    rles, outlines, areas = [], [], []
    for mask in pred.masks:
        rles.append(mask_to_rle(mask))
        areas.append(int(np.count_nonzero(mask)))
        outlines.append(mask_outline(mask))
    scores = tuple(float(s) for s in pred.scores)
    nonempty = [k for k, a in enumerate(areas) if a > 0]
    best = max(nonempty, key=lambda k: scores[k]) if nonempty else -1
    return BoxMasks(tuple(rles), scores, tuple(outlines), tuple(areas), best)


def mask_outline(mask: np.ndarray) -> tuple[np.ndarray, ...]:
    """The boundary contours of a bool (H, W) mask through its boundary pixel centres (outer and
    hole contours), the longest MAX_OUTLINES of them; float32 (N, 2) x, y arrays."""
    import cv2

    cols = np.flatnonzero(mask.any(axis=0))
    if cols.size == 0:
        return ()
    rows = np.flatnonzero(mask.any(axis=1))
    x0, y0 = int(cols[0]), int(rows[0])
    crop = np.ascontiguousarray(mask[y0:rows[-1] + 1, x0:cols[-1] + 1], dtype=np.uint8)
    contours, _ = cv2.findContours(crop, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    contours = sorted(contours, key=len, reverse=True)[:MAX_OUTLINES]
    return tuple((c.reshape(-1, 2).astype(np.float32) + np.array((x0, y0), np.float32)) for c in contours)


def text_params(params: Mapping[str, OptionValue]) -> tuple[tuple[str, ...], float, float, str]:
    """(phrases, box threshold, text threshold, detector) of the automation's parameters; ValueError
    (one sentence) for an empty prompt or a threshold outside [0, 1]."""
    p = resolve_options(OPTIONS, params)
    phrases = parse_prompt(str(p["prompt"]))
    box_t, text_t = float(p["box_threshold"]), float(p["text_threshold"])
    for name, value in (("box", box_t), ("text", text_t)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"the {name} threshold must be between 0 and 1 (got {value:g}).")
    return phrases, box_t, text_t, str(p["detector"]).strip() or DEFAULT_DETECTOR


def detect_text(ctx: AutomationContext, item: AutomationInput, params: Mapping[str, OptionValue]) -> TextSession:
    """Run the detector on ``item`` for the prompt of ``params`` (nothing decoded yet)."""
    phrases, _, _, detector_id = text_params(params)
    if not isinstance(ctx, DetectorContext):
        raise ValueError("text prompts need a detector, and this context has none.")
    raw = ctx.detector(detector_id).detect(item.image, phrases)
    return TextSession(raw, item.image_id)


class TextPromptAutomation:
    """Automation "text": see the module doc. Params: prompt, box_threshold, text_threshold, detector."""

    id = "text"
    title = "Text prompt (Grounded-SAM)"
    scope: AutomationScope = "images"
    needs = frozenset({"box"})
    options = OPTIONS

    def propose(self, ctx: AutomationContext, item: AutomationInput, *, params: Mapping[str, OptionValue],
                progress: Progress | None = None, cancel: threading.Event | None = None) -> list[Proposal]:
        """Detect, keep the boxes above the thresholds, decode each with SAM: one proposal per box."""
        _, box_t, text_t, _ = text_params(params)
        check_cancel(cancel)
        session = detect_text(ctx, item, params)
        check_cancel(cancel)
        emb = ctx.embedding(item)
        return [r.proposal(session.raw.detector_id)
                for r in session.results(ctx.predictor, emb, box_t, text_t, cancel, progress)]


TEXT_AUTOMATION = TextPromptAutomation()
