"""Greedy box non-maximum suppression with torchvision's arithmetic (`torchvision.ops.nms`).

Written here because torchvision is not a dependency: no CPU build of it works in our
environments (see COMMON.md), and the automatic mask generator needs only this one operation.
Semantics of torchvision's CPU kernel: boxes (x0, y0, x1, y1) in float32, area (x1 - x0) * (y1 - y0),
boxes visited by decreasing score, a box is dropped when its IoU with an already kept box is
greater than the threshold (IoU in float32, compared in float64). Ties in score keep their input
order (a stable sort; torch's own CPU sort does not promise an order for ties).
"""
from __future__ import annotations

import numpy as np


def box_nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices (int64) of the kept boxes, by decreasing score.

    boxes: (N, 4) x0, y0, x1, y1 (any real dtype; used as float32); scores: (N,) real.
    """
    n = int(scores.shape[0])
    if n == 0:
        return np.zeros((0,), dtype=np.int64)
    b = np.asarray(boxes, dtype=np.float32).reshape(n, 4)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    b = b[order]
    x0, y0, x1, y1 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    area = (x1 - x0) * (y1 - y0)
    suppressed = np.zeros(n, dtype=bool)
    keep: list[int] = []
    for i in range(n):
        if suppressed[i]:
            continue
        keep.append(i)
        rest = slice(i + 1, n)
        w = np.maximum(np.float32(0.0), np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest]))
        h = np.maximum(np.float32(0.0), np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest]))
        inter = w * h
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = inter / ((area[i] + area[rest]) - inter)
        suppressed[rest] |= iou.astype(np.float64) > iou_threshold
    return order[np.asarray(keep, dtype=np.int64)]
