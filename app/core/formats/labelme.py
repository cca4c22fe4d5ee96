"""LabelMe JSON export (formats.md section 1). Import lives in app.core.formats.labelme_import.

One ``<image stem>.json`` per annotated image (or image marked done): beside the image, where
labelme looks for it, or under ``out_dir`` mirroring the images' folders. ``imagePath`` is
relative to the JSON's folder with '/' separators, ``imageData`` is null, ``imageHeight`` /
``imageWidth`` are the decoded size after EXIF rotation. Shapes follow the strict labelme 7.x
rules (formats.md 1.6): polygons in the pixel-centre convention for hole-free parts (one shape
per part; the parts of a multi-part instance share an integer ``group_id``), exact ``mask``
shapes (tight inclusive bbox + 0/1 PNG crop) for instances with holes (``masks="auto"``) or for
every instance (``masks="mask"``); ``masks="polygon"`` fills holes and says so. Shapes are
written bottom-first (z order), as labelme paints later shapes over earlier ones.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path, PurePosixPath
from typing import Any

from app.core.errors import FormatError
from app.core.formats.common import ExportReport, Progress, Ticker, posix_relpath, read_json, write_json_atomic
from app.core.formats.common import in_read_snapshot
from app.core.formats.export_common import annotation_crop, export_images, image_size
from app.core.formats.labelme_shapes import crop_has_holes, mask_shape, polygon_shapes
from app.core.model import Annotation, ImageRecord
from app.core.output_guard import OutputGuard

LABELME_MASK_MODES = ("auto", "polygon", "mask")
LABELME_VERSION = "5.5.0"  # the labelme file format these files were validated against (mask shapes: 5.4+)
_PAGE = 2000


def annotation_shapes(ann: Annotation, label: str, height: int, width: int, masks: str,
                      group_id: int | None) -> tuple[list[dict], bool]:
    """(shapes, holes_filled) of one annotation; no shapes when its mask is empty.

    ``group_id`` is written on every shape of the annotation.
    """
    got = annotation_crop(ann, height, width)
    if got is None:
        return [], False
    crop, x0, y0 = got
    if masks == "mask":
        return [mask_shape(crop, x0, y0, label, group_id)], False
    holes = crop_has_holes(crop)
    if holes and masks == "auto":
        return [mask_shape(crop, x0, y0, label, group_id)], False
    return polygon_shapes(crop, x0, y0, label, group_id), holes


def labelme_document(anns: list[Annotation], labels: dict[int, str], image_rel: str, height: int, width: int,
                     masks: str, skipped: list[tuple[str, str]] | None = None) -> tuple[dict, int, int]:
    """(document, number of annotations written, number whose holes were filled) for one image.

    ``anns`` bottom-first; ``labels``: label id -> name; ``image_rel``: imagePath to write.
    Multi-shape instances without a group_id get fresh ids above every group_id used on the image.
    Annotations with an empty or unreadable mask are left out and appended to ``skipped``.
    """
    next_gid = max((a.group_id for a in anns if a.group_id is not None), default=0) + 1
    shapes: list[dict] = []
    written = filled = 0
    for ann in anns:
        label = labels.get(ann.label_id)
        if label is None:  # a damaged project: the annotation's label class is gone
            if skipped is not None:
                skipped.append((f"annotation {ann.id} ({image_rel})",
                                f"its label class (id {ann.label_id}) is missing from the project"))
            continue
        try:
            new, holes = annotation_shapes(ann, label, height, width, masks, ann.group_id)
        except ValueError as exc:  # a corrupt stored mask: report it, export the rest
            new, holes = [], False
            reason = f"its stored mask is unreadable ({exc})"
        else:
            reason = "its mask is empty"
        if not new:
            if skipped is not None:
                skipped.append((f"annotation {ann.id} ({image_rel})", reason))
            continue
        if len(new) > 1 and ann.group_id is None:
            for s in new:
                s["group_id"] = next_gid
            next_gid += 1
        shapes.extend(new)
        written += 1
        filled += int(holes)
    doc = {"version": LABELME_VERSION, "flags": {}, "shapes": shapes, "imagePath": image_rel,
           "imageData": None, "imageHeight": int(height), "imageWidth": int(width)}
    return doc, written, filled


def json_path_for(project: Any, rec: ImageRecord, out_dir: Path | None) -> Path:
    """Where the LabelMe file of an image goes: beside it, or under out_dir at its relative folder
    ('..' components of images outside the project folder are dropped)."""
    image = project.image_path(rec)
    if out_dir is None:
        return image.parent / (image.stem + ".json")
    rel = PurePosixPath(rec.path)
    folder = [p for p in rel.parent.parts if p not in ("..", ".")]
    return Path(out_dir).joinpath(*folder, rel.stem + ".json")


def _refuses_overwrite(path: Path) -> str | None:
    """A reason not to overwrite ``path`` (an existing file that is not a LabelMe file), or None."""
    if not path.exists():
        return None
    try:
        data = read_json(path)
    except (FormatError, OSError):
        return f"{path.name} exists and is not a LabelMe file, so it was not overwritten"
    if not isinstance(data, dict) or "shapes" not in data:
        return f"{path.name} exists and is not a LabelMe file, so it was not overwritten"
    return None


@in_read_snapshot
def export_labelme(project: Any, out_dir: Path | str | None = None, masks: str = "auto",
                   progress: Progress | None = None, cancel: threading.Event | None = None) -> ExportReport:
    """Write one LabelMe JSON per annotated (or done) image; see the module doc.

    Each file is written atomically; on cancel (app.core.formats.common.Cancelled) the files
    written so far stay. Images whose file is missing, whose JSON would collide with another
    image's (a.jpg and a.png), or whose JSON path holds a non-LabelMe file are skipped and reported.
    ``progress(done, total)`` counts images.
    """
    if masks not in LABELME_MASK_MODES:
        raise ValueError(f"LabelMe masks must be one of {', '.join(LABELME_MASK_MODES)} (got {masks!r}).")
    out = None if out_dir is None else Path(out_dir).absolute()
    if out is not None and out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file; give a folder for the LabelMe files.")
    report = ExportReport(format="LabelMe")
    labels = {lc.id: lc.name for lc in project.label_classes()}
    ticker = Ticker(project.image_count(), progress, cancel)
    claimed: dict[Path, str] = {}
    guard = OutputGuard(project)
    filled_total = 0
    for rec, wanted in export_images(project, _PAGE):
        ticker.tick()
        if not wanted:
            continue
        image = project.image_path(rec)
        if not os.path.isfile(image):
            report.skipped.append((rec.path, "the image file is missing (labelme needs it)"))
            continue
        size = image_size(project, rec)
        if isinstance(size, str):
            report.skipped.append((rec.path, size))
            continue
        target = json_path_for(project, rec, out)
        if target in claimed:
            report.skipped.append((rec.path, f"{target.name} is already the LabelMe file of {claimed[target]} "
                                             "(same folder and name stem)"))
            continue
        refusal = guard.refusal(target) or _refuses_overwrite(target)
        if refusal is not None:
            report.skipped.append((rec.path, refusal))
            continue
        claimed[target] = rec.path
        doc, written, filled = labelme_document(project.annotations(rec.id), labels,
                                                posix_relpath(image, target.parent), size[0], size[1], masks,
                                                report.skipped)
        write_json_atomic(target, doc, ensure_ascii=False, indent=2)
        report.files.append(target)
        report.images += 1
        report.annotations += written
        filled_total += filled
    if filled_total:
        report.warnings.append(f"{filled_total} annotation(s) have holes that LabelMe polygons cannot hold; they "
                               "were exported filled (the auto or mask mode keeps them).")
    if progress is not None:
        progress(ticker.total, ticker.total)
    return report
