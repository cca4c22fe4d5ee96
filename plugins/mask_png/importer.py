"""Mask PNG import: semantic (class per pixel) and instance (id per pixel) PNGs.

Source: a folder (every *.png under it) or one PNG. The class mapping is classes.json
([{"index", "name", "color"}] or {"<index>": "<name>"}) or classes.txt / class_names.txt /
labels.txt (line k = class k; a first "__ignore__" line is dropped) found in the source folder or
above it; without one, classes are named "class <k>". Each PNG's image comes from its sidecar
``<stem>.json`` ({"image": path relative to it}) when present, else the image with the same path
(and stem) under ``images_dir`` (default: the project folder), else the only image with that stem.

``mode`` "auto": the sidecar's mode, else 16-bit PNGs are instance masks and 8-bit ones semantic.
Semantic: each class value (1..254) becomes one ``mask`` annotation (a semantic map holds no
instances; counted); 255 is void. Instance: each id becomes one ``mask`` annotation, its label from
the sidecar's "instances" ({"id", "label", ...} entries, or {"<id>": "<label>"}), else from the
class mapping by id, else "object" (counted). The PNG must have the image's size (checked from its
header before decoding).
"""
from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.core.errors import FormatError
from app.core.formats.api import OnDuplicate, SourceKind
from app.core.formats.common import ImportReport, Progress, Ticker, read_json
from app.core.formats.import_common import ImportSession
from app.core.model import ImageRecord
from app.core.options import Option, OptionValue, resolve_options
from plugins.dataset import IMAGE_SUFFIXES, image_files, label_id_with_color
from plugins.voc.palette import read_index_png

if TYPE_CHECKING:
    from app.core.project import Project

OPTIONS: tuple[Option, ...] = (Option("mode", "Mask kind", "choice", "auto", ("auto", "semantic", "instance"),
                  help="auto: the sidecar's mode, else 16-bit PNGs are instance ids and 8-bit ones classes."),)
_EXTRA_KEYS = ("group_id", "description", "flags", "attributes")


def read_classes(start: Path) -> dict[int, tuple[str, str | None]]:
    """{index: (name, colour)} from the first mapping file in ``start`` or its parents (3 up)."""
    for folder in [start, *list(start.parents)[:3]]:
        js = folder / "classes.json"
        if js.is_file():
            data = read_json(js)
            out: dict[int, tuple[str, str | None]] = {}
            if isinstance(data, list):
                for e in data:
                    if isinstance(e, dict) and isinstance(e.get("index"), int) and isinstance(e.get("name"), str):
                        out[e["index"]] = (e["name"], e.get("color") if isinstance(e.get("color"), str) else None)
            elif isinstance(data, dict):
                for k, v in data.items():
                    if str(k).isdigit() and isinstance(v, str):
                        out[int(k)] = (v, None)
            return out
        for name in ("classes.txt", "class_names.txt", "labels.txt"):
            txt = folder / name
            if txt.is_file():
                lines = [ln.strip() for ln in txt.read_text(encoding="utf-8-sig").splitlines() if ln.strip()]
                if lines and lines[0] == "__ignore__":
                    lines = lines[1:]
                return {k: (n, None) for k, n in enumerate(lines)}
    return {}


class MaskPngImporter:
    """Semantic and instance mask PNGs; see the module doc."""

    id = "mask-png"
    title = "Mask PNG (semantic or instance)"
    file_filter = "Mask PNG (*.png)"
    source: SourceKind = "file_or_folder"
    options = OPTIONS

    def run(self, project: "Project", src: Path, *, images_dir: Path | None, options: Mapping[str, OptionValue],
            on_duplicate: OnDuplicate = "skip", progress: Progress | None = None,
            cancel: threading.Event | None = None) -> ImportReport:
        """Import the PNGs in one transaction."""
        opts = resolve_options(self.options, options)
        src = Path(src).absolute()
        if not src.exists():
            raise FormatError(f"{src} does not exist.")
        if src.is_file() and src.suffix.lower() != ".png":
            raise FormatError(f"{src} is not a PNG, so it is not a mask PNG.")
        pngs = [src] if src.is_file() else sorted(p for p in src.rglob("*.png") if not p.name.startswith("."))
        base = src.parent if src.is_file() else src
        classes = read_classes(base)
        search = Path(images_dir).absolute() if images_dir is not None else project.image_root
        by_stem: dict[str, list[Path]] = {}
        report = ImportReport(format="Mask PNG")
        ticker = Ticker(len(pngs), progress, cancel)
        with project.transaction():
            session = ImportSession(project, report, self.id, on_duplicate)
            for k in sorted(classes):
                if k > 0:
                    label_id_with_color(session, classes[k][0], classes[k][1])
            for png in pngs:
                ticker.tick()
                meta = self._sidecar(png)
                image = self._image_for(png, base, meta, search, by_stem)
                if image is None:
                    report.skip(str(png), "its image was not found (give the images folder)")
                    continue
                if not session.begin_file(png):
                    continue
                rec = session.image(image)
                if isinstance(rec, str):
                    report.skip(str(png), rec)
                    continue
                self._png(session, png, rec, meta, classes, str(opts["mode"]))
            session.end_file()
        if progress is not None:
            progress(ticker.total, ticker.total)
        return report

    @staticmethod
    def _sidecar(png: Path) -> dict:
        side = png.with_suffix(".json")
        if not side.is_file():
            return {}
        try:
            data = read_json(side)
        except FormatError:
            return {}
        return data if isinstance(data, dict) else {}

    @staticmethod
    def _image_for(png: Path, base: Path, meta: dict, search: Path, by_stem: dict[str, list[Path]]) -> Path | None:
        if isinstance(meta.get("image"), str):
            cand = png.parent / meta["image"]
            if cand.is_file():
                return Path(os.path.abspath(cand))
        rel = png.relative_to(base).with_suffix("")
        parts = rel.parts[1:] if rel.parts and rel.parts[0] == "masks" else rel.parts
        for suffix in IMAGE_SUFFIXES:
            for cand in (search.joinpath(*parts).with_suffix(suffix), search.joinpath(*parts).with_suffix(suffix.upper())):
                if cand.is_file() and os.path.abspath(cand) != os.path.abspath(png):
                    return Path(os.path.abspath(cand))
        if not by_stem:
            for f in image_files(search):
                by_stem.setdefault(f.stem, []).append(f)
            by_stem.setdefault("", [])
        found = [f for f in by_stem.get(png.stem, []) if os.path.abspath(f) != os.path.abspath(png)]
        return Path(os.path.abspath(found[0])) if len(found) == 1 else None

    def _png(self, session: ImportSession, png: Path, rec: ImageRecord, meta: dict,
             classes: dict[int, tuple[str, str | None]], mode: str) -> None:
        report = session.report
        arr = read_index_png(png, (rec.height, rec.width))
        if isinstance(arr, str):
            report.skip(str(png), arr)
            return
        report.images += 1
        if mode == "auto":
            stored = meta.get("mode")
            mode = stored if isinstance(stored, str) and stored in ("semantic", "instance") else \
                ("instance" if arr.dtype.itemsize > 1 else "semantic")
        values = [int(v) for v in np.unique(arr) if v > 0]
        if mode == "semantic":
            if 255 in values:
                report.tally("semantic PNG(s) with void (255) pixels, which belong to no class")
            for v in (v for v in values if v < 255):
                name = classes.get(v, (f"class {v}", None))[0]
                session.add(rec.id, session.label_id(name), arr == v, shape="mask")
                report.tally("class region(s) imported as one annotation per class and image (semantic PNGs)")
            return
        entries = self._instances(meta)
        for v in values:
            entry = entries.get(v)
            if entry is not None:
                name = str(entry["label"])
            elif v in classes:
                name = classes[v][0]
            else:
                name = "object"
                report.tally("instance(s) without a label in a sidecar, imported as 'object'")
            kw: dict[str, Any] = {}
            if entry is not None:
                kw = {k: entry[k] for k in _EXTRA_KEYS if k in entry}
                if not isinstance(kw.get("group_id"), int) or isinstance(kw.get("group_id"), bool):
                    kw.pop("group_id", None)
                for k in ("flags", "attributes"):
                    if not isinstance(kw.get(k), dict):
                        kw.pop(k, None)
                if not isinstance(kw.get("description"), str):
                    kw.pop("description", None)
            session.add(rec.id, session.label_id(name), arr == v, shape="mask", **kw)

    @staticmethod
    def _instances(meta: dict) -> dict[int, dict]:
        raw = meta.get("instances")
        out: dict[int, dict] = {}
        if isinstance(raw, list):
            for e in raw:
                if isinstance(e, dict) and isinstance(e.get("id"), int) and isinstance(e.get("label"), str):
                    out[e["id"]] = e
        elif isinstance(raw, dict):
            for k, v in raw.items():
                if str(k).isdigit() and isinstance(v, str):
                    out[int(k)] = {"label": v}
        return out
