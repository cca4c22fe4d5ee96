"""LabelMe shape objects <-> masks, with labelme's own semantics (formats.md 1.3-1.5, 1.7).

Reading: a shape is rasterised exactly as labelme's ``shape_to_mask`` does (PIL ``ImageDraw`` on a
uint8 HxW canvas, ``fill=1, outline=1``: boundary pixels included; rectangles inclusive of both
corners; circles as ellipses of radius |centre - point|; ``mask`` shapes paste a PNG crop at the
inclusive integer bbox ``points``). Writing: masks become pixel-centre polygons (cv2 contours,
which PIL re-rasterises exactly for hole-free parts) or exact ``mask`` shapes.
All coordinates: image pixels after EXIF rotation, pixel centres at integers.
"""
from __future__ import annotations

import base64
import binascii
import io
import math
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw

AREA_TYPES = frozenset({"polygon", "rectangle", "circle", "mask", "oriented_rectangle"})
NON_AREA_TYPES = frozenset({"point", "line", "linestrip", "points"})
_EXACT_POINTS = {"rectangle": 2, "circle": 2, "mask": 2, "oriented_rectangle": 4}


class ShapeError(ValueError):
    """A shape cannot be turned into a mask; the message is one sentence saying why."""


def _number(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ShapeError(f"it has the coordinate {v!r}, which is not a finite number")
    return float(v)


def shape_points(shape: dict) -> list[tuple[float, float]]:
    """The shape's ``points`` as (x, y) floats; ShapeError for a malformed list."""
    pts = shape.get("points")
    if not isinstance(pts, list) or not pts:
        raise ShapeError("its 'points' is missing or empty")
    out: list[tuple[float, float]] = []
    for p in pts:
        if not isinstance(p, (list, tuple)) or len(p) != 2:
            raise ShapeError(f"it has the point {p!r}, which is not [x, y]")
        out.append((_number(p[0]), _number(p[1])))
    return out


def _decode_mask_png(data: Any) -> np.ndarray:
    if not isinstance(data, str) or not data:
        raise ShapeError("it is a 'mask' shape without mask data")
    try:
        raw = base64.b64decode(data, validate=False)
        with Image.open(io.BytesIO(raw)) as im:
            arr = np.asarray(im)
    except (binascii.Error, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ShapeError(f"its mask data is not a base64 PNG ({exc})") from None
    if arr.ndim != 2:
        raise ShapeError(f"its mask PNG has {arr.ndim} dimensions; labelme needs a single-channel image")
    return arr.astype(bool)


def shape_mask(shape: dict, height: int, width: int) -> np.ndarray:
    """Rasterise one area shape to an HxW bool mask as labelme does.

    ``shape_type`` defaults to "polygon" (files of labelme <= 5.8). ShapeError (one sentence) for
    non-area types (point, line, linestrip, points), unknown types, wrong point counts, bad mask
    data; the caller reports and skips the shape.
    """
    st = shape.get("shape_type") or "polygon"
    if not isinstance(st, str):
        raise ShapeError(f"its shape_type {st!r} is not a string")
    if st in NON_AREA_TYPES:
        raise ShapeError(f"it is a '{st}' shape, which does not denote an area")
    if st not in AREA_TYPES:
        raise ShapeError(f"its shape_type '{st}' is not a labelme area type")
    pts = shape_points(shape)
    need = _EXACT_POINTS.get(st)
    if need is not None and len(pts) != need:
        raise ShapeError(f"a '{st}' shape needs exactly {need} points, it has {len(pts)}")
    if st == "polygon" and len(pts) < 3:
        raise ShapeError(f"a polygon needs at least 3 points, it has {len(pts)}")
    if st == "mask":
        return _mask_shape(shape, pts, height, width)
    canvas = Image.fromarray(np.zeros((height, width), np.uint8))
    draw = ImageDraw.Draw(canvas)
    if st == "rectangle":
        (xa, ya), (xb, yb) = pts
        draw.rectangle([(min(xa, xb), min(ya, yb)), (max(xa, xb), max(ya, yb))], outline=1, fill=1)
    elif st == "circle":
        (cx, cy), (px, py) = pts
        d = math.hypot(cx - px, cy - py)
        draw.ellipse([cx - d, cy - d, cx + d, cy + d], outline=1, fill=1)
    else:  # polygon, oriented_rectangle
        draw.polygon(pts, outline=1, fill=1)
    return np.asarray(canvas).astype(bool)


def _mask_shape(shape: dict, pts: list[tuple[float, float]], height: int, width: int) -> np.ndarray:
    (x1f, y1f), (x2f, y2f) = pts
    if not all(float(v).is_integer() for v in (x1f, y1f, x2f, y2f)):
        raise ShapeError("its mask bbox corners are not integers")
    x1, y1, x2, y2 = int(x1f), int(y1f), int(x2f), int(y2f)
    crop = _decode_mask_png(shape.get("mask"))
    if crop.shape != (y2 - y1 + 1, x2 - x1 + 1):
        raise ShapeError(f"its mask PNG is {crop.shape[1]}x{crop.shape[0]} but its bbox is "
                         f"{x2 - x1 + 1}x{y2 - y1 + 1}")
    out = np.zeros((height, width), bool)
    ya, xa, yb, xb = max(0, y1), max(0, x1), min(height, y2 + 1), min(width, x2 + 1)
    if ya < yb and xa < xb:  # clipped to the image like labelme 7.1
        out[ya:yb, xa:xb] = crop[ya - y1:yb - y1, xa - x1:xb - x1]
    return out


# ---------------------------------------------------------------------------- writing

def _base(label: str, group_id: int | None, shape_type: str, points: list[list[float]]) -> dict:
    return {"label": label, "points": points, "group_id": group_id, "description": "",
            "shape_type": shape_type, "flags": {}, "mask": None}


def mask_shape(crop: np.ndarray, x0: int, y0: int, label: str, group_id: int | None) -> dict:
    """An exact labelme ``mask`` shape for a tight crop (bool hxw) at top-left pixel (x0, y0).

    points = inclusive integer bbox [[x1, y1], [x2, y2]]; mask = base64 of a mode "L" PNG, 0/1.
    """
    h, w = crop.shape
    buf = io.BytesIO()
    Image.fromarray(crop.astype(np.uint8), mode="L").save(buf, format="PNG")
    shape = _base(label, group_id, "mask", [[int(x0), int(y0)], [int(x0 + w - 1), int(y0 + h - 1)]])
    shape["mask"] = base64.b64encode(buf.getvalue()).decode("ascii")
    return shape


def crop_has_holes(crop: np.ndarray) -> bool:
    """True when the mask encloses background (which filled polygons would lose)."""
    padded = np.pad(crop.astype(np.uint8), 1)
    _, hier = cv2.findContours(padded, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    return hier is not None and bool((hier[0][:, 3] != -1).any())


def polygon_shapes(crop: np.ndarray, x0: int, y0: int, label: str, group_id: int | None) -> list[dict]:
    """One shape per connected part (outer boundary, holes filled), pixel-centre coordinates.

    Parts with >= 3 contour points become ``polygon`` shapes (cv2 contours: PIL re-rasterises them
    exactly); smaller parts (1-4 px lines) become an inclusive ``rectangle`` when they fill their
    bbox, else a 3-point polygon repeating a vertex (PIL draws exactly the diagonal pixels).
    """
    padded = np.pad(crop.astype(np.uint8), 1)
    contours, _ = cv2.findContours(padded, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    shapes: list[dict] = []
    for c in contours:
        pts = c.reshape(-1, 2).astype(np.int64) + (x0 - 1, y0 - 1)
        if len(pts) >= 3:
            shapes.append(_base(label, group_id, "polygon", pts.astype(float).tolist()))
            continue
        xs, ys = pts[:, 0], pts[:, 1]
        if len(pts) == 1 or xs[0] == xs[-1] or ys[0] == ys[-1]:
            shapes.append(_base(label, group_id, "rectangle",
                                [[float(xs.min()), float(ys.min())], [float(xs.max()), float(ys.max())]]))
        else:
            p = pts.astype(float).tolist()
            shapes.append(_base(label, group_id, "polygon", [p[0], p[1], p[0]]))
    return shapes
