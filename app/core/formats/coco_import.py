"""COCO instance-segmentation import (formats.md 2.2-2.4, "Importing COCO").

Masks are rasterised exactly as pycocotools does (it is used itself): polygons in the pixel-corner
convention (``frPyObjects`` + ``merge`` + ``decode``), compressed and uncompressed RLE. Each
annotation is stored with its exact mask as compressed RLE plus pixel-centre polygons
(app.core.geometry.mask_to_parts). Categories become label classes (created when missing), images
are matched by ``file_name`` under ``images_dir`` (default: the JSON's folder, then the project
folder) and registered when new. Unmatched images and bad annotations are skipped with a reason.
Everything happens in one transaction: a failure or a cancel stores nothing.
"""
from __future__ import annotations

import math
import threading
from collections import defaultdict
from pathlib import Path, PureWindowsPath
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from app.core.errors import FormatError
from app.core.formats.common import ImportReport, Progress, Ticker, read_json
from app.core.formats.import_common import ImportContext, first_existing
from app.core.rle import rle_to_mask


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _finite_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


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
        try:
            return rle_to_mask(segmentation)
        except (ValueError, KeyError) as exc:
            return f"its RLE is invalid ({exc})"
    if isinstance(segmentation, list):
        polys = segmentation
        if polys and all(_finite_number(v) for v in polys):
            polys = [polys]
        good = [[float(v) for v in p] for p in polys
                if isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0 and all(_finite_number(v) for v in p)]
        if not good:
            return "it has no polygon with at least 3 points"
        rle = mask_utils.merge(mask_utils.frPyObjects(good, height, width))
        return mask_utils.decode(rle).astype(bool)
    return "it has no segmentation (boxes alone are not imported)"


def _categories(data: dict, ctx: ImportContext, report: ImportReport) -> dict[Any, int]:
    cats = data.get("categories", [])
    if not isinstance(cats, list):
        raise FormatError("the COCO file's 'categories' is not a list.")
    out: dict[Any, int] = {}
    for c in cats:
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not c["name"].strip() or "id" not in c:
            report.skip(f"category {c!r:.60}", "it has no id or no name")
            continue
        try:
            out[c["id"]] = ctx.label_id(c["name"])
        except ValueError as exc:
            report.skip(f"category {c['name']!r}", str(exc))
    return out


def _image_candidates(file_name: str, search: list[Path]) -> list[Path]:
    rel = PureWindowsPath(file_name).as_posix() if "\\" in file_name else file_name
    out = [d / rel for d in search]
    base = Path(rel).name
    if base != rel:
        out += [d / base for d in search]
    return out


def import_coco(project: Any, json_path: Path | str, images_dir: Path | str | None = None,
                progress: Progress | None = None, cancel: threading.Event | None = None) -> ImportReport:
    """Import a COCO instance-segmentation file into ``project`` (see the module doc).

    FormatError when the file is not a COCO file; ``progress(done, total)`` counts annotations;
    ``cancel`` set: Cancelled is raised and nothing is stored.
    """
    json_path = Path(json_path).absolute()
    data = read_json(json_path)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list):
        raise FormatError(f"{json_path} is not a COCO file (it needs 'images' and 'annotations' lists).")
    search = [Path(images_dir).absolute()] if images_dir is not None else [json_path.parent, project.root]
    report = ImportReport(format="COCO")
    by_image: dict[Any, list[dict]] = defaultdict(list)
    for a in data["annotations"]:
        if isinstance(a, dict):
            by_image[a.get("image_id")].append(a)
        else:
            report.skip(f"annotation {a!r:.40}", "it is not a JSON object")
    ticker = Ticker(len(data["annotations"]), progress, cancel)
    known_images = set()
    with project.transaction():
        ctx = ImportContext(project, report)
        cat_label = _categories(data, ctx, report)
        for entry in data["images"]:
            if not isinstance(entry, dict):
                report.skip(f"image {entry!r:.40}", "it is not a JSON object")
                continue
            known_images.add(entry.get("id"))
            anns = by_image.get(entry.get("id"), [])
            _import_image(ctx, entry, anns, cat_label, search)
            ctx.flush()
            ticker.tick(len(anns))
        for image_id, anns in by_image.items():
            if image_id not in known_images:
                report.skip(f"{len(anns)} annotation(s) of image id {image_id!r}", "that image id is not in 'images'")
    if progress is not None:
        progress(ticker.total, ticker.total)
    return report


def _import_image(ctx: ImportContext, entry: dict, anns: list[dict], cat_label: dict[Any, int],
                  search: list[Path]) -> None:
    report = ctx.report
    name, h, w = entry.get("file_name"), entry.get("height"), entry.get("width")
    what = f"image {name!r}" if isinstance(name, str) else f"image id {entry.get('id')!r}"
    if not isinstance(name, str) or not name:
        report.skip(what, "it has no file_name")
        return
    if not (_is_int(h) and _is_int(w) and h > 0 and w > 0):
        report.skip(what, "it has no valid height and width")
        return
    found = first_existing(_image_candidates(name, search))
    if found is None:
        try:
            known = ctx.project.image_by_path(name)
        except ValueError:
            known = None
        if known is not None and known.width > 0 and known.height > 0:
            found = ctx.project.image_path(known)  # registered in the project, file currently missing
    if found is None:
        where = ", ".join(str(d) for d in search)
        report.skip(what, f"the file was not found under {where}"
                    + (f" ({len(anns)} annotation(s) not imported)" if anns else ""))
        return
    rec = ctx.image(found)
    if isinstance(rec, str):
        report.skip(what, rec)
        return
    if (rec.height, rec.width) != (h, w):
        report.skip(what, f"the COCO file says {w}x{h} but the image is {rec.width}x{rec.height} "
                          "(after EXIF rotation), so its annotations would not fit")
        return
    report.images += 1
    for a in anns:
        aid = f"annotation id {a.get('id')!r} ({name})"
        if a.get("category_id") not in cat_label:
            report.skip(aid, f"its category_id {a.get('category_id')!r} is not among the categories")
            continue
        mask = coco_mask(a.get("segmentation"), h, w)
        if isinstance(mask, str):
            report.skip(aid, mask)
            continue
        if not mask.any():
            report.skip(aid, "its mask is empty")
            continue
        score = a.get("score")
        extra = {"iscrowd": 1} if a.get("iscrowd") in (1, True) else {}
        ctx.add(rec.id, cat_label[a["category_id"]], mask,
                score=float(score) if _finite_number(score) else None, extra=extra)
