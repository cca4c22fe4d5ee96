"""Ultralytics YOLO export, segment (``yolo-seg``) and detect (``yolo-det``) (formats.md 4).

Layout (dataset root = the destination folder; ``path`` is omitted from data.yaml so Ultralytics
takes the YAML's folder, formats.md 4.3)::

    data.yaml                       train/val (+ names as {index: name}, every label class in order)
    images/[train|val/]<rel path>   the images, copied or hard-linked ("images" option)
    labels/[train|val/]<rel stem>.txt   one row per instance (an empty file: a background image)

``val_fraction`` > 0 splits the images (seeded, deterministic: plugins.dataset.split_of) into
train/ and val/ sub-folders; 0 writes one set used as both train and val. A folder of an image's
path named "images" is renamed "images_" (Ultralytics finds labels by replacing the last
/images/ of the image path). Images with no annotation are exported only when marked done.

Segment rows (plugins.yolo.geometry): vertices of polygons, rectangles and circles as they are
when no mask is stored with them; stored masks (SAM results, imported rasters) and polygons with
holes as the cv2 contours of their exact mask (mask mode "polygon", the default), or, with mask
mode "outline", every annotation's stored outline as drawn in the app (for masks: the polygons at
the polygon density the user chose, issue 13). Holes ("holes" option): "bridge" joins each
hole to the outline by a zero-width bridge (kept under Ultralytics' rasteriser but for a 1-pixel
line), "fill" drops it. Multi-part instances ("multipart" option): "bridge" joins the parts into one
row (one instance, 1-pixel bridge lines), "split" writes one row per part (each its own instance).
Point, line and linestrip annotations are skipped (counted). Detect rows: the bounding box
(rectangles: their corners; other shapes: their covered pixels). data.yaml carries
``sam_labeler: {coordinates: half-pixel}`` so the importer knows the convention.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import numpy as np
import yaml

from app.core.formats.api import DestinationKind
from app.core.formats.common import ExportReport, Progress, Ticker
from app.core.formats.export_common import annotation_crop, export_images, image_size
from app.core.model import Annotation, ImageRecord
from app.core.options import Option, OptionValue, resolve_options
from plugins.dataset import relative_parts, split_of, unique_name
from plugins.output import IMAGE_MODES, OutputFiles
from plugins.yolo.geometry import (Group, box_line, join_rings, mask_groups, order_groups, seg_line)

if TYPE_CHECKING:
    from app.core.formats.api import ExportPlan
    from app.core.project import Project

DATA_YAML_META = "yolo:data.yaml"  # project meta: unknown data.yaml keys kept by the importer (JSON)
OWN_KEYS = ("path", "train", "val", "test", "names", "nc", "sam_labeler")

_COMMON = (
    Option("val_fraction", "Validation fraction", "float", 0.0,
           help="Share of images put in val/ (seeded shuffle); 0: one set used for train and val."),
    Option("seed", "Split seed", "int", 0, help="Seed of the train/val shuffle (same seed, same split)."),
    Option("images", "Images", "choice", "copy", IMAGE_MODES,
           help="copy the images, or hard-link them (copied when on another filesystem)."),
)
SEG_OPTIONS = _COMMON + (
    Option("multipart", "Multi-part instances", "choice", "bridge", ("bridge", "split"),
           help="bridge: one row joined by zero-width bridges (one instance); split: one row per part."),
    Option("holes", "Holes", "choice", "bridge", ("bridge", "fill"),
           help="bridge: keep holes via a zero-width bridge to the outline; fill: outer outline only."),
)
DET_OPTIONS = _COMMON


def _vertex_groups(ann: Annotation, outline: bool = False) -> list[Group] | None:
    """The annotation's own vertex rings when they are the truth (no stored mask) and hole-free,
    or, with ``outline``, its stored outline whatever it is (a mask's polygons at the density chosen
    in the app, holes included); else None (the exact mask is traced instead)."""
    if outline and ann.parts and all(len(p.exterior) >= 3 for p in ann.parts):
        return [(np.asarray(p.exterior, np.float64), [np.asarray(h, np.float64) for h in p.holes if len(h) >= 3])
                for p in ann.parts]
    if ann.rle is not None or ann.shape == "mask" or not ann.parts or any(p.holes for p in ann.parts):
        return None
    return [(np.asarray(p.exterior, np.float64), []) for p in ann.parts]


def seg_rows(ann: Annotation, cls: int, height: int, width: int, multipart: str, holes: str,
             report: ExportReport, outline: bool = False) -> list[str]:
    """The segment rows of one area annotation ([] when it covers nothing); ``outline``: write
    the stored outline (mask mode "outline") instead of tracing a stored mask exactly."""
    groups = _vertex_groups(ann, outline)
    if groups is None:
        got = annotation_crop(ann, height, width)
        if got is None:
            return []
        groups = mask_groups(got[0], got[1], got[2], holes=True)
    n_holes = sum(len(h) for _, h in groups)
    if n_holes and holes == "fill":
        report.tally("hole(s) filled (YOLO rows have no holes; holes option 'fill')", n_holes)
        groups = [(outer, []) for outer, _ in groups]
    elif n_holes:
        report.tally("hole(s) kept by a zero-width bridge to their outline (a 1-pixel line in Ultralytics)",
                     n_holes)
    if not groups:
        return []
    if len(groups) > 1 and multipart == "split":
        report.tally("multi-part instance(s) written as one row per part (each part its own instance)")
        return [seg_line(cls, join_rings([outer] + hs), width, height) for outer, hs in groups]
    if len(groups) > 1:
        report.tally("multi-part instance(s) joined into one row by zero-width bridges")
    rings = [r for outer, hs in order_groups(groups) for r in [outer, *hs]]
    return [seg_line(cls, join_rings(rings), width, height)]


def det_row(ann: Annotation, cls: int, height: int, width: int) -> str | None:
    """The box row of one area annotation (None when it covers nothing)."""
    if ann.shape == "rectangle" and len(ann.points) == 2:
        (x0, y0), (x1, y1) = ann.points
        return box_line(cls, (x0, y0, x1 + 1.0, y1 + 1.0), width, height)
    got = annotation_crop(ann, height, width)
    if got is None:
        return None
    crop, cx, cy = got
    return box_line(cls, (cx, cy, cx + crop.shape[1], cy + crop.shape[0]), width, height)


def dataset_rel(rec: ImageRecord, taken: set[str], report: ExportReport) -> str:
    """The image's path under images/<split>/: its project path without '..', no 'images' folder."""
    parts = relative_parts(rec.path)
    fixed = [p + "_" if p == "images" else p for p in parts[:-1]]
    if fixed != parts[:-1]:
        report.tally("folder(s) named 'images' renamed 'images_' (Ultralytics maps the last /images/ to /labels/)")
    return unique_name(str(PurePosixPath(*fixed, parts[-1])), taken)


class YoloExporter:
    """Ultralytics YOLO dataset (segment or detect); see the module doc."""

    destination: DestinationKind = "folder"

    def __init__(self, task: str) -> None:
        self.task = task
        seg = task == "segment"
        self.id = "yolo-seg" if seg else "yolo-det"
        self.title = "YOLO segmentation (Ultralytics)" if seg else "YOLO detection (Ultralytics)"
        self.file_filter = "YOLO dataset folder"
        self.mask_modes: tuple[str, ...] = ("polygon", "outline") if seg else ()
        self.options: tuple[Option, ...] = SEG_OPTIONS if seg else DET_OPTIONS

    def plan(self, project: "Project", dest: Path) -> "ExportPlan":
        """What an export to ``dest`` would create or replace (plugins.output.destination_plan)."""
        from plugins.output import destination_plan

        return destination_plan(dest, "YOLO dataset")

    def default_destination(self, project: "Project") -> Path:
        """``<project folder>/<project name>_yolo[_det]``."""
        return project.root / f"{project.path.stem}_yolo{'' if self.task == 'segment' else '_det'}"

    def run(self, project: "Project", dest: Path, *, masks: str, options: Mapping[str, OptionValue],
            progress: Progress | None = None, cancel: threading.Event | None = None) -> ExportReport:
        """Write the dataset under ``dest`` (a folder, created when missing)."""
        opts = resolve_options(self.options, options)
        if masks not in self.mask_modes + ("auto",) and self.mask_modes:
            raise ValueError(f"YOLO writes polygons only (masks must be 'polygon' or 'outline', got {masks!r}).")
        self._outline = masks == "outline"
        dest = Path(dest).absolute()
        if dest.exists() and not dest.is_dir():
            raise ValueError(f"{dest} is a file; give a folder for the YOLO dataset.")
        report = ExportReport(format=self.title)
        out = OutputFiles(project, report)
        labels = sorted(project.label_classes(), key=lambda lc: (lc.order, lc.id))
        index = {lc.id: i for i, lc in enumerate(labels)}
        wanted = [rec for rec, w in export_images(project) if w]
        split = split_of([r.path for r in wanted], float(opts["val_fraction"]), int(opts["seed"]))
        splitting = float(opts["val_fraction"]) > 0
        ticker = Ticker(len(wanted), progress, cancel)
        taken: set[str] = set()
        for rec in wanted:
            ticker.tick()
            self._image(project, rec, dest, split[rec.path] if splitting else "", index, opts, out, taken)
        self._data_yaml(project, dest, [lc.name for lc in labels], splitting, out)
        if progress is not None:
            progress(ticker.total, ticker.total)
        return report

    def _image(self, project: "Project", rec: ImageRecord, dest: Path, subset: str, index: dict[int, int],
               opts: Mapping[str, OptionValue], out: OutputFiles, taken: set[str]) -> None:
        report = out.report
        src = project.image_path(rec)
        if not src.is_file():
            report.skipped.append((rec.path, "the image file is missing (a YOLO dataset needs it)"))
            return
        size = image_size(project, rec)
        if isinstance(size, str):
            report.skipped.append((rec.path, size))
            return
        h, w = size
        anns = project.annotations(rec.id)
        rows: list[str] = []
        for ann in anns:
            if not ann.has_area:
                report.tally(f"{ann.shape} annotation(s) skipped (YOLO holds areas only)")
                continue
            try:
                if self.task == "segment":
                    new = seg_rows(ann, index[ann.label_id], h, w, str(opts["multipart"]), str(opts["holes"]), report,
                                   outline=self._outline)
                else:
                    row = det_row(ann, index[ann.label_id], h, w)
                    new = [] if row is None else [row]
            except ValueError as exc:  # a corrupt stored mask: report it, export the rest
                report.skipped.append((f"annotation {ann.id} ({rec.path})", f"its stored mask is unreadable ({exc})"))
                continue
            if not new:
                report.skipped.append((f"annotation {ann.id} ({rec.path})", "it covers no pixel of the image"))
                continue
            rows.extend(new)
            report.annotations += 1
        if anns and not rows:
            report.skipped.append((rec.path, "none of its annotations can be written as YOLO rows"))
            return
        rel = dataset_rel(rec, taken, report)
        sub = (subset,) if subset else ()
        image_dst = dest.joinpath("images", *sub, rel)
        label_dst = dest.joinpath("labels", *sub, str(PurePosixPath(rel).with_suffix(".txt")))
        if not out.place_image(src, image_dst, str(opts["images"]), rec.path):
            return
        text = "".join(r + "\n" for r in rows)
        if out.write_text(label_dst, text, rec.path):
            report.images += 1

    def _data_yaml(self, project: "Project", dest: Path, names: list[str], splitting: bool,
                   out: OutputFiles) -> None:
        data: dict = {}
        kept = project.get_meta(DATA_YAML_META)
        if kept:
            try:
                extra = json.loads(kept)
            except ValueError:
                extra = {}
            if isinstance(extra, dict):
                data.update({k: v for k, v in extra.items() if k not in OWN_KEYS})
        data["train"] = "images/train" if splitting else "images"
        data["val"] = "images/val" if splitting else "images"
        data["names"] = {i: n for i, n in enumerate(names)}
        data["sam_labeler"] = {"coordinates": "half-pixel"}
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
        out.write_text(dest / "data.yaml", text, "data.yaml")
