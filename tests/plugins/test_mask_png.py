"""Mask PNG export and import (semantic and instance): PNG values read back with PIL, round
trips, other producers' files (a labelme-style semantic PNG, a 16-bit instance PNG) and bad input."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.core.errors import FormatError
from app.core.project import Project
from plugins.mask_png import MASK_PNG
from tests.plugins.support import iou, masks_of, rich_project

DATA = Path(__file__).resolve().parents[1] / "data" / "interop" / "mask_png"


def _new_project(folder: Path) -> Project:
    folder.mkdir(parents=True, exist_ok=True)
    return Project.create(folder / "p.samlabel")


def test_semantic_export_values_palette_and_mapping(tmp_path: Path) -> None:
    project, scenes = rich_project(tmp_path / "src")
    report = MASK_PNG.exporter.run(project, tmp_path / "m", masks="auto", options={"mode": "semantic"})
    table = json.loads((tmp_path / "m" / "classes.json").read_text(encoding="utf-8"))
    names = [e["name"] for e in table]
    assert names == ["_background_", "猫", "Größe", "dot", "box", "unused"]
    assert (tmp_path / "m" / "classes.txt").read_text(encoding="utf-8").splitlines() == names
    assert report.tallies["annotation(s) merged into class regions (semantic masks hold no instances)"] == 12
    for rel in ("a", "sub/b"):
        with Image.open(tmp_path / "m" / "masks" / f"{rel}.png") as im:
            assert im.mode == "P" and im.size == (64, 48)
            arr = np.array(im)
            pal = np.array(im.getpalette()[:18]).reshape(6, 3)
        for e in table[1:]:  # the palette shows the label colours
            assert tuple(pal[e["index"]]) == tuple(int(e["color"][i:i + 2], 16) for i in (1, 3, 5))
        expected = np.zeros((48, 64), np.uint8)
        for label, m in scenes["a.png" if rel == "a" else "sub/b.jpg"]:
            expected[m] = names.index(label)
        assert (arr == expected).all()
        side = json.loads((tmp_path / "m" / "masks" / f"{rel}.json").read_text(encoding="utf-8"))
        assert (tmp_path / "m" / "masks" / f"{rel}.json").parent.joinpath(side["image"]).resolve() == \
            (tmp_path / "src" / ("a.png" if rel == "a" else "sub/b.jpg")).resolve()


def test_instance_round_trip_keeps_ids_labels_and_fields(tmp_path: Path) -> None:
    project, scenes = rich_project(tmp_path / "src")
    report = MASK_PNG.exporter.run(project, tmp_path / "m", masks="auto", options={"mode": "instance"})
    assert report.tallies["annotation(s) partly hidden by higher ones (one id per pixel)"] == 2
    with Image.open(tmp_path / "m" / "masks" / "sub" / "b.png") as im:
        assert im.mode == "I;16"
        ids = np.array(im)
    objs = scenes["sub/b.jpg"]
    for k, (_, m) in enumerate(objs, 1):
        assert not ((ids == k) & ~m).any()
    dst = _new_project(tmp_path / "dst")
    back = MASK_PNG.importer.run(dst, tmp_path / "m", images_dir=None, options={})
    assert (back.images, back.annotations, back.skipped) == (2, 12, [])
    for rel, objs in scenes.items():
        got = masks_of(dst, rel)
        assert [g[0] for g in got] == [lab for lab, _ in objs]
        shown = np.zeros((48, 64), int)
        for k, (_, m) in enumerate(objs, 1):
            shown[m] = k
        for k, (_, mask, ann) in enumerate(got, 1):
            assert (mask == (shown == k)).all() and ann.shape == "mask"
    rect = masks_of(dst, "sub/b.jpg")[3][2]
    assert rect.attributes == {"colour": "red", "n": 3} and rect.flags == {"occluded": True}
    assert rect.description == "a box"
    MASK_PNG.exporter.run(dst, tmp_path / "m2", masks="auto", options={"mode": "instance"})
    for rel in ("a.png", "b.png"):
        first = np.array(Image.open(next((tmp_path / "m").rglob(rel))))
        second = np.array(Image.open(next((tmp_path / "m2").rglob(rel))))
        assert (first == second).all()


def test_semantic_round_trip_gives_one_annotation_per_class(tmp_path: Path) -> None:
    project, scenes = rich_project(tmp_path / "src")
    MASK_PNG.exporter.run(project, tmp_path / "m", masks="auto", options={})
    dst = _new_project(tmp_path / "dst")
    report = MASK_PNG.importer.run(dst, tmp_path / "m", images_dir=None, options={})
    got = masks_of(dst, "a.png")
    assert sorted(g[0] for g in got) == ["Größe", "dot", "猫"]
    expected = {}
    for label, m in scenes["a.png"]:
        expected[label] = expected.get(label, np.zeros_like(m)) | m
    for label, mask, _ in got:
        assert iou(mask, expected[label]) == 1.0
    assert report.tallies["class region(s) imported as one annotation per class and image (semantic PNGs)"] == 6


def test_other_producers_files(tmp_path: Path) -> None:
    dst = _new_project(tmp_path / "dst")
    report = MASK_PNG.importer.run(dst, DATA / "semantic", images_dir=DATA / "semantic", options={})
    got = masks_of(dst, "street.jpg")
    assert [(lab, int(m.sum())) for lab, m, _ in got] == [("road", 32), ("car", 48)]
    assert report.tallies["semantic PNG(s) with void (255) pixels, which belong to no class"] == 1
    report = MASK_PNG.importer.run(dst, DATA / "instance", images_dir=None, options={})
    got = masks_of(dst, "cells.jpg")
    assert [(lab, int(m.sum())) for lab, m, _ in got] == [("cell", 16), ("cell", 35), ("debris", 18)]


def test_bad_input(tmp_path: Path) -> None:
    project, _ = rich_project(tmp_path / "src")
    MASK_PNG.exporter.run(project, tmp_path / "m", masks="auto", options={})
    Image.fromarray(np.zeros((47, 64), np.uint8)).save(tmp_path / "m" / "masks" / "a.png")  # wrong size
    Image.new("RGB", (64, 48)).save(tmp_path / "m" / "masks" / "sub" / "b.png")  # colour, not indices
    dst = _new_project(tmp_path / "dst")
    report = MASK_PNG.importer.run(dst, tmp_path / "m", images_dir=None, options={})
    reasons = dict(report.skipped)
    assert "64x47" in reasons[str(tmp_path / "m" / "masks" / "a.png")]
    assert "RGB" in reasons[str(tmp_path / "m" / "masks" / "sub" / "b.png")]
    assert report.annotations == 0
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(FormatError, match="not a PNG"):
        MASK_PNG.importer.run(dst, tmp_path / "x.txt", images_dir=None, options={})
    for i in range(260):
        project.add_label_class(f"c{i}")
    with pytest.raises(ValueError, match="at most 254 classes"):
        MASK_PNG.exporter.run(project, tmp_path / "m3", masks="auto", options={})
    MASK_PNG.exporter.run(project, tmp_path / "m4", masks="auto", options={"mode": "instance"})  # ids: no limit
