"""COCO import: round trips through export, files written the way COCO tools write them."""
from __future__ import annotations

import contextlib
import io
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mu
from pycocotools.coco import COCO

from app.core.errors import FormatError
from app.core.formats import Cancelled, export_coco, import_coco
from app.core.geometry import annotation_mask, mask_to_rle, parts_to_mask
from app.core.project import Project
from tests.core.formats_support import H, W, build_project, disk, fill_holes, write_image


def _masks_by_image(project: Project) -> dict[str, list[tuple[str, np.ndarray]]]:
    names = {lc.id: lc.name for lc in project.label_classes()}
    out = {}
    for rec in project.images():
        out[rec.path] = [(names[a.label_id], annotation_mask(a, rec.height, rec.width))
                         for a in project.annotations(rec.id)]
    return out


@pytest.mark.parametrize("masks", ["auto", "rle", "polygon"])
def test_round_trip_gives_the_same_masks(tmp_path: Path, masks: str) -> None:
    src, scenes = build_project(tmp_path)
    out = tmp_path / "exports" / "coco.json"
    export_coco(src, out, masks=masks)
    src.close()
    dst = Project.create(tmp_path / "exports" / "copy.samlabel")
    try:
        report = import_coco(dst, out)
        assert (report.images, report.images_added, report.annotations, report.labels_created) == (2, 2, 9, 5)
        assert report.skipped == []
        got = _masks_by_image(dst)
        assert sorted(got) == ["../a.png", "../sub/b.jpg"]  # paths relative to the new project
        for rel, objs in scenes.items():
            expected = [(lab, fill_holes(m) if masks == "polygon" else m) for lab, m in objs]
            assert [lab for lab, _ in got["../" + rel]] == [lab for lab, _ in expected]
            for (_, g), (_, e) in zip(got["../" + rel], expected):
                assert (g == e).all()
        ann = dst.annotations(dst.image_by_path("../a.png").id)[0]
        assert ann.source == "import" and ann.rle is not None
        assert (parts_to_mask(ann.parts, H, W) == annotation_mask(ann, H, W)).mean() > 0.98  # usable polygons
    finally:
        dst.close()


def _coco_fixture(folder: Path) -> Path:
    """A file as COCO tools write it: polygons, uncompressed RLE with iscrowd=1, compressed RLE,
    plus broken annotations and an image that does not exist."""
    write_image(folder / "imgs" / "x.png")
    ring = disk(20, 20, 12) & ~disk(20, 20, 5)
    flat = np.asfortranarray(ring).ravel(order="F")
    counts, cur, n = [], False, 0
    for v in flat:
        if bool(v) == cur:
            n += 1
        else:
            counts.append(n)
            cur, n = bool(v), 1
    counts.append(n)
    comp = mask_to_rle(disk(30, 50, 6))
    d = {
        "info": {}, "licenses": [],
        "categories": [{"id": 0, "name": "ring"}, {"id": 7, "name": "poly"}, {"id": 9, "name": "ring"}],
        "images": [{"id": 0, "file_name": "x.png", "width": W, "height": H},
                   {"id": 5, "file_name": "nowhere.png", "width": W, "height": H}],
        "annotations": [
            {"id": 0, "image_id": 0, "category_id": 7, "iscrowd": 0, "area": 1, "bbox": [0, 0, 1, 1],
             "segmentation": [[2.0, 30.0, 12.0, 30.0, 12.0, 40.0], [20.5, 40.5, 30.5, 40.5, 25.5, 46.0]]},
            {"id": 1, "image_id": 0, "category_id": 0, "iscrowd": 1, "area": 1, "bbox": [0, 0, 1, 1],
             "segmentation": {"size": [H, W], "counts": counts}},
            {"id": 2, "image_id": 0, "category_id": 9, "iscrowd": 0, "score": 0.75, "area": 1, "bbox": [0, 0, 1, 1],
             "segmentation": comp},
            {"id": 3, "image_id": 0, "category_id": 7, "segmentation": [[1, 1, 5, 5]]},
            {"id": 4, "image_id": 0, "category_id": 7, "segmentation": {"size": [W, H], "counts": comp["counts"]}},
            {"id": 5, "image_id": 0, "category_id": 7, "segmentation": {"size": [H, W], "counts": [10, 5]}},
            {"id": 6, "image_id": 0, "category_id": 42, "segmentation": [[1, 1, 5, 1, 5, 5]]},
            {"id": 7, "image_id": 0, "category_id": 7, "bbox": [1, 1, 4, 4]},
            {"id": 8, "image_id": 5, "category_id": 7, "segmentation": [[1, 1, 5, 1, 5, 5]]},
            {"id": 9, "image_id": 77, "category_id": 7, "segmentation": [[1, 1, 5, 1, 5, 5]]},
        ],
    }
    path = folder / "ann" / "instances.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(d), encoding="utf-8")
    return path


def test_tool_written_file_imports_exactly_and_reports_bad_items(tmp_path: Path) -> None:
    path = _coco_fixture(tmp_path)
    project = Project.create(tmp_path / "p.samlabel")
    try:
        report = import_coco(project, path, images_dir=tmp_path / "imgs")
        assert (report.images, report.annotations, report.labels_created) == (1, 4, 2)
        reasons = " | ".join(f"{w}: {r}" for w, r in report.skipped)
        assert len(report.skipped) == 6, reasons
        for needle in ("annotation id 3", "at least 3 points", "does not match the image size",
                       "add up to 15", "category_id 42", "nowhere.png", "image id 77"):
            assert needle in reasons
        assert "6 item(s) skipped" in report.summary()
        assert report.tallies["annotation(s) with a box and no segmentation read as rectangles"] == 1
        assert report.tallies["categories sharing a name merged into one label class"] == 1
        anns = project.annotations(project.image_by_path("imgs/x.png").id)
        assert [project.label_class(a.label_id).name for a in anns] == ["poly", "ring", "ring", "poly"]
        assert [a.shape for a in anns] == ["polygon", "mask", "mask", "rectangle"]
        with contextlib.redirect_stdout(io.StringIO()):
            coco = COCO(str(path))
        for a, coco_id in zip(anns, (0, 1, 2)):  # pycocotools' own rasterisation, exactly
            assert (annotation_mask(a, H, W) == coco.annToMask(coco.anns[coco_id]).astype(bool)).all()
        box = mu.decode(mu.merge(mu.frPyObjects(np.array([[1.0, 1.0, 4.0, 4.0]]), H, W))).astype(bool)
        assert (annotation_mask(anns[3], H, W) == box).all() and box.sum() == 16
        assert anns[1].extra["coco"]["iscrowd"] == 1 and anns[2].score == 0.75
        assert [a.extra["coco"]["id"] for a in anns] == [0, 1, 2, 7]
        assert anns[0].parts[1].exterior == ((20.0, 40.0), (30.0, 40.0), (25.0, 45.5))  # its vertices, centre frame
        assert anns[3].points == ((0.5, 0.5), (4.5, 4.5))
        assert annotation_mask(anns[1], H, W).sum() == mu.area(coco.annToRLE(coco.anns[1]))
    finally:
        project.close()


def test_failure_or_cancel_stores_nothing(tmp_path: Path) -> None:
    path = _coco_fixture(tmp_path)
    project = Project.create(tmp_path / "p.samlabel")
    try:
        cancel = threading.Event()
        cancel.set()
        with pytest.raises(Cancelled):
            import_coco(project, path, images_dir=tmp_path / "imgs", cancel=cancel)
        assert project.annotation_count() == 0 and project.label_classes() == [] and project.images() == []
        bad = tmp_path / "bad.json"
        bad.write_text('{"images": [], "annotations": {}}', encoding="utf-8")
        with pytest.raises(FormatError, match="not a COCO file"):
            import_coco(project, bad)
        bad.write_text('{"images": [', encoding="utf-8")
        with pytest.raises(FormatError, match="not valid JSON"):
            import_coco(project, bad)
    finally:
        project.close()


def test_image_size_mismatch_is_skipped(tmp_path: Path) -> None:
    write_image(tmp_path / "x.png")
    d = {"images": [{"id": 1, "file_name": "x.png", "width": H, "height": W}], "categories": [{"id": 1, "name": "a"}],
         "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 9, 1, 9, 9]]}]}
    (tmp_path / "c.json").write_text(json.dumps(d), encoding="utf-8")
    project = Project.create(tmp_path / "p.samlabel")
    try:
        report = import_coco(project, tmp_path / "c.json")
        assert report.annotations == 0 and len(report.skipped) == 1
        assert "EXIF" in report.skipped[0][1] and f"{H}x{W}" in report.skipped[0][1]
    finally:
        project.close()


def test_image_known_to_the_project_is_used_when_its_file_is_gone(tmp_path: Path) -> None:
    d = {"images": [{"id": 1, "file_name": "gone.png", "width": W, "height": H}],
         "categories": [{"id": 1, "name": "a"}],
         "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 9, 1, 9, 9, 1, 9]]}]}
    (tmp_path / "c.json").write_text(json.dumps(d), encoding="utf-8")
    project = Project.create(tmp_path / "p.samlabel")
    try:
        rec = project.add_image("gone.png", W, H)
        report = import_coco(project, tmp_path / "c.json")
        assert (report.annotations, report.images_added, report.skipped) == (1, 0, [])
        (ann,) = project.annotations(rec.id)
        expected = np.zeros((H, W), bool)
        expected[1:9, 1:9] = True  # corner convention: pixels 1..8
        assert (annotation_mask(ann, H, W) == expected).all()
    finally:
        project.close()
