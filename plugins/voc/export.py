"""Pascal VOC export: XML boxes and segmentation PNGs (formats.md 5).

Layout under the destination folder (what torchvision's VOCSegmentation and the VOC devkit read)::

    JPEGImages/<id>.jpg              the images, copied or hard-linked ("images" option)
    Annotations/<id>.xml             one <object> per area annotation, in z order
    SegmentationClass/<id>.png       palette PNG: 0 background, k = class k (label order + 1), 255 void
    SegmentationObject/<id>.png      palette PNG: k = the k-th <object> of the XML, 0 background, 255 void
    ImageSets/Segmentation/*.txt     train/val (when split) and trainval: one id per line
    ImageSets/Main/*.txt             the same lists, for detection
    class_names.txt                  line k = name of class k (line 0: _background_)

``<id>`` is the image's file stem (made unique). JPEG images keep the .jpg name VOC expects; other
images keep their own extension (counted: VOCSegmentation opens JPEGImages/<id>.jpg). Overlaps: the
upper annotation (z order) wins the pixel, as in VOC. ``void_border`` > 0 draws a 255 band of about
that many pixels along every object outline (the official data has ~5). Classes beyond 254 do not
fit an 8-bit PNG (refused); objects beyond the 254th of an image are left out of
SegmentationObject (counted). Boxes: 1-based inclusive pixel indices (VOC), e.g. pixels 0..9 ->
xmin 1, xmax 10. pose/truncated/difficult/occluded come from the annotation's attributes and
flags; other attributes go in <attributes> (CVAT's VOC flavour); XML kept from a VOC import is
written back.
"""
from __future__ import annotations

import contextlib
import threading
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import cv2
import numpy as np

from app.core.formats.api import DestinationKind
from app.core.formats.common import ExportReport, Progress, Ticker
from app.core.formats.export_common import annotation_crop, export_images, image_size
from app.core.formats.provenance import geometry_unchanged, kept
from app.core.model import Annotation, ImageRecord
from app.core.options import Option, OptionValue, resolve_options
from plugins.dataset import project_label_names, split_of, unique_name
from plugins.output import IMAGE_MODES, OutputFiles
from plugins.voc.palette import palette_png

if TYPE_CHECKING:
    from app.core.formats.api import ExportPlan
    from app.core.project import Project

OPTIONS: tuple[Option, ...] = (
    Option("images", "Images", "choice", "copy", IMAGE_MODES,
           help="copy the images into JPEGImages/, or hard-link them (copied when on another filesystem)."),
    Option("void_border", "Void border (px)", "int", 0,
           help="Width of a 255 (void) band drawn along object outlines, as in the official VOC data; 0: none."),
    Option("val_fraction", "Validation fraction", "float", 0.0,
           help="Share of images listed in val.txt (seeded shuffle); 0: only trainval.txt."),
    Option("seed", "Split seed", "int", 0, help="Seed of the train/val shuffle."),
)
MAX_CLASSES = 254
FLAG_FIELDS = ("truncated", "difficult", "occluded")


def number(v: float) -> str:
    """An int when integral, else a short float."""
    return str(int(v)) if float(v).is_integer() else f"{v:.2f}".rstrip("0")


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    if text is not None:
        el.text = text
    return el


def voc_box(ann: Annotation, crop: tuple[np.ndarray, int, int] | None) -> tuple[float, float, float, float] | None:
    """(xmin, ymin, xmax, ymax), VOC 1-based inclusive pixel indices."""
    if ann.shape == "rectangle" and len(ann.points) == 2:
        (x0, y0), (x1, y1) = ann.points
        return x0 + 1, y0 + 1, x1 + 1, y1 + 1
    if crop is None:
        return None
    m, cx, cy = crop
    return cx + 1, cy + 1, cx + m.shape[1], cy + m.shape[0]


def object_xml(ann: Annotation, name: str, box: tuple[float, float, float, float]) -> ET.Element:
    """One <object>: name, pose, truncated, difficult (+ occluded when set), bndbox, attributes."""
    obj = ET.Element("object")
    _sub(obj, "name", name)
    attrs = dict(ann.attributes)
    _sub(obj, "pose", str(attrs.pop("pose", "Unspecified")))
    for flag in FLAG_FIELDS:
        if flag in ann.flags or flag != "occluded":
            _sub(obj, flag, "1" if ann.flags.get(flag) else "0")
    saved = kept(ann.extra, "voc")
    stored_box = saved.get("bndbox")
    if isinstance(stored_box, list) and len(stored_box) == 4 and geometry_unchanged(ann, "voc"):
        x0, y0, x1, y1 = (float(v) for v in stored_box)
        box = (x0, y0, x1, y1)  # the box as the source wrote it (not always tight)
    bb = _sub(obj, "bndbox")
    for tag, v in zip(("xmin", "ymin", "xmax", "ymax"), box):
        _sub(bb, tag, number(v))
    if attrs:
        block = _sub(obj, "attributes")
        for k, v in attrs.items():
            a = _sub(block, "attribute")
            _sub(a, "name", str(k))
            _sub(a, "value", str(v).lower() if isinstance(v, bool) else str(v))
    for raw in saved.get("xml", []) if isinstance(saved.get("xml"), list) else []:
        with contextlib.suppress(ET.ParseError):  # kept at import as parsed XML: unparseable only if edited by hand
            obj.append(ET.fromstring(raw))
    return obj


def void_band(mask: np.ndarray, width: int) -> np.ndarray:
    """Pixels within about width/2 of the outline of ``mask`` (both sides)."""
    k = np.ones((width, width), np.uint8)
    m = mask.astype(np.uint8)
    return (cv2.dilate(m, k) > 0) & ~(cv2.erode(m, k, borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0)


class VocExporter:
    """Pascal VOC (XML + SegmentationClass/SegmentationObject PNGs); see the module doc."""

    id = "voc"
    title = "Pascal VOC (XML boxes + segmentation PNGs)"
    file_filter = "Pascal VOC folder"
    destination: DestinationKind = "folder"
    mask_modes: tuple[str, ...] = ("auto",)
    options = OPTIONS

    def plan(self, project: "Project", dest: Path) -> "ExportPlan":
        """What an export to ``dest`` would create or replace (plugins.output.destination_plan)."""
        from plugins.output import destination_plan

        return destination_plan(dest, "Pascal VOC dataset")

    def default_destination(self, project: "Project") -> Path:
        """``<project folder>/<project name>_voc``."""
        return project.root / f"{project.path.stem}_voc"

    def run(self, project: "Project", dest: Path, *, masks: str, options: Mapping[str, OptionValue],
            progress: Progress | None = None, cancel: threading.Event | None = None) -> ExportReport:
        """Write the VOC folder under ``dest``."""
        opts = resolve_options(self.options, options)
        names = project_label_names(project)
        if len(names) > MAX_CLASSES:
            raise ValueError(f"VOC PNGs hold at most {MAX_CLASSES} classes (index 255 is void); "
                             f"this project has {len(names)}.")
        dest = Path(dest).absolute()
        if dest.exists() and not dest.is_dir():
            raise ValueError(f"{dest} is a file; give a folder for the VOC export.")
        report = ExportReport(format="Pascal VOC")
        out = OutputFiles(project, report)
        by_id = {lc.id: lc.name for lc in project.label_classes()}
        index = {n: i + 1 for i, n in enumerate(names)}
        wanted = [rec for rec, w in export_images(project) if w]
        ticker = Ticker(len(wanted), progress, cancel)
        taken: set[str] = set()
        ids: list[str] = []
        for rec in wanted:
            ticker.tick()
            got = self._image(project, rec, dest, by_id, index, opts, out, taken)
            if got is not None:
                ids.append(got)
        self._lists(dest, ids, opts, out, names)
        if progress is not None:
            progress(ticker.total, ticker.total)
        return report

    def _image(self, project: "Project", rec: ImageRecord, dest: Path, by_id: dict[int, str], index: dict[str, int],
               opts: Mapping[str, OptionValue], out: OutputFiles, taken: set[str]) -> str | None:
        report = out.report
        src = project.image_path(rec)
        if not src.is_file():
            report.skipped.append((rec.path, "the image file is missing (JPEGImages needs it)"))
            return None
        size = image_size(project, rec)
        if isinstance(size, str):
            report.skipped.append((rec.path, size))
            return None
        h, w = size
        suffix = src.suffix.lower()
        ext = ".jpg" if suffix in (".jpg", ".jpeg") else suffix
        if ext != ".jpg":
            report.tally("image(s) are not JPEG and keep their own extension in JPEGImages (VOC tools expect .jpg)")
        vid = PurePosixPath(unique_name(PurePosixPath(rec.path).stem + ext, taken)).stem
        cls_map = np.zeros((h, w), np.uint8)
        obj_map = np.zeros((h, w), np.uint8)
        border = int(opts["void_border"])
        void = np.zeros((h, w), bool) if border > 0 else None
        root = ET.Element("annotation")
        _sub(root, "folder", "JPEGImages")
        _sub(root, "filename", vid + ext)
        saved = kept(rec.extra, "voc")
        for raw in saved.get("xml", []) if isinstance(saved.get("xml"), list) else []:
            with contextlib.suppress(ET.ParseError):  # kept at import as parsed XML: unparseable only if edited by hand
                root.append(ET.fromstring(raw))
        if root.find("source") is None:
            _sub(_sub(root, "source"), "database", "SAM Labeler")
        sz = _sub(root, "size")
        _sub(sz, "width", str(w))
        _sub(sz, "height", str(h))
        _sub(sz, "depth", "3")
        _sub(root, "segmented", "1")
        k = 0
        for ann in sorted(project.annotations(rec.id), key=lambda a: a.z):
            if not ann.has_area:
                report.tally(f"{ann.shape} annotation(s) skipped (VOC holds areas only)")
                continue
            try:
                crop = annotation_crop(ann, h, w)
            except ValueError as exc:
                report.skipped.append((f"annotation {ann.id} ({rec.path})", f"its stored mask is unreadable ({exc})"))
                continue
            box = voc_box(ann, crop)
            if box is None:
                report.skipped.append((f"annotation {ann.id} ({rec.path})", "it covers no pixel of the image"))
                continue
            name = by_id[ann.label_id]
            root.append(object_xml(ann, name, box))
            k += 1
            report.annotations += 1
            if crop is None:
                continue
            m, cx, cy = crop
            region = (slice(cy, cy + m.shape[0]), slice(cx, cx + m.shape[1]))
            cls_map[region][m] = index[name]
            if k <= MAX_CLASSES:
                obj_map[region][m] = k
            else:
                report.tally(f"object(s) beyond the {MAX_CLASSES}th of an image left out of SegmentationObject")
            if void is not None:
                pad = border
                y0, x0 = max(0, cy - pad), max(0, cx - pad)
                y1, x1 = min(h, cy + m.shape[0] + pad), min(w, cx + m.shape[1] + pad)
                local = np.zeros((y1 - y0, x1 - x0), bool)
                local[cy - y0:cy - y0 + m.shape[0], cx - x0:cx - x0 + m.shape[1]] = m
                void[y0:y1, x0:x1] |= void_band(local, border)
        if void is not None:
            cls_map[void] = 255
            obj_map[void] = 255
        if not out.place_image(src, dest / "JPEGImages" / (vid + ext), str(opts["images"]), rec.path):
            return None
        ET.indent(root)
        xml = ET.tostring(root, encoding="unicode")
        ok = out.write_text(dest / "Annotations" / f"{vid}.xml", xml + "\n", rec.path)
        ok = ok and out.write_bytes(dest / "SegmentationClass" / f"{vid}.png", palette_png(cls_map), rec.path)
        ok = ok and out.write_bytes(dest / "SegmentationObject" / f"{vid}.png", palette_png(obj_map), rec.path)
        if not ok:
            return None
        report.images += 1
        return vid

    @staticmethod
    def _lists(dest: Path, ids: list[str], opts: Mapping[str, OptionValue], out: OutputFiles,
               names: list[str]) -> None:
        fraction = float(opts["val_fraction"])
        sets = {"trainval": sorted(ids)}
        if fraction > 0:
            split = split_of(ids, fraction, int(opts["seed"]))
            sets["train"] = sorted(i for i in ids if split[i] == "train")
            sets["val"] = sorted(i for i in ids if split[i] == "val")
        for folder in ("Segmentation", "Main"):
            for name, members in sets.items():
                out.write_text(dest / "ImageSets" / folder / f"{name}.txt", "".join(m + "\n" for m in members),
                               f"ImageSets/{folder}/{name}.txt")
        out.write_text(dest / "class_names.txt", "".join(n + "\n" for n in ["_background_", *names]),
                       "class_names.txt")
