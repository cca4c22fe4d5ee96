"""The "boxes" automation: every rectangle annotation of an image (e.g. a detection dataset imported
from YOLO, VOC, COCO or CVAT) is turned into SAM's mask for that box, keeping its label: a
detection dataset becomes a segmentation one. The rectangles themselves are left as they are.

SAM answers an unambiguous prompt like a box best with its single-mask output (the default here,
as in SAM's own box examples); with ``multimask`` the best of the three candidates by predicted IoU
is taken instead. A box whose mask is empty gives no proposal.

Qt-free; runs in the inference worker (GUI) or directly (CLI, batch executors).
"""
from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from app.automation.api import AutomationContext, AutomationScope, AutomationInput, Progress, Proposal
from app.core.formats.common import check_cancel
from app.core.model import Annotation
from app.core.options import Option, OptionValue, resolve_options
from app.core.masks import crop_of_mask
from app.core.rle import mask_to_rle, window_to_rle
from sam_backend.families import BoxPredictor, Embedding, Predictor

OPTIONS: tuple[Option, ...] = (
    Option("multimask", "Best of three candidates", "bool", False,
           help="take the best of SAM's three candidates instead of its single answer for a box"),
)


def box_annotations(annotations: tuple[Annotation, ...] | list[Annotation]) -> list[Annotation]:
    """The rectangle annotations (two corner points) among ``annotations``, in their order."""
    return [a for a in annotations if a.shape == "rectangle" and len(a.points) == 2]


def box_of(ann: Annotation) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of a rectangle annotation, corners ordered."""
    (ax, ay), (bx, by) = ann.points
    return float(min(ax, bx)), float(min(ay, by)), float(max(ax, bx)), float(max(ay, by))


def box_mask(predictor: Predictor, emb: Embedding, box: tuple[float, float, float, float],
             multimask: bool) -> tuple[np.ndarray, float, int] | None:
    """(mask, predicted IoU, candidate index) of SAM's answer for ``box``; None when it is empty."""
    pred = predictor.predict(emb, box=box, multimask=multimask)
    return _chosen(pred.masks, pred.scores, multimask)


def _chosen(masks: np.ndarray, scores: np.ndarray, multimask: bool) -> tuple[np.ndarray, float, int] | None:
    """(mask, score, candidate) of one box's candidates: the first (single-mask answer), or the
    best-scoring non-empty one (multimask); None when that is empty."""
    areas = [int(np.count_nonzero(m)) for m in masks]
    nonempty = [k for k, a in enumerate(areas) if a > 0]
    if not nonempty:
        return None
    k = max(nonempty, key=lambda i: float(scores[i])) if multimask else 0
    if areas[k] == 0:
        return None
    return np.asarray(masks[k], dtype=bool), float(scores[k]), k


BOXES_PER_CALL = 16
"""Boxes decoded per predict_boxes call (cancel is checked between calls: ~0.3 s of mobile_sam on a CPU)."""
BoxAnswer = tuple[dict, float, int]
"""(the mask as COCO RLE, predicted IoU, candidate index) of one box."""


def box_answers(predictor: Predictor, emb: Embedding, boxes: Sequence[tuple[float, float, float, float]],
                multimask: bool, cancel: threading.Event | None = None) -> Iterator[BoxAnswer | None]:
    """box_mask of every box, as RLE (None for an empty answer), in order. A model offering
    ``predict_boxes`` (sam_backend.families.BoxPredictor) decodes them all at once and upsamples
    only the masks needed; each RLE is made from the mask's bounding box (window_to_rle), not the
    whole image. The same answers as box_mask box by box (tests/automation/test_boxes_batched.py)."""
    if isinstance(predictor, BoxPredictor):
        for start in range(0, len(boxes), BOXES_PER_CALL):
            check_cancel(cancel)
            decoded = predictor.predict_boxes(emb, [list(b) for b in boxes[start : start + BOXES_PER_CALL]],
                                              multimask=multimask)
            for i in range(len(decoded)):
                check_cancel(cancel)
                yield _as_rle(_chosen(decoded.masks(i), decoded.scores[i], multimask))
        return
    for box in boxes:
        check_cancel(cancel)
        yield _as_rle(box_mask(predictor, emb, box, multimask))


def _as_rle(found: tuple[np.ndarray, float, int] | None) -> BoxAnswer | None:
    if found is None:
        return None
    mask, score, k = found
    got = crop_of_mask(mask)
    if got is None:
        return None
    crop, x0, y0 = got
    h, w = mask.shape
    if crop.size * 4 > h * w:  # a large (or fragmented) mask: pycocotools on the whole one is faster
        return mask_to_rle(mask), score, k
    return window_to_rle(crop, x0, y0, h, w), score, k


class BoxesAutomation:
    """Automation "boxes": see the module doc. Params: multimask (bool, default False)."""

    id = "boxes"
    title = "Boxes to masks"
    scope: AutomationScope = "images"
    needs = frozenset({"box"})
    options = OPTIONS

    def check_params(self, params: Mapping[str, OptionValue]) -> None:
        """ValueError (one sentence) for an unknown option."""
        resolve_options(OPTIONS, params)

    def propose(self, ctx: AutomationContext, item: AutomationInput, *, params: Mapping[str, OptionValue],
                progress: Progress | None = None, cancel: threading.Event | None = None) -> list[Proposal]:
        """One proposal per rectangle annotation with a non-empty mask, in the annotations' order,
        labelled with the rectangle's label; progress after every box, cancel checked before each.
        An image without rectangles is not encoded."""
        multimask = bool(resolve_options(OPTIONS, params)["multimask"])
        boxes = box_annotations(list(item.annotations))
        check_cancel(cancel)
        if not boxes:
            return []
        emb = ctx.embedding(item)
        out: list[Proposal] = []
        answers = box_answers(ctx.predictor, emb, [box_of(a) for a in boxes], multimask, cancel)
        for i, (ann, found) in enumerate(zip(boxes, answers)):
            if found is not None:
                rle, score, k = found
                extra = {"automation": "boxes", "source_annotation": ann.id, "box": list(box_of(ann)),
                         "predicted_iou": score, "candidate": k}
                out.append(Proposal(rle=rle, label=item.labels.get(ann.label_id), score=score,
                                    group_id=ann.group_id, extra=extra))
            if progress is not None:
                progress(i + 1, len(boxes))
        return out


BOXES_AUTOMATION = BoxesAutomation()
