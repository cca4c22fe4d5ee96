"""CVAT for images 1.1 XML export (docs.cvat.ai "XML annotation format"; what CVAT's importer
``load_anno`` reads).

One ``annotations.xml``-style file: ``<version>1.1</version>``, ``<meta><task>`` with every label
class (name, colour, type "any", its attributes with input types), then one ``<image id name
width height>`` per project image (ids = index in lexical order of the names, as CVAT numbers
them; ``name`` = the image's project path without '..'), empty images included as CVAT does.

CVAT coordinates are continuous (pixel i spans [i, i + 1]); ours are pixel centres, so every
coordinate is written + 0.5 (boxes: xtl = x0, xbr = x1 + 1 for the inclusive pixel corners).
rectangle -> <box>; circle -> <ellipse> (rx = ry); point -> <points>; line/linestrip ->
<polyline>; hole-free polygons without a stored mask -> one <polygon> per part (parts share a
group_id); masks and polygons with holes -> <mask> with CVAT's RLE over the tight box
(``masks`` "mask": every polygon too; "polygon": masks as outline polygons, holes filled, counted).
Per shape: label, source (sam -> semi-auto, auto -> auto, else manual), occluded (flags),
z_order (as imported, else the rank in the image), group_id, and <attribute> children: the
annotation's attributes, its other flags (checkbox attributes "true"/"false") and its description
(an attribute named "description"). CVAT elements kept from an import (tags, skeletons, cuboids)
are written back into their image.
"""
from __future__ import annotations

import contextlib
import datetime
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import cv2
import numpy as np

from app.core.formats.api import DestinationKind
from app.core.formats.common import ExportReport, Progress, Ticker
from app.core.formats.export_common import annotation_crop, image_size
from app.core.formats.provenance import kept
from app.core.geometry import mask_to_corner_polygons
from app.core.model import Annotation, ImageRecord
from app.core.options import Option, OptionValue, resolve_options
from plugins.cvat import rle
from plugins.dataset import full_mask, relative_parts
from plugins.output import OutputFiles

if TYPE_CHECKING:
    from app.core.formats.api import ExportPlan
    from app.core.project import Project

MASK_MODES = ("auto", "mask", "polygon")
SOURCES = {"sam": "semi-auto", "auto": "auto", "propagated": "semi-auto"}


def num(v: float) -> str:
    """Up to 4 decimals, no trailing zeros."""
    text = f"{v:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def pts_text(points: Iterable[tuple[float, float]]) -> str:
    return ";".join(f"{num(x + 0.5)},{num(y + 0.5)}" for x, y in points)


def attr_text(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def input_type(values: list[object]) -> str:
    if values and all(isinstance(v, bool) for v in values):
        return "checkbox"
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "number"
    return "text"


def shape_elements(ann: Annotation, h: int, w: int, masks: str, report: ExportReport) -> list[ET.Element]:
    """The CVAT element(s) of one annotation (without the common attributes)."""
    if ann.shape == "rectangle" and len(ann.points) == 2:
        (x0, y0), (x1, y1) = ann.points
        return [ET.Element("box", {"xtl": num(x0), "ytl": num(y0), "xbr": num(x1 + 1), "ybr": num(y1 + 1)})]
    if ann.shape == "circle" and len(ann.points) == 2:
        (cx, cy), (px, py) = ann.points
        r = num(float(np.hypot(px - cx, py - cy)))
        return [ET.Element("ellipse", {"cx": num(cx + 0.5), "cy": num(cy + 0.5), "rx": r, "ry": r})]
    if ann.shape == "point":
        return [ET.Element("points", {"points": pts_text(ann.points)})]
    if ann.shape in ("line", "linestrip"):
        return [ET.Element("polyline", {"points": pts_text(ann.points)})]
    vertex_truth = ann.rle is None and ann.shape != "mask" and ann.parts and not any(p.holes for p in ann.parts)
    if vertex_truth and masks != "mask":
        return [ET.Element("polygon", {"points": pts_text(p.exterior)}) for p in ann.parts if len(p.exterior) >= 3]
    got = annotation_crop(ann, h, w)
    if got is None:
        return []
    crop, x0, y0 = got
    if masks == "polygon":
        rings = mask_to_corner_polygons(full_mask(crop, x0, y0, h, w))
        filled = np.pad(crop, 1)
        _, hier = cv2.findContours(filled.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
        if hier is not None and (hier[0][:, 3] != -1).any():
            report.tally("mask(s) with holes written as outline polygons, holes filled (masks 'polygon')")
        return [ET.Element("polygon", {"points": ";".join(f"{num(r[i])},{num(r[i + 1])}" for i in range(0, len(r), 2))})
                for r in rings]
    return [ET.Element("mask", {"rle": rle.encode(crop), "left": str(x0), "top": str(y0),
                                "width": str(crop.shape[1]), "height": str(crop.shape[0])})]


class CvatExporter:
    """CVAT for images 1.1 XML; see the module doc."""

    id = "cvat"
    title = "CVAT for images 1.1 (XML)"
    file_filter = "CVAT XML (*.xml)"
    destination: DestinationKind = "file"
    mask_modes: tuple[str, ...] = MASK_MODES
    options: tuple[Option, ...] = ()

    def plan(self, project: "Project", dest: Path) -> "ExportPlan":
        """What an export to ``dest`` would create or replace (plugins.output.destination_plan)."""
        from plugins.output import destination_plan

        return destination_plan(dest, "CVAT XML")

    def default_destination(self, project: "Project") -> Path:
        """``<project folder>/<project name>.cvat.xml``."""
        return project.root / f"{project.path.stem}.cvat.xml"

    def run(self, project: "Project", dest: Path, *, masks: str, options: Mapping[str, OptionValue],
            progress: Progress | None = None, cancel: threading.Event | None = None) -> ExportReport:
        """Write the XML file ``dest``."""
        resolve_options(self.options, options)
        if masks not in MASK_MODES:
            raise ValueError(f"CVAT masks must be one of {', '.join(MASK_MODES)} (got {masks!r}).")
        dest = Path(dest).absolute()
        if dest.is_dir():
            raise ValueError(f"{dest} is a folder; give the XML file to write.")
        report = ExportReport(format="CVAT for images 1.1")
        out = OutputFiles(project, report)
        classes = sorted(project.label_classes(), key=lambda lc: (lc.order, lc.id))
        names = {lc.id: lc.name for lc in classes}
        records = sorted(((str(PurePosixPath(*relative_parts(r.path))), r) for r in project.images()),
                         key=lambda t: t[0])
        ticker = Ticker(len(records), progress, cancel)
        with out.open_text(dest, dest.name) as fh:
            if fh is None:
                return report
            fh.write('<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n')
            fh.write(self._meta(project, classes, len(records)))
            for index, (name, rec) in enumerate(records):
                ticker.tick()
                el = self._image(project, rec, index, name, names, masks, report)
                if el is not None:
                    ET.indent(el, space="  ", level=1)
                    fh.write("  " + ET.tostring(el, encoding="unicode") + "\n")
            fh.write("</annotations>\n")
        if progress is not None:
            progress(ticker.total, ticker.total)
        return report

    @staticmethod
    def _meta(project: "Project", classes: list, size: int) -> str:
        used: dict[int, dict[str, list[object]]] = {lc.id: {} for lc in classes}
        for ann in project.iter_annotations():
            spec = used.setdefault(ann.label_id, {})
            for k, v in ann.attributes.items():
                spec.setdefault(k, []).append(v)
            for k, v in ann.flags.items():
                if k != "occluded":
                    spec.setdefault(k, []).append(bool(v))
            if ann.description:
                spec.setdefault("description", []).append(ann.description)
        now = datetime.datetime.now(datetime.timezone.utc).isoformat()
        meta = ET.Element("meta")
        task = ET.SubElement(meta, "task")
        for tag, text in (("id", "0"), ("name", project.path.stem), ("size", str(size)), ("mode", "annotation"),
                          ("overlap", "0"), ("bugtracker", ""), ("created", now), ("updated", now),
                          ("flipped", "False")):
            ET.SubElement(task, tag).text = text
        labels = ET.SubElement(task, "labels")
        for lc in classes:
            label = ET.SubElement(labels, "label")
            ET.SubElement(label, "name").text = lc.name
            ET.SubElement(label, "color").text = lc.color
            saved = kept(lc.extra, "cvat")
            ET.SubElement(label, "type").text = str(saved.get("type") or "any")
            attrs = ET.SubElement(label, "attributes")
            specs = {s["name"]: s for s in saved.get("attributes", []) if isinstance(s, dict) and "name" in s}
            for name, values in used.get(lc.id, {}).items():
                specs.setdefault(name, {"name": name, "mutable": "False", "input_type": input_type(values),
                                        "default_value": attr_text(values[0]) if input_type(values) != "text" else "",
                                        "values": ""})
            for spec in specs.values():
                a = ET.SubElement(attrs, "attribute")
                for key in ("name", "mutable", "input_type", "default_value", "values"):
                    ET.SubElement(a, key).text = str(spec.get(key, ""))
        ET.SubElement(meta, "dumped").text = now
        ET.indent(meta, space="  ", level=1)
        return "  " + ET.tostring(meta, encoding="unicode") + "\n"

    @staticmethod
    def _image(project: "Project", rec: ImageRecord, index: int, name: str, names: dict[int, str], masks: str,
               report: ExportReport) -> ET.Element | None:
        size = image_size(project, rec)
        if isinstance(size, str):
            report.skipped.append((rec.path, size))
            return None
        h, w = size
        el = ET.Element("image", {"id": str(index), "name": name, "width": str(w), "height": str(h)})
        anns = sorted(project.annotations(rec.id), key=lambda a: a.z)
        next_group = max((a.group_id for a in anns if a.group_id), default=0) + 1
        for rank, ann in enumerate(anns):
            try:
                shapes = shape_elements(ann, h, w, masks, report)
            except ValueError as exc:
                report.skipped.append((f"annotation {ann.id} ({rec.path})", f"its stored mask is unreadable ({exc})"))
                continue
            if not shapes:
                report.skipped.append((f"annotation {ann.id} ({rec.path})", "it covers no pixel of the image"))
                continue
            saved = kept(ann.extra, "cvat")
            group = ann.group_id
            if group is None and len(shapes) > 1:
                group, next_group = next_group, next_group + 1
            for shape in shapes:
                attrs = {"label": names[ann.label_id], "source": str(saved.get("source") or SOURCES.get(ann.source, "manual")),
                         "occluded": "1" if ann.flags.get("occluded") else "0",
                         "z_order": str(saved.get("z_order", rank))}
                if group:
                    attrs["group_id"] = str(group)
                shape.attrib = {**attrs, **shape.attrib}
                values = {**ann.attributes, **{k: bool(v) for k, v in ann.flags.items() if k != "occluded"}}
                if ann.description:
                    values.setdefault("description", ann.description)
                for k, v in values.items():
                    ET.SubElement(shape, "attribute", {"name": str(k)}).text = attr_text(v)
                el.append(shape)
            report.annotations += 1
        for raw in kept(rec.extra, "cvat").get("xml", []):
            with contextlib.suppress(ET.ParseError):  # kept at import as parsed XML: unparseable only if edited by hand
                el.append(ET.fromstring(raw))
        report.images += 1
        return el
