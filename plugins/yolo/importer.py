"""Ultralytics YOLO import (segment and detect rows; formats.md 4).

Source: a data.yaml (or the dataset folder holding one). Class names come from its ``names``
(list or {index: name}); without a YAML from ``classes.txt`` / ``obj.names`` beside the labels,
else the class index itself is the name (reported). Images come from ``train``/``val``/``test``
(folders, .txt lists of image paths, or lists of those), resolved against ``path`` when it is
absolute, else against the YAML's folder (not the working directory as Ultralytics does, which
depends on where it runs). Without a YAML, every image under the source folder is taken. Each
image's label file is found as Ultralytics does (the last /images/ becomes /labels/, extension
.txt), or beside the image (darknet style).

Rows: 4 values -> a ``rectangle`` (pixel-corner box ``xc yc w h``); an even number >= 6 -> a
``polygon`` keeping the vertices as written (a multi-part row keeps its bridges, as Ultralytics
sees it). Pixel convention ("coordinates" option): "half-pixel" reads v*W - 0.5 (this tool's
files, exact), "plain" reads v*W (Ultralytics' own converter and ISAT write contour points so);
"auto" takes half-pixel when data.yaml says ``sam_labeler: {coordinates: half-pixel}`` or, per
file, when every polygon vertex times W and H lies within 0.01 px of a half-integer, else plain.
An empty label file imports its image marked done (a background image). Bad rows are skipped
with the reason; unknown data.yaml keys are kept (project meta) and written back on export.
"""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml

from app.core.errors import FormatError
from app.core.formats.api import OnDuplicate, SourceKind
from app.core.formats.common import ImportReport, Progress, Ticker
from app.core.formats.import_common import ImportSession
from app.core.model import Part
from app.core.options import Option, OptionValue, resolve_options
from plugins.dataset import IMAGE_SUFFIXES, image_files
from plugins.yolo.export import DATA_YAML_META, OWN_KEYS
from plugins.yolo.geometry import parse_line

if TYPE_CHECKING:
    from app.core.project import Project

MAX_LABEL_BYTES = 64 * 1024 * 1024
MAX_YAML_BYTES = 4 * 1024 * 1024
OPTIONS: tuple[Option, ...] = (Option("coordinates", "Pixel convention", "choice", "auto", ("auto", "half-pixel", "plain"),
                  help="half-pixel: v*W-0.5 (this tool), plain: v*W (Ultralytics' converter, ISAT); auto decides."),)


def _read_yaml(path: Path) -> dict:
    if os.path.getsize(path) > MAX_YAML_BYTES:
        raise FormatError(f"{path} is larger than {MAX_YAML_BYTES // 2**20} MiB, so it is not a dataset YAML.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path} is not a readable YAML file ({str(exc).splitlines()[0]}).") from None
    if not isinstance(data, dict):
        raise FormatError(f"{path} is not a YOLO dataset YAML (it is not a mapping).")
    return data


def _names(data: dict, where: Path) -> dict[int, str]:
    names = data.get("names")
    if isinstance(names, list):
        return {i: str(n) for i, n in enumerate(names)}
    if isinstance(names, dict):
        out: dict[int, str] = {}
        for k, v in names.items():
            try:
                out[int(k)] = str(v)
            except (TypeError, ValueError):
                raise FormatError(f"{where}: the class index {k!r} in 'names' is not a number.") from None
        return out
    raise FormatError(f"{where} has no 'names' list or mapping, so it is not a YOLO dataset YAML.")


def _list_file(path: Path, root: Path) -> list[Path]:
    out = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        line = line.strip()
        if not line:
            continue
        p = Path(line)
        out.append(p if p.is_absolute() else (path.parent / line if line.startswith("./") else root / line))
    return out


def _yaml_images(data: dict, yaml_path: Path) -> list[Path]:
    base = data.get("path")
    root = Path(base) if isinstance(base, str) and Path(base).is_absolute() else yaml_path.parent
    seen: dict[str, Path] = {}
    for key in ("train", "val", "test"):
        entries = data.get(key)
        for entry in entries if isinstance(entries, list) else [entries]:
            if not isinstance(entry, str) or not entry:
                continue
            p = Path(entry) if Path(entry).is_absolute() else root / entry
            found = image_files(p) if p.is_dir() else _list_file(p, root) if p.is_file() else []
            for f in found:
                seen.setdefault(os.path.abspath(f), Path(os.path.abspath(f)))
    return list(seen.values())


def label_path(image: Path) -> Path:
    """Ultralytics' img2label_paths: the last /images/ becomes /labels/, the suffix .txt; without
    an 'images' folder, the .txt beside the image."""
    text = str(image)
    sa, sb = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    if sa in text:
        head, _, tail = text.rpartition(sa)
        return Path(os.path.splitext(head + sb + tail)[0] + ".txt")
    return image.with_suffix(".txt")


def _classes_file(folder: Path) -> dict[int, str] | None:
    for name in ("classes.txt", "obj.names"):
        for cand in (folder / name, folder / "labels" / name):
            if cand.is_file():
                lines = [ln.strip() for ln in cand.read_text(encoding="utf-8-sig").splitlines()]
                return {i: n for i, n in enumerate(ln for ln in lines if ln)}
    return None


def snap(px: np.ndarray, size: int) -> np.ndarray:
    """Pixel coordinates read from %.6f-normalised values, with those within the written precision
    (half a unit of the 6th decimal, times the image size) of a half-integer or an integer put on
    it exactly: (x + 0.5) / W comes back as x + 0.5, not x + 0.500016."""
    tol = 0.5e-6 * size * 1.01 + 1e-9
    for step in (0.5,):
        near = np.round(px / step) * step
        px = np.where(np.abs(px - near) <= tol, near, px)
    return px


class YoloImporter:
    """Ultralytics YOLO dataset (segment and detect rows); see the module doc."""

    source: SourceKind = "file_or_folder"
    options = OPTIONS

    def __init__(self, task: str) -> None:
        seg = task == "segment"
        self.id = "yolo-seg" if seg else "yolo-det"
        self.title = "YOLO segmentation (Ultralytics)" if seg else "YOLO detection (Ultralytics)"
        self.file_filter = "YOLO data.yaml (*.yaml *.yml)"

    def run(self, project: "Project", src: Path, *, images_dir: Path | None, options: Mapping[str, OptionValue],
            on_duplicate: OnDuplicate = "skip", progress: Progress | None = None,
            cancel: threading.Event | None = None) -> ImportReport:
        """Import the dataset (one transaction)."""
        opts = resolve_options(self.options, options)
        src = Path(src).absolute()
        if not src.exists():
            raise FormatError(f"{src} does not exist.")
        yaml_path = src if src.is_file() else next(
            (p for p in (src / "data.yaml", src / "data.yml") if p.is_file()), None)
        report = ImportReport(format=self.title)
        data: dict = {}
        if yaml_path is not None:
            data = _read_yaml(yaml_path)
            names = _names(data, yaml_path)
            images = _yaml_images(data, yaml_path)
        else:
            names = _classes_file(src) or {}
            if not names:
                report.warnings.append(f"{src} has no data.yaml or classes.txt: classes are named by their index.")
            images = image_files(src if images_dir is None else Path(images_dir))
        declared = (data.get("sam_labeler") or {}).get("coordinates") if isinstance(data.get("sam_labeler"), dict) \
            else None
        mode = str(opts["coordinates"])
        if mode == "auto" and declared in ("half-pixel", "plain"):
            mode = str(declared)
        ticker = Ticker(len(images), progress, cancel)
        with project.transaction():
            session = ImportSession(project, report, self.id, on_duplicate)
            kept = {k: v for k, v in data.items() if k not in OWN_KEYS}
            if kept:
                try:
                    project.set_meta(DATA_YAML_META, json.dumps(kept, allow_nan=False, default=str))
                except (TypeError, ValueError):
                    report.tally("data.yaml key(s) not kept (not representable as JSON)", len(kept))
            for index in sorted(names):  # every class, in index order: a re-export keeps the indices
                session.label_id(names[index])
            for image in images:
                ticker.tick()
                self._image(session, image, names, mode)
            session.end_file()
        if progress is not None:
            progress(ticker.total, ticker.total)
        return report

    def _image(self, session: ImportSession, image: Path, names: dict[int, str], mode: str) -> None:
        report = session.report
        if image.suffix.lower() not in IMAGE_SUFFIXES:
            report.skip(str(image), "it is not an image file Ultralytics reads")
            return
        lbl = label_path(image)
        if not lbl.is_file():
            report.tally("image(s) without a label file left out (Ultralytics counts them as missing)")
            return
        if os.path.getsize(lbl) > MAX_LABEL_BYTES:
            report.skip(str(lbl), f"it is larger than {MAX_LABEL_BYTES // 2**20} MiB, so it is not a label file")
            return
        try:
            text = lbl.read_text(encoding="utf-8-sig")
        except (UnicodeDecodeError, OSError) as exc:
            report.skip(str(lbl), f"it cannot be read as text ({exc})")
            return
        if not session.begin_file(lbl):
            return
        rec = session.image(image)
        if isinstance(rec, str):
            report.skip(str(image), rec)
            return
        report.images += 1
        h, w = rec.height, rec.width
        rows: list[tuple[int, np.ndarray, int]] = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            got = parse_line(line)
            if isinstance(got, str):
                report.skip(f"{lbl.name} line {n}", got)
                continue
            rows.append((got[0], got[1], n))
        if not rows:
            if not text.strip():
                session.project.set_image_status(rec.id, "done")
                report.tally("empty label file(s): image(s) imported as done with nothing on them (background)")
            return
        offset = self._offset(mode, [v for _, v, _ in rows if len(v) > 4], w, h)
        for cls, vals, n in rows:
            name = names.get(cls)
            if name is None:
                if names:
                    report.skip(f"{lbl.name} line {n}", f"its class index {cls} is not in the dataset's names")
                    continue
                name = str(cls)
            label = session.label_id(name)
            if len(vals) == 4:
                xc, yc, bw, bh = vals * [w, h, w, h]
                edges = snap(np.array([xc - bw / 2, yc - bh / 2, xc + bw / 2, yc + bh / 2]), max(w, h))
                x0, y0, x1, y1 = (float(v) for v in edges - [0.0, 0.0, 1.0, 1.0])
                if x1 < x0 or y1 < y0:
                    report.skip(f"{lbl.name} line {n}", "its box is narrower than one pixel")
                    continue
                session.add(rec.id, label, shape="rectangle", points=((x0, y0), (x1, y1)))
            else:
                ring = snap(vals.reshape(-1, 2) * [w, h], max(w, h)) - offset
                session.add(rec.id, label, shape="polygon",
                            parts=(Part(exterior=tuple((float(x), float(y)) for x, y in ring)),))

    @staticmethod
    def _offset(mode: str, polygons: list[np.ndarray], w: int, h: int) -> float:
        if mode == "half-pixel":
            return 0.5
        if mode == "plain" or not polygons:
            return 0.0
        px = np.concatenate([p.reshape(-1, 2) * [w, h] for p in polygons])
        frac = np.abs(px - np.floor(px) - 0.5)
        return 0.5 if bool((frac <= 0.01).all()) else 0.0
