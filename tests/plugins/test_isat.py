"""ISAT export and import: files pass ISAT's checks and are painted back by ISAT's own
rasteriser (isat-sam's ISAT.formats when installed, else formats.md 3.5's recipe), round trips,
the fixture as ISAT's SAM path writes it, and hostile input."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.core.errors import FormatError
from app.core.project import Project
from plugins.isat import ISAT
from plugins.isat.raster import isat_polygon
from tests.plugins.consumers import check_isat_file, isat_fill_polygon, isat_voc
from tests.plugins.support import iou, masks_of, rich_project

DATA = Path(__file__).resolve().parents[1] / "data" / "interop" / "isat"


def _new_project(folder: Path) -> Project:
    folder.mkdir(parents=True, exist_ok=True)
    return Project.create(folder / "p.samlabel")


def test_rasteriser_matches_isat_fill_polygon() -> None:
    rng = np.random.default_rng(5)
    for t in range(300):
        pts = rng.uniform(-4, 24, (int(rng.integers(1, 8)), 2))
        if t % 2:
            pts = np.round(pts)
        expected = isat_fill_polygon(pts.tolist(), 18, 20)
        got = np.zeros((18, 20), bool)
        res = isat_polygon(pts, 18, 20)
        if res is not None:
            crop, x0, y0 = res
            got[y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]] = crop
        assert (got == expected).all(), pts.tolist()


def test_export_passes_isat_checks_and_isat_paints_it_back(tmp_path: Path) -> None:
    project, scenes = rich_project(tmp_path / "src")
    report = ISAT.exporter.run(project, tmp_path / "isat", masks="polygon", options={})
    assert report.tallies["line annotation(s) skipped (ISAT holds polygons only)"] == 1
    invalid_total = report.tallies["outline(s) ISAT's validator will call invalid (1-pixel-wide or self-touching; "
                                   "ISAT paints them exactly all the same)"]
    cates = ["__background__", "猫", "Größe", "dot", "box", "unused"]
    for folder, stem, rel in ((tmp_path / "isat", "a", "a.png"), (tmp_path / "isat" / "sub", "b", "sub/b.jpg")):
        doc, invalid = check_isat_file(folder / f"{stem}.json", (64, 48))
        invalid_total -= invalid
        if stem == "a":
            assert invalid >= 2  # the 1-pixel and the 2-pixel objects at least
            # the ring's hole: a __background__ object, group 0, right above the ring
            assert [(o["category"], o["group"]) for o in doc["objects"][:2]] == [("猫", 1), ("__background__", 0)]
        png = isat_voc(folder, tmp_path / f"voc_{stem}", instance=False)[stem]
        expected = np.zeros((48, 64), np.uint8)
        for label, m in scenes[rel]:
            expected[m] = cates.index(label)
        for k in range(1, len(cates)):
            if (expected == k).any():
                value = iou(png == k, expected == k)
                # masks come back exactly; manual polygons with fractional vertices (on b: the box
                # class's triangle, the dot class's float polygon and circle, which also hides a bit of
                # Größe) are truncated by ISAT
                floor = (0.75 if cates[k] == "dot" else 0.95) if stem == "b" else 1.0
                assert value >= floor, (stem, cates[k], value)
    assert invalid_total == 0  # the report counts exactly what ISAT's validator will flag


def test_round_trip_keeps_instances_groups_notes_and_objects(tmp_path: Path) -> None:
    project, scenes = rich_project(tmp_path / "src")
    ISAT.exporter.run(project, tmp_path / "isat", masks="polygon", options={})
    dst = _new_project(tmp_path / "dst")
    report = ISAT.importer.run(dst, tmp_path / "isat", images_dir=tmp_path / "src", options={})
    assert (report.images, report.annotations, report.skipped) == (2, 12, [])
    assert [lc.name for lc in sorted(dst.label_classes(), key=lambda c: c.order)] == \
        ["猫", "Größe", "dot", "box", "unused"]  # isat.yaml order, unused class included
    for rel, objs in scenes.items():
        got = masks_of(dst, rel)
        assert [g[0] for g in got] == [lab for lab, _ in objs]
        for k, ((_, mask, ann), (_, src)) in enumerate(zip(got, objs)):
            exact = rel == "a.png" or k in (0, 1, 3)
            assert iou(mask, src) == 1.0 if exact else iou(mask, src) >= 0.75, (rel, k)
            assert ann.shape == "polygon" and ann.group_id == k + 1
    ring = masks_of(dst, "a.png")[0][2]
    assert len(ring.parts) == 1 and len(ring.parts[0].holes) == 1  # the __background__ ring is its hole
    rect = masks_of(dst, "sub/b.jpg")[3][2]
    assert rect.description == "a box"
    ISAT.exporter.run(dst, tmp_path / "isat2", masks="polygon", options={})
    for name in ("a.json", "b.json"):
        first = json.loads(next((tmp_path / "isat").rglob(name)).read_text(encoding="utf-8"))["objects"]
        second = json.loads(next((tmp_path / "isat2").rglob(name)).read_text(encoding="utf-8"))["objects"]
        assert first == second


def test_fixture_follows_isat_semantics(tmp_path: Path) -> None:
    """tests/data/interop/isat: a donut written as ISAT's SAM path does (hole contour through the
    donut's pixels, __background__ on a higher layer), one instance in two polygons (group 2),
    another of the same class (group 3), iscrowd, notes and an unknown key."""
    dst = _new_project(tmp_path / "dst")
    report = ISAT.importer.run(dst, DATA, images_dir=None, options={})
    assert (report.images, report.annotations, report.skipped) == (1, 3, [])
    colors = {lc.name: lc.color for lc in dst.label_classes()}
    assert colors == {"donut": "#ff0000", "pair": "#00ff00", "spare": "#0000ff"}
    got = masks_of(dst, "donut.png")
    assert [(lab, a.group_id) for lab, _, a in got] == [("donut", 1), ("pair", 2), ("pair", 3)]
    instances = isat_voc(DATA, tmp_path / "voc", instance=True)["donut"]
    for _, mask, ann in got:
        assert (mask == (instances == ann.group_id)).all()  # exactly ISAT's own picture
    donut = got[0][2]
    assert donut.description == "glazed" and len(donut.parts[0].holes) == 1
    assert got[1][2].attributes == {"iscrowd": True} and len(got[1][2].parts) == 2
    assert got[2][2].description == "third"
    out = tmp_path / "out"
    ISAT.exporter.run(dst, out, masks="polygon", options={})
    doc = json.loads(next(out.rglob("donut.json")).read_text(encoding="utf-8"))
    src = json.loads((DATA / "donut.json").read_text(encoding="utf-8"))
    assert doc["info"]["note"] == "from the SAM tool"
    assert [o["segmentation"] for o in doc["objects"]] == [o["segmentation"] for o in src["objects"]]
    assert doc["objects"][0]["score"] == 0.93 and doc["objects"][2]["iscrowd"] is True
    assert [o["layer"] for o in doc["objects"]] == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_foreign_and_hostile_files(tmp_path: Path) -> None:
    folder = tmp_path / "labels"
    shutil.copytree(DATA, folder)
    (folder / "notes.json").write_text(json.dumps({"not": "ISAT"}))
    doc = json.loads((folder / "donut.json").read_text(encoding="utf-8"))
    doc["objects"] = [
        {"category": "far", "group": 1, "segmentation": [[1e12, 1e12], [2e12, 1e12], [2e12, 2e12]], "layer": 1.0},
        {"category": "nan", "group": 2, "segmentation": [[1, 1], [float("nan"), 2], [3, 3]], "layer": 2.0},
        {"category": "two", "group": 3, "segmentation": [[1, 1], [5, 5]], "layer": 3.0},
        {"category": "ok", "group": "x", "segmentation": [[1, 1], [5, 1], [5, 5]], "layer": 4.0},
    ]
    (folder / "evil.json").write_text(json.dumps(doc))
    wrong = json.loads((folder / "donut.json").read_text(encoding="utf-8"))
    wrong["info"]["width"] = 41
    (folder / "wrong.json").write_text(json.dumps(wrong))
    dst = _new_project(tmp_path / "dst")
    report = ISAT.importer.run(dst, folder, images_dir=None, options={})
    reasons = " | ".join(f"{what}: {why}" for what, why in report.skipped)
    assert "notes.json: it is not an ISAT file" in reasons
    assert "covers no pixel" in reasons and "non-finite" in reasons and "at least 3" in reasons
    assert "not a whole number" in reasons and "41x30" in reasons
    assert report.annotations == 3  # donut.json only
    with pytest.raises(FormatError, match="not an ISAT file"):
        ISAT.importer.run(dst, folder / "notes.json", images_dir=None, options={})


def test_export_never_overwrites_a_foreign_json(tmp_path: Path) -> None:
    project, _ = rich_project(tmp_path / "src")
    out = tmp_path / "isat"
    out.mkdir()
    (out / "a.json").write_text('{"shapes": [], "imagePath": "a.png"}')
    report = ISAT.exporter.run(project, out, masks="polygon", options={})
    assert (out / "a.json").read_text() == '{"shapes": [], "imagePath": "a.png"}'
    assert any("not an ISAT file" in why for _, why in report.skipped)
    assert (out / "sub" / "b.json").is_file()
