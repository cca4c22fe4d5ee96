"""CVAT for images 1.1 XML import (the file CVAT exports as annotations.xml).

The file is read as a stream (plugins.xmlsafe: bounded size, no entity declarations), one
<image> at a time. Labels of <meta> become label classes (in order, with their colours; their
attribute specs kept in the class's extra["cvat"]). Images are found by ``name`` under
``images_dir``, the XML's folder, its images/ folder or the project folder; an image whose size
differs from the XML's width/height is skipped.

Coordinates are continuous in CVAT (pixel i spans [i, i + 1]) and are read - 0.5 into pixel
centres. <box> -> rectangle (x0 = xtl, x1 = xbr - 1; a rotated box -> polygon, counted);
<polygon> -> polygon (vertices kept); <polyline> -> line (2 points) or linestrip; <points> -> one
point annotation per point (counted when several); <ellipse> -> circle when rx = ry
and unrotated, else a polygon (counted); <mask> -> mask from CVAT's RLE (checked against its box
and the image before anything is allocated). Shapes are added in z_order (stable). occluded ->
flags["occluded"]; checkbox attributes -> flags; number attributes -> numbers; others ->
attributes (strings); an attribute named "description" -> the description; source and z_order
are kept in extra["cvat"]. <tag>, <skeleton> and <cuboid> are kept (raw XML, image extra) and
written back by the exporter; <track> (CVAT for video) is not imported. Bad shapes are skipped
with the reason.
"""
from __future__ import annotations

import math
import threading
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.core.errors import FormatError
from app.core.formats.api import OnDuplicate, SourceKind
from app.core.formats.common import ImportReport, Progress, Ticker
from app.core.formats.import_common import ImportSession
from app.core.model import ImageRecord, Part
from app.core.options import Option, OptionValue, resolve_options
from app.core.shapes import circle_parts
from plugins.cvat import rle
from plugins.dataset import find_image, full_mask, label_id_with_color, polygon_crop
from plugins.xmlsafe import iter_events

if TYPE_CHECKING:
    from app.core.project import Project

MAX_XML_BYTES = 4 * 2**30
KEPT_TAGS = ("tag", "skeleton", "cuboid")
SHAPE_TAGS = ("box", "polygon", "polyline", "points", "ellipse", "mask")
MAX_POINTS = 1_000_000  # per shape: more is no hand- or tool-made outline (bounds memory)


def _f(el: ET.Element, key: str) -> float:
    v = float(el.get(key, "nan"))
    if not math.isfinite(v):
        raise ValueError(f"its {key} is missing or not a finite number")
    return v


def _points(el: ET.Element) -> list[tuple[float, float]]:
    text = el.get("points") or ""
    if text.count(";") >= MAX_POINTS:
        raise ValueError(f"it has more than {MAX_POINTS} points")
    out = []
    for pair in text.split(";"):
        xy = pair.split(",")
        if len(xy) != 2:
            raise ValueError("its points are not 'x,y;x,y;...'")
        x, y = float(xy[0]), float(xy[1])
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError("its points hold a non-finite number")
        out.append((x - 0.5, y - 0.5))
    return out


def _ellipse_ring(cx: float, cy: float, rx: float, ry: float, rot_deg: float, n: int = 72) -> tuple:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    a = math.radians(rot_deg)
    x, y = rx * np.cos(t), ry * np.sin(t)
    return tuple((float(cx + x[i] * math.cos(a) - y[i] * math.sin(a)),
                  float(cy + x[i] * math.sin(a) + y[i] * math.cos(a))) for i in range(n))


def _label_specs(meta: ET.Element) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for label in meta.iter("label"):
        name = (label.findtext("name") or "").strip()
        if not name:
            continue
        attrs = []
        for a in label.iterfind("attributes/attribute"):
            spec = {k: (a.findtext(k) or "") for k in ("name", "mutable", "input_type", "default_value", "values")}
            if spec["name"]:
                attrs.append(spec)
        out[name] = {"color": label.findtext("color"), "type": label.findtext("type") or "", "attributes": attrs}
    return out


class CvatImporter:
    """CVAT for images 1.1 XML; see the module doc."""

    id = "cvat"
    title = "CVAT for images 1.1 (XML)"
    file_filter = "CVAT XML (*.xml)"
    source: SourceKind = "file"
    options: tuple[Option, ...] = ()

    def run(self, project: "Project", src: Path, *, images_dir: Path | None, options: Mapping[str, OptionValue],
            on_duplicate: OnDuplicate = "skip", progress: Progress | None = None,
            cancel: threading.Event | None = None) -> ImportReport:
        """Import one CVAT XML file in one transaction."""
        resolve_options(self.options, options)
        src = Path(src).absolute()
        if src.is_dir() and (src / "annotations.xml").is_file():
            src = src / "annotations.xml"
        if not src.is_file():
            raise FormatError(f"{src} is not a file (give the CVAT annotations.xml).")
        folders = ([Path(images_dir)] if images_dir is not None else []) + [src.parent, src.parent / "images",
                                                                          project.image_root, project.root]
        report = ImportReport(format="CVAT for images 1.1")
        ticker = Ticker(0, progress, cancel, step=1)
        specs: dict[str, dict[str, Any]] = {}
        with project.transaction():
            session = ImportSession(project, report, self.id, on_duplicate)
            root: ET.Element | None = None
            started = False
            for event, el in iter_events(src, MAX_XML_BYTES):
                if root is None:
                    if el.tag != "annotations":
                        raise FormatError(f"{src} is not a CVAT XML file (its root element is <{el.tag}>).")
                    root = el
                    continue
                if event != "end" or el not in list(root):
                    continue
                if el.tag == "meta":
                    specs = _label_specs(el)
                    for name, spec in specs.items():
                        label_id_with_color(session, name, spec["color"] if spec["color"] else None,
                                            {"cvat": {"type": spec["type"], "attributes": spec["attributes"]}})
                elif el.tag == "image":
                    if not started:
                        if not session.begin_file(src):
                            return report
                        started = True
                    ticker.tick()
                    self._image(session, el, specs, folders)
                elif el.tag == "track":
                    report.tally("track(s) (CVAT for video) not imported; export the task as CVAT for images")
                root.remove(el)
            if root is None:
                raise FormatError(f"{src} holds no XML element.")
            if not started and not session.begin_file(src):
                return report
            session.end_file()
        if progress is not None:
            progress(ticker.done, ticker.done)
        return report

    def _image(self, session: ImportSession, el: ET.Element, specs: dict[str, dict[str, Any]],
               folders: list[Path]) -> None:
        report = session.report
        name = el.get("name") or ""
        what = f"image {name!r}"
        try:
            w, h = int(el.get("width", "")), int(el.get("height", ""))
        except ValueError:
            report.skip(what, "it has no valid width and height")
            return
        image = find_image(name, folders) if name else None
        if image is None:
            if len(el):
                report.skip(what, f"the image was not found ({len(el)} shape(s) not imported)")
            return
        rec = session.image(image)
        if isinstance(rec, str):
            report.skip(what, rec)
            return
        if (rec.width, rec.height) != (w, h):
            report.skip(what, f"the XML says {w}x{h} but the image is {rec.width}x{rec.height} (after EXIF rotation)")
            return
        report.images += 1
        keep = [ET.tostring(c, encoding="unicode").strip() for c in el if c.tag in KEPT_TAGS]
        if keep:
            extra = dict(rec.extra)
            extra["cvat"] = {"xml": keep}
            session.project.set_image_extra(rec.id, extra)
            report.tally("CVAT tag/skeleton/cuboid element(s) kept for export but not imported as annotations",
                         len(keep))
        shapes = [c for c in el if c.tag in SHAPE_TAGS]
        order = sorted(range(len(shapes)), key=lambda i: (self._z(shapes[i]), i))
        for i in order:
            shape = shapes[i]
            try:
                self._shape(session, rec, shape, specs)
            except ValueError as exc:
                report.skip(f"{name} {shape.tag} {i + 1} ({shape.get('label')!r})", str(exc))

    @staticmethod
    def _z(shape: ET.Element) -> int:
        try:
            return int(shape.get("z_order", "0"))
        except ValueError:
            return 0

    def _shape(self, session: ImportSession, rec: ImageRecord, el: ET.Element,
               specs: dict[str, dict[str, Any]]) -> None:
        report = session.report
        label = (el.get("label") or "").strip()
        if not label:
            raise ValueError("it has no label")
        types = {s["name"]: s["input_type"] for s in specs.get(label, {}).get("attributes", [])}
        attributes: dict[str, Any] = {}
        flags: dict[str, bool] = {"occluded": True} if el.get("occluded") == "1" else {}
        description = ""
        for a in el.findall("attribute"):
            key, text = a.get("name") or "", a.text or ""
            if not key:
                continue
            if key == "description":
                description = text
            elif types.get(key) == "checkbox":
                flags[key] = text.strip().lower() == "true"
            elif types.get(key) == "number":
                try:
                    num = float(text)
                    attributes[key] = int(num) if num.is_integer() and "." not in text else num
                except ValueError:
                    attributes[key] = text
            else:
                attributes[key] = text
        extra = {"cvat": {"source": el.get("source") or "manual", "z_order": self._z(el)}}
        group = el.get("group_id")
        common: dict[str, Any] = {"flags": flags, "attributes": attributes, "description": description,
                                  "extra": extra, "group_id": int(group) if group and group.isdigit() and int(group) else None}
        lid = session.label_id(label)
        rid = rec.id
        if el.tag == "box":
            x0, y0, xbr, ybr = (_f(el, k) for k in ("xtl", "ytl", "xbr", "ybr"))
            rot = float(el.get("rotation", "0") or 0)
            if rot:
                cx, cy = (x0 + xbr) / 2 - 0.5, (y0 + ybr) / 2 - 0.5
                angle = math.radians(rot)
                cos, sin = math.cos(angle), math.sin(angle)
                hw, hh = (xbr - x0) / 2, (ybr - y0) / 2
                ring = tuple((cx + dx * cos - dy * sin, cy + dx * sin + dy * cos)
                             for dx, dy in ((-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh)))
                report.tally("rotated box(es) imported as polygons")
                session.add(rid, lid, shape="polygon", parts=(Part(exterior=ring),), **common)
                return
            if xbr - 1 < x0 or ybr - 1 < y0:
                raise ValueError("its box is narrower than one pixel")
            session.add(rid, lid, shape="rectangle", points=((x0, y0), (xbr - 1, ybr - 1)), **common)
        elif el.tag == "polygon":
            pts = _points(el)
            if len(pts) < 3:
                raise ValueError(f"a polygon needs at least 3 points, it has {len(pts)}")
            parts = (Part(exterior=tuple(pts)),)
            if polygon_crop(parts, rec.height, rec.width) is None:
                raise ValueError("it covers no pixel of the image")
            session.add(rid, lid, shape="polygon", parts=parts, **common)
        elif el.tag == "polyline":
            pts = _points(el)
            if len(pts) < 2:
                raise ValueError(f"a polyline needs at least 2 points, it has {len(pts)}")
            session.add(rid, lid, shape="line" if len(pts) == 2 else "linestrip", points=pts, **common)
        elif el.tag == "points":
            pts = _points(el)
            if len(pts) > 1 and common["group_id"] is None:
                report.tally("multi-point <points> split into point annotations")
            for p in pts:
                session.add(rid, lid, shape="point", points=(p,), **common)
        elif el.tag == "ellipse":
            cx, cy, rx, ry = (_f(el, k) for k in ("cx", "cy", "rx", "ry"))
            rot = float(el.get("rotation", "0") or 0)
            if abs(rx - ry) < 1e-6 and not rot:
                c = (cx - 0.5, cy - 0.5)
                session.add(rid, lid, shape="circle", points=(c, (c[0] + rx, c[1])),
                            parts=circle_parts(c, (c[0] + rx, c[1])), **common)
            else:
                report.tally("ellipse(s) imported as polygons")
                session.add(rid, lid, shape="polygon",
                            parts=(Part(exterior=_ellipse_ring(cx - 0.5, cy - 0.5, rx, ry, rot)),), **common)
        elif el.tag == "mask":
            try:
                left, top, mw, mh = (int(el.get(k, "")) for k in ("left", "top", "width", "height"))
            except ValueError:
                raise ValueError("its left/top/width/height are not whole numbers") from None
            if left < 0 or top < 0 or mw < 1 or mh < 1 or left + mw > rec.width or top + mh > rec.height:
                raise ValueError(f"its box {mw}x{mh} at ({left}, {top}) is not inside the "
                                 f"{rec.width}x{rec.height} image")
            crop = rle.decode(el.get("rle") or "", mw, mh)
            if isinstance(crop, str):
                raise ValueError(crop)
            if not crop.any():
                raise ValueError("its mask is empty")
            session.add(rid, lid, full_mask(crop, left, top, rec.height, rec.width), shape="mask", **common)
