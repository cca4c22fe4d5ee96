"""ISAT JSON export (formats.md 3): one ``<image stem>.json`` per image + ``isat.yaml``.

Files go under the destination folder, mirroring the images' sub-folders (ISAT reads one folder at
a time, so every folder that gets JSON files gets an isat.yaml: ``__background__`` first, then
every label class with its colour; an isat.yaml already there keeps its entries and gains the
missing classes). An existing JSON that is not an ISAT file is never overwritten.

One object per polygon, in z order, layers 1, 2, 3... Each annotation is one ISAT group (its
``group_id`` when set, else a fresh number): objects of the same (group, category) are one
instance for ISAT's readers, so annotations sharing a group_id and a label come back as one.
Masks (and polygons with holes) are traced so that ISAT's own rasteriser paints them back exactly
(plugins.isat.trace: holes as ``__background__`` objects, group 0, on higher layers); polygons,
rectangles and circles without a stored mask keep their vertices. ISAT's ``__background__`` erases
everything under it, so a lower annotation seen through a higher one's hole loses those pixels in
ISAT (counted). ``note`` = description, ``iscrowd`` = attributes["iscrowd"], ``bbox`` = vertex
extents (xyxy), ``area`` = the polygon's shoelace area. Objects kept from an ISAT import are
written back as they came while the geometry is unchanged. Images with an EXIF rotation are
skipped: ISAT does not rotate them, so the annotations would be misplaced.
"""
from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml
from shapely.geometry import Polygon

from app.core.errors import CoreError, FormatError
from app.core.formats.api import DestinationKind
from app.core.formats.common import ExportReport, Progress, Ticker, jsonable, read_json
from app.core.formats.export_common import annotation_crop, export_images, image_size
from app.core.formats.provenance import geometry_unchanged, kept
from app.core.model import Annotation, ImageRecord
from app.core.options import Option, OptionValue, resolve_options
from plugins.dataset import full_mask, relative_parts
from plugins.isat.raster import isat_polygon
from plugins.isat.trace import isat_rings, shoelace
from plugins.output import OutputFiles

if TYPE_CHECKING:
    from app.core.formats.api import ExportPlan
    from app.core.project import Project

BACKGROUND = "__background__"


def isat_object(ring: np.ndarray, category: str, group: int, layer: int, note: str = "",
                iscrowd: bool = False) -> dict[str, Any]:
    """One ISAT object with its derived fields (bbox xyxy of the vertices, shoelace area)."""
    pts = np.asarray(ring, np.float64)
    as_list = [[int(x), int(y)] if float(x).is_integer() and float(y).is_integer() else [float(x), float(y)]
               for x, y in pts]
    return {"category": category, "group": int(group), "segmentation": as_list, "area": shoelace(pts),
            "layer": float(layer), "bbox": [float(pts[:, 0].min()), float(pts[:, 1].min()),
                                            float(pts[:, 0].max()), float(pts[:, 1].max())],
            "iscrowd": bool(iscrowd), "note": note}


def annotation_objects(ann: Annotation, label: str, group: int, first_layer: int, height: int, width: int,
                       report: ExportReport) -> tuple[list[dict], np.ndarray | None]:
    """(objects, the pixels this annotation's __background__ objects erase as an HxW mask or None)."""
    note, crowd = ann.description, bool(ann.attributes.get("iscrowd", False))
    saved = kept(ann.extra, "isat")
    if isinstance(saved.get("objects"), list) and saved["objects"] and geometry_unchanged(ann, "isat"):
        return _kept_objects(saved, label, first_layer, note, crowd), None
    if ann.rle is None and ann.shape != "mask" and ann.parts and not any(p.holes for p in ann.parts):
        objs = [isat_object(np.asarray(p.exterior), label, group, first_layer + i, note if i == 0 else "", crowd)
                for i, p in enumerate(ann.parts) if len(p.exterior) >= 3]
        return objs, None
    got = annotation_crop(ann, height, width)
    if got is None:
        return [], None
    crop, x0, y0 = got
    rings, exact = isat_rings(crop)
    if not exact:
        report.tally("mask(s) ISAT cannot paint back exactly (traced as closely as possible)")
    objs, erased, layer = [], None, first_layer
    for is_bg, ring in rings:
        ring = ring + (x0, y0)
        if len(ring) < 3:  # a 1-2 pixel piece: ISAT paints vertices, so a repeated one keeps it exact
            ring = np.vstack([ring, np.repeat(ring[-1:], 3 - len(ring), axis=0)])
        if not Polygon(ring).is_valid:
            report.tally("outline(s) ISAT's validator will call invalid (1-pixel-wide or self-touching; "
                         "ISAT paints them exactly all the same)")
        if is_bg:
            objs.append(isat_object(ring, BACKGROUND, 0, layer))
            hole = isat_polygon(ring, height, width)
            if hole is not None:
                erased = np.zeros((height, width), bool) if erased is None else erased
                erased |= full_mask(*hole, height, width)
        else:
            objs.append(isat_object(ring, label, group, layer, note if not objs else "", crowd))
        layer += 1
    return objs, erased


def _kept_objects(saved: dict, label: str, first_layer: int, note: str, crowd: bool) -> list[dict]:
    """The objects an ISAT import kept, relabelled, renumbered from first_layer, notes/iscrowd
    updated when the annotation's description or iscrowd attribute changed."""
    objs = [dict(o) for o in saved["objects"] if isinstance(o, dict)]
    own = [o for o in objs if o.get("category") != BACKGROUND]
    same_note = note == saved.get("description", "")
    same_crowd = crowd == any(bool(o.get("iscrowd")) for o in own)
    for i, o in enumerate(objs):
        o["layer"] = float(first_layer + i)
        if o.get("category") == BACKGROUND:
            continue
        o["category"] = label
        if not same_note:
            o["note"] = note if o is own[0] else ""
        if not same_crowd:
            o["iscrowd"] = crowd
    return objs


def _yaml_labels(path: Path, project: "Project") -> str:
    """isat.yaml text: an existing file's entries kept, the project's classes added."""
    entries: list[dict] = []
    if path.is_file():
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            entries = [e for e in (data or {}).get("label", []) if isinstance(e, dict) and "name" in e]
        except (yaml.YAMLError, UnicodeDecodeError, AttributeError):
            entries = []
    names = {str(e["name"]) for e in entries}
    if BACKGROUND not in names:
        entries.insert(0, {"name": BACKGROUND, "color": "#000000"})
    for lc in sorted(project.label_classes(), key=lambda c: (c.order, c.id)):
        if lc.name not in names:
            entries.append({"name": lc.name, "color": lc.color})
    return yaml.safe_dump({"label": entries}, allow_unicode=True, sort_keys=False)


class IsatExporter:
    """ISAT JSON (one file per image, isat.yaml per folder); see the module doc."""

    id = "isat"
    title = "ISAT (one JSON per image)"
    file_filter = "ISAT JSON folder"
    destination: DestinationKind = "folder"
    mask_modes: tuple[str, ...] = ("polygon",)
    options: tuple[Option, ...] = ()

    def plan(self, project: "Project", dest: Path) -> "ExportPlan":
        """What an export to ``dest`` would create or replace (plugins.output.destination_plan)."""
        from plugins.output import destination_plan

        return destination_plan(dest, "ISAT")

    def default_destination(self, project: "Project") -> Path:
        """``<project folder>/<project name>_isat``."""
        return project.root / f"{project.path.stem}_isat"

    def run(self, project: "Project", dest: Path, *, masks: str, options: Mapping[str, OptionValue],
            progress: Progress | None = None, cancel: threading.Event | None = None) -> ExportReport:
        """Write the ISAT files under ``dest``."""
        resolve_options(self.options, options)
        dest = Path(dest).absolute()
        if dest.exists() and not dest.is_dir():
            raise ValueError(f"{dest} is a file; give a folder for the ISAT files.")
        report = ExportReport(format="ISAT")
        out = OutputFiles(project, report)
        labels = {lc.id: lc.name for lc in project.label_classes()}
        wanted = [rec for rec, w in export_images(project) if w]
        ticker = Ticker(len(wanted), progress, cancel)
        folders: set[Path] = set()
        taken: dict[Path, str] = {}
        for rec in wanted:
            ticker.tick()
            target = dest.joinpath(*relative_parts(rec.path)[:-1], PurePosixPath(rec.path).stem + ".json")
            if target in taken:
                report.skipped.append((rec.path, f"{target.name} is already the ISAT file of {taken[target]}"))
                continue
            if self._image(project, rec, target, labels, out):
                taken[target] = rec.path
                folders.add(target.parent)
        for folder in sorted(folders):
            out.write_text(folder / "isat.yaml", _yaml_labels(folder / "isat.yaml", project), "isat.yaml")
        if progress is not None:
            progress(ticker.total, ticker.total)
        return report

    def _image(self, project: "Project", rec: ImageRecord, target: Path, labels: dict[int, str],
               out: OutputFiles) -> bool:
        report = out.report
        image = project.image_path(rec)
        size = image_size(project, rec)
        if isinstance(size, str):
            report.skipped.append((rec.path, size))
            return False
        if image.is_file():
            from app.core.images import probe_image

            # an image that cannot be probed has no known orientation: the export goes on
            with contextlib.suppress(CoreError, OSError, ValueError):
                if probe_image(image).exif_orientation != 1:
                    report.skipped.append((rec.path, "its EXIF orientation rotates it and ISAT does not, so the "
                                                     "annotations would be misplaced (bake the rotation in first)"))
                    return False
        if target.exists():
            try:
                old = read_json(target)
            except (FormatError, OSError):
                old = None
            if not (isinstance(old, dict) and isinstance(old.get("info"), dict)
                    and old["info"].get("description") == "ISAT"):
                report.skipped.append((rec.path, f"{target.name} exists and is not an ISAT file, so it was kept"))
                return False
        h, w = size
        anns = sorted(project.annotations(rec.id), key=lambda a: a.z)
        next_group = max((a.group_id for a in anns if a.group_id is not None and a.group_id > 0), default=0) + 1
        objects: list[dict] = []
        below = np.zeros((h, w), bool)
        hidden = 0
        for ann in anns:
            if not ann.has_area:
                report.tally(f"{ann.shape} annotation(s) skipped (ISAT holds polygons only)")
                continue
            group = ann.group_id if ann.group_id is not None and ann.group_id > 0 else next_group
            if group == next_group:
                next_group += 1
            try:
                objs, erased = annotation_objects(ann, labels[ann.label_id], group, len(objects) + 1, h, w, report)
                mask = annotation_crop(ann, h, w) if len(anns) > 1 else None
            except ValueError as exc:
                report.skipped.append((f"annotation {ann.id} ({rec.path})", f"its stored mask is unreadable ({exc})"))
                continue
            if not objs:
                report.skipped.append((f"annotation {ann.id} ({rec.path})", "it covers no pixel of the image"))
                continue
            if erased is not None and (erased & below).any():
                hidden += 1
            if mask is not None:
                below |= full_mask(*mask, h, w)
            objects.extend(objs)
            report.annotations += 1
        if hidden:
            report.tally("annotation(s) seen through a higher one's hole lose those pixels in ISAT "
                         "(__background__ erases everything below)", hidden)
        saved = kept(rec.extra, "isat").get("info")
        info = {"description": "ISAT", "folder": str(image.parent), "name": image.name, "width": int(w),
                "height": int(h), "depth": 3, "note": ""}
        if isinstance(saved, dict):
            info.update({k: v for k, v in saved.items() if k not in ("description", "folder", "name", "width",
                                                                     "height")})
        text = json.dumps(jsonable({"info": info, "objects": objects}), indent=4, ensure_ascii=False,
                          allow_nan=False)
        if not out.write_text(target, text + "\n", rec.path):
            return False
        report.images += 1
        return True
