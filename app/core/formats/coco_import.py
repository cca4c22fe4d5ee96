"""COCO instance-segmentation import (formats.md 2.2-2.4, "Importing COCO").

Masks are rasterised exactly as pycocotools does (it is used itself): polygons in the pixel-corner
convention (``frPyObjects`` + ``merge`` + ``decode``), compressed and uncompressed RLE, and boxes
alone (an annotation without segmentation is a rectangle). Polygons are kept as the annotation's
own vertices (shape "polygon", pixel-centre: x - 0.5, y - 0.5) with pycocotools' mask as the exact
raster; RLE becomes a "mask". Every coordinate is checked against the image size before anything
is rasterised (a polygon far outside the image is skipped with a reason: pycocotools would crash or
allocate gigabytes), so memory per annotation is bounded by the image size.

What COCO carries beyond the geometry is kept for the exporter (app.core.formats.provenance):
annotation/image/category ids, ``iscrowd`` as written, area/bbox, the original polygons, unknown
keys at every level, and the file's ``info``, ``licenses`` and other top-level keys (project meta
``coco.info``, ``coco.licenses``, ``coco.keys``; a second COCO file does not replace the first's).
Well-formed ``group_id``, ``description``, ``flags`` and ``attributes`` of annotations, and a
category's ``attribute_schema`` (for a class without a schema of its own), are read into the project
(the COCO exporter writes them); malformed ones are kept as unknown keys.

Categories become label classes (created when missing), images are matched by ``file_name`` under
``images_dir`` (default: the JSON's folder, then the project folder) and registered when new.
Unmatched images and bad annotations are skipped with a reason. One transaction: a failure or a
cancel stores nothing. A file the project imported before is skipped, replaced or imported again
(``on_duplicate``).
"""
from __future__ import annotations

import json
import math
import threading
from collections import defaultdict
from dataclasses import replace
from pathlib import Path, PureWindowsPath
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np
from pycocotools import mask as mask_utils

from app.core.attributes import AttributeSpec, from_json
from app.core.errors import FormatError
from app.core.formats.common import ImportReport, Progress, Ticker, read_json
from app.core.formats.coco_kept import SCHEMA_KEY
from app.core.formats.import_common import ImportSession, first_existing
from app.core.formats.provenance import geometry_fingerprint
from app.core.model import Part
from app.core.rle import rle_to_mask

if TYPE_CHECKING:
    from app.core.project import Project

FORMAT_ID = "coco"
ANN_KEYS = frozenset({"id", "image_id", "category_id", "segmentation", "area", "bbox", "iscrowd", "score"})
IMAGE_KEYS = frozenset({"id", "file_name", "height", "width"})
CATEGORY_KEYS = frozenset({"id", "name", "supercategory"})
TOP_KEYS = frozenset({"info", "licenses", "images", "annotations", "categories"})
MAX_SIDE = 1 << 17  # an image side beyond this is not a real image (checked before any allocation)


def _is_int(v: object) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _finite_number(v: Any) -> bool:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    try:
        return math.isfinite(float(v))
    except OverflowError:
        return False


def _id_ok(v: Any) -> bool:
    """COCO ids are integers (some tools write strings); anything else is refused."""
    return (_is_int(v) and abs(v) < 1 << 63) or (isinstance(v, str) and 0 < len(v) < 256)


def _limit(height: int, width: int) -> float:
    """How far outside the image a coordinate may lie (one image size)."""
    return float(max(height, width))


def _polygons(segmentation: list, height: int, width: int) -> list[list[float]] | str:
    """The usable polygons of a COCO polygon list (each >= 6 finite numbers of even length, within
    one image size of the image), or a one-sentence reason. A bare flat polygon is accepted."""
    polys = segmentation
    if polys and all(_finite_number(v) for v in polys):
        polys = [polys]
    lim = _limit(height, width)
    good: list[list[float]] = []
    for p in polys:
        if not (isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0 and all(_finite_number(v) for v in p)):
            continue
        vals = [float(v) for v in p]
        xs, ys = vals[0::2], vals[1::2]
        if min(xs) < -lim or max(xs) > width + lim or min(ys) < -lim or max(ys) > height + lim:
            bad = next(v for v in vals if not (-lim <= v <= max(width, height) + lim))
            return f"its polygon has the coordinate {bad:g}, far outside the {width}x{height} image"
        good.append(vals)
    if not good:
        return "it has no polygon with at least 3 points"
    return good


def coco_mask(segmentation: Any, height: int, width: int) -> np.ndarray | str:
    """HxW bool mask of a COCO ``segmentation`` (pycocotools semantics), or a one-sentence reason.

    Polygons that are not lists of >= 6 finite numbers of even length are dropped (as detectron2
    does); a bare flat polygon ``[x1, y1, ...]`` is accepted as one polygon.
    """
    if isinstance(segmentation, dict):
        size = segmentation.get("size")
        if not (isinstance(size, list) and len(size) == 2 and all(_is_int(v) for v in size)):
            return "its RLE has no valid 'size' [height, width]"
        if list(size) != [height, width]:
            return f"its RLE size {size} does not match the image size [{height}, {width}]"
        counts = segmentation.get("counts")
        if isinstance(counts, list) and not all(_is_int(c) and 0 <= c <= height * width for c in counts):
            return "its RLE counts are not run lengths within the image"
        try:
            return rle_to_mask(segmentation)
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            return f"its RLE is invalid ({exc})"
    if isinstance(segmentation, list):
        good = _polygons(segmentation, height, width)
        if isinstance(good, str):
            return good
        rle = mask_utils.merge(mask_utils.frPyObjects(good, height, width))
        return mask_utils.decode(rle).astype(bool)
    return "it has no segmentation"


def _box_mask(bbox: Any, height: int, width: int) -> tuple[np.ndarray, tuple[tuple[float, float], ...]] | str:
    """(mask as pycocotools rasterises the box, pixel-centre rectangle corners) of an [x, y, w, h]
    bbox, or a reason."""
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(_finite_number(v) for v in bbox)):
        return "it has no segmentation and no valid bbox"
    x, y, w, h = (float(v) for v in bbox)
    lim = _limit(height, width)
    if w <= 0 or h <= 0:
        return "it has no segmentation and its bbox is empty"
    if x < -lim or y < -lim or x + w > width + lim or y + h > height + lim:
        return f"its bbox {[x, y, w, h]} lies far outside the {width}x{height} image"
    rle = mask_utils.frPyObjects(np.array([[x, y, w, h]], dtype=np.float64), height, width)
    mask = mask_utils.decode(mask_utils.merge(rle)).astype(bool)
    return mask, ((x - 0.5, y - 0.5), (x + w - 0.5, y + h - 0.5))


def _categories(data: dict, session: ImportSession, report: ImportReport) -> dict[Any, int]:
    cats = data.get("categories", [])
    if not isinstance(cats, list):
        raise FormatError("the COCO file's 'categories' is not a list.")
    out: dict[Any, int] = {}
    names: set[str] = set()
    for c in cats:
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not c["name"].strip() \
                or not _id_ok(c.get("id")):
            report.skip(f"category {json.dumps(c, default=str)[:60]}", "it has no valid id or no name")
            continue
        kept = {"id": c["id"]}
        if "supercategory" in c:
            kept["supercategory"] = c["supercategory"]
        schema = _schema(c.get(SCHEMA_KEY))
        keys = {k: v for k, v in c.items() if k not in CATEGORY_KEYS and not (k == SCHEMA_KEY and schema is not None)}
        if keys:
            kept["keys"] = keys
        try:
            label_id = session.label_id(c["name"], extra={FORMAT_ID: kept})
        except ValueError as exc:
            report.skip(f"category {c['name'][:60]!r}", str(exc))
            continue
        lc = session.project.label_class(label_id)
        if FORMAT_ID not in lc.extra:  # an existing class without COCO data gets this file's
            lc = replace(lc, extra={**lc.extra, FORMAT_ID: kept})
            session.project.update_label_class(lc)
        if schema and not lc.attributes:  # a class's own schema is never replaced by a file's
            session.project.update_label_class(replace(lc, attributes=schema))
        if c["name"].strip() in names:
            report.tally("categories sharing a name merged into one label class")
        names.add(c["name"].strip())
        out[c["id"]] = label_id
    return out


def _schema(value: object) -> tuple[AttributeSpec, ...] | None:
    """A category's attribute schema (coco_kept.SCHEMA_KEY), None when absent or not valid (then
    kept as an unknown key)."""
    if value is None:
        return None
    try:
        return from_json(value)
    except ValueError:
        return None


def _details(a: dict) -> dict[str, Any]:
    """group_id, description, flags and attributes of an annotation object, those well-formed
    (the others stay unknown keys, written back as they came)."""
    out: dict[str, Any] = {}
    if _is_int(a.get("group_id")):
        out["group_id"] = a["group_id"]
    if isinstance(a.get("description"), str):
        out["description"] = a["description"]
    flags = a.get("flags")
    if isinstance(flags, dict) and all(isinstance(k, str) and isinstance(v, bool) for k, v in flags.items()):
        out["flags"] = flags
    if isinstance(a.get("attributes"), dict):
        out["attributes"] = a["attributes"]
    return out


def _image_candidates(file_name: str, search: list[Path]) -> list[Path]:
    rel = PureWindowsPath(file_name).as_posix() if "\\" in file_name else file_name
    out = [d / rel for d in search]
    base = Path(rel).name
    if base != rel:
        out += [d / base for d in search]
    return out


def _keep_file_level(project: Project, data: dict, report: ImportReport) -> None:
    """info, licenses and unknown top-level keys into the project meta (first file wins)."""
    values = {"coco.info": data.get("info"), "coco.licenses": data.get("licenses"),
              "coco.keys": {k: v for k, v in data.items() if k not in TOP_KEYS} or None}
    for key, value in values.items():
        if value is None:
            continue
        if project.get_meta(key) is not None:
            report.tally("file-level COCO key(s) not kept (the project keeps those of the first COCO file)")
            continue
        project.set_meta(key, json.dumps(value, ensure_ascii=False, allow_nan=False))


def import_coco(project: Project, json_path: Path | str, images_dir: Path | str | None = None,
                progress: Progress | None = None, cancel: threading.Event | None = None,
                on_duplicate: str = "skip") -> ImportReport:
    """Import a COCO instance-segmentation file into ``project`` (see the module doc).

    FormatError when the file is not a COCO file; ``progress(done, total)`` counts annotations;
    ``cancel`` set: Cancelled is raised and nothing is stored.
    """
    json_path = Path(json_path).absolute()
    data = read_json(json_path)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list):
        raise FormatError(f"{json_path} is not a COCO file (it needs 'images' and 'annotations' lists).")
    search = [Path(images_dir).absolute()] if images_dir is not None else [json_path.parent, project.image_root, project.root]
    report = ImportReport(format="COCO")
    by_image: dict[Any, list[dict]] = defaultdict(list)
    for a in data["annotations"]:
        if not isinstance(a, dict):
            report.skip(f"annotation {json.dumps(a, default=str)[:40]}", "it is not a JSON object")
        elif not _id_ok(a.get("image_id")):
            report.skip(f"annotation id {str(a.get('id'))[:40]}", "its image_id is not an id")
        else:
            by_image[a["image_id"]].append(a)
    ticker = Ticker(len(data["annotations"]), progress, cancel)
    known_images = set()
    with project.transaction():
        session = ImportSession(project, report, FORMAT_ID, on_duplicate)
        if not session.begin_file(json_path):
            return report
        _keep_file_level(project, data, report)
        cat_label = _categories(data, session, report)
        for entry in data["images"]:
            if not isinstance(entry, dict) or not _id_ok(entry.get("id")):
                report.skip(f"image {json.dumps(entry, default=str)[:40]}", "it is not an object with an id")
                continue
            known_images.add(entry["id"])
            anns = by_image.get(entry["id"], [])
            _import_image(session, entry, anns, cat_label, search)
            session.flush()
            ticker.tick(len(anns))
        session.end_file()
        for image_id, anns in by_image.items():
            if image_id not in known_images:
                report.skip(f"{len(anns)} annotation(s) of image id {image_id!r}", "that image id is not in 'images'")
    if progress is not None:
        progress(ticker.total, ticker.total)
    return report


def _import_image(session: ImportSession, entry: dict, anns: list[dict], cat_label: dict[Any, int],
                  search: list[Path]) -> None:
    report = session.report
    name, h, w = entry.get("file_name"), entry.get("height"), entry.get("width")
    what = f"image {name[:80]!r}" if isinstance(name, str) else f"image id {entry.get('id')!r}"
    if not isinstance(name, str) or not name:
        report.skip(what, "it has no file_name")
        return
    if not (_is_int(h) and _is_int(w) and 0 < h <= MAX_SIDE and 0 < w <= MAX_SIDE):
        report.skip(what, "it has no valid height and width")
        return
    found = first_existing(_image_candidates(name, search))
    if found is None:
        try:
            known = session.project.image_by_path(name)
        except ValueError:
            known = None
        if known is not None and known.width > 0 and known.height > 0:
            found = session.project.image_path(known)  # registered in the project, file currently missing
    if found is None:
        where = ", ".join(str(d) for d in search)
        report.skip(what, f"the file was not found under {where}"
                    + (f" ({len(anns)} annotation(s) not imported)" if anns else ""))
        return
    rec = session.image(found)
    if isinstance(rec, str):
        report.skip(what, rec)
        return
    if (rec.height, rec.width) != (h, w):
        report.skip(what, f"the COCO file says {w}x{h} but the image is {rec.width}x{rec.height} "
                          "(after EXIF rotation), so its annotations would not fit")
        return
    report.images += 1
    kept = {"id": entry["id"], "file_name": name}
    keys = {k: v for k, v in entry.items() if k not in IMAGE_KEYS}
    if keys:
        kept["keys"] = keys
    if rec.extra.get(FORMAT_ID) != kept:
        session.project.set_image_extra(rec.id, {**rec.extra, FORMAT_ID: kept})
    for a in anns:
        _import_annotation(session, rec.id, name, h, w, a, cat_label)


def _import_annotation(session: ImportSession, image_id: int, name: str, h: int, w: int, a: dict,
                       cat_label: dict[Any, int]) -> None:
    report = session.report
    aid = f"annotation id {str(a.get('id'))[:40]} ({name[:80]})"
    cat = a.get("category_id")
    if not _id_ok(cat) or cat not in cat_label:
        report.skip(aid, f"its category_id {str(cat)[:40]} is not among the categories")
        return
    seg = a.get("segmentation")
    kept: dict[str, Any] = {}
    if _id_ok(a.get("id")):
        kept["id"] = a["id"]
    if "iscrowd" in a:
        kept["iscrowd"] = a["iscrowd"]
    for key in ("area", "bbox"):
        if key in a:
            kept[key] = a[key]
    details = _details(a)
    keys = {k: v for k, v in a.items() if k not in ANN_KEYS and k not in details}
    if keys:
        kept["keys"] = keys
    score = float(a["score"]) if _finite_number(a.get("score")) else None
    label_id = cat_label[cat]
    if seg is None or seg == []:
        got = _box_mask(a.get("bbox"), h, w)
        if isinstance(got, str):
            report.skip(aid, got)
            return
        box, corners = got
        kept["segmentation"] = None if seg is None else []
        report.tally("annotation(s) with a box and no segmentation read as rectangles")
        _queue(session, image_id, label_id, kept, mask=box, shape="rectangle", points=corners, score=score,
               **details)
        return
    mask = coco_mask(seg, h, w)
    if isinstance(mask, str):
        report.skip(aid, mask)
        return
    if not mask.any():
        report.skip(aid, "its mask is empty")
        return
    if isinstance(seg, dict):
        kept["segmentation"] = "rle-list" if isinstance(seg.get("counts"), list) else "rle"
        _queue(session, image_id, label_id, kept, mask=mask, shape="mask", score=score, **details)
        return
    polys = _polygons(seg, h, w)
    assert not isinstance(polys, str)  # coco_mask accepted them
    kept["segmentation"] = seg
    parts = tuple(Part(exterior=tuple((x - 0.5, y - 0.5) for x, y in zip(p[0::2], p[1::2]))) for p in polys)
    _queue(session, image_id, label_id, kept, mask=mask, shape="polygon", parts=parts, score=score, **details)


def _queue(session: ImportSession, image_id: int, label_id: int, kept: dict, **kwargs: Any) -> None:
    session.add(image_id, label_id, **kwargs)
    ann = session.pending[-1]
    kept["geom"] = geometry_fingerprint(ann)
    session.pending[-1] = ann.with_(extra={**ann.extra, FORMAT_ID: kept})
