"""ISAT JSON import with ISAT's reference semantics (formats.md 3.4-3.5, ISAT's VOC writer).

Source: one ISAT JSON, or a folder (its *.json, recursively; other JSON files are reported and
skipped, a single non-ISAT file is a FormatError). Categories come from isat.yaml when present
(created in its order, with its colours; ``__background__`` is not a class).

Objects are painted in ascending ``layer`` with ISAT's rasteriser (plugins.isat.raster: vertices
truncated to int, skimage's polygon rule); a ``__background__`` object erases every pixel painted
before it; objects sharing (``group``, ``category``) are one instance. Each instance keeps its own
pixels where it overlaps another one (ISAT's VOC export keeps only the upper one per pixel; drawing
the instances in order gives exactly that picture). Each instance becomes a ``polygon`` annotation:
its vertices as parts (a ``__background__`` ring lying inside one of its rings becomes that ring's
hole) and its exact raster as the mask; z order = order of first layer. ``note`` -> description
(distinct notes joined by new lines), ``iscrowd`` true -> attributes["iscrowd"], the objects
themselves (with unknown keys) and the info block -> extra["isat"] for the exporter.
Polygons with fewer than 3 vertices (ISAT's validator rejects them) and malformed objects are
skipped with the reason; an image whose size differs from info width/height is skipped.
"""
from __future__ import annotations

import math
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml
from shapely.geometry import Polygon

from app.core.errors import FormatError
from app.core.formats.api import OnDuplicate, SourceKind
from app.core.formats.common import ImportReport, Progress, Ticker, read_json
from app.core.formats.import_common import ImportSession
from app.core.formats.provenance import geometry_fingerprint
from app.core.model import ImageRecord, Part
from app.core.options import Option, OptionValue, resolve_options
from plugins.dataset import find_image, full_mask, label_id_with_color
from plugins.isat.export import BACKGROUND
from plugins.isat.raster import isat_polygon

if TYPE_CHECKING:
    from app.core.project import Project

MAX_JSON_BYTES = 256 * 2**20
MAX_VERTICES = 5_000_000  # per file


@dataclass
class _Obj:
    index: int
    raw: dict
    category: str
    group: int
    layer: float
    points: np.ndarray  # (n, 2) float


@dataclass
class _Instance:
    key: tuple[int, str]
    objs: list[_Obj] = field(default_factory=list)
    holes: list[_Obj] = field(default_factory=list)
    crop: tuple[np.ndarray, int, int] | None = None


def is_isat(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("info"), dict) and data["info"].get("description") == "ISAT"


def read_categories(folder: Path) -> list[tuple[str, str | None]]:
    """(name, colour) of isat.yaml's ``label`` list in order (``__background__`` left out)."""
    path = folder / "isat.yaml"
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        return []
    out = []
    for e in (data or {}).get("label", []) if isinstance(data, dict) else []:
        if isinstance(e, dict) and isinstance(e.get("name"), str) and e["name"] != BACKGROUND:
            color = e.get("color") if isinstance(e.get("color"), str) else None
            out.append((e["name"], color))
    return out


def _parse_object(i: int, o: Any) -> _Obj | str:
    if not isinstance(o, dict):
        return "it is not a JSON object"
    cat = o.get("category", "UNKNOW")
    group = o.get("group", 0)
    group = 0 if group is None else group
    if isinstance(group, bool) or not isinstance(group, (int, float)) or not float(group).is_integer():
        return f"its group {group!r} is not a whole number"
    layer = o.get("layer", 2)
    if isinstance(layer, bool) or not isinstance(layer, (int, float)) or not math.isfinite(layer):
        return f"its layer {layer!r} is not a number"
    seg = o.get("segmentation")
    if not isinstance(seg, list) or not all(isinstance(p, list) and len(p) == 2 for p in seg):
        return "its segmentation is not a list of [x, y] points"
    try:
        pts = np.array(seg, np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        return "its segmentation holds something that is not a number"
    if not np.isfinite(pts).all():
        return "its segmentation holds a non-finite number"
    if len(pts) < 3:
        return f"it has {len(pts)} vertices; ISAT's validator needs at least 3"
    return _Obj(i, o, str(cat), int(group), float(layer), pts)


class IsatImporter:
    """ISAT JSON (file or folder); see the module doc."""

    id = "isat"
    title = "ISAT JSON"
    file_filter = "ISAT JSON (*.json)"
    source: SourceKind = "file_or_folder"
    options: tuple[Option, ...] = ()

    def run(self, project: "Project", src: Path, *, images_dir: Path | None, options: Mapping[str, OptionValue],
            on_duplicate: OnDuplicate = "skip", progress: Progress | None = None,
            cancel: threading.Event | None = None) -> ImportReport:
        """Import ISAT files in one transaction."""
        resolve_options(self.options, options)
        src = Path(src).absolute()
        if not src.exists():
            raise FormatError(f"{src} does not exist.")
        single = src.is_file()
        files = [src] if single else sorted(p for p in src.rglob("*.json") if not p.name.startswith("."))
        report = ImportReport(format="ISAT")
        ticker = Ticker(len(files), progress, cancel)
        with project.transaction():
            session = ImportSession(project, report, self.id, on_duplicate)
            for folder in sorted({f.parent for f in files}):
                for name, color in read_categories(folder):
                    label_id_with_color(session, name, color)
            for f in files:
                ticker.tick()
                if os.path.getsize(f) > MAX_JSON_BYTES:
                    why = f"it is larger than {MAX_JSON_BYTES // 2**20} MiB"
                    if single:
                        raise FormatError(f"{f}: {why}, so it is not an ISAT file.")
                    report.skip(str(f), why)
                    continue
                try:
                    data = read_json(f)
                except FormatError as exc:
                    if single:
                        raise
                    report.skip(str(f), str(exc))
                    continue
                if not is_isat(data):
                    if single:
                        raise FormatError(f"{f} is not an ISAT file (its info.description is not \"ISAT\").")
                    report.skip(str(f), "it is not an ISAT file (info.description is not \"ISAT\")")
                    continue
                self._file(session, f, data, images_dir)
            session.end_file()
        if progress is not None:
            progress(ticker.total, ticker.total)
        return report

    def _file(self, session: ImportSession, f: Path, data: dict, images_dir: Path | None) -> None:
        report = session.report
        info = data["info"]
        name = info.get("name")
        if not isinstance(name, str) or not name:
            report.skip(str(f), "its info has no image name")
            return
        folders = [Path(images_dir)] if images_dir is not None else []
        folders += [f.parent, session.project.image_root, session.project.root]
        if isinstance(info.get("folder"), str) and info["folder"]:
            folders.append(Path(info["folder"]))
        image = find_image(name, folders)
        if image is None:
            report.skip(str(f), f"its image {name} was not found")
            return
        objects = data.get("objects", [])
        if not isinstance(objects, list):
            report.skip(str(f), "its 'objects' is not a list")
            return
        if not session.begin_file(f):
            return
        rec = session.image(image)
        if isinstance(rec, str):
            report.skip(str(f), rec)
            return
        if (info.get("width"), info.get("height")) != (rec.width, rec.height):
            report.skip(str(f), f"it says {info.get('width')}x{info.get('height')} but the image is "
                                f"{rec.width}x{rec.height} after EXIF rotation (ISAT does not rotate)")
            return
        report.images += 1
        extra = dict(rec.extra)
        extra["isat"] = {"info": {k: v for k, v in info.items() if k not in ("description", "folder", "name",
                                                                            "width", "height")}}
        session.project.set_image_extra(rec.id, extra)
        parsed: list[_Obj] = []
        total = 0
        for i, o in enumerate(objects):
            got = _parse_object(i, o)
            if isinstance(got, str):
                report.skip(f"{f.name} object {i}", got)
                continue
            total += len(got.points)
            if total > MAX_VERTICES:
                report.skip(f"{f.name} object {i} and later", f"the file holds more than {MAX_VERTICES} vertices")
                break
            parsed.append(got)
        parsed.sort(key=lambda o: o.layer)  # stable: file order within a layer, as ISAT's sorted()
        self._instances(session, rec, f, parsed)

    def _instances(self, session: ImportSession, rec: ImageRecord, f: Path, objs: list[_Obj]) -> None:
        h, w = rec.height, rec.width
        instances: dict[tuple[int, str], _Instance] = {}
        for o in objs:
            if o.category != BACKGROUND:
                instances.setdefault((o.group, o.category), _Instance((o.group, o.category))).objs.append(o)
        backgrounds = [o for o in objs if o.category == BACKGROUND]
        erased_by: dict[int, list[_Instance]] = {}
        for inst in instances.values():
            pts = np.concatenate([np.trunc(o.points) for o in inst.objs])
            window = (max(0, int(pts[:, 0].min())), max(0, int(pts[:, 1].min())),
                      min(w - 1, int(pts[:, 0].max())), min(h - 1, int(pts[:, 1].max())))
            if window[2] < window[0] or window[3] < window[1]:
                continue
            local = np.zeros((window[3] - window[1] + 1, window[2] - window[0] + 1), bool)
            mine = {id(o) for o in inst.objs}
            for o in objs:
                if id(o) not in mine and o.category != BACKGROUND:
                    continue
                got = isat_polygon(o.points, h, w, window)
                if got is None:
                    continue
                crop, x0, y0 = got
                region = (slice(y0 - window[1], y0 - window[1] + crop.shape[0]),
                          slice(x0 - window[0], x0 - window[0] + crop.shape[1]))
                if o.category == BACKGROUND:
                    if (local[region] & crop).any():
                        erased_by.setdefault(o.index, []).append(inst)
                    local[region] &= ~crop
                else:
                    local[region] |= crop
            inst.crop = (local, window[0], window[1])
        for b in backgrounds:
            hit = erased_by.get(b.index)
            if not hit:
                session.report.skip(f"{f.name} object {b.index} ({BACKGROUND})", "it erases nothing")
                continue
            pos = {id(o): k for k, o in enumerate(objs)}
            before = pos[id(b)]
            owner = max(hit, key=lambda i: max((pos[id(o)] for o in i.objs if pos[id(o)] < before), default=-1))
            owner.holes.append(b)
        for inst in sorted(instances.values(), key=lambda i: min(o.layer for o in i.objs)):
            self._add(session, rec, f, inst)

    def _add(self, session: ImportSession, rec: ImageRecord, f: Path, inst: _Instance) -> None:
        group, category = inst.key
        if inst.crop is None or not inst.crop[0].any():
            session.report.skip(f"{f.name} instance {category!r} group {group}", "it covers no pixel of the image")
            return
        polys = [Polygon(o.points) for o in inst.objs]
        holes: dict[int, list[tuple[tuple[float, float], ...]]] = {}
        for b in inst.holes:
            ring = Polygon(b.points)
            inside = [k for k, p in enumerate(polys) if p.is_valid and ring.is_valid and p.contains(ring)]
            if len(inside) == 1:
                holes.setdefault(inside[0], []).append(tuple(map(tuple, b.points.tolist())))
        parts = tuple(Part(exterior=tuple(map(tuple, o.points.tolist())), holes=tuple(holes.get(k, ())))
                      for k, o in enumerate(inst.objs))
        notes = [str(o.raw.get("note") or "") for o in inst.objs]
        description = "\n".join(dict.fromkeys(n for n in notes if n))
        crowd = any(o.raw.get("iscrowd") is True for o in inst.objs)
        kept = {"objects": [o.raw for o in sorted(inst.objs + inst.holes, key=lambda o: o.layer)],
                "description": description}
        label = session.label_id(category)
        mask = full_mask(*inst.crop, rec.height, rec.width)
        session.add(rec.id, label, mask, shape="polygon", parts=parts, group_id=group or None,
                    description=description, attributes={"iscrowd": True} if crowd else None,
                    extra={"isat": kept})
        ann = session.pending[-1]
        ann.extra["isat"]["geom"] = geometry_fingerprint(ann)
