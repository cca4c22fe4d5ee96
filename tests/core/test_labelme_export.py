"""LabelMe export: labelme's loader rules (formats.md 1.6, strict 7.x ones included), its
rasteriser reproducing the masks exactly (1.9), file placement and imagePath."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.core.formats import Cancelled, export_coco, export_labelme
from app.core.geometry import mask_to_rle
from app.core.model import Annotation
from app.core.project import Project
from tests.core.formats_support import (H, MANUAL_TRIANGLE, W, Scenes, build_project, fill_holes, pil_polygon,
                                       validate_labelme, write_image)


Built = tuple[Project, Scenes]


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Built]:
    project, scenes = build_project(tmp_path)
    yield project, scenes
    project.close()


def _instances_in_order(instances: dict) -> list[tuple[str, np.ndarray]]:
    return [(key[0], m) for key, m in instances.items()]


@pytest.mark.parametrize("masks", ["auto", "mask"])
def test_beside_images_passes_labelme_checks_and_is_exact(project: Built, masks: str) -> None:
    project, scenes = project
    report = export_labelme(project, masks=masks)
    assert report.images == 2 and report.annotations == 9 and not report.skipped and not report.warnings
    files = {p.relative_to(project.root).as_posix(): p for p in report.files}
    assert sorted(files) == ["a.json", "sub/b.json"]  # where labelme looks: same folder, same stem
    for rel, json_rel in (("a.png", "a.json"), ("sub/b.jpg", "sub/b.json")):
        doc, instances = validate_labelme(files[json_rel])
        assert doc["imagePath"] == Path(rel).name and doc["version"] == "5.5.0" and doc["flags"] == {}
        got = _instances_in_order(instances)
        assert [lab for lab, _ in got] == [lab for lab, _ in scenes[rel]]
        for k, ((_, g), (_, e)) in enumerate(zip(got, scenes[rel])):
            if rel == "sub/b.jpg" and k == 2 and masks == "auto":
                # the manual polygon is written as its own vertices (what the user drew), which
                # labelme rasterises with PIL: compare with that, and check the vertices
                assert doc["shapes"][-1]["points"] == [list(p) for p in MANUAL_TRIANGLE.exterior]
                e = pil_polygon(MANUAL_TRIANGLE.exterior, H, W)
            assert (g == e).all()  # IoU 1.0: holes, multi-part, 1-4 px objects
        types = [s["shape_type"] for s in doc["shapes"]]
        if masks == "mask":
            assert set(types) == {"mask"} and len(types) == len(scenes[rel])
    if masks == "auto":
        doc = json.loads(files["a.json"].read_text(encoding="utf-8"))
        shapes = doc["shapes"]
        assert shapes[0]["shape_type"] == "mask" and shapes[0]["label"] == "猫"  # the ring keeps its hole
        two = [s for s in shapes if s["label"] == "Größe"]
        assert len(two) == 2 and two[0]["group_id"] == two[1]["group_id"] == 1  # one instance, two parts
        assert {s["shape_type"] for s in shapes[1:]} <= {"polygon", "rectangle"}
        assert "猫" in files["a.json"].read_text(encoding="utf-8")  # UTF-8, not \\u escapes


def test_out_dir_mirrors_folders_with_relative_image_path(project: Built, tmp_path: Path) -> None:
    project, _ = project
    out = tmp_path / "labels"
    report = export_labelme(project, out)
    assert sorted(p.relative_to(out).as_posix() for p in report.files) == ["a.json", "sub/b.json"]
    doc_b, _ = validate_labelme(out / "sub" / "b.json")
    assert doc_b["imagePath"] == "../../sub/b.jpg"
    assert not (tmp_path / "a.json").exists()


def test_polygon_mode_fills_holes_and_warns(project: Built) -> None:
    project, scenes = project
    report = export_labelme(project, masks="polygon")
    assert not report.warnings and [n for what, n in report.tallies.items() if "holes" in what] == [1]
    doc, instances = validate_labelme(project.root / "a.json")
    assert "mask" not in {s["shape_type"] for s in doc["shapes"]}
    ring = scenes["a.png"][0][1]
    first = next(iter(instances.values()))
    assert (first == fill_holes(ring)).all()


def test_user_group_ids_are_kept_and_new_ones_do_not_collide(tmp_path: Path) -> None:
    write_image(tmp_path / "g.png")
    project = Project.create(tmp_path / "g.samlabel")
    try:
        lab = project.add_label_class("part")
        img = project.add_image("g.png", W, H)
        two = np.zeros((H, W), bool)
        two[2:6, 2:6] = two[20:30, 20:30] = True
        grouped = np.zeros((H, W), bool)
        grouped[40:44, 50:60] = True
        project.add_annotation(Annotation(image_id=img.id, label_id=lab.id, parts=(), rle=mask_to_rle(grouped),
                                          group_id=3, z=0))
        project.add_annotation(Annotation(image_id=img.id, label_id=lab.id, parts=(), rle=mask_to_rle(two), z=1))
        export_labelme(project)
        doc, instances = validate_labelme(tmp_path / "g.json")
        assert [s["group_id"] for s in doc["shapes"]] == [3, 4, 4]
        assert (instances[("part", 4)] == two).all() and (instances[("part", 3)] == grouped).all()
    finally:
        project.close()


def test_collisions_foreign_json_and_missing_images_are_skipped(tmp_path: Path) -> None:
    for name in ("a.jpg", "a.png", "c.png", "gone.png"):
        write_image(tmp_path / name, "JPEG" if name.endswith("jpg") else "PNG")
    (tmp_path / "c.json").write_text('{"images": []}', encoding="utf-8")
    project = Project.create(tmp_path / "p.samlabel")
    try:
        lab = project.add_label_class("x")
        m = np.zeros((H, W), bool)
        m[5:9, 5:9] = True
        for name in ("a.jpg", "a.png", "c.png", "gone.png"):
            img = project.add_image(name, W, H)
            project.add_annotation(Annotation(image_id=img.id, label_id=lab.id, parts=(), rle=mask_to_rle(m)))
        (tmp_path / "gone.png").unlink()
        report = export_labelme(project)
        assert [p.name for p in report.files] == ["a.json"]
        why = dict(report.skipped)
        assert "a.png" in why and "already the LabelMe file of a.jpg" in why["a.png"]
        assert "not a LabelMe file" in why["c.png"] and "missing" in why["gone.png"]
        assert (tmp_path / "c.json").read_text(encoding="utf-8") == '{"images": []}'  # never overwritten
        assert json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))["imagePath"] == "a.jpg"
    finally:
        project.close()


def test_exif_rotated_size_is_probed_when_unknown(tmp_path: Path) -> None:
    im = Image.fromarray(np.zeros((H, W, 3), np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90: displayed W x H swapped
    im.save(tmp_path / "r.jpg", exif=exif)
    project = Project.create(tmp_path / "r.samlabel")
    try:
        lab = project.add_label_class("x")
        img = project.add_image("r.jpg")  # size unknown (0 x 0)
        m = np.zeros((W, H), bool)
        m[50:60, 3:9] = True
        project.add_annotation(Annotation(image_id=img.id, label_id=lab.id, parts=(), rle=mask_to_rle(m)))
        export_labelme(project)
        doc, instances = validate_labelme(tmp_path / "r.json")  # checks the size against the rotated image
        assert (doc["imageHeight"], doc["imageWidth"]) == (W, H)
        assert (next(iter(instances.values())) == m).all()
    finally:
        project.close()


def test_cancel_and_bad_arguments(project: Built, tmp_path: Path) -> None:
    project, _ = project
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        export_labelme(project, tmp_path / "o", cancel=cancel)
    with pytest.raises(ValueError, match="auto, polygon, outline, mask"):
        export_labelme(project, masks="rle")
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ValueError, match="is a file"):
        export_labelme(project, tmp_path / "file.txt")


def test_empty_and_corrupt_masks_are_reported_not_fatal(tmp_path: Path) -> None:
    write_image(tmp_path / "e.png")
    project = Project.create(tmp_path / "e.samlabel")
    try:
        lab = project.add_label_class("x")
        img = project.add_image("e.png", W, H)
        good = np.zeros((H, W), bool)
        good[3:9, 4:12] = True
        project.add_annotation(Annotation(image_id=img.id, label_id=lab.id, parts=(), rle=mask_to_rle(good)))
        project.add_annotation(Annotation(image_id=img.id, label_id=lab.id, parts=(),
                                          rle=mask_to_rle(np.zeros((H, W), bool))))
        project.add_annotation(Annotation(image_id=img.id, label_id=lab.id, parts=(),
                                          rle={"size": [H, W], "counts": "11"}))
        report = export_labelme(project)
        assert report.annotations == 1 and [why for _, why in report.skipped][0] == "its mask is empty"
        assert "unreadable" in report.skipped[1][1] and "add up to" in report.skipped[1][1]
        _, instances = validate_labelme(tmp_path / "e.json")
        assert len(instances) == 1 and (next(iter(instances.values())) == good).all()
        out = tmp_path / "e_coco.json"
        coco_report = export_coco(project, out)
        assert coco_report.annotations == 1 and len(coco_report.skipped) == 2
    finally:
        project.close()
