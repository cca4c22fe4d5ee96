"""Pascal VOC export and import: the PNGs read back by VOC's rules (tests.plugins.consumers),
round trips, the VOC2012 fixture, void borders and hostile files."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.core.errors import FormatError
from app.core.project import Project
from plugins.voc import VOC
from tests.plugins.consumers import read_voc_png, voc_colormap
from tests.plugins.support import masks_of, rich_project

DATA = Path(__file__).resolve().parents[1] / "data" / "interop" / "voc"


def _new_project(folder: Path) -> Project:
    folder.mkdir(parents=True, exist_ok=True)
    return Project.create(folder / "p.samlabel")


def _top_most(objs: list[tuple[str, np.ndarray]], value: dict[str, int]) -> np.ndarray:
    out = np.zeros(objs[0][1].shape, np.uint8)
    for label, m in objs:
        out[m] = value[label]
    return out


def test_export_is_read_back_by_voc_rules(tmp_path: Path) -> None:
    project, scenes = rich_project(tmp_path / "src")
    report = VOC.exporter.run(project, tmp_path / "voc", masks="auto", options={"val_fraction": 0.5, "seed": 2})
    root = tmp_path / "voc"
    names = (root / "class_names.txt").read_text(encoding="utf-8").splitlines()
    assert names == ["_background_", "猫", "Größe", "dot", "box", "unused"]
    value = {n: i for i, n in enumerate(names)}
    ids = (root / "ImageSets" / "Segmentation" / "trainval.txt").read_text().split()
    assert sorted(ids) == ["a", "b"]
    train = (root / "ImageSets" / "Segmentation" / "train.txt").read_text().split()
    val = (root / "ImageSets" / "Segmentation" / "val.txt").read_text().split()
    assert sorted(train + val) == ["a", "b"] and len(val) == 1
    assert (root / "JPEGImages" / "b.jpg").is_file()  # JPEG keeps the name VOC expects
    assert report.tallies["image(s) are not JPEG and keep their own extension in JPEGImages (VOC tools expect .jpg)"] == 1
    for vid, rel in (("a", "a.png"), ("b", "sub/b.jpg")):
        objs = scenes[rel]
        cls = read_voc_png(root / "SegmentationClass" / f"{vid}.png", (64, 48), len(names) - 1)
        inst = read_voc_png(root / "SegmentationObject" / f"{vid}.png", (64, 48), len(objs))
        assert (cls == _top_most(objs, value)).all()  # per-class IoU 1.0: painted from the same masks
        xml = ET.parse(root / "Annotations" / f"{vid}.xml").getroot()
        objects = xml.findall("object")
        assert [o.findtext("name") for o in objects] == [lab for lab, _ in objs]
        for k, (label, m) in enumerate(objs, start=1):
            visible = inst == k
            assert not (visible & ~m).any()  # instance k is the k-th object's pixels (upper ones win)
            ys, xs = np.nonzero(m)
            bb = objects[k - 1].find("bndbox")
            assert [int(bb.findtext(t)) for t in ("xmin", "ymin", "xmax", "ymax")] == \
                [xs.min() + 1, ys.min() + 1, xs.max() + 1, ys.max() + 1]  # 1-based inclusive
    with Image.open(root / "SegmentationClass" / "a.png") as im:
        assert im.mode == "P" and np.array_equal(np.array(im.getpalette()[:9]).reshape(3, 3), voc_colormap(3))
    b = ET.parse(root / "Annotations" / "b.xml").getroot().findall("object")[3]
    assert b.findtext("occluded") == "1"
    assert {a.findtext("name"): a.findtext("value") for a in b.iterfind("attributes/attribute")} == \
        {"colour": "red", "n": "3"}


def test_void_border_band(tmp_path: Path) -> None:
    project, scenes = rich_project(tmp_path / "src")
    VOC.exporter.run(project, tmp_path / "voc", masks="auto", options={"void_border": 3})
    cls = read_voc_png(tmp_path / "voc" / "SegmentationClass" / "b.png", (64, 48), 5)
    inst = read_voc_png(tmp_path / "voc" / "SegmentationObject" / "b.png", (64, 48), 6)
    void = cls == 255
    assert void.any() and (void == (inst == 255)).all()
    blob = scenes["sub/b.jpg"][0][1]
    interior = np.zeros_like(blob)
    interior[20:30, 25:35] = True  # deep inside the blob: never void
    assert not (void & interior & blob).any()


def test_round_trip_keeps_masks_boxes_and_object_fields(tmp_path: Path) -> None:
    project, scenes = rich_project(tmp_path / "src")
    VOC.exporter.run(project, tmp_path / "voc", masks="auto", options={})
    dst = _new_project(tmp_path / "dst")
    report = VOC.importer.run(dst, tmp_path / "voc", images_dir=None, options={})
    assert (report.images, report.annotations, report.skipped) == (2, 12, [])
    names = [lc.name for lc in sorted(dst.label_classes(), key=lambda c: c.order)]
    assert names == ["猫", "Größe", "dot", "box", "unused"]  # class_names.txt order kept
    for rel, objs in scenes.items():
        got = masks_of(dst, "/" + rel.split("/")[-1])
        assert [g[0] for g in got] == [lab for lab, _ in objs]
        shown = np.zeros(objs[0][1].shape, int)
        for k, (_, m) in enumerate(objs, 1):
            shown[m] = k
        for k, ((_, mask, _), (_, src)) in enumerate(zip(got, objs), 1):
            assert (mask == (shown == k)).all()  # each object as VOC shows it (upper ones win)
    rect = masks_of(dst, "b.jpg")[3][2]
    assert rect.shape == "rectangle" and rect.points == ((5.0, 30.0), (20.0, 41.0))
    assert rect.flags == {"occluded": True} and rect.attributes == {"pose": "Unspecified", "colour": "red", "n": "3"}
    VOC.exporter.run(dst, tmp_path / "voc2", masks="auto", options={})
    for sub in ("SegmentationClass", "SegmentationObject"):
        for vid in ("a", "b"):
            assert np.array_equal(np.array(Image.open(tmp_path / "voc" / sub / f"{vid}.png")),
                                  np.array(Image.open(tmp_path / "voc2" / sub / f"{vid}.png")))
    first = ET.tostring(ET.parse(tmp_path / "voc" / "Annotations" / "b.xml").getroot())
    second = ET.tostring(ET.parse(tmp_path / "voc2" / "Annotations" / "b.xml").getroot())
    assert first == second


def test_voc2012_fixture_instances_classes_and_boxes(tmp_path: Path) -> None:
    dst = _new_project(tmp_path / "dst")
    report = VOC.importer.run(dst, DATA, images_dir=None, options={})
    assert (report.images, report.annotations, report.skipped) == (1, 3, [])
    got = masks_of(dst, "2007_000032.jpg")
    assert [(lab, a.shape) for lab, _, a in got] == [("aeroplane", "mask"), ("person", "mask"), ("person", "rectangle")]
    plane, person, box = got
    assert int(plane[1].sum()) == 14 * 8 and int(person[1].sum()) == 48 + 24  # void band not part of it
    assert person[2].flags == {"truncated": True, "occluded": True} and person[2].attributes == {"pose": "Left"}
    assert box[2].flags == {"difficult": True} and box[2].points == ((0.0, 19.0), (9.0, 29.0))
    assert "<part>" in person[2].extra["voc"]["xml"][0]
    VOC.exporter.run(dst, tmp_path / "out", masks="auto", options={})
    xml = ET.parse(tmp_path / "out" / "Annotations" / "2007_000032.xml").getroot()
    assert xml.find("source/database").text == "The VOC2007 Database"  # kept and written back
    obj = xml.findall("object")
    assert obj[1].find("part/name").text == "head"
    # the aeroplane's box as VOC wrote it (one pixel wider than the mask) comes back unchanged
    assert [obj[0].find("bndbox").findtext(t) for t in ("xmin", "ymin", "xmax", "ymax")] == ["4", "5", "19", "14"]
    assert obj[2].findtext("difficult") == "1"


def test_semantic_only_folder_and_hostile_files(tmp_path: Path) -> None:
    root = tmp_path / "voc"
    (root / "SegmentationClass").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    Image.new("RGB", (20, 10)).save(root / "JPEGImages" / "s.jpg")
    Image.new("RGB", (20, 10)).save(root / "JPEGImages" / "big.jpg")
    cls = np.zeros((10, 20), np.uint8)
    cls[2:5, 2:5] = 8  # cat
    cls[6:9, 10:15] = 8
    cls[0, :] = 255
    Image.fromarray(cls).save(root / "SegmentationClass" / "s.png")
    Image.fromarray(np.zeros((11, 20), np.uint8)).save(root / "SegmentationClass" / "big.png")  # wrong size
    (root / "Annotations").mkdir()
    (root / "Annotations" / "evil.xml").write_text(
        '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxx">]><annotation>&x;</annotation>')
    dst = _new_project(tmp_path / "dst")
    report = VOC.importer.run(dst, root, images_dir=None, options={})
    (label, mask, ann), = masks_of(dst, "s.jpg")
    assert label == "cat" and int(mask.sum()) == 9 + 15 and ann.shape == "mask"
    reasons = dict(report.skipped)
    assert "declares XML entities" in reasons[str(root / "Annotations" / "evil.xml")]
    assert "11" in reasons[str(root / "SegmentationClass" / "big.png")]
    with pytest.raises(FormatError, match="not a Pascal VOC folder"):
        VOC.importer.run(dst, tmp_path / "dst", images_dir=None, options={})


def test_too_many_classes_is_refused_before_writing(tmp_path: Path) -> None:
    project, _ = rich_project(tmp_path / "src")
    for i in range(260):
        project.add_label_class(f"c{i}")
    with pytest.raises(ValueError, match="at most 254 classes"):
        VOC.exporter.run(project, tmp_path / "voc", masks="auto", options={})
    assert not (tmp_path / "voc").exists()
