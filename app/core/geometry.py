"""Masks <-> polygons (with holes and several parts), RLE, boxes, IoU.

Coordinate frame (formats.md 0.1, "pixel-centre"): x right, y down, pixel (col, row) has its centre at
the integer point (col, row). Masks are H x W bool arrays indexed [row, col].

Rasterisation rule (parts_to_mask): a ring covers the pixels whose centres lie inside it or on it
(even-odd rule for self-intersecting rings), exactly, for any float vertices: rings on the pixel grid
with horizontal/vertical/45-degree edges go through cv2.fillPoly (which is exact for them), all other
rings through a float64 scanline. A Part covers (exterior ring) minus (every hole ring); the mask is
the union of all parts.

Polygon convention (mask_to_parts), chosen so that the round trip is exact:
- one Part per 8-connected foreground component (cv2.findContours), exterior ring through the centres
  of the component's boundary pixels (the cv2 contour, CHAIN_APPROX_SIMPLE, which is lossless);
- hole rings are traced on the HOLE pixels (background pixels enclosed by the component): a hole ring
  runs through the centres of the background pixels at the rim of the hole, never through foreground
  pixels, so removing a hole (centres inside or on its ring) removes exactly the hole pixels;
- islands inside holes are Parts of their own (the union puts them back); so are the rare
  foreground pixels that a hole ring encloses when hole pixels touch only diagonally across a
  one-pixel-wide diagonal foreground feature (found by re-rasterising, then traced again);
- rings that would be degenerate (fewer than 3 points, zero area: one-pixel specks, one-pixel-wide
  lines or spikes) or self-touching are replaced by valid shapely polygons that cover the same pixel
  centres: the valid pieces of the ring plus its outline buffered by 0.5 px (an octagon of radius
  0.5 around a single pixel; no other pixel centre is within 0.7 px of a ring whose vertices are
  pixel centres and whose edges run at 0/45/90 degrees). Every Part is a valid shapely polygon.
Guarantee: parts_to_mask(mask_to_parts(m, simplify=False), H, W) == m for every mask m, one-pixel
features included (property-tested with hypothesis over unions of rectangles and disks with holes
and islands, speckled outlines, and pure random pixel noise).
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import cv2
import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from app.core.model import Annotation, Part, Ring
from app.core.rle import mask_to_rle, rle_to_mask

__all__ = [
    "annotation_mask",
    "iou",
    "mask_bbox",
    "mask_to_corner_polygons",
    "mask_to_parts",
    "mask_to_rle",
    "part_to_polygon",
    "parts_area",
    "parts_bbox",
    "parts_to_corner_polygons",
    "parts_to_mask",
    "polygon_to_parts",
    "rle_to_mask",
    "translate_parts",
]

# Half-width of the band that replaces degenerate (zero-area) ring pieces, px. Any value below
# 1/sqrt(2) is exact: no pixel centre off a ring with pixel-centre vertices and 0/45/90-degree edges
# is closer to it than that. 0.5 makes a one-pixel line as wide as its pixels.
_THIN = 0.5
_OCTAGON = tuple(
    (_THIN * math.cos(k * math.pi / 4), _THIN * math.sin(k * math.pi / 4)) for k in range(8)
)  # the band around a single pixel centre (same shape shapely's buffer(_THIN, quad_segs=2) gives)
_MIN_SIMPLIFY_AREA = 300  # parts with fewer pixels are never simplified
_TOLERANCES = (1.5, 1.0, 0.75, 0.5, 0.35)  # tried largest first; the first meeting min_iou wins
# GEOS' topology-preserving simplifier holds the GIL and grows steeply with the number of rings:
# on a fragmented SAM mask (a part with thousands of holes) one call took ~3 s and froze the GUI
# thread. Such parts keep their exact outline instead (lossless, so the IoU bound holds).
_MAX_SIMPLIFY_HOLES = 32
_MAX_SIMPLIFY_VERTICES = 20_000


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------
def _as_bool(mask: np.ndarray) -> np.ndarray:
    """2-D bool view/copy of `mask` (non-zero = foreground); ValueError for other shapes."""
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ValueError(f"a mask must be a 2-D array, got shape {arr.shape}")
    return arr if arr.dtype == np.bool_ else arr != 0


def _ring_tuple(coords: Iterable[Sequence[float]]) -> Ring:
    """Ring as a tuple of (x, y) floats, without a repeated closing point."""
    pts = [(float(x), float(y)) for x, y in coords]
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts.pop()
    return tuple(pts)


def part_to_polygon(part: Part) -> Polygon:
    """The shapely Polygon of a Part (pixel-centre coordinates; not checked for validity)."""
    return Polygon(part.exterior, [h for h in part.holes])


def polygon_to_parts(geom: BaseGeometry) -> tuple[Part, ...]:
    """Parts of the polygons in a shapely geometry (Polygon, MultiPolygon or collection).

    Lines, points and rings with fewer than 3 points are dropped.
    """
    out: list[Part] = []
    for poly in _polygons(geom):
        ext = _ring_tuple(poly.exterior.coords)
        if len(ext) < 3:
            continue
        holes = tuple(r for r in (_ring_tuple(i.coords) for i in poly.interiors) if len(r) >= 3)
        out.append(Part(exterior=ext, holes=holes))
    return tuple(out)


def _polygons(geom: BaseGeometry) -> list[Polygon]:
    if geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    if isinstance(geom, MultiPolygon):
        return list(geom.geoms)
    if hasattr(geom, "geoms"):
        return [p for g in geom.geoms for p in _polygons(g)]
    return []


# --------------------------------------------------------------------------------------------
# polygons -> mask
# --------------------------------------------------------------------------------------------
def _is_grid_ring(arr: np.ndarray) -> bool:
    """True when every vertex is a pixel centre and every edge is horizontal, vertical or at 45
    degrees: cv2.fillPoly then covers exactly the centres inside or on the ring."""
    if not np.array_equal(arr, np.round(arr)) or np.abs(arr).max() >= 2**28:
        return False
    d = np.abs(np.diff(np.vstack([arr, arr[:1]]), axis=0))
    return bool(np.all((d[:, 0] == 0) | (d[:, 1] == 0) | (d[:, 0] == d[:, 1])))


def _scanline_fill(canvas: np.ndarray, rings: Sequence[np.ndarray], value: int) -> None:
    """Set the canvas pixels whose centres are inside or on any of `rings` (each N x 2 float64, x/y
    in canvas pixels) to value. Even-odd rule within each ring, union across rings; exact in float64
    (no rounding of vertices). All rings are processed in one vectorised pass."""
    h, w = canvas.shape
    if not rings:
        return
    start = np.concatenate([r for r in rings])
    end = np.concatenate([np.roll(r, -1, axis=0) for r in rings])
    ring_id = np.repeat(np.arange(len(rings)), [len(r) for r in rings])
    x0, y0, x1, y1 = start[:, 0], start[:, 1], end[:, 0], end[:, 1]
    # interior: rows r with min(y) <= r < max(y) cross each non-horizontal edge exactly once
    slanted = y0 != y1
    ex0, ey0, ex1, ey1, eid = x0[slanted], y0[slanted], x1[slanted], y1[slanted], ring_id[slanted]
    lo = np.clip(np.ceil(np.minimum(ey0, ey1)), 0, h).astype(np.int64)
    hi = np.clip(np.ceil(np.maximum(ey0, ey1)), 0, h).astype(np.int64)
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    if total:
        edge = np.repeat(np.arange(len(counts)), counts)
        starts = np.cumsum(counts) - counts
        rows = lo[edge] + (np.arange(total) - starts[edge])
        xs = ex0[edge] + (rows - ey0[edge]) * (ex1[edge] - ex0[edge]) / (ey1[edge] - ey0[edge])
        ids = eid[edge]
        order = np.lexsort((xs, rows, ids))
        rows, xs, ids = rows[order], xs[order], ids[order]
        paired = len(rows) % 2 == 0 and np.array_equal(rows[0::2], rows[1::2]) and np.array_equal(ids[0::2], ids[1::2])
        if paired:
            a = np.maximum(np.ceil(xs[0::2]), 0).astype(np.int64)
            b = np.minimum(np.floor(xs[1::2]), w - 1).astype(np.int64)
            keep = a <= b
            for r, xa, xb in zip(rows[0::2][keep].tolist(), a[keep].tolist(), b[keep].tolist()):
                canvas[r, xa : xb + 1] = value
    # boundary pieces: vertices on pixel centres and horizontal edges along pixel rows
    vx, vy = np.round(x0), np.round(y0)
    at_centre = (vx == x0) & (vy == y0) & (vx >= 0) & (vx < w) & (vy >= 0) & (vy < h)
    canvas[vy[at_centre].astype(np.intp), vx[at_centre].astype(np.intp)] = value
    flat = (y0 == y1) & (np.round(y0) == y0) & (y0 >= 0) & (y0 < h)
    for xa, xb, yy in zip(np.minimum(x0, x1)[flat].tolist(), np.maximum(x0, x1)[flat].tolist(), y0[flat].tolist()):
        lo_x, hi_x = max(math.ceil(xa), 0), min(math.floor(xb), w - 1)
        if lo_x <= hi_x:
            canvas[int(yy), lo_x : hi_x + 1] = value


def _ring_array(ring: Sequence[Sequence[float]], dx: float, dy: float) -> np.ndarray | None:
    """Ring as N x 2 float64 shifted by (dx, dy); None when empty or not finite."""
    arr = np.asarray(ring, dtype=np.float64).reshape(-1, 2)
    if arr.size == 0 or not np.isfinite(arr).all():
        return None
    return arr + (dx, dy)


def _fill_rings(canvas: np.ndarray, rings: Iterable[Sequence[Sequence[float]]], value: int, dx: float, dy: float) -> None:
    """Pixels of `canvas` whose centres are inside or on any ring (shifted by dx, dy) := value."""
    floats: list[np.ndarray] = []
    for ring in rings:
        arr = _ring_array(ring, dx, dy)
        if arr is None:
            continue
        if _is_grid_ring(arr):
            cv2.fillPoly(canvas, [arr.astype(np.int32)], value, lineType=cv2.LINE_8)
        else:
            floats.append(arr)
    _scanline_fill(canvas, floats, value)


def parts_to_mask(parts: Sequence[Part], height: int, width: int) -> np.ndarray:
    """Rasterise parts to a bool H x W mask (pixel-centre convention, holes subtracted).

    A pixel is set when its centre is inside or on the exterior ring of some part and not inside or
    on any hole ring of that same part (exact for float vertices; see the module docstring). Rings
    may lie partly or wholly outside the image; they are clipped.
    """
    if height < 0 or width < 0:
        raise ValueError(f"mask size must not be negative, got {height}x{width}")
    out = np.zeros((int(height), int(width)), dtype=np.uint8)
    if out.size == 0:
        return out.astype(bool)
    _fill_rings(out, (p.exterior for p in parts if not p.holes), 1, 0.0, 0.0)
    for part in parts:
        if not part.holes:
            continue
        ext = _ring_array(part.exterior, 0.0, 0.0)
        if ext is None:
            continue
        x0 = max(int(np.floor(ext[:, 0].min())) - 1, 0)
        y0 = max(int(np.floor(ext[:, 1].min())) - 1, 0)
        x1 = min(int(np.ceil(ext[:, 0].max())) + 2, width)
        y1 = min(int(np.ceil(ext[:, 1].max())) + 2, height)
        if x1 <= x0 or y1 <= y0:
            continue
        local = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
        _fill_rings(local, [part.exterior], 1, -x0, -y0)
        _fill_rings(local, part.holes, 0, -x0, -y0)
        out[y0:y1, x0:x1] |= local
    return out.astype(bool)


# --------------------------------------------------------------------------------------------
# mask -> polygons
# --------------------------------------------------------------------------------------------
def _octagon(pts: np.ndarray) -> np.ndarray:
    """The band (radius _THIN) around a single pixel centre, as an 8 x 2 ring."""
    return np.asarray(_OCTAGON) + pts[0].astype(np.float64)


def _ring_geometry(pts: np.ndarray) -> BaseGeometry | None:
    """None when Polygon(pts) is a valid polygon with area (the common case); otherwise a valid
    shapely geometry covering the same pixel centres as the integer ring `pts` (N x 2, N >= 2)."""
    if len(pts) >= 3:
        poly = Polygon(pts)
        if poly.area > 0 and poly.is_valid:
            return None
    closed = np.vstack([pts, pts[:1]]) if len(pts) > 2 else pts
    band = LineString(closed).buffer(_THIN, quad_segs=2)
    pieces: list[BaseGeometry] = [band]
    if len(pts) >= 3:
        pieces.extend(p for p in _polygons(shapely.make_valid(Polygon(pts))) if p.area > 0)
    return shapely.unary_union(pieces)


def _ring_replacement(pts: np.ndarray) -> tuple[Ring | None, BaseGeometry | None]:
    """(ring, None) when a single ring covers exactly the pixel centres of the integer ring `pts`
    and is a valid polygon; else (None, geometry) with a valid geometry covering them."""
    if len(pts) == 1:
        return _ring_tuple(_octagon(pts).tolist()), None
    geom = _ring_geometry(pts)
    if geom is None:
        return _ring_tuple(pts.tolist()), None
    if isinstance(geom, Polygon) and not geom.interiors:
        return _ring_tuple(geom.exterior.coords), None
    return None, geom


def _component_parts(contour: np.ndarray, fg: np.ndarray, has_holes: bool, ox: int = 0, oy: int = 0) -> list[Part]:
    """Parts of one 8-connected component given its outer cv2 contour (N x 1 x 2 int32, image pixels).

    fg: the whole mask (or its window at image pixel (ox, oy)) as uint8 0/1 (used to find the
    hole pixels inside the contour).
    """
    pts = contour.reshape(-1, 2)
    ext_ring, ext_geom = _ring_replacement(pts)
    hole_rings: list[np.ndarray] = []
    if has_holes:
        x, y, w, h = cv2.boundingRect(contour)
        filled = np.zeros((h, w), dtype=np.uint8)
        cv2.fillPoly(filled, [pts - (x, y)], 1, lineType=cv2.LINE_8)
        holes = filled & (fg[y - oy : y - oy + h, x - ox : x - ox + w] ^ 1)
        hcs, _ = cv2.findContours(holes, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        hole_rings = [c.reshape(-1, 2) + (x, y) for c in hcs]
    replaced = [_ring_replacement(r) for r in hole_rings]
    if ext_ring is not None and all(ring is not None for ring, _ in replaced):
        # Hole rings (or the bands standing in for degenerate ones) lie inside the exterior and
        # apart from each other (hole pixels are >= 0.7 px from the exterior ring and distinct holes
        # >= 2 px apart, bands are 0.5 px wide), so the polygon is valid as it stands.
        return [Part(exterior=ext_ring, holes=tuple(ring for ring, _ in replaced if ring is not None))]
    geom = ext_geom if ext_geom is not None else Polygon(ext_ring)
    cuts = [g if g is not None else Polygon(ring) for ring, g in replaced]
    if cuts:
        geom = geom.difference(shapely.unary_union(cuts))
    return list(polygon_to_parts(geom))


def _local_raster(part: Part, height: int, width: int) -> tuple[np.ndarray, int, int]:
    """Local raster of one part: (mask crop, x offset, y offset), with a 3-px margin."""
    ext = np.asarray(part.exterior, dtype=np.float64)
    x0 = max(int(np.floor(ext[:, 0].min())) - 3, 0)
    y0 = max(int(np.floor(ext[:, 1].min())) - 3, 0)
    x1 = min(int(np.ceil(ext[:, 0].max())) + 4, width)
    y1 = min(int(np.ceil(ext[:, 1].max())) + 4, height)
    shifted = translate_parts([part], -x0, -y0)
    return parts_to_mask(shifted, y1 - y0, x1 - x0), x0, y0


def _simplify_part(part: Part, height: int, width: int, min_iou: float) -> Part:
    """The coarsest simplification of `part` whose raster keeps IoU >= min_iou with the original."""
    if len(part.holes) > _MAX_SIMPLIFY_HOLES or (
        len(part.exterior) + sum(len(h) for h in part.holes) > _MAX_SIMPLIFY_VERTICES
    ):
        return part  # too costly to simplify safely (see _MAX_SIMPLIFY_HOLES); exact outline kept
    x_lo, y_lo, x_hi, y_hi = parts_bbox([part])
    if (math.floor(x_hi) - math.ceil(x_lo) + 1) * (math.floor(y_hi) - math.ceil(y_lo) + 1) < _MIN_SIMPLIFY_AREA:
        return part  # cannot cover enough pixel centres: skip without rasterising
    ref, x0, y0 = _local_raster(part, height, width)
    n = int(ref.sum())
    if n < _MIN_SIMPLIFY_AREA:
        return part
    poly = part_to_polygon(part)
    rh, rw = ref.shape
    for tol in _TOLERANCES:
        simple = poly.simplify(tol, preserve_topology=True)
        if not isinstance(simple, Polygon) or simple.is_empty or not simple.is_valid:
            continue
        cand = polygon_to_parts(simple)
        if len(cand) != 1:
            continue
        got = parts_to_mask(translate_parts(cand, -x0, -y0), rh, rw)
        if iou(got, ref) >= min_iou:
            return cand[0]
    return part


def mask_to_parts(mask: np.ndarray, simplify: bool = True, min_iou: float = 0.98, *,
                  origin: tuple[int, int] = (0, 0), image_size: tuple[int, int] | None = None) -> tuple[Part, ...]:
    """Polygons (with holes, one Part per 8-connected component) of a bool H x W mask.

    origin, image_size: ``mask`` is the window of an image of ``image_size`` (H, W) whose top-left
    pixel is image pixel ``origin`` (x, y) and outside which the image mask is empty; the parts are
    then in image coordinates, the same as of the whole image mask (the window is cheaper). The
    window must be that bounding box grown by 1 px on every side, clipped to the image
    (app.core.mask_convert.convert_rle does that).

    Pixel-centre coordinates; conventions in the module docstring. simplify=False gives the exact
    (lossless) outlines: parts_to_mask(result, H, W) == mask. simplify=True simplifies each part with
    the largest tolerance (of 1.5, 1.0, 0.75, 0.5, 0.35 px) whose rasterisation keeps
    IoU >= min_iou against that part; parts under 300 pixels, and parts with more than 32 holes or
    20 000 vertices (whose topology-preserving simplification costs seconds), are never simplified.
    """
    m = _as_bool(mask)
    if not 0.0 < min_iou <= 1.0:
        raise ValueError(f"min_iou must be in (0, 1], got {min_iou}")
    if m.size == 0 or not m.any():
        return ()
    ox, oy = int(origin[0]), int(origin[1])
    parts = _exact_parts(m, 0, ox, oy)
    if simplify:
        h, w = m.shape if image_size is None else image_size
        parts = [_simplify_part(part, h, w, min_iou) for part in parts]
    return tuple(parts)


def _exact_parts(m: np.ndarray, depth: int, ox: int = 0, oy: int = 0) -> list[Part]:
    """Lossless parts of the bool mask m whose pixel [0, 0] is image pixel (ox, oy) (see mask_to_parts)."""
    fg = np.ascontiguousarray(m, dtype=np.uint8)
    contours, hierarchy = cv2.findContours(fg, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE, offset=(ox, oy))
    parts: list[Part] = []
    any_holes = False
    for i, contour in enumerate(contours):
        if hierarchy[0][i][3] != -1:  # a cv2 hole contour: holes are traced on hole pixels instead
            continue
        has_holes = hierarchy[0][i][2] != -1
        any_holes = any_holes or has_holes
        parts.extend(_component_parts(contour, fg, has_holes, ox, oy))
    # Holes whose pixels touch only diagonally can be traced as one ring that encloses foreground
    # pixels (one-pixel-wide diagonal features); such pixels come back as parts of their own.
    if any_holes and depth < 4:
        # (a window's vertices lie right of / below its origin: moving them by it is exact in float)
        missing = m & ~parts_to_mask(translate_parts(parts, -ox, -oy) if ox or oy else parts, *m.shape)
        if missing.any():
            parts.extend(_exact_parts(missing, depth + 1, ox, oy))
    return parts


# --------------------------------------------------------------------------------------------
# COCO pixel-corner outlines
# --------------------------------------------------------------------------------------------
def mask_to_corner_polygons(mask: np.ndarray) -> list[list[float]]:
    """Outer outlines of a mask in the COCO pixel-CORNER convention, flat [x0, y0, x1, y1, ...].

    One ring per outer boundary (holes are filled: use RLE for masks with holes). Each ring runs
    0.25 px inside the outer edges of the boundary pixels (pixel (c, r) is the square
    [c, c+1] x [r, r+1]), traced by cv2 on the mask upsampled 2x, so pycocotools' rasteriser
    (frPyObjects + merge + decode) reproduces the hole-filled mask exactly. Rings have >= 3 points.
    """
    m = _as_bool(mask)
    bbox = mask_bbox(m)
    if bbox is None:
        return []
    x0, y0, x1, y1 = bbox
    crop = np.pad(m[y0 : y1 + 1, x0 : x1 + 1].astype(np.uint8), 1)
    up = np.repeat(np.repeat(crop, 2, axis=0), 2, axis=1)
    contours, _ = cv2.findContours(up, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out: list[list[float]] = []
    for c in contours:
        pts = c.reshape(-1, 2).astype(np.float64) / 2.0 + 0.25 - 1.0 + (x0, y0)
        if len(pts) >= 3:
            out.append([float(v) for v in pts.ravel()])
    return out


def parts_to_corner_polygons(parts: Sequence[Part], height: int, width: int) -> list[list[float]]:
    """COCO corner-convention outlines of parts (holes filled), via their pixel-centre raster."""
    filled = [Part(exterior=p.exterior) for p in parts]
    return mask_to_corner_polygons(parts_to_mask(filled, height, width))


# --------------------------------------------------------------------------------------------
# boxes, areas, IoU, moves
# --------------------------------------------------------------------------------------------
def annotation_mask(ann: Annotation, height: int, width: int) -> np.ndarray:
    """Bool H x W mask of an annotation: its RLE when present (size must match), else its parts."""
    if ann.rle is not None:
        m = rle_to_mask(ann.rle)
        if m.shape != (height, width):
            raise ValueError(
                f"annotation mask is {m.shape[1]}x{m.shape[0]} but the image is {width}x{height}"
            )
        return m
    return parts_to_mask(ann.parts, height, width)


def mask_bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) inclusive pixel indices of the foreground, or None for an empty mask."""
    m = _as_bool(mask)
    cols = np.flatnonzero(m.any(axis=0))
    if cols.size == 0:
        return None
    rows = np.flatnonzero(m.any(axis=1))
    return int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1])


def parts_bbox(parts: Sequence[Part]) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) of all exterior vertices (pixel-centre coordinates).

    ValueError when there are no parts.
    """
    pts = [pt for p in parts for pt in p.exterior]
    if not pts:
        raise ValueError("cannot take the bounding box of an empty list of parts")
    arr = np.asarray(pts, dtype=np.float64)
    return (float(arr[:, 0].min()), float(arr[:, 1].min()), float(arr[:, 0].max()), float(arr[:, 1].max()))


def parts_area(parts: Sequence[Part]) -> float:
    """Geometric area (shapely, px^2) of the union of the parts; not the pixel count."""
    polys = [part_to_polygon(p) for p in parts]
    if not polys:
        return 0.0
    return float(shapely.unary_union([shapely.make_valid(p) for p in polys]).area)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two equally shaped masks; 1.0 when both are empty."""
    ma, mb = _as_bool(a), _as_bool(b)
    if ma.shape != mb.shape:
        raise ValueError(f"masks differ in shape: {ma.shape} vs {mb.shape}")
    union = int(np.count_nonzero(ma | mb))
    if union == 0:
        return 1.0
    return int(np.count_nonzero(ma & mb)) / union


def translate_parts(parts: Sequence[Part], dx: float, dy: float) -> tuple[Part, ...]:
    """Parts moved by (dx, dy) pixels."""
    ddx, ddy = float(dx), float(dy)

    def move(ring: Ring) -> Ring:
        return tuple((x + ddx, y + ddy) for x, y in ring)

    return tuple(Part(exterior=move(p.exterior), holes=tuple(move(h) for h in p.holes)) for p in parts)
