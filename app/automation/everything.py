"""The "everything" automation: SAM's automatic mask generator (sam_backend.AutomaticMaskGenerator)
over the context's predictor; every generated mask becomes a proposal scored by its predicted IoU.

The whole-image crop reuses the context's embedding of the image (the GUI's cache, or the batch
driver's encode), so an image that was already encoded is not encoded again; crop layers
(``crop_n_layers`` > 0) encode their crops through the predictor.

Qt-free; runs in the inference worker (GUI) or directly (CLI, batch executors).
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

import numpy as np

from app.automation.api import AutomationContext, AutomationScope, AutomationInput, Progress, Proposal
from app.core.formats.common import Cancelled, check_cancel
from app.core.options import Option, OptionValue, resolve_options
from sam_backend.amg.decode import DecodedPoints, SamPointDecoder
from sam_backend.amg.generator import AutomaticMaskGenerator, MaskRecord
from sam_backend.errors import MaskGenerationCancelled
from sam_backend.predictor import SamPredictor

OPTIONS: tuple[Option, ...] = (
    Option("points_per_side", "Points per side", "int", 32,
           help="a grid of N x N point prompts over the image (more finds smaller objects, slower)"),
    Option("pred_iou_thresh", "Predicted IoU threshold", "float", 0.88,
           help="keep masks whose predicted IoU is above this (0 keeps all)"),
    Option("stability_score_thresh", "Stability threshold", "float", 0.95,
           help="keep masks whose stability score is at least this (0 keeps all)"),
    Option("box_nms_thresh", "Overlap (NMS) threshold", "float", 0.7,
           help="drop a mask whose box overlaps a better one by more than this IoU"),
    Option("crop_n_layers", "Crop layers", "int", 0,
           help="also run on 2x2, 4x4... overlapping crops (finds small objects; each layer costs more encodes)"),
    Option("min_mask_region_area", "Minimum region area", "int", 0,
           help="remove holes and islands smaller than this many pixels (0 keeps them)"),
)


class _ContextDecoder:
    """The generator's PointDecoder over a SamPredictor that takes the whole image's embedding from
    the automation context (crops, smaller than the image, are encoded by the predictor)."""

    def __init__(self, ctx: AutomationContext, item: AutomationInput, predictor: SamPredictor) -> None:
        self._ctx, self._item = ctx, item
        self._inner = SamPointDecoder(predictor)

    def encode_image(self, image: np.ndarray, should_abort: Callable[[], bool] | None) -> object:
        """The context's embedding for the whole image (only layer 0 has the image's size), else an encode."""
        if image.shape[:2] == self._item.image.shape[:2]:
            return self._ctx.embedding(self._item)
        return self._inner.encode_image(image, should_abort)

    def decode_points(self, embedding: object, points: np.ndarray, min_iou: float | None) -> DecodedPoints:
        """See sam_backend.amg.decode.PointDecoder."""
        return self._inner.decode_points(embedding, points, min_iou)


def generator_params(params: Mapping[str, OptionValue]) -> dict[str, int | float]:
    """The generator's keyword arguments from the automation's parameters (defaults filled in);
    ValueError (one sentence) for an unknown option or a value the generator refuses."""
    p = resolve_options(OPTIONS, params)
    out: dict[str, int | float] = {}
    for opt in OPTIONS:
        value = p[opt.name]
        if opt.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int) and not (isinstance(value, float) and value.is_integer()):
                raise ValueError(f"{opt.name} takes a whole number (got {value!r}).")
            out[opt.name] = int(value)
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{opt.name} takes a number (got {value!r}).")
            out[opt.name] = float(value)
    if not 0.0 <= out["box_nms_thresh"] <= 1.0:
        raise ValueError(f"box_nms_thresh must be between 0 and 1 (got {out['box_nms_thresh']:g}).")
    if out["points_per_side"] < 1:
        raise ValueError(f"points_per_side must be at least 1 (got {out['points_per_side']}).")
    if out["crop_n_layers"] < 0 or out["min_mask_region_area"] < 0:
        raise ValueError("crop_n_layers and min_mask_region_area cannot be negative.")
    return out


def record_proposal(record: MaskRecord) -> Proposal:
    """The proposal of one generator record (output_mode "coco_rle")."""
    seg = record["segmentation"]
    if not isinstance(seg, dict) or not isinstance(seg.get("counts"), str):
        raise TypeError("expected a compressed RLE record (output_mode coco_rle)")
    extra = {"automation": "everything", "predicted_iou": float(record["predicted_iou"]),
             "stability_score": float(record["stability_score"]),
             "point_coords": [list(map(float, p)) for p in record["point_coords"]],
             "crop_box": [int(v) for v in record["crop_box"]]}
    return Proposal(rle={"size": list(seg["size"]), "counts": seg["counts"]}, label=None,
                    score=float(record["predicted_iou"]), extra=extra)


class EverythingAutomation:
    """Automation "everything": see the module doc. Params: OPTIONS (the generator's parameters)."""

    id = "everything"
    title = "Segment everything"
    scope: AutomationScope = "images"
    needs = frozenset({"points"})
    options = OPTIONS

    def check_params(self, params: Mapping[str, OptionValue]) -> None:
        """ValueError (one sentence) for parameters the generator would refuse (before any model loads)."""
        generator_params(params)

    def propose(self, ctx: AutomationContext, item: AutomationInput, *, params: Mapping[str, OptionValue],
                progress: Progress | None = None, cancel: threading.Event | None = None) -> list[Proposal]:
        """Generate every mask of ``item.image``; proposals in the generator's order. Progress is
        reported and ``cancel`` checked between point batches (Cancelled when set)."""
        kwargs = generator_params(params)
        predictor = ctx.predictor
        if not isinstance(predictor, SamPredictor):
            raise ValueError(f"segment everything needs a SAM model of the built-in engine; "
                             f"{predictor.model_id} is not one.")
        check_cancel(cancel)
        gen = AutomaticMaskGenerator(
            _ContextDecoder(ctx, item, predictor), points_per_side=int(kwargs["points_per_side"]),
            pred_iou_thresh=kwargs["pred_iou_thresh"], stability_score_thresh=kwargs["stability_score_thresh"],
            box_nms_thresh=kwargs["box_nms_thresh"], crop_n_layers=int(kwargs["crop_n_layers"]),
            min_mask_region_area=int(kwargs["min_mask_region_area"]), output_mode="coco_rle")
        try:
            records = gen.generate(item.image, progress=progress, cancel=cancel)
        except MaskGenerationCancelled:
            raise Cancelled("The operation was cancelled; nothing was changed.") from None
        return [record_proposal(r) for r in records]


EVERYTHING_AUTOMATION = EverythingAutomation()
