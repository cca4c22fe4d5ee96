"""`AutomaticMaskGenerator`: "segment everything" with the SAM paper's algorithm and the
parameters, records and values of the reference `SamAutomaticMaskGenerator` (segment-anything 1.0).

Per crop (the whole image, then `crop_n_layers` layers of overlapping crops): encode it, prompt a
grid of single foreground points in batches, keep the candidates (3 per point) whose predicted
IoU > pred_iou_thresh and stability score >= stability_score_thresh, drop those whose box lies
along an inner crop edge, then box NMS (box_nms_thresh) by predicted IoU. Across crops: box NMS
(crop_nms_thresh) preferring smaller crops. Optionally remove small holes and islands
(min_mask_region_area) and NMS again, preferring masks that did not change.

Unlike the reference, no full-resolution logits are made for the candidates: stability counts
and boxes come from the low-res logits (exactly: `measure`), masks are computed for the final
records only, one at a time, so memory is bounded by the low-res logits of the candidates that
pass the filters (<= 256 KiB each) plus the output itself.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypedDict

import numpy as np
import torch

from sam_backend import transforms
from sam_backend.amg.decode import DecodedPoints, PointDecoder, SamPointDecoder
from sam_backend.amg.layout import crop_boxes, near_crop_edge
from sam_backend.amg.measure import Candidates, Frame, frame_for
from sam_backend.amg.nms import box_nms
from sam_backend.amg.params import AmgParams
from sam_backend.amg.regions import remove_small_regions
from sam_backend.amg.rle import CocoRle, UncompressedRle, coco_rle, coco_rle_to_mask, mask_box, uncompressed_rle
from sam_backend.errors import EncodeAborted, MaskGenerationCancelled
from sam_backend.predictor import SamPredictor

MASK_THRESHOLD = 0.0  # SAM's mask logit threshold
CHUNK = 16  # candidates measured together (their block bounds take ~1.4 MB each at 1.5 MP)

Box = tuple[int, int, int, int]
ProgressCallback = Callable[[int, int], None]
Cancel = threading.Event | Callable[[], bool] | None


class MaskRecord(TypedDict):
    """One generated mask, as the reference's records: segmentation (bool (H, W) array or RLE
    dict, by output_mode), area (pixels), bbox [x, y, w, h] with w = x1 - x0 of the inclusive
    extreme pixels, predicted_iou, point_coords [[x, y]], stability_score, crop_box [x, y, w, h]."""

    segmentation: np.ndarray | UncompressedRle | CocoRle
    area: int
    bbox: list[int]
    predicted_iou: float
    point_coords: list[list[float]]
    stability_score: float
    crop_box: list[int]


@dataclass
class _Kept:
    """Candidates that passed the filters, all from one crop: low-res logits (N, r, c), predicted
    IoU and stability (N,) float32, boxes (N, 4) int64 and points (N, 2) float64 in the image frame."""

    frame: Frame
    crop: Box
    low: np.ndarray
    iou: np.ndarray
    stability: np.ndarray
    boxes: np.ndarray
    points: np.ndarray

    def take(self, idx: np.ndarray) -> _Kept:
        return _Kept(self.frame, self.crop, self.low[idx], self.iou[idx], self.stability[idx], self.boxes[idx], self.points[idx])


class AutomaticMaskGenerator:
    """Masks for everything in an image (Qt-free; run it on a worker thread).

    predictor: a SamPredictor (any model id of the engine) or any `PointDecoder`.
    The parameters have the names, defaults and meanings of the reference generator:
      points_per_side (n*n grid of point prompts per crop, or None with point_grids),
      points_per_batch (points decoded together: a memory/speed knob, results do not depend on it),
      pred_iou_thresh (keep predicted IoU > it; 0 disables), stability_score_thresh (keep
      stability >= it; 0 disables), stability_score_offset (stability = |logits > offset| /
      |logits > -offset|), box_nms_thresh (NMS within a crop), crop_n_layers (extra layers of
      2**i x 2**i crops), crop_nms_thresh (NMS across crops), crop_overlap_ratio,
      crop_n_points_downscale_factor (layer i gets points_per_side / factor**i points per side),
      point_grids (explicit [0, 1] grids per layer), min_mask_region_area (remove smaller holes and
      islands, then NMS), output_mode ("binary_mask", "uncompressed_rle", "coco_rle").
    """

    def __init__(
        self,
        predictor: SamPredictor | PointDecoder,
        points_per_side: int | None = 32,
        points_per_batch: int = 64,
        pred_iou_thresh: float = 0.88,
        stability_score_thresh: float = 0.95,
        stability_score_offset: float = 1.0,
        box_nms_thresh: float = 0.7,
        crop_n_layers: int = 0,
        crop_nms_thresh: float = 0.7,
        crop_overlap_ratio: float = 512 / 1500,
        crop_n_points_downscale_factor: int = 1,
        point_grids: Sequence[np.ndarray] | None = None,
        min_mask_region_area: int = 0,
        output_mode: str = "binary_mask",
    ) -> None:
        self.params = AmgParams(
            points_per_side, points_per_batch, pred_iou_thresh, stability_score_thresh, stability_score_offset,
            box_nms_thresh, crop_n_layers, crop_nms_thresh, crop_overlap_ratio, crop_n_points_downscale_factor,
            point_grids, min_mask_region_area, output_mode,
        )
        if isinstance(predictor, SamPredictor):
            self.decoder: PointDecoder = SamPointDecoder(predictor)
        elif isinstance(predictor, PointDecoder):
            self.decoder = predictor
        else:
            raise TypeError(f"predictor must be a SamPredictor or a PointDecoder, not {type(predictor).__name__}")

    def generate(
        self, image: np.ndarray, progress: ProgressCallback | None = None, cancel: Cancel = None
    ) -> list[MaskRecord]:
        """Masks of an (H, W, 3) uint8 RGB image (other forms as `SamPredictor.encode`), as records.

        progress(done, total) is called after every decoded batch of points (counted over all crops).
        cancel: a threading.Event or a callable; once set/true the run stops at the next check
        (before every encode, inside the encoder, before every batch and every output mask) and
        raises MaskGenerationCancelled.
        """
        rgb = transforms.to_rgb_uint8(image)
        abort = _abort_fn(cancel)
        size = (int(rgb.shape[0]), int(rgb.shape[1]))
        crops = crop_boxes(size, self.params.crop_n_layers, self.params.crop_overlap_ratio)
        total = sum(len(self.params.grids[layer]) for _, layer in crops)
        done = [0]

        def advance(n: int) -> None:
            done[0] += n
            if progress is not None:
                progress(done[0], total)

        kept = [self._crop(rgb, box, layer, size, abort, advance) for box, layer in crops]
        order = self._across_crops(kept)
        return self._records(kept, order, size, abort)

    # ------------------------------------------------------------------ crops
    def _crop(
        self, rgb: np.ndarray, box: Box, layer: int, size: tuple[int, int], abort: Callable[[], bool], advance: Callable[[int], None]
    ) -> _Kept:
        p = self.params
        x0, y0, x1, y1 = box
        crop = rgb[y0:y1, x0:x1]
        ch, cw = int(crop.shape[0]), int(crop.shape[1])
        _check(abort)
        try:
            embedding = self.decoder.encode_image(crop, abort)
        except EncodeAborted:
            raise MaskGenerationCancelled("the mask generation was cancelled") from None
        frame = frame_for(transforms.preprocess_shape(ch, cw), (ch, cw))
        points = p.grids[layer] * np.array([cw, ch], dtype=np.float64)
        parts: list[_Kept] = []
        min_iou = p.pred_iou_thresh if p.pred_iou_thresh > 0 else None
        for s in range(0, points.shape[0], p.points_per_batch):
            _check(abort)
            batch = points[s : s + p.points_per_batch]
            parts.append(self._filter(self.decoder.decode_points(embedding, batch, min_iou), batch, frame, box, size))
            advance(batch.shape[0])
        kept = _concat(parts, frame, box)
        kept = kept.take(box_nms(kept.boxes, kept.iou, p.box_nms_thresh))
        offset = np.array([x0, y0], dtype=np.int64)
        kept.boxes = kept.boxes + np.concatenate([offset, offset])
        kept.points = kept.points + offset
        return kept

    def _filter(self, decoded: DecodedPoints, points: np.ndarray, frame: Frame, box: Box, size: tuple[int, int]) -> _Kept:
        """The candidates of one batch that pass the IoU, stability and crop-edge filters
        (boxes and points still in the crop frame)."""
        p = self.params
        iou = decoded.iou[decoded.decoded].reshape(-1)
        low = decoded.low_res.reshape(-1, *decoded.low_res.shape[2:])
        pts = np.repeat(points[decoded.decoded], 3, axis=0)
        idx = np.arange(iou.shape[0]) if p.pred_iou_thresh <= 0 else np.flatnonzero(iou > np.float32(p.pred_iou_thresh))
        whole_image = box == (0, 0, size[1], size[0])
        parts = []
        for s in range(0, idx.shape[0], CHUNK):
            chunk = idx[s : s + CHUNK]
            cands = Candidates(low[chunk], frame)
            counts = cands.counts_above([MASK_THRESHOLD + p.stability_score_offset, MASK_THRESHOLD - p.stability_score_offset])
            stability = (torch.from_numpy(counts[:, 0].astype(np.int32)) / torch.from_numpy(counts[:, 1].astype(np.int32))).numpy()
            ok = np.arange(chunk.shape[0]) if p.stability_score_thresh <= 0 else np.flatnonzero(stability >= np.float32(p.stability_score_thresh))
            cands = cands.subset(ok)
            boxes = cands.boxes(MASK_THRESHOLD)
            if not whole_image:
                inner = np.flatnonzero(~near_crop_edge(boxes + np.array([box[0], box[1]] * 2), box, size))
                ok, cands, boxes = ok[inner], cands.subset(inner), boxes[inner]
            rows = chunk[ok]
            parts.append(_Kept(frame, box, cands.low, iou[rows], stability[ok], boxes, pts[rows]))
        return _concat(parts, frame, box)

    def _across_crops(self, kept: list[_Kept]) -> list[tuple[int, int]]:
        """(crop index, row) of the masks that survive NMS across crops (smaller crops first)."""
        pairs = [(c, r) for c, k in enumerate(kept) for r in range(k.iou.shape[0])]
        if len(kept) <= 1:
            return pairs
        boxes = np.concatenate([k.boxes for k in kept]).reshape(-1, 4)
        areas = np.concatenate([np.full(k.iou.shape[0], (k.crop[2] - k.crop[0]) * (k.crop[3] - k.crop[1])) for k in kept])
        scores = np.float32(1.0) / areas.astype(np.float32)
        return [pairs[i] for i in box_nms(boxes, scores, self.params.crop_nms_thresh)]

    # ---------------------------------------------------------------- records
    def _records(self, kept: list[_Kept], order: list[tuple[int, int]], size: tuple[int, int], abort: Callable[[], bool]) -> list[MaskRecord]:
        p = self.params
        boxes = {pair: kept[pair[0]].boxes[pair[1]] for pair in order}
        stored: dict[tuple[int, int], CocoRle] = {}
        if p.min_mask_region_area > 0:
            new_boxes, scores = [], []
            for pair in order:
                _check(abort)
                mask, changed = self._clean(self._mask(kept, pair, size))
                stored[pair] = coco_rle(mask)
                new_boxes.append(mask_box(mask))
                scores.append(0.0 if changed else 1.0)
                if changed:
                    boxes[pair] = np.asarray(new_boxes[-1], dtype=np.int64)
            keep = box_nms(np.asarray(new_boxes, dtype=np.int64).reshape(-1, 4), np.asarray(scores), max(p.box_nms_thresh, p.crop_nms_thresh))
            order = [order[i] for i in keep]
        out: list[MaskRecord] = []
        for pair in order:
            _check(abort)
            k, r = kept[pair[0]], pair[1]
            mask = coco_rle_to_mask(stored[pair]) if pair in stored else self._mask(kept, pair, size)
            x0, y0, x1, y1 = (int(v) for v in boxes[pair])
            cx0, cy0, cx1, cy1 = k.crop
            out.append({
                "segmentation": self._encode(mask),
                "area": int(np.count_nonzero(mask)),
                "bbox": [x0, y0, x1 - x0, y1 - y0],
                "predicted_iou": float(k.iou[r]),
                "point_coords": [[float(k.points[r, 0]), float(k.points[r, 1])]],
                "stability_score": float(k.stability[r]),
                "crop_box": [cx0, cy0, cx1 - cx0, cy1 - cy0],
            })
        return out

    def _mask(self, kept: list[_Kept], pair: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
        """bool (H, W) image-frame mask of one kept candidate."""
        k, r = kept[pair[0]], pair[1]
        inside = Candidates(k.low[r : r + 1], k.frame).mask(0, MASK_THRESHOLD)
        x0, y0, x1, y1 = k.crop
        if (x0, y0, x1, y1) == (0, 0, size[1], size[0]):
            return inside
        full = np.zeros(size, dtype=bool)
        full[y0:y1, x0:x1] = inside
        return full

    def _clean(self, mask: np.ndarray) -> tuple[np.ndarray, bool]:
        area = self.params.min_mask_region_area
        mask, holes = remove_small_regions(mask, area, "holes")
        mask, islands = remove_small_regions(mask, area, "islands")
        return mask, holes or islands

    def _encode(self, mask: np.ndarray) -> np.ndarray | UncompressedRle | CocoRle:
        mode = self.params.output_mode
        if mode == "binary_mask":
            return mask
        if mode == "uncompressed_rle":
            return uncompressed_rle(mask)
        return coco_rle(mask)


def _concat(parts: list[_Kept], frame: Frame, box: Box) -> _Kept:
    if not parts:
        shape = (0, frame.geo.rows.n_low, frame.geo.cols.n_low)
        return _Kept(frame, box, np.zeros(shape, np.float32), np.zeros(0, np.float32), np.zeros(0, np.float32),
                     np.zeros((0, 4), np.int64), np.zeros((0, 2), np.float64))
    return _Kept(frame, box, *(np.concatenate([getattr(k, f) for k in parts]) for f in ("low", "iou", "stability", "boxes", "points")))


def _abort_fn(cancel: Cancel) -> Callable[[], bool]:
    if cancel is None:
        return lambda: False
    if isinstance(cancel, threading.Event):
        return cancel.is_set
    if callable(cancel):
        return lambda: bool(cancel())
    raise TypeError(f"cancel must be a threading.Event or a callable, not {type(cancel).__name__}")


def _check(abort: Callable[[], bool]) -> None:
    if abort():
        raise MaskGenerationCancelled("the mask generation was cancelled")
