"""The LabelMe / X-AnyLabeling interop corpus (tests/data/interop): files as labelme 4/5/7 and
X-AnyLabeling 2.x write them come back out as they went in: import -> export -> import -> export.

Checked: shape types, points, labels, group ids, descriptions, flags, unknown keys of shapes and
files, image flags, the exact masks (labelme's own rasterisation, IoU 1.0), and that a second round
trip changes nothing. Also: files beside the images are updated in place only when they are ours,
never beside images outside the project; duplicates are recognised.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.core.formats import export_labelme, import_labelme
from app.core.formats.labelme_shapes import read_shape
from app.core.geometry import annotation_mask
from app.core.project import Project
from tests.core.formats_support import labelme_rasterise, validate_labelme

CORPUS = Path(__file__).resolve().parents[1] / "data" / "interop"
LABELME_FILES = ["labelme5/street.json", "labelme7/kitchen.json", "xanylabeling/field.json"]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A writable copy of the corpus (imports may add files, exports write some)."""
    dst = tmp_path / "interop"
    shutil.copytree(CORPUS, dst)
    return dst


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _round(project_dir: Path, src: Path, out: Path) -> tuple[Project, Path]:
    project = Project.create(project_dir / f"{out.name}.samlabel")
    report = import_labelme(project, src)
    assert report.annotations > 0
    export_labelme(project, out)
    return project, out


def _exported(out: Path, stem: str) -> dict:
    found = list(out.rglob(f"{stem}.json"))
    assert len(found) == 1, found
    return _load(found[0])


def _decoded(shape: dict, h: int, w: int) -> dict:
    """A shape with its mask PNG replaced by the mask's pixels (PNG bytes may differ)."""
    out = dict(shape)
    if shape.get("shape_type") == "mask":
        out["mask"] = labelme_rasterise(shape, h, w).tolist()
    return out


@pytest.mark.parametrize("rel", LABELME_FILES)
def test_corpus_file_round_trips_as_it_went_in(corpus: Path, rel: str) -> None:
    src = corpus / rel
    original = _load(src)
    h, w = original["imageHeight"], original["imageWidth"]
    project, out1 = _round(corpus, src, corpus / "out1")
    try:
        first = _exported(out1, src.stem)
        # the file's own keys and flags survive; imagePath now points from the new place
        assert {k: v for k, v in first.items() if k not in ("shapes", "imagePath")} == \
            {k: v for k, v in original.items() if k not in ("shapes", "imagePath")}
        json1 = next(out1.rglob(src.name))
        assert (json1.parent / first["imagePath"]).resolve() == \
            (src.parent / original["imagePath"].replace("\\", "/")).resolve()
        # every shape as it was: type, points, label, group id, description, flags, unknown keys
        # (labelme's transient 'points' prompt shapes are not annotations: left out and counted)
        want = [_decoded(s, h, w) for s in original["shapes"] if s.get("shape_type") != "points"]
        for s in want:  # the one documented change: reversed rectangle corners come out top-left first
            if s.get("shape_type") == "rectangle" and len(s["points"]) == 2:
                (xa, ya), (xb, yb) = s["points"]
                s["points"] = [[min(xa, xb), min(ya, yb)], [max(xa, xb), max(ya, yb)]]
        assert [_decoded(s, h, w) for s in first["shapes"]] == want
        # the stored masks are labelme's own rasterisation of the original shapes (IoU 1.0)
        rec = project.images()[0]
        anns = project.annotations(rec.id)
        area = [a for a in anns if a.has_area]
        expected = {}
        for s in original["shapes"]:
            if s.get("shape_type") in (None, "polygon", "rectangle", "circle", "mask", "oriented_rectangle",
                                       "rotation"):
                key = (s["label"], s["group_id"]) if s.get("group_id") is not None else (s["label"], id(s))
                m = read_shape(s, h, w).mask
                expected[key] = expected.get(key, np.zeros((h, w), bool)) | m
        assert len(area) == len(expected)
        for a, e in zip(area, expected.values()):
            assert (annotation_mask(a, h, w) == e).all()
        # a second round trip changes nothing
        project2, out2 = _round(corpus, json1, corpus / "out2")
        project2.close()
        second = _exported(out2, src.stem)
        assert {k: v for k, v in second.items() if k != "imagePath"} == {k: v for k, v in first.items() if k != "imagePath"}
    finally:
        project.close()


def test_labelme_files_pass_labelme_loader_rules(corpus: Path) -> None:
    """What labelme's reader and rasteriser check (formats.md 1.6/1.8) holds for the exported
    labelme files (X-AnyLabeling's own 'rotation' type is X-AnyLabeling's, not labelme's)."""
    for rel in LABELME_FILES[:2]:
        project, out = _round(corpus, corpus / rel, corpus / f"v_{Path(rel).stem}")
        project.close()
        path = next(out.rglob(Path(rel).name))
        doc, instances = validate_labelme(path)
        assert instances and doc["imageData"] is None


def test_x_anylabeling_rectangles_scores_and_attributes_are_modelled(corpus: Path) -> None:
    project = Project.create(corpus / "x.samlabel")
    try:
        report = import_labelme(project, corpus / "xanylabeling" / "field.json")
        assert report.annotations == 5 and not report.skipped
        assert report.tallies == {"rectangle(s) written with 4 corners read as rectangles": 2,
                                  "'rotation' shape(s) read as polygons of their corners": 1}
        anns = project.annotations(project.images()[0].id)
        cows = [a for a in anns if project.label_class(a.label_id).name == "cow"]
        assert [(a.shape, a.points, a.score, a.attributes, a.description) for a in cows] == [
            ("rectangle", ((10.0, 10.0), (30.0, 25.0)), 0.93, {"color": "brown"}, ""),
            ("rectangle", ((35.0, 12.0), (50.0, 22.0)), 0.71, {"color": "white"}, "calf")]
        bird = anns[-1]
        assert bird.shape == "point" and bird.points == ((12.0, 40.0),) and not bird.has_area
        # an edited annotation keeps its unknown keys and what the annotation models
        from app.core import edits

        edits.SetAnnotationInfo(cows[0].id, description="bull", attributes={"color": "black"}).apply(project)
        edits.SetGeometry(cows[0].id, cows[0].parts, None, shape="rectangle", points=((11.0, 10.0), (30.0, 25.0))
                          ).apply(project)
        export_labelme(project, corpus / "o")
        shape = _load(next((corpus / "o").rglob("field.json")))["shapes"][0]
        assert shape["shape_type"] == "rectangle" and shape["points"] == [[11.0, 10.0], [30.0, 25.0]]
        assert (shape["description"], shape["attributes"], shape["score"]) == ("bull", {"color": "black"}, 0.93)
        assert (shape["kie_linking"], shape["difficult"]) == ([], False)
    finally:
        project.close()


def test_embedded_image_of_a_tutorial_file_becomes_a_project_file(corpus: Path) -> None:
    project = Project.create(corpus / "t.samlabel")
    try:
        report = import_labelme(project, corpus / "labelme_tutorial")
        assert report.annotations == 1 and (corpus / "apc2016_obj3.png").is_file()
        rec = project.images()[0]
        assert rec.path == "apc2016_obj3.png" and (rec.width, rec.height) == (40, 30)
        out = export_labelme(project, corpus / "o")
        doc = _load(out.files[0])
        assert doc["imagePath"] == "../apc2016_obj3.png" and doc["shapes"][0]["line_color"] is None
    finally:
        project.close()


def _beside(corpus: Path) -> tuple[Project, Path]:
    """street.json placed beside its image (where labelme keeps it) and imported."""
    target = corpus / "images" / "street.json"
    doc = _load(corpus / "labelme5" / "street.json")
    doc["imagePath"] = "street.png"
    target.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    project = Project.create(corpus / "p.samlabel")
    assert import_labelme(project, target).annotations == 7  # the two person polygons are one instance
    return project, target


def test_export_beside_the_images_updates_our_files_in_place(corpus: Path) -> None:
    project, target = _beside(corpus)
    try:
        before = _load(target)
        from app.core import edits

        car = project.annotations(project.images()[0].id)[0]
        edits.SetAnnotationInfo(car.id, description="moved").apply(project)
        plan = project and __import__("app.core.formats.labelme", fromlist=["plan_labelme_export"]).plan_labelme_export(
            project, None)
        assert (plan.new, plan.update, plan.refused) == (0, 1, [])
        report = export_labelme(project)
        assert report.updated == 1 and report.files == [target]
        after = _load(target)
        assert after["lineColor"] == before["lineColor"] and after["version"] == "5.3.1"
        assert after["shapes"][0]["description"] == "moved"
        assert [s["shape_type"] for s in after["shapes"]] == [s["shape_type"] for s in before["shapes"]
                                                             if s["shape_type"] != "points"]
        # our own export is known: exporting again updates it again
        assert export_labelme(project).updated == 1
    finally:
        project.close()


def test_files_of_other_tools_are_never_overwritten(corpus: Path) -> None:
    project, target = _beside(corpus)
    try:
        changed = _load(target)
        changed["shapes"].append({"label": "new in labelme", "points": [[1, 1], [5, 1], [5, 5]],
                                  "shape_type": "polygon", "group_id": None, "flags": {}})
        target.write_text(json.dumps(changed), encoding="utf-8")  # the user edited it in labelme since
        text = target.read_text(encoding="utf-8")
        report = export_labelme(project)
        assert report.files == [] and "another tool" in dict(report.skipped)["images/street.png"]
        assert target.read_text(encoding="utf-8") == text
        # importing the changed file again (replace) makes it ours: now it can be updated
        rep = import_labelme(project, target, on_duplicate="replace")
        assert rep.replaced == 7 and rep.annotations == 8
        assert export_labelme(project).updated == 1
    finally:
        project.close()


def test_no_file_is_written_beside_an_image_outside_the_project(tmp_path: Path) -> None:
    from PIL import Image

    victim = tmp_path / "victim"
    victim.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(victim / "photo.png")
    (victim / "photo.json").write_text('{"theirs": true}', encoding="utf-8")
    (tmp_path / "mine").mkdir()
    project = Project.create(tmp_path / "mine" / "p.samlabel")
    try:
        lab = project.add_label_class("x")
        img = project.add_image("../victim/photo.png", 8, 8)
        from app.core.model import Annotation, Part

        project.add_annotation(Annotation(image_id=img.id, label_id=lab.id,
                                          parts=(Part(((1.0, 1.0), (5.0, 1.0), (5.0, 5.0))),)))
        report = export_labelme(project)
        assert report.files == [] and "outside the project folder" in report.skipped[0][1]
        assert (victim / "photo.json").read_text(encoding="utf-8") == '{"theirs": true}'
        out = export_labelme(project, tmp_path / "out")  # a separate folder takes it
        assert [p.name for p in out.files] == ["photo.json"]
    finally:
        project.close()


def test_importing_the_same_file_again_is_recognised(corpus: Path) -> None:
    project = Project.create(corpus / "d.samlabel")
    src = corpus / "labelme7" / "kitchen.json"
    try:
        assert import_labelme(project, src).annotations == 3
        again = import_labelme(project, src)
        assert (again.annotations, again.duplicates) == (0, 1) and "already imported" in again.skipped[0][1]
        assert "1 file(s) already imported were skipped" in again.summary()
        copy = corpus / "copy_of_kitchen.json"  # the same bytes under another name
        doc = _load(src)
        doc["imagePath"] = "images/kitchen.jpg"
        copy.write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
        assert import_labelme(project, copy).duplicates == 1
        replaced = import_labelme(project, src, on_duplicate="replace")
        assert (replaced.replaced, replaced.annotations, project.annotation_count()) == (3, 3, 3)
        appended = import_labelme(project, src, on_duplicate="append")
        assert appended.annotations == 3 and project.annotation_count() == 6
    finally:
        project.close()
