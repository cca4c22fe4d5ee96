"""Pascal VOC import: Annotations/*.xml boxes and SegmentationObject/SegmentationClass PNGs.

Source: a VOC folder (the one holding Annotations/, SegmentationClass/, SegmentationObject/,
JPEGImages/; a VOCdevkit folder with one VOC20xx inside is accepted too) or one XML file. Images
are found in JPEGImages/ (any extension) or ``images_dir``. Class names: class_names.txt or
labels.txt (labelme's, "__ignore__" first line allowed) when present, else the 20 VOC classes.

Per image id: instance k of SegmentationObject (values 1..254) becomes a ``mask`` annotation whose
class is the k-th XML <object>'s name (VOC's rule), else the majority of SegmentationClass under
it; 0 and 255 (void) are not part of any instance. XML objects without pixels become
``rectangle`` annotations (VOC boxes are 1-based inclusive: xmin 1 = pixel 0). Without
SegmentationObject, each class of SegmentationClass becomes one ``mask`` annotation (semantic data
holds no instances; counted). <pose> goes to the attributes, <truncated>/<difficult>/<occluded>
to the flags (when 1), <attributes> (CVAT's flavour) to the attributes, any other element and the
original bndbox to extra["voc"] so the exporter writes them back.
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
from app.core.formats.provenance import geometry_fingerprint
from app.core.model import ImageRecord
from app.core.options import Option, OptionValue, resolve_options
from plugins.dataset import IMAGE_SUFFIXES, find_image
from plugins.voc.export import FLAG_FIELDS
from plugins.voc.palette import read_index_png
from plugins.xmlsafe import parse

if TYPE_CHECKING:
    from app.core.project import Project

VOC_CLASSES = ("_background_", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
               "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
               "train", "tvmonitor")
VOC_CLASSES_LIST = list(VOC_CLASSES)
MAX_XML_BYTES = 16 * 2**20
_MODELLED = {"name", "pose", "bndbox", "attributes", *FLAG_FIELDS}
_IMAGE_MODELLED = {"folder", "filename", "size", "segmented", "object", "path"}


def voc_root(src: Path) -> Path:
    """The folder holding Annotations/ or Segmentation*/ (src, or the single VOC20xx in a devkit)."""
    marks = ("Annotations", "SegmentationClass", "SegmentationObject")
    if any((src / m).is_dir() for m in marks):
        return src
    inner = [d for d in sorted(src.glob("*")) + sorted(src.glob("*/*")) if d.is_dir()
             and any((d / m).is_dir() for m in marks)]
    if len(inner) == 1:
        return inner[0]
    raise FormatError(f"{src} is not a Pascal VOC folder (no Annotations/, SegmentationClass/ or "
                      "SegmentationObject/ inside).")


def class_names(root: Path) -> list[str]:
    for name in ("class_names.txt", "labels.txt"):
        path = root / name
        if path.is_file():
            lines = [ln.strip() for ln in path.read_text(encoding="utf-8-sig").splitlines() if ln.strip()]
            if lines and lines[0] == "__ignore__":
                lines = lines[1:]
            if lines:
                return lines
    return VOC_CLASSES_LIST


def _number(el: ET.Element | None, tag: str) -> float | None:
    text = el.findtext(tag) if el is not None else None
    try:
        v = float(text) if text is not None else math.nan
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def read_objects(xml: ET.Element) -> list[dict[str, Any]]:
    """The <object>s of a VOC XML as dicts: name, box (xmin, ymin, xmax, ymax) or None, attributes,
    flags, kept (raw XML of other elements)."""
    out = []
    for obj in xml.findall("object"):
        name = (obj.findtext("name") or "").strip()
        bb = obj.find("bndbox")
        box = tuple(_number(bb, t) for t in ("xmin", "ymin", "xmax", "ymax"))
        attributes: dict[str, Any] = {}
        if obj.findtext("pose") is not None:
            attributes["pose"] = obj.findtext("pose", "").strip()
        for a in obj.iterfind("attributes/attribute"):
            key = (a.findtext("name") or "").strip()
            if key:
                attributes[key] = a.findtext("value") or ""
        flags = {f: True for f in FLAG_FIELDS if (obj.findtext(f) or "").strip() in ("1", "true", "True")}
        other = [ET.tostring(c, encoding="unicode").strip() for c in obj if c.tag not in _MODELLED]
        out.append({"name": name, "box": None if None in box else box, "attributes": attributes,
                    "flags": flags, "kept": other})
    return out


class VocImporter:
    """Pascal VOC (XML boxes, SegmentationObject/SegmentationClass PNGs); see the module doc."""

    id = "voc"
    title = "Pascal VOC (XML boxes + segmentation PNGs)"
    file_filter = "Pascal VOC folder or XML (*.xml)"
    source: SourceKind = "file_or_folder"
    options: tuple[Option, ...] = ()

    def run(self, project: "Project", src: Path, *, images_dir: Path | None, options: Mapping[str, OptionValue],
            on_duplicate: OnDuplicate = "skip", progress: Progress | None = None,
            cancel: threading.Event | None = None) -> ImportReport:
        """Import the VOC folder (or one XML file) in one transaction."""
        resolve_options(self.options, options)
        src = Path(src).absolute()
        if not src.exists():
            raise FormatError(f"{src} does not exist.")
        if src.is_file():
            root = src.parent.parent if src.parent.name == "Annotations" else src.parent
            xml = parse(src, MAX_XML_BYTES)
            if xml.tag != "annotation":
                raise FormatError(f"{src} is not a Pascal VOC annotation (its root element is <{xml.tag}>).")
            ids = [src.stem]
        else:
            root = voc_root(src)
            ids = sorted({p.stem for d in ("Annotations", "SegmentationObject", "SegmentationClass")
                          for p in (root / d).glob("*") if p.suffix.lower() in (".xml", ".png")})
        names = class_names(root)
        folders = [Path(images_dir)] if images_dir is not None else []
        folders += [root / "JPEGImages", root]
        report = ImportReport(format="Pascal VOC")
        ticker = Ticker(len(ids), progress, cancel)
        with project.transaction():
            session = ImportSession(project, report, self.id, on_duplicate)
            if names is not VOC_CLASSES_LIST:  # an explicit class list: create it in order (indices kept)
                for name in names[1:]:
                    session.label_id(name)
            for vid in ids:
                ticker.tick()
                self._image(session, root, vid, names, folders, src if src.is_file() else None)
            session.end_file()
        if progress is not None:
            progress(ticker.total, ticker.total)
        return report

    def _image(self, session: ImportSession, root: Path, vid: str, names: list[str], folders: list[Path],
               xml_file: Path | None) -> None:
        report = session.report
        xml_path = xml_file or root / "Annotations" / f"{vid}.xml"
        obj_png, cls_png = root / "SegmentationObject" / f"{vid}.png", root / "SegmentationClass" / f"{vid}.png"
        xml = None
        if xml_path.is_file():
            try:
                xml = parse(xml_path, MAX_XML_BYTES)
            except FormatError as exc:
                report.skip(str(xml_path), str(exc))
                return
            if xml.tag != "annotation":
                report.skip(str(xml_path), f"it is not a VOC annotation (root <{xml.tag}>)")
                return
        filename = xml.findtext("filename") if xml is not None else None
        image = find_image(filename, folders) if filename else None
        if image is None:
            image = next((p for f in folders for s in IMAGE_SUFFIXES for p in (f / f"{vid}{s}", f / f"{vid}{s.upper()}")
                          if p.is_file()), None)
        if image is None:
            report.skip(vid, "its image was not found in JPEGImages/ (or the images folder given)")
            return
        primary = xml_path if xml is not None else obj_png if obj_png.is_file() else cls_png
        if not session.begin_file(primary):
            return
        rec = session.image(image)
        if isinstance(rec, str):
            report.skip(str(image), rec)
            return
        report.images += 1
        if xml is not None:
            keep = [ET.tostring(c, encoding="unicode").strip() for c in xml if c.tag not in _IMAGE_MODELLED]
            if keep:
                extra = dict(rec.extra)
                extra["voc"] = {"xml": keep}
                session.project.set_image_extra(rec.id, extra)
        objects = read_objects(xml) if xml is not None else []
        self._paint(session, rec, vid, objects, names, obj_png, cls_png)

    def _paint(self, session: ImportSession, rec: ImageRecord, vid: str, objects: list[dict], names: list[str],
               obj_png: Path, cls_png: Path) -> None:
        report = session.report
        size = (rec.height, rec.width)
        cls_map = read_index_png(cls_png, size) if cls_png.is_file() else None
        if isinstance(cls_map, str):
            report.skip(str(cls_png), cls_map)
            cls_map = None
        obj_map = read_index_png(obj_png, size) if obj_png.is_file() else None
        if isinstance(obj_map, str):
            report.skip(str(obj_png), obj_map)
            obj_map = None
        used: set[int] = set()
        if obj_map is not None:
            for k in (int(v) for v in np.unique(obj_map) if 0 < v < 255):
                mask = obj_map == k
                obj = objects[k - 1] if k <= len(objects) else None
                name = obj["name"] if obj and obj["name"] else self._majority(cls_map, mask, names)
                if not name:
                    report.skip(f"{vid} object {k}", "it has neither an XML <object> nor a class in SegmentationClass")
                    continue
                if obj is not None:
                    used.add(k - 1)
                self._add(session, rec, name, mask, obj)
            if (obj_map == 255).any():
                report.tally("image(s) with void (255) pixels, which belong to no instance")
        elif cls_map is not None:
            for c in (int(v) for v in np.unique(cls_map) if 0 < v < 255):
                if c >= len(names):
                    report.skip(f"{vid} class {c}", "its index is beyond the class list")
                    continue
                self._add(session, rec, names[c], cls_map == c, None)
                report.tally("class region(s) of SegmentationClass imported as one annotation per class and image")
        for i, obj in enumerate(objects):
            if i in used:
                continue
            what = f"{vid} object {i + 1}"
            if not obj["name"]:
                report.skip(what, "it has no <name>")
                continue
            if obj["box"] is None:
                report.skip(what, "its <bndbox> is missing or not numeric")
                continue
            xmin, ymin, xmax, ymax = obj["box"]
            x0, y0, x1, y1 = xmin - 1, ymin - 1, xmax - 1, ymax - 1
            if x1 < x0 or y1 < y0:
                report.skip(what, "its box has xmax < xmin or ymax < ymin")
                continue
            if x1 < 0 or y1 < 0 or x0 > rec.width - 1 or y0 > rec.height - 1:
                report.skip(what, "its box lies outside the image")
                continue
            session.add(rec.id, session.label_id(obj["name"]), shape="rectangle", points=((x0, y0), (x1, y1)),
                        attributes=obj["attributes"], flags=obj["flags"],
                        extra={"voc": {"xml": obj["kept"]}} if obj["kept"] else None)

    @staticmethod
    def _majority(cls_map: np.ndarray | None, mask: np.ndarray, names: list[str]) -> str:
        if cls_map is None:
            return ""
        vals = cls_map[mask]
        vals = vals[(vals > 0) & (vals < 255) & (vals < len(names))]
        return names[int(np.bincount(vals).argmax())] if vals.size else ""

    @staticmethod
    def _add(session: ImportSession, rec: ImageRecord, name: str, mask: np.ndarray, obj: dict | None) -> None:
        box = obj["box"] if obj is not None else None
        if obj is not None and box is not None and all(float(v).is_integer() for v in box):
            x0, y0, x1, y1 = (int(v) - 1 for v in box)
            filled = np.zeros_like(mask)
            filled[max(0, y0):y1 + 1, max(0, x0):x1 + 1] = True
            if x0 >= 0 and y0 >= 0 and np.array_equal(filled, mask):  # the object is its box: a rectangle
                session.add(rec.id, session.label_id(name), shape="rectangle", points=((x0, y0), (x1, y1)),
                            attributes=obj["attributes"], flags=obj["flags"],
                            extra={"voc": {"xml": obj["kept"]}} if obj["kept"] else None)
                return
        kept: dict[str, Any] = {}
        if obj is not None:
            if obj["kept"]:
                kept["xml"] = obj["kept"]
            if obj["box"] is not None:
                kept["bndbox"] = list(obj["box"])
        session.add(rec.id, session.label_id(name), mask, shape="mask",
                    attributes=obj["attributes"] if obj else None, flags=obj["flags"] if obj else None,
                    extra={"voc": kept} if kept else None)
        if kept:
            ann = session.pending[-1]
            ann.extra["voc"]["geom"] = geometry_fingerprint(ann)
