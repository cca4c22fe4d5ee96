"""CVAT for images 1.1 XML export and import: the structure CVAT's importer needs, its mask RLE
decoded back exactly, round trips, a file as CVAT writes it, and hostile input."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pycocotools import mask as mu

from app.core.errors import FormatError
from app.core.project import Project
from plugins.cvat import CVAT
from tests.core.formats_support import fill_holes
from tests.plugins.consumers import check_cvat_xml, cvat_rle_decode
from tests.plugins.support import RECT, iou, masks_of, rich_project

DATA = Path(__file__).resolve().parents[1] / "data" / "interop" / "cvat"


def _new_project(folder: Path) -> Project:
    folder.mkdir(parents=True, exist_ok=True)
    return Project.create(folder / "p.samlabel")


def test_export_structure_and_exact_rle(tmp_path: Path) -> None:
    project, scenes = rich_project(tmp_path / "src")
    CVAT.exporter.run(project, tmp_path / "a.xml", masks="auto", options={})
    root = check_cvat_xml(tmp_path / "a.xml")
    images = {im.get("name"): im for im in root.iter("image")}
    assert list(images) == ["a.png", "sub/b.jpg"] and [im.get("id") for im in images.values()] == ["0", "1"]
    a = images["a.png"]
    assert [el.tag for el in a] == ["mask"] * 6
    for el, (label, src) in zip(a, scenes["a.png"]):
        assert el.get("label") == label
        got = cvat_rle_decode(el.get("rle"), *(int(el.get(k)) for k in ("left", "top", "width", "height")), 48, 64)
        assert (got == src).all()  # exact, holes and all
    b = list(images["sub/b.jpg"])
    assert [el.tag for el in b] == ["mask", "mask", "polygon", "box", "polygon", "ellipse", "polyline"]
    box = b[3]
    assert [float(box.get(k)) for k in ("xtl", "ytl", "xbr", "ybr")] == [RECT[0][0], RECT[0][1], RECT[1][0] + 1,
                                                                          RECT[1][1] + 1]
    assert box.get("occluded") == "1"
    assert {x.get("name"): x.text for x in box.findall("attribute")} == {"colour": "red", "n": "3",
                                                                           "description": "a box"}
    assert b[2].get("points") == "50.5,30.5;61,44.75;45.5,44.5"  # pixel centres + 0.5
    assert b[5].attrib["rx"] == b[5].attrib["ry"] == "5" and b[5].get("cx") == "52.5"
    assert [int(el.get("z_order")) for el in b] == list(range(7))


def test_round_trip_keeps_kinds_geometry_and_fields(tmp_path: Path) -> None:
    project, scenes = rich_project(tmp_path / "src")
    CVAT.exporter.run(project, tmp_path / "a.xml", masks="auto", options={})
    dst = _new_project(tmp_path / "dst")
    report = CVAT.importer.run(dst, tmp_path / "a.xml", images_dir=tmp_path / "src", options={})
    assert (report.images, report.annotations, report.skipped) == (2, 13, [])
    for rel, objs in scenes.items():
        got = masks_of(dst, rel)
        assert [g[0] for g in got] == [lab for lab, _ in objs]
        for (_, mask, _), (_, src) in zip(got, objs):
            assert iou(mask, src) == 1.0
    kinds = [a.shape for _, _, a in masks_of(dst, "sub/b.jpg")]
    assert kinds == ["mask", "mask", "polygon", "rectangle", "polygon", "circle"]
    rect = masks_of(dst, "sub/b.jpg")[3][2]
    assert rect.points == RECT and rect.flags == {"occluded": True}
    assert rect.attributes == {"colour": "red", "n": 3} and rect.description == "a box"
    line = [a for a in dst.annotations(dst.image_by_path("../src/sub/b.jpg").id) if a.shape == "line"]
    assert line[0].points == ((1.0, 1.0), (9.0, 4.0))
    CVAT.exporter.run(dst, tmp_path / "b.xml", masks="auto", options={})

    def images(path: Path) -> list[bytes]:
        root = ET.parse(path).getroot()
        return [ET.tostring(shape) for im in root.iter("image") for shape in im]

    assert images(tmp_path / "a.xml") == images(tmp_path / "b.xml")


def test_polygon_mode_outlines_are_exact_under_pycocotools(tmp_path: Path) -> None:
    project, scenes = rich_project(tmp_path / "src")
    report = CVAT.exporter.run(project, tmp_path / "p.xml", masks="polygon", options={})
    assert report.tallies["mask(s) with holes written as outline polygons, holes filled (masks 'polygon')"] == 1
    root = check_cvat_xml(tmp_path / "p.xml")
    a = next(im for im in root.iter("image") if im.get("name") == "a.png")
    by_label: dict[str, list] = {}
    for el in a:
        assert el.tag == "polygon"
        flat = [float(v) for p in el.get("points").split(";") for v in p.split(",")]
        by_label.setdefault((el.get("label"), el.get("z_order")), []).append(flat)
    ring = scenes["a.png"][0][1]
    polys = by_label[("猫", "0")]
    got = mu.decode(mu.merge(mu.frPyObjects(polys, 48, 64))).astype(bool)
    assert (got == fill_holes(ring)).all()  # CVAT coordinates are pixel-corner, like COCO


def test_file_as_cvat_writes_it(tmp_path: Path) -> None:
    dst = _new_project(tmp_path / "dst")
    report = CVAT.importer.run(dst, DATA, images_dir=None, options={})
    assert report.skipped == [] and report.images == 2
    assert [lc.name for lc in sorted(dst.label_classes(), key=lambda c: c.order)] == \
        ["car", "traffic_line", "wheel", "good_frame"]
    assert dst.label_by_name("car").color == "#fa3253"
    rec = [r for r in dst.images() if r.path.endswith("frame_000000.png")][0]
    anns = sorted(dst.annotations(rec.id), key=lambda a: a.z)
    # added in z_order: polyline 0, polygon 1, box 2, points (2 points) 3, ellipse 3, mask 4
    assert [a.shape for a in anns] == ["line", "polygon", "rectangle", "point", "point", "circle", "mask"]
    line, poly, box, p1, p2, circle, mask = anns
    assert line.points == ((0.0, 29.0), (39.0, 15.0))
    assert poly.parts[0].exterior == ((20.0, 2.0), (30.0, 2.0), (25.0, 10.0)) and poly.group_id == 7
    assert box.points == ((2.0, 3.0), (11.0, 8.0)) and box.group_id == 7
    assert box.flags == {"occluded": True, "parked": True} and box.attributes == {"model": "truck", "doors": 5}
    assert poly.flags == {"parked": False}
    assert (p1.points, p2.points) == (((5.0, 12.0),), ((9.0, 12.0),))
    assert circle.points == ((30.0, 20.0), (33.0, 20.0))
    rle = "3, 5, 7, 7, 5, 9, 3, 11, 2, 11, 2, 12, 1, 12, 1, 26, 1, 12, 1, 12, 2, 11, 3, 9, 5, 7, 7, 5, 3"
    from app.core.geometry import annotation_mask

    assert (annotation_mask(mask, 30, 40) == cvat_rle_decode(rle, 2, 12, 13, 15, 30, 40)).all()
    assert mask.extra["cvat"] == {"source": "semi-auto", "z_order": 4}
    assert report.tallies["CVAT tag/skeleton/cuboid element(s) kept for export but not imported as annotations"] == 1
    CVAT.exporter.run(dst, tmp_path / "out.xml", masks="auto", options={})
    root = check_cvat_xml(tmp_path / "out.xml")
    frame = next(im for im in root.iter("image") if im.get("name").endswith("frame_000000.png"))
    assert frame.find("tag").get("label") == "good_frame"  # kept and written back
    spec = {a.findtext("name"): a.findtext("input_type") for a in root.iter("attribute") if a.find("input_type") is not None}
    assert spec["model"] == "select" and spec["parked"] == "checkbox" and spec["doors"] == "number"
    out_mask = frame.find("mask")
    assert out_mask.get("rle") == rle and out_mask.get("source") == "semi-auto"


def test_hostile_and_foreign_files(tmp_path: Path) -> None:
    dst = _new_project(tmp_path / "dst")
    evil = tmp_path / "evil.xml"
    evil.write_text('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><annotations>&x;</annotations>')
    with pytest.raises(FormatError, match="declares XML entities"):
        CVAT.importer.run(dst, evil, images_dir=None, options={})
    voc = tmp_path / "voc.xml"
    voc.write_text("<annotation><filename>x.jpg</filename></annotation>")
    with pytest.raises(FormatError, match="not a CVAT XML file"):
        CVAT.importer.run(dst, voc, images_dir=None, options={})
    text = (DATA / "annotations.xml").read_text(encoding="utf-8")
    text = text.replace('left="2" top="12" width="13"', 'left="30" top="12" width="13"')  # past the right edge
    text = text.replace('xtl="2.00" ytl="3.00" xbr="12.00"', 'xtl="2.00" ytl="3.00" xbr="nan"')
    text = text.replace('points="20.50,2.50;30.50,2.50;25.50,10.50"', 'points="20.50,2.50;30.50,2.50"')
    text = text.replace('points="0.50,29.50;39.50,15.50" z_order="0">',
                        'points="0.50,29.50;39.50,15.50" z_order="0"></polyline><polygon label="car" '
                        'points="1e12,1e12;2e12,1e12;2e12,3e12" occluded="0" z_order="0">')
    text = text.replace("</polyline>\n    <points", "</polygon>\n    <points", 1)
    text = text.replace("</annotations>", '<track id="0" label="car"><box frame="0" xtl="1" ytl="1" xbr="2" '
                                          'ybr="2" outside="0" occluded="0" keyframe="1"/></track></annotations>')
    bad = tmp_path / "images" / "annotations.xml"
    bad.parent.mkdir()
    bad.write_text(text, encoding="utf-8")
    report = CVAT.importer.run(dst, bad, images_dir=DATA / "images", options={})
    reasons = " | ".join(why for _, why in report.skipped)
    assert "not inside the 40x30 image" in reasons and "finite" in reasons and "at least 3 points" in reasons
    assert "covers no pixel" in reasons  # far-away vertices: no allocation beyond the image
    assert report.tallies["track(s) (CVAT for video) not imported; export the task as CVAT for images"] == 1
    rle_bad = (DATA / "annotations.xml").read_text(encoding="utf-8").replace('rle="3, 5,', 'rle="4, 5,')
    bad.write_text(rle_bad, encoding="utf-8")
    report = CVAT.importer.run(dst, bad, images_dir=DATA / "images", options={}, on_duplicate="append")
    assert any("not its 13x15 box" in why for _, why in report.skipped)
