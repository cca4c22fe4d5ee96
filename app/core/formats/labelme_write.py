"""LabelMe shapes of one annotation (formats.md 1.3-1.7), faithful to what was imported.

An annotation imported from LabelMe whose geometry was not edited is written back as the shapes it
came from (their points, shape types and unknown keys verbatim; a mask shape's PNG regenerated from
the stored mask at the original bbox, so the pixels are the same). Otherwise it is written from its
shape kind: rectangle / circle / point / line / linestrip from their points, polygon from its
vertices (one shape per part; a part with holes becomes an exact mask shape in the auto and mask
modes, its outer ring in the polygon mode), mask from the stored mask (auto: cv2 pixel-centre
polygons, which labelme re-rasterises exactly, when hole-free, else a mask shape; mask: always a
mask shape; polygon: outer rings, holes filled; outline: the stored outline as drawn in the app, at
the polygon density the user chose, holes filled). Unknown keys kept from the import are written in
both cases; label, group_id, description, flags, score and attributes come from the annotation.
"""
from __future__ import annotations

import base64
import io
from collections.abc import Callable, Sequence
from typing import cast

import numpy as np
from PIL import Image

from app.core.formats.export_common import annotation_crop
from app.core.formats.labelme_shapes import crop_has_holes, mask_shape, polygon_shapes
from app.core.formats.provenance import geometry_unchanged, kept
from app.core.model import Annotation

FORMAT_ID = "labelme"
Tally = Callable[[str, int], None]


def _plain(label: str, group_id: int | None, shape_type: str, points: list[list[float]]) -> dict:
    return {"label": label, "points": points, "group_id": group_id, "description": "",
            "shape_type": shape_type, "flags": {}, "mask": None}


MODELLED_DEFAULTS: dict[str, object] = {"group_id": None, "description": "", "flags": {}, "score": None,
                                        "attributes": {}}
"""Shape keys the annotation holds, with the value that means "not set"."""
STANDARD = ("group_id", "description", "flags")  # keys labelme itself writes on every shape


def _finish(shape: dict, ann: Annotation, label: str, group_id: int | None, template: dict, raw: list,
            verbatim: bool = False) -> dict:
    """Fill in what the annotation models. ``template``: the original shape object (verbatim: the
    shape itself) whose unknown keys are kept and whose modelled keys say which keys the file had;
    ``raw``: modelled keys whose original values could not be read (written back as they were
    unless the user set a value). A key the file did not have is added only when it has a value
    (labelme's standard keys are always written on generated shapes)."""
    out = dict(shape) if verbatim else {**{k: v for k, v in template.items()
                                           if k not in ("points", "shape_type", "mask")}, **shape}
    out["label"] = label
    values: dict[str, object] = {"group_id": group_id, "description": ann.description, "flags": dict(ann.flags),
                                 "score": ann.score, "attributes": dict(ann.attributes)}
    for key, value in values.items():
        default = MODELLED_DEFAULTS[key]
        if key in raw and value == default and key in template:
            out[key] = template[key]
        elif key in template or value != default or (key in STANDARD and not verbatim):
            out[key] = value
        else:
            out.pop(key, None)
    return out


def _png_b64(crop: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(crop.astype(np.uint8), mode="L").save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _reversed(points: object) -> bool:
    """True for 2 rectangle corners not given top-left first."""
    try:
        # any JSON value: the except catches what is not two (x, y) pairs
        (xa, ya), (xb, yb) = cast("Sequence[Sequence[float]]", points)
        return bool(xa > xb or ya > yb)
    except (TypeError, ValueError):
        return False


def _verbatim(ann: Annotation, label: str, group_id: int | None, height: int, width: int,
              tally: Tally | None = None) -> list[dict] | None:
    """The originally imported shapes, or None when they cannot be written back as they were."""
    raw = kept(ann.extra, FORMAT_ID).get("raw") or []
    objects = kept(ann.extra, FORMAT_ID).get("shapes")
    if not isinstance(objects, list) or not objects or not geometry_unchanged(ann, FORMAT_ID):
        return None
    out = []
    full: np.ndarray | None = None
    for obj in objects:
        if not isinstance(obj, dict):
            return None
        shape = dict(obj)
        if shape.get("shape_type") == "mask":
            try:
                (x1, y1), (x2, y2) = [(int(p[0]), int(p[1])) for p in shape["points"]]
            except (KeyError, TypeError, ValueError):
                return None
            if full is None:
                from app.core.geometry import annotation_mask

                full = annotation_mask(ann, height, width)
            crop = np.zeros((y2 - y1 + 1, x2 - x1 + 1), bool)
            ya, xa, yb, xb = max(0, y1), max(0, x1), min(height, y2 + 1), min(width, x2 + 1)
            if ya < yb and xa < xb:
                crop[ya - y1:yb - y1, xa - x1:xb - x1] = full[ya:yb, xa:xb]
            shape["mask"] = _png_b64(crop)
        elif shape.get("shape_type") == "rectangle" and _reversed(shape.get("points")):
            (xa, ya), (xb, yb) = shape["points"]
            shape["points"] = [[min(xa, xb), min(ya, yb)], [max(xa, xb), max(ya, yb)]]
            if tally is not None:
                tally("rectangle(s) with reversed corners written top-left first (labelme 5 cannot draw them "
                      "otherwise)", 1)
        out.append(_finish(shape, ann, label, group_id, obj, raw, verbatim=True))
    return out


def _polygon_kind(ann: Annotation, label: str, group_id: int | None, height: int, width: int, masks: str,
                  tally: Tally) -> list[dict]:
    """Shapes of a polygon annotation (its vertices are the truth)."""
    shapes: list[dict] = []
    for part in ann.parts:
        if part.holes and masks != "polygon":
            from app.core.formats.export_common import parts_crop

            got = parts_crop((part,), height, width)
            if got is not None:
                crop, x0, y0 = got
                shapes.append(mask_shape(crop, x0, y0, label, group_id))
            continue
        if part.holes:
            tally("polygon(s) with holes written as their outer ring (holes filled)", 1)
        shapes.append(_plain(label, group_id, "polygon", [[float(x), float(y)] for x, y in part.exterior]))
    if masks == "mask":  # exact masks for every object: one mask shape of the whole annotation
        got = annotation_crop(ann, height, width)
        if got is not None:
            crop, x0, y0 = got
            return [mask_shape(crop, x0, y0, label, group_id)]
    return shapes


def _mask_kind(ann: Annotation, label: str, group_id: int | None, height: int, width: int, masks: str,
               tally: Tally) -> list[dict]:
    got = annotation_crop(ann, height, width)
    if got is None:
        return []
    crop, x0, y0 = got
    if masks == "mask":
        return [mask_shape(crop, x0, y0, label, group_id)]
    holes = crop_has_holes(crop)
    if holes and masks == "auto":
        return [mask_shape(crop, x0, y0, label, group_id)]
    if holes:
        tally("annotation(s) with holes exported filled (LabelMe polygons cannot hold holes; the auto or mask "
              "mode keeps them)", 1)
    return polygon_shapes(crop, x0, y0, label, group_id)


def _outline_kind(ann: Annotation, label: str, group_id: int | None, tally: Tally) -> list[dict]:
    """Mask mode "outline": a mask annotation's stored outline as drawn in the app (its polygons at
    the polygon density chosen when it was accepted or re-simplified), one polygon per part."""
    if any(p.holes for p in ann.parts):
        tally("annotation(s) with holes written as their outer outline (holes filled; the auto or mask mode keeps "
              "them)", 1)
    return [_plain(label, group_id, "polygon", [[float(x), float(y)] for x, y in p.exterior]) for p in ann.parts]


def annotation_shapes(ann: Annotation, label: str, height: int, width: int, masks: str, group_id: int | None,
                      tally: Tally) -> list[dict]:
    """The LabelMe shapes of one annotation (see the module doc); [] when its mask is empty.
    ``tally(what, n)`` counts changes made on the way. ValueError for a corrupt stored mask."""
    originals = kept(ann.extra, FORMAT_ID).get("shapes")
    template = originals[0] if isinstance(originals, list) and originals and isinstance(originals[0], dict) else {}
    raw = kept(ann.extra, FORMAT_ID).get("raw") or []
    if masks == "auto" or ann.shape not in ("polygon", "mask"):
        verbatim = _verbatim(ann, label, group_id, height, width, tally)
        if verbatim is not None:
            return verbatim
    kind = ann.shape
    if kind in ("point", "line", "linestrip", "rectangle", "circle"):
        shapes = [_plain(label, group_id, kind, [[float(x), float(y)] for x, y in ann.points])]
    elif kind == "polygon" and ann.parts:
        shapes = _polygon_kind(ann, label, group_id, height, width, "polygon" if masks == "outline" else masks, tally)
    elif masks == "outline" and ann.parts and all(len(p.exterior) >= 3 for p in ann.parts):
        shapes = _outline_kind(ann, label, group_id, tally)
    else:
        shapes = _mask_kind(ann, label, group_id, height, width, masks, tally)
    return [_finish(s, ann, label, group_id, template, raw) for s in shapes]

