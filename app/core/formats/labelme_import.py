"""LabelMe / X-AnyLabeling JSON import (formats.md 1.2-1.7, "Importing labelme files").

Every shape kind is kept: polygon (its vertices), rectangle (2 corners, or 4 axis-aligned corners as
X-AnyLabeling >= 2.2 writes them), circle, mask, point, line, linestrip; oriented/rotated boxes are
polygons of their corners. Area shapes are rasterised as labelme does (app.core.formats.
labelme_shapes) and stored with that exact mask. Shapes with the same (label, group_id) and a
non-null group_id form one instance (masks united, every polygon kept); every other shape is an
instance of its own. What we model is read into the annotation (description, flags, group_id,
X-AnyLabeling's ``score`` and ``attributes``); every other key, of the shapes and of the file, is kept
(provenance, ``extra["labelme"]``) and written back by the exporter.

``imagePath`` is read relative to the JSON's folder (backslashes accepted), then under
``images_dir``. When the image file is missing but ``imageData`` is embedded, the image is written
into the project folder (a new file, never over another) and used from there. A file the project
already imported (same path or same bytes) is skipped, replaced or imported again
(``on_duplicate``). One transaction: a failure or a cancel stores nothing.
"""
from __future__ import annotations

import base64
import binascii
import contextlib
import io
import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np
from PIL import Image, ImageOps

from app.core.errors import FormatError
from app.core.formats.common import ImportReport, Progress, Ticker, read_json
from app.core.formats.import_common import ImportSession, first_existing
from app.core.formats.labelme_shapes import ReadShape, ShapeError, read_shape
from app.core.formats.provenance import geometry_fingerprint
from app.core.model import ImageRecord, Part, Point

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack is Python 3.11+

    from app.core.project import Project

FORMAT_ID = "labelme"
TOP_KEYS = ("version", "flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth")
"""Top-level keys we model (the others are kept as they are)."""
SHAPE_KEYS = ("label", "group_id", "description", "flags", "score", "attributes")
"""Shape keys we model: read into the annotation and written from it."""
MAX_IMAGE_DATA = 512 << 20  # embedded image bytes (base64 text is 4/3 of it)


def _embedded_image(image_data: Any) -> tuple[bytes, tuple[int, int], str] | None:
    """(raw bytes, (height, width) after EXIF rotation, file suffix) of base64 image data, or None
    when absent or undecodable."""
    if not isinstance(image_data, str) or not image_data or len(image_data) > MAX_IMAGE_DATA * 4 // 3 + 4:
        return None
    try:
        raw = base64.b64decode(image_data)
        with Image.open(io.BytesIO(raw)) as im:
            suffix = "." + (im.format or "png").lower().replace("jpeg", "jpg")
            upright = ImageOps.exif_transpose(im)
            return raw, (int(upright.height), int(upright.width)), suffix
    except (binascii.Error, OSError, ValueError, Image.DecompressionBombError):
        return None


def labelme_files(src: Path) -> list[Path]:
    """The JSON files to import: ``src`` itself, or every *.json entry under the folder (sorted;
    hidden files and folders skipped; a FIFO or device is listed, and read_json refuses it with a
    reason that the report shows)."""
    if src.is_file():
        return [src]
    if not src.is_dir():
        raise FormatError(f"{src} does not exist.")
    out: list[Path] = []
    for root, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out.extend(Path(root) / f for f in sorted(files)
                   if f.lower().endswith(".json") and not f.startswith("."))
    return out


def import_labelme(project: Project, src: Path | str, images_dir: Path | str | None = None,
                   progress: Progress | None = None, cancel: threading.Event | None = None,
                   on_duplicate: str = "skip") -> ImportReport:
    """Import a LabelMe JSON file, or every LabelMe JSON under a folder, into ``project``.

    FormatError for a single ``src`` file that is not LabelMe JSON; in a folder such files are
    reported and skipped. ``progress(done, total)`` counts files; ``cancel``: Cancelled, nothing
    stored. ``on_duplicate``: "skip" | "replace" | "append" for files imported before.
    """
    src = Path(src).absolute()
    files = labelme_files(src)
    single = src.is_file()
    extra_dir = None if images_dir is None else Path(images_dir).absolute()
    report = ImportReport(format="LabelMe")
    ticker = Ticker(len(files), progress, cancel)
    written: list[Path] = []  # images extracted from imageData: removed again if the import fails
    try:
        with project.transaction():
            session = ImportSession(project, report, FORMAT_ID, on_duplicate)
            for f in files:
                _import_one(session, f, single, extra_dir, written)
                ticker.tick()
            session.end_file()
    except BaseException:
        for path in written:
            with contextlib.suppress(OSError):  # best effort: the error being raised is the one to report
                path.unlink()
        raise
    if progress is not None:
        progress(ticker.total, ticker.total)
    return report


def _import_one(session: ImportSession, f: Path, single: bool, extra_dir: Path | None, written: list[Path]) -> None:
    report = session.report
    try:
        data = read_json(f)
    except FormatError as exc:
        if single:
            raise
        report.skip(str(f), str(exc))
        return
    if not isinstance(data, dict) or not isinstance(data.get("shapes"), list):
        if single:
            raise FormatError(f"{f} is not a LabelMe file (no 'shapes' list).")
        report.skip(str(f), "it is not a LabelMe file (no 'shapes' list)")
        return
    if not session.begin_file(f):
        return
    _import_file(session, f, data, extra_dir, written)
    session.end_file()


def _image_for(session: ImportSession, f: Path, data: dict, extra_dir: Path | None,
               written: list[Path]) -> ImageRecord | str:
    image_path = data.get("imagePath")
    if not isinstance(image_path, str) or not image_path:
        return "it has no imagePath"
    rel = PureWindowsPath(image_path).as_posix() if "\\" in image_path else image_path
    candidates = [f.parent / rel]
    if extra_dir is not None:
        candidates += [extra_dir / rel, extra_dir / Path(rel).name]
    found = first_existing(candidates)
    if found is not None:
        return session.image(found)
    embedded = _embedded_image(data.get("imageData"))
    if embedded is None:
        return f"its image {rel} was not found and the file embeds no readable imageData"
    target = _extract_target(session.project.root, Path(rel).name or f.stem, embedded[2], embedded[0])
    if not target.exists():
        from app.core.formats.common import write_bytes_atomic

        write_bytes_atomic(target, embedded[0])
        written.append(target)
    report = session.report
    report.tally("image(s) taken from the file's embedded imageData and saved in the project folder")
    report.warnings.append(f"{f.name}: the image {rel} was not found; the image embedded in the file (imageData) was saved as "
                           f"{target}.")
    return session.image(target)


def _extract_target(root: Path, name: str, suffix: str, raw: bytes) -> Path:
    """A path in ``root`` for extracted image bytes: ``name`` when free (or holding these very
    bytes), else name-1, name-2, ... (never over another file)."""
    stem, ext = os.path.splitext(name)
    ext = ext or suffix
    for k in range(10_000):
        cand = root / (f"{stem}{ext}" if k == 0 else f"{stem}-{k}{ext}")
        if not cand.exists():
            return cand
        try:
            if cand.is_file() and cand.stat().st_size == len(raw) and cand.read_bytes() == raw:
                return cand
        except OSError:
            continue
    raise FormatError(f"cannot find a free file name for the embedded image {name} in {root}.")


@dataclass
class _Instance:
    """Shapes of one instance: label, group id, the read shapes and their original objects."""

    label: str
    group_id: int | None
    reads: list[ReadShape] = field(default_factory=list)
    objects: list[dict] = field(default_factory=list)


def _modelled(shape: dict, report: ImportReport, what: str) -> tuple[str, dict, float | None, dict]:
    """(description, flags, score, attributes) of a shape; malformed values are kept in the shape's
    own keys instead (tallied) so nothing is lost."""
    desc = shape.get("description")
    description = desc if isinstance(desc, str) else ""
    fl = shape.get("flags")
    flags = fl if isinstance(fl, dict) and all(isinstance(k, str) and isinstance(v, bool) for k, v in fl.items()) else {}
    if fl not in (None, {}) and not flags:
        report.tally("shape flags that are not {name: true/false} kept as they were (not editable)")
    sc = shape.get("score")
    score = float(sc) if isinstance(sc, (int, float)) and not isinstance(sc, bool) and _finite(sc) else None
    at = shape.get("attributes")
    attributes = at if isinstance(at, dict) else {}
    return description, flags, score, attributes


def _finite(v: int | float) -> bool:
    try:
        return math.isfinite(float(v))
    except OverflowError:
        return False


def _import_file(session: ImportSession, f: Path, data: dict, extra_dir: Path | None, written: list[Path]) -> None:
    report = session.report
    rec = _image_for(session, f, data, extra_dir, written)
    if isinstance(rec, str):
        report.skip(str(f), rec)
        return
    h, w = rec.height, rec.width
    jh, jw = data.get("imageHeight"), data.get("imageWidth")
    if isinstance(jh, int) and isinstance(jw, int) and (jh, jw) != (h, w):
        report.warnings.append(f"{f.name}: imageHeight/imageWidth say {jw}x{jh} but the image is {w}x{h} "
                               "after EXIF rotation; shapes were placed on the image as it is decoded.")
    report.images += 1
    instances: dict[Any, _Instance] = {}
    unread: list[Any] = []  # shapes we cannot model: kept with the image, written back as they were
    for i, shape in enumerate(data["shapes"]):
        what = f"{f.name} shape {i}"
        if not isinstance(shape, dict):
            report.skip(what, "it is not a JSON object")
            unread.append(shape)
            continue
        label, gid = shape.get("label"), shape.get("group_id")
        if not isinstance(label, str) or not label.strip():
            report.skip(what, "it has no label")
            unread.append(shape)
            continue
        what += f" ({label.strip()[:60]!r})"
        if gid is not None and (isinstance(gid, bool) or not isinstance(gid, int) or abs(gid) >= 1 << 63):
            report.skip(what, f"its group_id {gid!r:.40} is not an integer")
            unread.append(shape)
            continue
        if shape.get("shape_type") == "points":  # labelme's transient AI prompt: not an annotation
            report.tally("labelme 'points' prompt shape(s) left out (they are prompts, not annotations)")
            continue
        try:
            got = read_shape(shape, h, w)
        except ShapeError as exc:
            report.skip(what, str(exc))
            unread.append(shape)
            continue
        if got.change:
            report.tally(got.change)
        if got.mask is None or gid is None:
            key: Any = ("#", i)
        else:
            key = (label.strip(), gid)
        inst = instances.setdefault(key, _Instance(label.strip(), gid))
        inst.reads.append(got)
        inst.objects.append(shape)
    for inst in instances.values():
        _add_instance(session, rec, f, inst)
    _keep_image_data(session, rec, data, unread)
    if unread:
        report.tally("shape(s) that could not be imported kept with their image and written back as they were")


def _keep_image_data(session: ImportSession, rec: ImageRecord, data: dict, unread: list[Any]) -> None:
    """Image flags into the image; the file's other top-level keys and version into its extra."""
    rec = session.project.image(rec.id)  # current flags/extra (another file may have set them)
    flags = data.get("flags")
    if isinstance(flags, dict) and flags and all(isinstance(k, str) and isinstance(v, bool) for k, v in flags.items()):
        merged = {**rec.flags, **flags}
        if merged != rec.flags:
            session.project.set_image_flags(rec.id, merged)
    keep: dict[str, Any] = {k: v for k, v in data.items() if k not in TOP_KEYS}
    if isinstance(flags, dict) and flags and not all(isinstance(v, bool) for v in flags.values()):
        keep["flags"] = flags
    kept: dict[str, object] = {"keys": keep} if keep else {}
    if isinstance(data.get("version"), str):
        kept["version"] = data["version"]
    if data.get("imageData"):
        kept["imageData"] = True  # the file embedded its image: an in-place update keeps it
    if unread:
        kept["unread"] = unread
    if kept or FORMAT_ID in rec.extra:
        extra = dict(rec.extra)
        extra[FORMAT_ID] = kept
        session.project.set_image_extra(rec.id, extra)


def _add_instance(session: ImportSession, rec: ImageRecord, f: Path, inst: _Instance) -> None:
    report = session.report
    first = inst.objects[0]
    description, flags, score, attributes = _modelled(first, report, f.name)
    modelled_ok = {"description": isinstance(first.get("description"), str) or first.get("description") is None,
                   "flags": bool(flags) or first.get("flags") in (None, {}),
                   "score": score is not None or first.get("score") is None,
                   "attributes": isinstance(first.get("attributes"), dict) or first.get("attributes") is None}
    raw = sorted(k for k, ok in modelled_ok.items() if not ok and k in first)  # written back as they were
    # the original objects (minus the label, which is the class's, and the PNG, regenerated from
    # the stored mask with the same pixels): the exporter writes them back while unedited
    objects = [{k: v for k, v in o.items() if k != "label" and not (k == "mask" and o.get("shape_type") == "mask")}
               for o in inst.objects]
    label_id = session.label_id(inst.label)
    common: _Modelled = {"group_id": inst.group_id, "score": score, "description": description, "flags": flags,
                         "attributes": attributes}
    if len(inst.reads) == 1:
        got = inst.reads[0]
        if got.mask is None:  # point, line, linestrip
            _queue(session, rec.id, label_id, objects, raw, shape=got.kind, points=got.points, **common)
            return
        if not got.mask.any():
            report.skip(f"{f.name} instance {inst.label!r}", "it covers no pixel of the image")
            return
        if got.kind == "polygon":
            _queue(session, rec.id, label_id, objects, raw, mask=got.mask, shape="polygon",
                   parts=(Part(exterior=got.points),), **common)
        elif got.kind == "mask":
            _queue(session, rec.id, label_id, objects, raw, mask=got.mask, shape="mask", **common)
        else:  # rectangle, circle: the polygon from the points, the exact mask as labelme draws it
            _queue(session, rec.id, label_id, objects, raw, mask=got.mask, shape=got.kind, points=got.points, **common)
        return
    mask = np.logical_or.reduce([g.mask for g in inst.reads if g.mask is not None])
    if not mask.any():
        report.skip(f"{f.name} instance {inst.label!r}", "it covers no pixel of the image")
        return
    if all(g.kind == "polygon" for g in inst.reads):
        parts = tuple(Part(exterior=g.points) for g in inst.reads)
        _queue(session, rec.id, label_id, objects, raw, mask=mask, shape="polygon", parts=parts, **common)
    else:
        report.tally("instance(s) made of shapes of several kinds stored as one mask")
        _queue(session, rec.id, label_id, objects, raw, mask=mask, shape="mask", **common)


class _Modelled(TypedDict):
    """What an instance's first shape says beside its geometry (ImportSession.add keywords)."""

    group_id: int | None
    score: float | None
    description: str
    flags: dict
    attributes: dict


def _queue(session: ImportSession, image_id: int, label_id: int, objects: list[dict], raw: list[str], *,
           shape: str, mask: np.ndarray | None = None, parts: Sequence[Part] | None = None,
           points: Sequence[Point] = (), **common: Unpack[_Modelled]) -> None:
    """Queue the annotation, then stamp its provenance (the original shapes and the fingerprint
    of the geometry as stored)."""
    session.add(image_id, label_id, mask, shape=shape, parts=parts, points=points, **common)
    ann = session.pending[-1]
    extra = dict(ann.extra)
    extra[FORMAT_ID] = {"shapes": objects, "geom": geometry_fingerprint(ann)}
    if raw:
        extra[FORMAT_ID]["raw"] = raw
    session.pending[-1] = ann.with_(extra=extra)
