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
from dataclasses import dataclass
from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image, ImageDraw

AREA_TYPES = frozenset({"polygon", "rectangle", "circle", "mask", "oriented_rectangle", "rotation"})
LINE_TYPES = frozenset({"point", "line", "linestrip"})
NON_AREA_TYPES = LINE_TYPES | {"points"}
_EXACT_POINTS = {"circle": 2, "mask": 2, "oriented_rectangle": 4, "rotation": 4, "point": 1, "line": 2}
COORD_MARGIN = 16
"""Coordinates may lie outside the image (labelme 7 allows it), but at most this many image sizes
away: beyond that a file is hostile or broken, and rasterising it would cost memory and time."""


class ShapeError(ValueError):
    """A shape cannot be read; the message is one sentence saying why."""


@dataclass(frozen=True)
class ReadShape:
    """One LabelMe shape as read: our shape kind (model.ShapeKind), its defining points
    (rectangle: normalised corners; polygon: the vertices as written; line shapes: their points),
    its HxW mask for area kinds (labelme's rasterisation), and ``change``: a phrase for the
    report's tallies when it was read as something else than it says (None when faithful)."""

    kind: str
    points: tuple[tuple[float, float], ...]
    mask: np.ndarray | None
    change: str | None = None


def _number(v: object, limit: float) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ShapeError(f"it has the coordinate {v!r:.40}, which is not a number")
    try:
        f = float(v)
    except OverflowError:
        raise ShapeError(f"it has the coordinate {str(v)[:40]}, which is too large") from None
    if not math.isfinite(f):
        raise ShapeError(f"it has the coordinate {v!r}, which is not a finite number")
    if abs(f) > limit:
        raise ShapeError(f"it has the coordinate {f:g}, far outside the image")
    return f


def shape_points(shape: dict, height: int = 0, width: int = 0) -> list[tuple[float, float]]:
    """The shape's ``points`` as (x, y) floats; ShapeError for a malformed list or coordinates far
    outside an image of ``height`` x ``width`` (COORD_MARGIN; no bound when the size is 0)."""
    pts = shape.get("points")
    if not isinstance(pts, list) or not pts:
        raise ShapeError("its 'points' is missing or empty")
    if len(pts) > 1_000_000:
        raise ShapeError(f"it has {len(pts)} points, more than any real shape")
    limit = COORD_MARGIN * max(height, width, 1) + 4096 if height and width else float("inf")
    out: list[tuple[float, float]] = []
    for p in pts:
        if not isinstance(p, (list, tuple)) or len(p) != 2:
            raise ShapeError(f"it has the point {p!r:.60}, which is not [x, y]")
        out.append((_number(p[0], limit), _number(p[1], limit)))
    return out


def _decode_mask_png(data: object, want: tuple[int, int]) -> np.ndarray:
    """The bool crop of a base64 PNG whose size must be ``want`` (height, width), checked on the
    header before the pixels are decoded."""
    if not isinstance(data, str) or not data:
        raise ShapeError("it is a 'mask' shape without mask data")
    try:
        raw = base64.b64decode(data, validate=False)
        with Image.open(io.BytesIO(raw)) as im:
            if (im.height, im.width) != want:
                raise ShapeError(f"its mask PNG is {im.width}x{im.height} but its bbox is {want[1]}x{want[0]}")
            arr = np.asarray(im)
    except ShapeError:
        raise
    except (binascii.Error, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ShapeError(f"its mask data is not a base64 PNG ({exc})") from None
    if arr.ndim != 2:
        raise ShapeError(f"its mask PNG has {arr.ndim} dimensions; labelme needs a single-channel image")
    return arr.astype(bool)


def _pil_mask(height: int, width: int, draw_fn: Callable[[ImageDraw.ImageDraw], None]) -> np.ndarray:
    canvas = Image.fromarray(np.zeros((height, width), np.uint8))
    draw_fn(ImageDraw.Draw(canvas))
    return np.asarray(canvas).astype(bool)


def read_shape(shape: dict, height: int, width: int) -> ReadShape:
    """Read one shape of a LabelMe / X-AnyLabeling file for an image of ``height`` x ``width``.

    Area shapes are rasterised as labelme does (PIL, ``fill=1, outline=1``). ``shape_type``
    defaults to "polygon" (files of labelme <= 5.8). Rectangles with 4 corners (X-AnyLabeling
    >= 2.2) are read as rectangles when axis-aligned, as polygons otherwise; ``oriented_rectangle``
    and X-AnyLabeling ``rotation`` are polygons of their 4 corners; ``mask`` bbox corners are
    truncated to integers as labelme does. point/line/linestrip keep their points. ShapeError
    (one sentence) for what cannot be read, including labelme's transient ``points`` shapes.
    """
    st = shape.get("shape_type") or "polygon"
    if not isinstance(st, str):
        raise ShapeError(f"its shape_type {st!r:.40} is not a string")
    if st == "points":
        raise ShapeError("it is a 'points' shape (labelme's transient AI prompt), not an annotation")
    if st not in AREA_TYPES and st not in LINE_TYPES:
        raise ShapeError(f"its shape_type '{st[:40]}' is not one labelme or X-AnyLabeling writes")
    pts = shape_points(shape, height, width)
    need = _EXACT_POINTS.get(st)
    if need is not None and len(pts) != need:
        raise ShapeError(f"a '{st}' shape needs exactly {need} points, it has {len(pts)}")
    if st == "linestrip" and len(pts) < 2:
        raise ShapeError(f"a linestrip needs at least 2 points, it has {len(pts)}")
    if st in LINE_TYPES:
        return ReadShape(st, tuple(pts), None)
    if st == "polygon" and len(pts) < 3:
        raise ShapeError(f"a polygon needs at least 3 points, it has {len(pts)}")
    if st == "mask":
        return _read_mask(shape, pts, height, width)
    if st == "rectangle":
        return _read_rectangle(pts, height, width)
    if st == "circle":
        (cx, cy), (px, py) = pts
        d = math.hypot(cx - px, cy - py)
        mask = _pil_mask(height, width, lambda draw: draw.ellipse([cx - d, cy - d, cx + d, cy + d], outline=1, fill=1))
        return ReadShape("circle", tuple(pts), mask)
    change = None if st == "polygon" else f"'{st}' shape(s) read as polygons of their corners"
    return ReadShape("polygon", tuple(pts), _pil_mask(height, width, lambda draw: draw.polygon(pts, outline=1, fill=1)),
                     change)


def _read_rectangle(pts: list[tuple[float, float]], height: int, width: int) -> ReadShape:
    from app.core.shapes import is_axis_aligned_box, normalized_rectangle

    change = None
    if len(pts) == 4:
        if not is_axis_aligned_box(pts):
            mask = _pil_mask(height, width, lambda draw: draw.polygon(pts, outline=1, fill=1))
            return ReadShape("polygon", tuple(pts), mask, "rotated 4-corner rectangle(s) read as polygons")
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        pts = [(min(xs), min(ys)), (max(xs), max(ys))]
        change = "rectangle(s) written with 4 corners read as rectangles"
    elif len(pts) != 2:
        raise ShapeError(f"a 'rectangle' shape needs 2 or 4 points, it has {len(pts)}")
    a, b = normalized_rectangle(pts[0], pts[1])
    mask = _pil_mask(height, width, lambda draw: draw.rectangle([a, b], outline=1, fill=1))
    return ReadShape("rectangle", (a, b), mask, change)


def _read_mask(shape: dict, pts: list[tuple[float, float]], height: int, width: int) -> ReadShape:
    (x1f, y1f), (x2f, y2f) = pts
    x1, y1, x2, y2 = int(x1f), int(y1f), int(x2f), int(y2f)  # labelme: np.asarray(points).astype(int)
    change = None if all(float(v).is_integer() for v in (x1f, y1f, x2f, y2f)) else \
        "mask shape(s) with fractional bbox corners read with the corners truncated (as labelme does)"
    bw, bh = x2 - x1 + 1, y2 - y1 + 1
    if bw <= 0 or bh <= 0:
        raise ShapeError(f"its mask bbox {x1},{y1} - {x2},{y2} is empty")
    if bw > 2 * width or bh > 2 * height:
        raise ShapeError(f"its mask bbox is {bw}x{bh}, larger than the {width}x{height} image")
    crop = _decode_mask_png(shape.get("mask"), (bh, bw))
    out = np.zeros((height, width), bool)
    ya, xa, yb, xb = max(0, y1), max(0, x1), min(height, y2 + 1), min(width, x2 + 1)
    if ya < yb and xa < xb:  # clipped to the image like labelme 7.1
        out[ya:yb, xa:xb] = crop[ya - y1:yb - y1, xa - x1:xb - x1]
    return ReadShape("mask", ((float(x1), float(y1)), (float(x2), float(y2))), out, change)


def shape_mask(shape: dict, height: int, width: int) -> np.ndarray:
    """HxW bool mask of one area shape as labelme rasterises it; ShapeError for line shapes and
    what read_shape refuses."""
    got = read_shape(shape, height, width)
    if got.mask is None:
        raise ShapeError(f"it is a '{got.kind}' shape, which does not denote an area")
    return got.mask


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
