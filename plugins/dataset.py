"""Pieces the dataset exporters and importers of plugins/ share: names of exported files,
train/val splits, label classes with colours, image look-up, bounded polygon rasters.
"""
from __future__ import annotations

import math
import os
import random
from dataclasses import replace
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING

import numpy as np

from app.core.model import Part

if TYPE_CHECKING:
    from app.core.formats.import_common import ImportSession
    from app.core.project import Project

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".dng", ".mpo", ".pfm", ".heic")


def relative_parts(rel_path: str) -> list[str]:
    """The components of an image's project path without '..' and '.' (images outside the project
    folder keep their own sub-folders)."""
    return [p for p in PurePosixPath(rel_path).parts if p not in ("..", ".", "/")]


def unique_name(name: str, taken: set[str]) -> str:
    """``name`` or ``stem_2.ext``, ``stem_3.ext``... whichever is not in ``taken`` (case-folded,
    for case-insensitive filesystems); the result is added to ``taken``."""
    p = PurePosixPath(name)
    candidate, k = name, 1
    while candidate.casefold() in taken:
        k += 1
        candidate = str(p.with_name(f"{p.stem}_{k}{p.suffix}"))
    taken.add(candidate.casefold())
    return candidate


def split_of(paths: Sequence[str], val_fraction: float, seed: int) -> dict[str, str]:
    """{path: "train" | "val"}: a seeded shuffle of the sorted paths; the first
    round(n * val_fraction) go to "val" (at least one, and at least one stays in "train", when
    0 < val_fraction < 1 and n >= 2). The same inputs always give the same split."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"the validation fraction must be at least 0 and below 1 (got {val_fraction}).")
    order = sorted(paths)
    random.Random(int(seed)).shuffle(order)
    n_val = round(len(order) * val_fraction)
    if val_fraction > 0 and len(order) >= 2:
        n_val = min(max(n_val, 1), len(order) - 1)
    return {p: ("val" if i < n_val else "train") for i, p in enumerate(order)}


def label_id_with_color(session: "ImportSession", name: str, color: str | None, extra: dict | None = None) -> int:
    """session.label_id(name), giving a class it creates the colour ``color`` ("#rrggbb")."""
    before = session.report.labels_created
    label_id = session.label_id(name, extra)
    if color and session.report.labels_created > before:
        lc = session.project.label_class(label_id)
        try:
            session.project.update_label_class(replace(lc, color=color))
        except ValueError:
            session.report.tally("label colour(s) not understood, the default colour was used")
    return label_id


def posix(path_text: str) -> str:
    """A path written by any OS with '/' separators."""
    return PureWindowsPath(path_text).as_posix() if "\\" in path_text else path_text


def find_image(name: str, folders: Iterable[Path]) -> Path | None:
    """The first existing file ``folder/name`` (then ``folder/<basename>``) among ``folders``."""
    rel = posix(name)
    candidates = [Path(d) / rel for d in folders]
    base = PurePosixPath(rel).name
    if base != rel:
        candidates += [Path(d) / base for d in folders]
    for c in candidates:
        if os.path.isfile(c):
            return Path(os.path.abspath(c))
    return None


def image_files(folder: Path) -> list[Path]:
    """Every image file under ``folder`` (recursive, sorted, hidden files and folders skipped)."""
    out: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out.extend(Path(root) / f for f in sorted(files)
                   if not f.startswith(".") and os.path.splitext(f)[1].lower() in IMAGE_SUFFIXES)
    return out


def polygon_crop(parts: Sequence[Part], height: int, width: int) -> tuple[np.ndarray, int, int] | None:
    """Rasterise parts (pixel-centre rule of app.core.geometry) on their bounding box clipped to
    the image only - never more than the image - as (bool crop, x0, y0); None when nothing of them
    is inside the image. Coordinates far outside the image cost nothing."""
    from app.core.geometry import parts_to_mask, translate_parts

    pts = [pt for p in parts for pt in p.exterior]
    if not pts:
        return None
    xs = np.fromiter((x for x, _ in pts), float, len(pts))
    ys = np.fromiter((y for _, y in pts), float, len(pts))
    if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
        return None
    x0, y0 = max(0, math.floor(xs.min())), max(0, math.floor(ys.min()))
    x1, y1 = min(width - 1, math.ceil(xs.max())), min(height - 1, math.ceil(ys.max()))
    if x1 < x0 or y1 < y0:
        return None
    crop = parts_to_mask(translate_parts(parts, -x0, -y0), y1 - y0 + 1, x1 - x0 + 1)
    if not crop.any():
        return None
    return crop, x0, y0


def full_mask(crop: np.ndarray, x0: int, y0: int, height: int, width: int) -> np.ndarray:
    """The HxW bool mask holding ``crop`` at (x0, y0) (clipped)."""
    from app.core.masks import paste

    return paste(crop, x0, y0, height, width)


def project_label_names(project: "Project") -> list[str]:
    """The project's label class names in display order (index = class index of the exports)."""
    return [lc.name for lc in sorted(project.label_classes(), key=lambda lc: (lc.order, lc.id))]
