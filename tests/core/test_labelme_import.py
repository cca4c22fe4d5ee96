"""LabelMe import: round trips through export, and files as labelme 5.x writes them."""
from __future__ import annotations

import base64
import io
import json
import math
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from app.core.errors import FormatError
from app.core.formats import Cancelled, export_labelme, import_labelme
from app.core.geometry import annotation_mask
from app.core.project import Project
from tests.core.formats_support import H, MANUAL_TRIANGLE, W, build_project, fill_holes, pil_polygon, write_image


def _masks(project: Project, rel: str) -> list[tuple[str, int | None, np.ndarray]]:
    rec = project.image_by_path(rel)
    return [(project.label_class(a.label_id).name, a.group_id, annotation_mask(a, rec.height, rec.width))
            for a in project.annotations(rec.id) if a.has_area]


@pytest.mark.parametrize("masks", ["auto", "mask", "polygon"])
def test_round_trip_gives_the_same_masks(tmp_path: Path, masks: str) -> None:
    src, scenes = build_project(tmp_path)
    export_labelme(src, tmp_path / "labels", masks=masks)
    src.close()
    (tmp_path / "copy").mkdir()
    dst = Project.create(tmp_path / "copy" / "copy.samlabel")
    try:
        report = import_labelme(dst, tmp_path / "labels")
        assert (report.images, report.images_added, report.annotations) == (2, 2, 9) and not report.skipped
        assert report.labels_created == 4  # "unused" has no annotation, so LabelMe cannot carry it
        for rel, objs in scenes.items():
            got = _masks(dst, "../" + rel)
            assert [g[0] for g in got] == [lab for lab, _ in objs]
            for k, ((_, _, g), (_, e)) in enumerate(zip(got, objs)):
                if rel == "sub/b.jpg" and k == 2 and masks != "mask":  # the manual polygon: its vertices
                    e = pil_polygon(MANUAL_TRIANGLE.exterior, H, W)   # as labelme rasterises them
                assert (g == (fill_holes(e) if masks == "polygon" else e)).all()
    finally:
        dst.close()


def _png_b64(arr: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _pil(draw_fn: Callable[[ImageDraw.ImageDraw], object]) -> np.ndarray:
    im = Image.fromarray(np.zeros((H, W), np.uint8))
    draw_fn(ImageDraw.Draw(im))
    return np.asarray(im).astype(bool)


def _labelme5_file(folder: Path) -> Path:
    """A labelme 5.x style file in folder/json/ for the image folder/img/x.png (Windows imagePath)."""
    write_image(folder / "img" / "x.png")
    crop = np.zeros((6, 8), np.uint8)
    crop[1:5, 1:7] = 255
    crop[2:4, 3:5] = 0  # a hole: only mask shapes keep it
    shapes = [
        {"label": "poly", "points": [[2.5, 3.0], [20.0, 4.5], [11.0, 18.25]], "group_id": None,
         "shape_type": "polygon", "flags": {}},
        {"label": "rect", "points": [[30, 20], [22, 10]], "group_id": None, "shape_type": "rectangle", "flags": {}},
        {"label": "circ", "points": [[45.0, 12.0], [45.0, 17.5]], "group_id": None, "shape_type": "circle",
         "flags": {}},
        {"label": "m", "points": [[50, 30], [57, 35]], "group_id": None, "shape_type": "mask",
         "mask": _png_b64(crop), "flags": {}},
        {"label": "pt", "points": [[5, 5]], "group_id": None, "shape_type": "point", "flags": {}},
        {"label": "ln", "points": [[5, 5], [9, 9]], "group_id": None, "shape_type": "line", "flags": {}},
        {"label": "ls", "points": [[5, 5], [9, 9], [9, 1]], "group_id": None, "shape_type": "linestrip"},
        {"label": "ai", "points": [[5, 5]], "group_id": None, "shape_type": "points"},
        {"label": "pair", "points": [[2, 30], [8, 30], [5, 36]], "group_id": 2, "shape_type": "polygon"},
        {"label": "pair", "points": [[12, 40], [18, 40], [15, 46]], "group_id": 2, "shape_type": "polygon"},
        {"label": "pair", "points": [[30, 40], [36, 40], [33, 46]], "group_id": 3},  # <= 5.8: no shape_type
        {"label": "bad", "points": [[1, 1], [3, 3]], "group_id": None, "shape_type": "polygon"},
        {"label": "bad", "points": [[1, 1], [3, 3], [1, 5]], "group_id": "7", "shape_type": "polygon"},
        {"label": "bad", "points": [[50, 30], [58, 35]], "shape_type": "mask", "mask": _png_b64(crop)},
    ]
    doc = {"version": "5.3.1", "flags": {}, "shapes": shapes, "imagePath": "..\\img\\x.png",
           "imageData": None, "imageHeight": H, "imageWidth": W}
    path = folder / "json" / "x.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


def test_labelme5_file_rasterises_like_labelme(tmp_path: Path) -> None:
    path = _labelme5_file(tmp_path)
    project = Project.create(tmp_path / "p.samlabel")
    try:
        report = import_labelme(project, path)
        assert (report.images, report.annotations) == (1, 9)
        skipped = dict(report.skipped)
        assert len(report.skipped) == 3 and report.tallies[
            "labelme 'points' prompt shape(s) left out (they are prompts, not annotations)"] == 1
        for i, needle in ((11, "at least 3 points"), (12, "group_id '7'"), (13, "bbox is 9x6")):
            key = next(k for k in skipped if k.startswith(f"x.json shape {i} "))
            assert needle in skipped[key], (key, skipped[key])
        rec = project.image_by_path("img/x.png")
        lines = [(project.label_class(a.label_id).name, a.shape, a.points, a.parts, a.rle)
                 for a in project.annotations(rec.id) if not a.has_area]
        assert lines == [("pt", "point", ((5.0, 5.0),), (), None), ("ln", "line", ((5.0, 5.0), (9.0, 9.0)), (), None),
                         ("ls", "linestrip", ((5.0, 5.0), (9.0, 9.0), (9.0, 1.0)), (), None)]
        got = _masks(project, "img/x.png")
        assert [(g[0], g[1]) for g in got] == [("poly", None), ("rect", None), ("circ", None), ("m", None),
                                             ("pair", 2), ("pair", 3)]
        exp_poly = _pil(lambda d: d.polygon([(2.5, 3.0), (20.0, 4.5), (11.0, 18.25)], outline=1, fill=1))
        exp_rect = np.zeros((H, W), bool)
        exp_rect[10:21, 22:31] = True  # inclusive of both corners, whatever their order
        r = 5.5
        exp_circ = _pil(lambda d: d.ellipse([45 - r, 12 - r, 45 + r, 12 + r], outline=1, fill=1))
        exp_mask = np.zeros((H, W), bool)
        exp_mask[31:35, 51:57] = True
        exp_mask[32:34, 53:55] = False  # the hole of the PNG crop placed at (50, 30)
        tri = [_pil(lambda d, p=p: d.polygon(p, outline=1, fill=1)) for p in
               ([(2, 30), (8, 30), (5, 36)], [(12, 40), (18, 40), (15, 46)])]
        for (_, _, g), e in zip(got, (exp_poly, exp_rect, exp_circ, exp_mask, tri[0] | tri[1])):
            assert (g == e).all()
        assert got[3][2].sum() == 4 * 6 - 4 and math.isclose(got[2][2].sum(), math.pi * (r + 0.5) ** 2, rel_tol=0.1)
    finally:
        project.close()


def test_embedded_image_data_is_saved_as_the_missing_image_file(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(buf, format="PNG")
    doc = {"version": "5.0.1", "flags": {}, "imagePath": "lost.png", "imageHeight": 30, "imageWidth": 40,
           "imageData": base64.b64encode(buf.getvalue()).decode("ascii"),
           "shapes": [{"label": "a", "points": [[1, 1], [10, 1], [10, 10]], "shape_type": "polygon",
                       "group_id": None}]}
    (tmp_path / "lost.json").write_text(json.dumps(doc), encoding="utf-8")
    (tmp_path / "other.json").write_text('{"info": {"description": "ISAT"}}', encoding="utf-8")
    project = Project.create(tmp_path / "p.samlabel")
    try:
        report = import_labelme(project, tmp_path)
        assert report.annotations == 1 and len(report.warnings) == 1 and "imageData" in report.warnings[0]
        assert report.skipped == [(str(tmp_path / "other.json"), "it is not a LabelMe file (no 'shapes' list)")]
        rec = project.image_by_path("lost.png")
        assert (rec.width, rec.height) == (40, 30)
        # the embedded image became a file of the project folder, so the canvas and exports work
        assert (tmp_path / "lost.png").read_bytes() == buf.getvalue()
        with pytest.raises(FormatError, match="not a LabelMe file"):
            import_labelme(project, tmp_path / "other.json")
    finally:
        project.close()


def test_cancel_stores_nothing(tmp_path: Path) -> None:
    path = _labelme5_file(tmp_path)
    project = Project.create(tmp_path / "p.samlabel")
    try:
        cancel = threading.Event()
        cancel.set()
        with pytest.raises(Cancelled):
            import_labelme(project, path, cancel=cancel)
        assert project.annotation_count() == 0 and project.images() == [] and project.label_classes() == []
    finally:
        project.close()
