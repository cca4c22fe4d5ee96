"""Mask mode "outline" (issue 13, polygon density): LabelMe and YOLO-seg write a mask annotation's
stored outline — the polygons at the density the user chose — instead of tracing the mask exactly;
the other modes are unchanged."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from app.core import codec
from app.core.formats import export_labelme
from app.core.formats.builtin import LabelMeExporter
from app.core.formats.labelme import LABELME_MASK_MODES
from app.core.mask_convert import convert_mask
from app.core.model import Annotation
from app.core.project import Project
from plugins.yolo import YOLO_SEG

H, W = 300, 400


def _blob() -> np.ndarray:
    """A wobbly object with a hole: many vertices when traced exactly, few at a coarse density."""
    yy, xx = np.mgrid[0:H, 0:W]
    ang = np.arctan2(yy - 150, xx - 200)
    r = np.hypot(yy - 150, xx - 200)
    mask = r < 100 + 12 * np.sin(7 * ang) + 3 * np.sin(41 * ang)
    mask &= np.hypot(yy - 140, xx - 230) > 18  # the hole
    return mask


def _project(tmp_path: Path, tolerance: float) -> tuple[Project, Annotation]:
    folder = tmp_path / "imgs"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.zeros((H, W, 3), np.uint8))
    project = Project.open_folder(folder)
    rec = project.images()[0]
    lab = project.add_label_class("leaf")
    conv = convert_mask(_blob(), tolerance)
    assert conv.geometry is not None and conv.rle is not None
    ann = project.add_annotation(Annotation(rec.id, lab.id, codec.decode_parts(conv.geometry), conv.rle,
                                            outline=conv.outline, shape="mask", source="sam"))
    return project, ann


def test_the_dialog_and_the_writer_offer_the_same_labelme_modes() -> None:
    assert LabelMeExporter.mask_modes == LABELME_MASK_MODES and "outline" in LABELME_MASK_MODES


def test_labelme_outline_mode_writes_the_stored_polygons(tmp_path: Path) -> None:
    project, ann = _project(tmp_path, 5.0)
    stored = [[[float(x), float(y)] for x, y in p.exterior] for p in ann.parts]
    out = tmp_path / "lm_outline"
    report = export_labelme(project, out, masks="outline")
    doc = json.loads(next(out.rglob("*.json")).read_text())
    assert [s["shape_type"] for s in doc["shapes"]] == ["polygon"] * len(stored)
    assert [s["points"] for s in doc["shapes"]] == stored
    assert any("holes filled" in w for w in report.tallies)  # the hole cannot be a LabelMe polygon's
    exact = tmp_path / "lm_polygon"
    export_labelme(project, exact, masks="polygon")
    traced = json.loads(next(exact.rglob("*.json")).read_text())["shapes"]
    assert sum(len(s["points"]) for s in traced) > 3 * sum(len(p) for p in stored)  # the density reached the file


def test_yolo_outline_mode_writes_the_stored_polygons_with_the_hole(tmp_path: Path) -> None:
    project, ann = _project(tmp_path, 5.0)
    n_stored = sum(len(p.exterior) + sum(len(h) for h in p.holes) for p in ann.parts)
    assert any(p.holes for p in ann.parts)
    YOLO_SEG.exporter.run(project, tmp_path / "outline", masks="outline", options={})
    YOLO_SEG.exporter.run(project, tmp_path / "traced", masks="polygon", options={})
    row = (tmp_path / "outline" / "labels" / "a.txt").read_text().split()
    traced = (tmp_path / "traced" / "labels" / "a.txt").read_text().split()
    n_row = (len(row) - 1) // 2
    # the stored rings joined by zero-width bridges (each bridge repeats a vertex on both rings)
    assert n_stored <= n_row <= n_stored + 4
    assert (len(traced) - 1) // 2 > 3 * n_row
