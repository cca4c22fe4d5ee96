"""Test helpers for the automatic mask generator: a synthetic PointDecoder whose masks are known
shapes, and a plain re-statement of the reference algorithm (full-resolution logits for every
candidate, the simplest loops) to compare the generator with."""
from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np
import torch

from sam_backend.amg.decode import DecodedPoints
from sam_backend.amg.layout import crop_boxes, layer_grids
from sam_backend.transforms import postprocess_logits_reference, preprocess_shape


class ShapeDecoder:
    """PointDecoder drawing, for a point, three discs centred on it in the low-res frame
    (radii `radii` low-res cells; logits = slope * (radius - distance)), optionally with a small
    hole at the centre and a small island beside it (for min_mask_region_area), or noise
    (noise-like logits: the whole-field path). Predicted IoUs are a fixed pseudo-random
    function of the point. `snap` rounds the disc centres to a grid of that many low-res cells,
    so that neighbouring points draw identical masks (duplicates for NMS)."""

    def __init__(
        self,
        radii: tuple[float, float, float] = (5.0, 12.0, 30.0),
        slope: float = 3.0,
        holes: bool = False,
        noise: float = 0.0,
        snap: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.radii, self.slope, self.holes, self.noise, self.snap = radii, slope, holes, noise, snap
        self.rng = np.random.default_rng(seed)
        self.encoded: list[tuple[int, int]] = []
        self.decoded_points = 0
        yy, xx = np.mgrid[0:256, 0:256]
        self.yy, self.xx = yy.astype(np.float64), xx.astype(np.float64)

    def encode_image(self, image: np.ndarray, should_abort: Callable[[], bool] | None) -> tuple[int, int]:
        self.encoded.append((int(image.shape[0]), int(image.shape[1])))
        return int(image.shape[0]), int(image.shape[1])

    def decode_points(self, embedding: object, points: np.ndarray, min_iou: float | None) -> DecodedPoints:
        assert isinstance(embedding, tuple)
        h, w = embedding
        ih, iw = preprocess_shape(h, w)
        n = points.shape[0]
        self.decoded_points += n
        low = np.empty((n, 3, 256, 256), dtype=np.float32)
        iou = np.empty((n, 3), dtype=np.float32)
        for i, (x, y) in enumerate(points):
            cx, cy = (x * iw / w + 0.5) / 4 - 0.5, (y * ih / h + 0.5) / 4 - 0.5
            if self.snap:
                cx, cy = round(cx / self.snap) * self.snap, round(cy / self.snap) * self.snap
            dist = np.hypot(self.xx - cx, self.yy - cy)
            for c, r in enumerate(self.radii):
                logits = self.slope * (r - dist)
                if self.holes and c > 0:
                    logits = np.minimum(logits, self.slope * (np.hypot(self.xx - cx, self.yy - cy) - 1.2))
                    island = self.slope * (1.2 - np.hypot(self.xx - (cx + r + 4), self.yy - cy))
                    logits = np.maximum(logits, island)
                if self.noise:
                    logits = logits + self.rng.standard_normal(logits.shape) * self.noise
                low[i, c] = logits
                iou[i, c] = 0.5 + 0.5 * abs(math.sin(x * 12.9898 + y * 78.233 + c * 3.7))
        return DecodedPoints(iou, np.arange(n, dtype=np.int64), low)


def plain_nms(boxes: np.ndarray, scores: np.ndarray, thr: float) -> list[int]:
    """Greedy NMS, one box pair at a time (torchvision's rules, float32, stable ties)."""
    order = sorted(range(len(scores)), key=lambda i: -float(scores[i]))
    b = np.asarray(boxes, dtype=np.float32)
    keep: list[int] = []
    dropped = set()
    for pos, i in enumerate(order):
        if i in dropped:
            continue
        keep.append(i)
        for j in order[pos + 1 :]:
            w = max(np.float32(0), min(b[i, 2], b[j, 2]) - max(b[i, 0], b[j, 0]))
            h = max(np.float32(0), min(b[i, 3], b[j, 3]) - max(b[i, 1], b[j, 1]))
            inter = np.float32(w * h)
            ai = np.float32((b[i, 2] - b[i, 0]) * (b[i, 3] - b[i, 1]))
            aj = np.float32((b[j, 2] - b[j, 0]) * (b[j, 3] - b[j, 1]))
            with np.errstate(invalid="ignore", divide="ignore"):
                iou = np.float32(inter / np.float32(np.float32(ai + aj) - inter))
            if float(iou) > thr:
                dropped.add(j)
    return keep


def plain_box(mask: np.ndarray) -> list[int]:
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return [0, 0, 0, 0]
    return [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]


def plain_regions(mask: np.ndarray, area: int, holes: bool) -> tuple[np.ndarray, bool]:
    work = (~mask if holes else mask).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(work, connectivity=8)
    small = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] < area]
    if not small:
        return mask, False
    if holes:
        return np.isin(labels, [0] + small), True
    big = [i for i in range(1, n) if i not in small]
    if not big:
        big = [int(np.argmax(stats[1:, cv2.CC_STAT_AREA])) + 1]
    return np.isin(labels, big), True


def oracle_generate(decoder: ShapeDecoder, image: np.ndarray, **p: object) -> list[dict[str, object]]:
    """The reference algorithm, stated plainly: every candidate's full-resolution logits."""
    pps = p.get("points_per_side", 32)
    layers = int(p.get("crop_n_layers", 0))  # type: ignore[arg-type]
    grids = p.get("point_grids") or layer_grids(pps, layers, int(p.get("crop_n_points_downscale_factor", 1)))  # type: ignore[arg-type]
    iou_t = float(p.get("pred_iou_thresh", 0.88))  # type: ignore[arg-type]
    stab_t = float(p.get("stability_score_thresh", 0.95))  # type: ignore[arg-type]
    off = float(p.get("stability_score_offset", 1.0))  # type: ignore[arg-type]
    box_t = float(p.get("box_nms_thresh", 0.7))  # type: ignore[arg-type]
    crop_t = float(p.get("crop_nms_thresh", 0.7))  # type: ignore[arg-type]
    min_area = int(p.get("min_mask_region_area", 0))  # type: ignore[arg-type]
    H, W = image.shape[:2]
    everything = []
    for (x0, y0, x1, y1), layer in crop_boxes((H, W), layers, float(p.get("crop_overlap_ratio", 512 / 1500))):  # type: ignore[arg-type]
        crop = image[y0:y1, x0:x1]
        ch, cw = crop.shape[:2]
        emb = decoder.encode_image(crop, None)
        points = grids[layer] * np.array([cw, ch], dtype=np.float64)
        found = []
        for pt in points:
            dec = decoder.decode_points(emb, pt[None], None)
            full = postprocess_logits_reference(torch.from_numpy(dec.low_res[0]), preprocess_shape(ch, cw), (ch, cw))
            for c in range(3):
                iou = dec.iou[0, c]
                if iou_t > 0 and not iou > np.float32(iou_t):
                    continue
                inter = (full[c] > off).sum(dtype=torch.int32)
                union = (full[c] > -off).sum(dtype=torch.int32)
                stab = (inter / union).item()
                if stab_t > 0 and not np.float32(stab) >= np.float32(stab_t):
                    continue
                mask = (full[c] > 0).numpy()
                bx = plain_box(mask)
                ub = np.array([bx[0] + x0, bx[1] + y0, bx[2] + x0, bx[3] + y0], dtype=np.float32)
                if (x0, y0, x1, y1) != (0, 0, W, H):
                    near = (np.abs(ub - np.float32([x0, y0, x1, y1])) <= 20) & ~(np.abs(ub - np.float32([0, 0, W, H])) <= 20)
                    if near.any():
                        continue
                whole = np.zeros((H, W), bool)
                whole[y0:y1, x0:x1] = mask
                found.append(dict(mask=whole, box=[bx[0] + x0, bx[1] + y0, bx[2] + x0, bx[3] + y0], iou=float(iou),
                                  stab=float(np.float32(stab)), point=[float(pt[0] + x0), float(pt[1] + y0)], crop=(x0, y0, x1, y1)))
        boxes = np.array([f["box"] for f in found], dtype=np.float32).reshape(-1, 4)
        keep = plain_nms(boxes - np.float32([x0, y0, x0, y0]), np.array([f["iou"] for f in found], np.float32), box_t)
        everything += [found[i] for i in keep]
    if layers > 0:
        areas = np.array([(f["crop"][2] - f["crop"][0]) * (f["crop"][3] - f["crop"][1]) for f in everything], np.float32)
        keep = plain_nms(np.array([f["box"] for f in everything], np.float32).reshape(-1, 4), np.float32(1) / areas, crop_t)
        everything = [everything[i] for i in keep]
    if min_area > 0:
        scores, new_boxes = [], []
        for f in everything:
            m, a = plain_regions(f["mask"], min_area, True)
            m, b = plain_regions(m, min_area, False)
            f["new"] = m
            new_boxes.append(plain_box(m))
            scores.append(0.0 if (a or b) else 1.0)
            if a or b:
                f["new_box"] = plain_box(m)
        keep = plain_nms(np.array(new_boxes, np.float32).reshape(-1, 4), np.array(scores, np.float32), max(box_t, crop_t))
        everything = [everything[i] for i in keep]
        for f in everything:
            f["mask"] = f["new"]
            f["box"] = f.get("new_box", f["box"])
    return [
        {
            "segmentation": f["mask"],
            "area": int(f["mask"].sum()),
            "bbox": [f["box"][0], f["box"][1], f["box"][2] - f["box"][0], f["box"][3] - f["box"][1]],
            "predicted_iou": f["iou"],
            "point_coords": [f["point"]],
            "stability_score": f["stab"],
            "crop_box": [f["crop"][0], f["crop"][1], f["crop"][2] - f["crop"][0], f["crop"][3] - f["crop"][1]],
        }
        for f in everything
    ]


def assert_same_records(ours: list[dict[str, object]], expected: list[dict[str, object]]) -> None:
    """Same records in the same order, every field equal (masks as arrays)."""
    assert len(ours) == len(expected)
    for i, (a, b) in enumerate(zip(ours, expected)):
        assert np.array_equal(a["segmentation"], b["segmentation"]), f"record {i}: masks differ"
        for key in ("area", "bbox", "point_coords", "crop_box"):
            assert a[key] == b[key], f"record {i}: {key} {a[key]} != {b[key]}"
        for key in ("predicted_iou", "stability_score"):
            assert a[key] == b[key] or (math.isnan(a[key]) and math.isnan(b[key])), f"record {i}: {key} {a[key]} != {b[key]}"
