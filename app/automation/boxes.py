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
from collections.abc import Mapping

import numpy as np

from app.automation.api import AutomationContext, AutomationScope, AutomationInput, Progress, Proposal
from app.core.formats.common import check_cancel
from app.core.model import Annotation
from app.core.options import Option, OptionValue, resolve_options
from app.core.rle import mask_to_rle
from sam_backend.families import Embedding, Predictor

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
    areas = [int(np.count_nonzero(m)) for m in pred.masks]
    nonempty = [k for k, a in enumerate(areas) if a > 0]
    if not nonempty:
        return None
    k = max(nonempty, key=lambda i: float(pred.scores[i])) if multimask else 0
    if areas[k] == 0:
        return None
    return np.asarray(pred.masks[k], dtype=bool), float(pred.scores[k]), k


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
        for i, ann in enumerate(boxes):
            check_cancel(cancel)
            box = box_of(ann)
            found = box_mask(ctx.predictor, emb, box, multimask)
            if found is not None:
                mask, score, k = found
                extra = {"automation": "boxes", "source_annotation": ann.id, "box": list(box),
                         "predicted_iou": score, "candidate": k}
                out.append(Proposal(rle=mask_to_rle(mask), label=item.labels.get(ann.label_id), score=score,
                                    group_id=ann.group_id, extra=extra))
            if progress is not None:
                progress(i + 1, len(boxes))
        return out


BOXES_AUTOMATION = BoxesAutomation()
