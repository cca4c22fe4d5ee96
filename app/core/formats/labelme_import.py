"""LabelMe JSON import (formats.md 1.2-1.7, "Importing labelme files").

Area shapes (polygon, rectangle, circle, mask, oriented_rectangle) are rasterised as labelme does
(app.core.formats.labelme_shapes); point, line, linestrip and points shapes are reported and
skipped. Shapes with the same (label, group_id) and a non-null group_id form one instance (their
masks are united); every other shape is an instance of its own. ``imagePath`` is read relative to
the JSON's folder (backslashes accepted), then under ``images_dir``; when the image file is
missing but ``imageData`` is embedded, the size is decoded from it (and the report says so).
Each instance is stored with its exact mask (RLE) plus pixel-centre polygons. One transaction.
"""
from __future__ import annotations

import base64
import binascii
import io
import os
import threading
from pathlib import Path, PureWindowsPath
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from app.core.errors import FormatError
from app.core.formats.common import ImportReport, Progress, Ticker, read_json
from app.core.formats.import_common import ImportContext, first_existing
from app.core.formats.labelme_shapes import ShapeError, shape_mask


def _embedded_size(image_data: Any) -> tuple[int, int] | None:
    """(height, width) of base64 image bytes after EXIF rotation, or None when undecodable."""
    if not isinstance(image_data, str) or not image_data:
        return None
    try:
        with Image.open(io.BytesIO(base64.b64decode(image_data))) as im:
            im = ImageOps.exif_transpose(im)
            return int(im.height), int(im.width)
    except (binascii.Error, OSError, ValueError, Image.DecompressionBombError):
        return None


def labelme_files(src: Path) -> list[Path]:
    """The JSON files to import: ``src`` itself, or every *.json under the folder (sorted, hidden
    files and folders skipped)."""
    if src.is_file():
        return [src]
    if not src.is_dir():
        raise FormatError(f"{src} does not exist.")
    out = []
    for root, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out.extend(Path(root) / f for f in sorted(files) if f.lower().endswith(".json") and not f.startswith("."))
    return out


def import_labelme(project: Any, src: Path | str, images_dir: Path | str | None = None,
                   progress: Progress | None = None, cancel: threading.Event | None = None) -> ImportReport:
    """Import a LabelMe JSON file, or every LabelMe JSON under a folder, into ``project``.

    FormatError for a single ``src`` file that is not LabelMe JSON; in a folder such files are
    reported and skipped. ``progress(done, total)`` counts files; ``cancel``: Cancelled, nothing
    stored.
    """
    src = Path(src).absolute()
    files = labelme_files(src)
    single = src.is_file()
    extra_dir = None if images_dir is None else Path(images_dir).absolute()
    report = ImportReport(format="LabelMe")
    ticker = Ticker(len(files), progress, cancel)
    with project.transaction():
        ctx = ImportContext(project, report)
        for f in files:
            try:
                data = read_json(f)
            except FormatError as exc:
                if single:
                    raise
                report.skip(str(f), str(exc))
                ticker.tick()
                continue
            if not isinstance(data, dict) or not isinstance(data.get("shapes"), list):
                if single:
                    raise FormatError(f"{f} is not a LabelMe file (no 'shapes' list).")
                report.skip(str(f), "it is not a LabelMe file (no 'shapes' list)")
            else:
                _import_file(ctx, f, data, extra_dir)
                ctx.flush()
            ticker.tick()
    if progress is not None:
        progress(ticker.total, ticker.total)
    return report


def _image_for(ctx: ImportContext, f: Path, data: dict, extra_dir: Path | None) -> Any:
    image_path = data.get("imagePath")
    if not isinstance(image_path, str) or not image_path:
        return "it has no imagePath"
    rel = PureWindowsPath(image_path).as_posix() if "\\" in image_path else image_path
    candidates = [f.parent / rel]
    if extra_dir is not None:
        candidates += [extra_dir / rel, extra_dir / Path(rel).name]
    found = first_existing(candidates)
    if found is not None:
        return ctx.image(found)
    size = _embedded_size(data.get("imageData"))
    if size is None:
        return f"its image {rel} was not found and the file embeds no readable imageData"
    target = Path(os.path.normpath(f.parent / rel))
    ctx.report.warnings.append(f"{f.name}: the image {target} was not found; its size was taken from the "
                               "embedded imageData (the image is registered without its file).")
    return ctx.image(target, size=size)


def _import_file(ctx: ImportContext, f: Path, data: dict, extra_dir: Path | None) -> None:
    report = ctx.report
    rec = _image_for(ctx, f, data, extra_dir)
    if isinstance(rec, str):
        report.skip(str(f), rec)
        return
    h, w = rec.height, rec.width
    jh, jw = data.get("imageHeight"), data.get("imageWidth")
    if isinstance(jh, int) and isinstance(jw, int) and (jh, jw) != (h, w):
        report.warnings.append(f"{f.name}: imageHeight/imageWidth say {jw}x{jh} but the image is {w}x{h} "
                               "after EXIF rotation; shapes were placed on the image as it is decoded.")
    report.images += 1
    instances: dict[Any, tuple[str, int | None, np.ndarray]] = {}
    for i, shape in enumerate(data["shapes"]):
        what = f"{f.name} shape {i}"
        if not isinstance(shape, dict):
            report.skip(what, "it is not a JSON object")
            continue
        label, gid = shape.get("label"), shape.get("group_id")
        if not isinstance(label, str) or not label.strip():
            report.skip(what, "it has no label")
            continue
        what += f" ({label!r})"
        if gid is not None and (isinstance(gid, bool) or not isinstance(gid, int)):
            report.skip(what, f"its group_id {gid!r} is not an integer")
            continue
        try:
            mask = shape_mask(shape, h, w)
        except ShapeError as exc:
            report.skip(what, str(exc))
            continue
        key = (label.strip(), gid) if gid is not None else ("#", i)
        if key in instances:
            name, g, m = instances[key]
            instances[key] = (name, g, m | mask)
        else:
            instances[key] = (label.strip(), gid, mask)
    for key, (label, gid, mask) in instances.items():
        if not mask.any():
            report.skip(f"{f.name} instance {label!r}", "it covers no pixel of the image")
            continue
        ctx.add(rec.id, ctx.label_id(label), mask, group_id=gid)
