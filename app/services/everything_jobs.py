"""Segment everything on the current image, for the inference worker (Qt-free): what the GUI's
review panel posts through ``InferenceService.run_task``.

``everything_job`` runs a registered automation (normally "everything") on the task's image and
answers an ``EverythingAnswer``: each proposal with what the review panel filters on (area,
predicted IoU, stability) and draws (box, outline contours), plus how much each proposal overlaps
the image's existing annotations and the other proposals. With those the panel re-filters and
suppresses overlaps at once, without another run, and nothing heavy happens on the GUI thread.

Overlap of a proposal A with a mask B: max(IoU(A, B), |A & B| / |A|) — a proposal lying mostly
inside B counts as overlapping even when B is much larger.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from pycocotools import mask as coco_mask

from app.automation.api import Automation, AutomationInput, Proposal
from app.automation.text_prompt import mask_outline
from app.core.formats.common import Cancelled
from app.core.geometry import annotation_mask
from app.core.model import Annotation
from app.core.options import OptionValue
from app.core.rle import mask_to_rle, rle_to_mask
from app.services.automation_jobs import TaskContext
from sam_backend.errors import MaskGenerationCancelled

CHANNEL = "everything"


@dataclass(frozen=True)
class ReviewItem:
    """One proposal as the review panel uses it: area (pixels), predicted IoU and stability score
    (None when the automation gives none: such filters pass it), box (x0, y0, x1, y1) of the
    extreme pixel centres, and outline contours (float32 (N, 2) x, y arrays) for drawing."""

    proposal: Proposal
    area: int
    predicted_iou: float | None
    stability: float | None
    box: tuple[float, float, float, float]
    outlines: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class EverythingAnswer:
    """The proposals (in the automation's order, empty masks left out), the automation that made
    them, ``existing`` (N,): each proposal's largest overlap with an annotation that existed when
    the run started, ``pairs`` (N, N): overlap of proposal i with proposal j (diagonal 0), and the
    seconds the automation took."""

    automation_id: str
    items: tuple[ReviewItem, ...]
    existing: np.ndarray
    pairs: np.ndarray
    seconds: float


def _coco(rle: dict) -> dict:
    counts = rle["counts"]
    if isinstance(counts, list):  # uncompressed -> compressed, as pycocotools' iou wants
        return dict(coco_mask.frPyObjects(rle, *rle["size"]))
    return {"size": list(rle["size"]), "counts": counts.encode("ascii") if isinstance(counts, str) else counts}


def overlaps(a: Sequence[dict], b: Sequence[dict]) -> np.ndarray:
    """(len(a), len(b)) float64: max(IoU, intersection / area of a) of every pair of COCO RLEs
    (all of one size). pycocotools computes both on the run lengths, without decoding."""
    if not a or not b:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    ca, cb = [_coco(r) for r in a], [_coco(r) for r in b]
    iou = np.asarray(coco_mask.iou(ca, cb, [0] * len(cb)), dtype=np.float64).reshape(len(ca), len(cb))
    # with every b marked "crowd", pycocotools divides the intersection by the area of a
    inside = np.asarray(coco_mask.iou(ca, cb, [1] * len(cb)), dtype=np.float64).reshape(len(ca), len(cb))
    return np.maximum(iou, inside)


def _existing_rles(annotations: Sequence[Annotation], height: int, width: int) -> list[dict]:
    out = []
    for ann in annotations:
        try:
            mask = annotation_mask(ann, height, width)
        except ValueError:
            continue  # a mask of another size (the image changed on disk): it cannot overlap
        if mask.any():
            out.append(mask_to_rle(mask))
    return out


def _score(extra: Mapping[str, object], key: str, fallback: float | None) -> float | None:
    value = extra.get(key, fallback)
    return float(value) if isinstance(value, (int, float)) else None


def review_item(proposal: Proposal) -> ReviewItem | None:
    """The ReviewItem of a mask proposal (None for an empty mask or a vector proposal)."""
    if proposal.rle is None:
        return None
    mask = rle_to_mask(proposal.rle)
    cols = np.flatnonzero(mask.any(axis=0))
    if cols.size == 0:
        return None
    rows = np.flatnonzero(mask.any(axis=1))
    box = (float(cols[0]), float(rows[0]), float(cols[-1]), float(rows[-1]))
    extra = proposal.extra
    return ReviewItem(proposal, int(np.count_nonzero(mask)), _score(extra, "predicted_iou", proposal.score),
                      _score(extra, "stability_score", None), box, mask_outline(mask))


def everything_job(automation: Automation, params: Mapping[str, OptionValue], annotations: Sequence[Annotation],
                   labels: Mapping[int, str], text: str,
                   cancel: threading.Event) -> Callable[[TaskContext], EverythingAnswer]:
    """A task running ``automation`` on the task's image with ``params``; ``annotations``: the
    image's annotations when posted (for the overlaps); progress is reported as ``text``;
    ``cancel`` (set by the GUI) stops it between steps."""
    annotations, labels, params = tuple(annotations), dict(labels), dict(params)

    def run(ctx: TaskContext) -> EverythingAnswer:
        def progress(done: int, total: int) -> None:
            ctx.report_progress(text, done, total)

        progress(0, -1)
        t0 = time.perf_counter()
        image = ctx.image()
        item = AutomationInput(image, ctx.task.image_id, annotations, labels)
        try:
            if cancel.is_set():
                raise Cancelled("segment everything was cancelled")
            proposals = automation.propose(ctx, item, params=params, progress=progress, cancel=cancel)
            seconds = time.perf_counter() - t0
            items = []
            for p in proposals:
                if cancel.is_set():
                    raise Cancelled("segment everything was cancelled")
                r = review_item(p)
                if r is not None:
                    items.append(r)
        except (Cancelled, MaskGenerationCancelled):
            progress(0, 0)  # the end of the progress
            raise Cancelled("segment everything was cancelled") from None
        h, w = int(image.shape[0]), int(image.shape[1])
        rles = [r.proposal.rle for r in items if r.proposal.rle is not None]
        existing = overlaps(rles, _existing_rles(annotations, h, w))
        pairs = overlaps(rles, rles)
        np.fill_diagonal(pairs, 0.0)
        progress(1, 1)
        return EverythingAnswer(automation.id, tuple(items),
                                existing.max(axis=1) if existing.size else np.zeros(len(items)), pairs, seconds)

    return run
