"""Mask PNG export: one PNG per image, semantic (class per pixel) or instance (id per pixel).

Layout under the destination folder::

    classes.json                 [{"index": 0, "name": "_background_", "color": "#000000"}, ...]
    classes.txt                  line k = name of class k (line 0: _background_)
    masks/<image path>.png       (the image's project path without '..', extension replaced)
    masks/<image path>.json      {"image": path of the image relative to this file, "width", "height",
                                  "mode", "instances": [{"id", "label", ...}] (instance mode)}

``mode`` "semantic": an 8-bit palette PNG, 0 background, k = class k (label order + 1, at most
254 classes), the palette holding the label colours. "instance": a 16-bit greyscale PNG,
0 background, k = the k-th area annotation of the image in z order (at most 65 535), the sidecar
mapping each id to its label (and group_id, description, flags, attributes when set). Overlaps: the
upper annotation wins the pixel (counted); semantic masks merge the instances of a class (counted).
Point, line and linestrip annotations are skipped (counted).
"""
from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np

from app.core.formats.api import DestinationKind
from app.core.formats.common import ExportReport, Progress, Ticker, jsonable, posix_relpath
from app.core.formats.export_common import annotation_crop, export_images, image_size
from app.core.model import ImageRecord
from app.core.options import Option, OptionValue, resolve_options
from plugins.dataset import relative_parts
from plugins.output import OutputFiles
from plugins.voc.palette import palette_png, uint16_png, voc_colormap

if TYPE_CHECKING:
    from app.core.formats.api import ExportPlan
    from app.core.project import Project

MODES = ("semantic", "instance")
OPTIONS: tuple[Option, ...] = (Option("mode", "Mask kind", "choice", "semantic", MODES,
                  help="semantic: class index per pixel (palette PNG); instance: instance id per pixel (16-bit PNG)."),)
MAX_CLASSES = 254
MAX_INSTANCES = 65535


def hex_rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


class MaskPngExporter:
    """Semantic or instance mask PNGs with a class mapping; see the module doc."""

    id = "mask-png"
    title = "Mask PNG (semantic or instance)"
    file_filter = "Mask PNG folder"
    destination: DestinationKind = "folder"
    mask_modes: tuple[str, ...] = ("auto",)
    options = OPTIONS

    def plan(self, project: "Project", dest: Path) -> "ExportPlan":
        """What an export to ``dest`` would create or replace (plugins.output.destination_plan)."""
        from plugins.output import destination_plan

        return destination_plan(dest, "mask PNG")

    def default_destination(self, project: "Project") -> Path:
        """``<project folder>/<project name>_masks``."""
        return project.root / f"{project.path.stem}_masks"

    def run(self, project: "Project", dest: Path, *, masks: str, options: Mapping[str, OptionValue],
            progress: Progress | None = None, cancel: threading.Event | None = None) -> ExportReport:
        """Write the mask PNGs and mappings under ``dest``."""
        opts = resolve_options(self.options, options)
        mode = str(opts["mode"])
        if mode not in MODES:
            raise ValueError(f"the mode must be one of {', '.join(MODES)} (got {mode!r}).")
        classes = sorted(project.label_classes(), key=lambda lc: (lc.order, lc.id))
        if mode == "semantic" and len(classes) > MAX_CLASSES:
            raise ValueError(f"semantic PNGs hold at most {MAX_CLASSES} classes (255 is void); "
                             f"this project has {len(classes)}.")
        dest = Path(dest).absolute()
        if dest.exists() and not dest.is_dir():
            raise ValueError(f"{dest} is a file; give a folder for the mask PNGs.")
        report = ExportReport(format=f"Mask PNG ({mode})")
        out = OutputFiles(project, report)
        index = {lc.id: k + 1 for k, lc in enumerate(classes)}
        palette = voc_colormap(256)
        for lc in classes if mode == "semantic" else ():
            palette[index[lc.id]] = hex_rgb(lc.color)
        names = {lc.id: lc.name for lc in classes}
        wanted = [rec for rec, w in export_images(project) if w]
        ticker = Ticker(len(wanted), progress, cancel)
        taken: set[str] = set()
        for rec in wanted:
            ticker.tick()
            self._image(project, rec, dest, mode, index, names, palette, out, taken)
        table: list[dict[str, int | str]] = [{"index": 0, "name": "_background_", "color": "#000000"}]
        table += [{"index": index[lc.id], "name": lc.name, "color": lc.color} for lc in classes]
        out.write_text(dest / "classes.json", json.dumps(table, ensure_ascii=False, indent=2) + "\n", "classes.json")
        out.write_text(dest / "classes.txt", "".join(str(e["name"]) + "\n" for e in table), "classes.txt")
        if progress is not None:
            progress(ticker.total, ticker.total)
        return report

    def _image(self, project: "Project", rec: ImageRecord, dest: Path, mode: str, index: dict[int, int],
               names: dict[int, str], palette: np.ndarray, out: OutputFiles, taken: set[str]) -> None:
        report = out.report
        size = image_size(project, rec)
        if isinstance(size, str):
            report.skipped.append((rec.path, size))
            return
        h, w = size
        rel = PurePosixPath(*relative_parts(rec.path)).with_suffix("")
        if str(rel).casefold() in taken:
            report.skipped.append((rec.path, f"its mask name {rel}.png is taken by another image (same stem)"))
            return
        taken.add(str(rel).casefold())
        canvas = np.zeros((h, w), np.uint8 if mode == "semantic" else np.uint16)
        instances: list[dict[str, Any]] = []
        drawn: list[tuple[int, np.ndarray, int, int]] = []
        for ann in sorted(project.annotations(rec.id), key=lambda a: a.z):
            if not ann.has_area:
                report.tally(f"{ann.shape} annotation(s) skipped (mask PNGs hold areas only)")
                continue
            try:
                got = annotation_crop(ann, h, w)
            except ValueError as exc:
                report.skipped.append((f"annotation {ann.id} ({rec.path})", f"its stored mask is unreadable ({exc})"))
                continue
            if got is None:
                report.skipped.append((f"annotation {ann.id} ({rec.path})", "it covers no pixel of the image"))
                continue
            if mode == "instance" and len(instances) >= MAX_INSTANCES:
                report.tally(f"annotation(s) beyond the {MAX_INSTANCES}th of an image left out")
                continue
            crop, x0, y0 = got
            value = index[ann.label_id] if mode == "semantic" else len(instances) + 1
            canvas[y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]][crop] = value
            drawn.append((value, crop, x0, y0))
            report.annotations += 1
            if mode == "instance":
                entry: dict[str, Any] = {"id": value, "label": names[ann.label_id]}
                for key in ("group_id", "description", "flags", "attributes"):
                    if getattr(ann, key):
                        entry[key] = getattr(ann, key)
                instances.append(entry)
        if mode == "semantic" and drawn:
            report.tally("annotation(s) merged into class regions (semantic masks hold no instances)", len(drawn))
        if mode == "instance":
            hidden = sum(1 for value, crop, x0, y0 in drawn
                         if (canvas[y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]][crop] != value).any())
            if hidden:
                report.tally("annotation(s) partly hidden by higher ones (one id per pixel)", hidden)
        png = palette_png(canvas, palette) if mode == "semantic" else uint16_png(canvas)
        target = dest.joinpath("masks", str(rel) + ".png")
        sidecar = target.with_suffix(".json")
        meta: dict[str, Any] = {"image": posix_relpath(project.image_path(rec), sidecar.parent), "width": w,
                                "height": h, "mode": mode}
        if mode == "instance":
            meta["instances"] = instances
        if out.write_bytes(target, png, rec.path) and out.write_text(
                sidecar, json.dumps(jsonable(meta), ensure_ascii=False, indent=2) + "\n", rec.path):
            report.images += 1
