"""Issue 8: a COCO export gives back what a COCO import kept (app.core.formats.provenance): ids,
iscrowd, unchanged segmentations, area and bbox, info, licenses, supercategory, image keys and
unknown keys; every change is counted. The projects are built here as the importer stores them
(annotation/image/label class ``extra["coco"]``, meta coco.*), so these tests need no importer."""
from __future__ import annotations

import contextlib
import copy
import io
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mu
from pycocotools.coco import COCO

from app.core.formats import export_coco
from app.core.formats.coco_encode import EDITED_TALLY, LINE_TALLY, RESIZED_TALLY, row_fingerprint
from app.core.formats.provenance import geometry_fingerprint
from app.core.geometry import mask_to_parts
from app.core.model import Annotation, Part
from app.core.project import Project
from app.core.rle import mask_to_rle
from tests.core.formats_support import random_mask, validate_coco

H, W = 40, 50


def _document() -> dict:
    """A COCO file as another tool wrote it: ids not from 1, floats, crowd RLEs in both encodings,
    a bbox-only annotation, supercategories, image and unknown keys everywhere."""
    crowd = np.zeros((H, W), bool)
    crowd[20:35, 5:25] = True
    crowd[25:30, 10:15] = False
    runs = [int(v) for v in _runs(crowd)]
    compressed = mu.encode(np.asfortranarray(crowd.astype(np.uint8)))["counts"].decode("ascii")

    def area(polygons: list) -> float:  # what pycocotools rasterises (formats.md 2.7 check 3)
        return float(mu.area(mu.merge(mu.frPyObjects(polygons, H, W))))

    box = [[10.5, 5.0, 30.25, 5.0, 30.25, 20.75, 10.5, 20.75]]
    two = [[2, 2, 8, 2, 8, 8, 2, 8], [40, 30, 46, 30, 46, 36, 40, 36]]
    return {
        "info": {"description": "their dataset", "version": "1.0", "year": 2017, "contributor": "them"},
        "licenses": [{"id": 4, "name": "CC BY 4.0", "url": "http://x/by"}],
        "their_top_key": {"nested": [1, 2.5, None]},
        "images": [
            {"id": 17, "file_name": "train/0017.jpg", "height": H, "width": W, "license": 4,
             "coco_url": "http://x/17.jpg", "flickr_url": "http://f/17.jpg", "date_captured": "2013-11-14 16:28:13",
             "their_image_key": True},
            {"id": 42, "file_name": "train/0042.jpg", "height": H, "width": W, "license": 4,
             "coco_url": "http://x/42.jpg", "flickr_url": "", "date_captured": "2013-11-15 10:00:00"},
        ],
        "annotations": [
            {"id": 205, "image_id": 17, "category_id": 9, "iscrowd": 0, "area": area(box) + 0.25,
             "segmentation": box, "bbox": [10.5, 5.0, 19.75, 15.75],
             "their_ann_key": "kept"},
            {"id": 7, "image_id": 17, "category_id": 3, "iscrowd": 1, "area": float(crowd.sum()),
             "segmentation": {"size": [H, W], "counts": compressed}, "bbox": [5.0, 20.0, 20.0, 15.0]},
            {"id": 101, "image_id": 42, "category_id": 12, "iscrowd": 0, "area": area(two),
             "segmentation": two, "bbox": [2, 2, 44, 34]},
            {"id": 102, "image_id": 42, "category_id": 3, "iscrowd": 1, "area": float(crowd.sum()),
             "segmentation": {"counts": runs, "size": [H, W]}, "bbox": [5.0, 20.0, 20.0, 15.0]},
            {"id": 103, "image_id": 42, "category_id": 9, "iscrowd": 0, "area": 120.0, "bbox": [30, 2, 12, 10]},
        ],
        "categories": [
            {"id": 3, "name": "crowd", "supercategory": "person", "their_cat_key": 1},
            {"id": 9, "name": "box", "supercategory": "thing"},
            {"id": 12, "name": "two", "their_cat_key": 2},
        ],
    }


def _runs(m: np.ndarray) -> list[int]:
    runs, cur, n = [], False, 0
    for v in m.ravel(order="F").tolist():
        if v == cur:
            n += 1
        else:
            runs.append(n)
            cur, n = v, 1
    runs.append(n)
    return runs


def _import(project: Project, doc: dict) -> dict[int, int]:
    """Store ``doc`` as the COCO importer does (provenance.py); returns {COCO ann id: project id}."""
    meta = {"coco.info": doc["info"], "coco.licenses": doc["licenses"],
            "coco.keys": {k: v for k, v in doc.items() if k not in ("info", "licenses", "images", "annotations",
                                                                     "categories")}}
    for key, value in meta.items():
        project.set_meta(key, json.dumps(value))
    labels = {}
    for c in doc["categories"]:
        kept = {"id": c["id"], "keys": {k: v for k, v in c.items() if k not in ("id", "name", "supercategory")}}
        if "supercategory" in c:
            kept["supercategory"] = c["supercategory"]
        labels[c["id"]] = project.add_label_class(c["name"], extra={"coco": kept}).id
    images = {}
    for im in doc["images"]:
        rec = project.add_image(f"imgs/{im['id']}.jpg", im["width"], im["height"])
        project.set_image_extra(rec.id, {"coco": {"id": im["id"], "file_name": im["file_name"], "keys": {
            k: v for k, v in im.items() if k not in ("id", "file_name", "height", "width")}}})
        images[im["id"]] = rec.id
    ids = {}
    for a in doc["annotations"]:
        seg = a.get("segmentation")
        if seg is None:  # bbox-only: a rectangle of the pixels it covers
            x, y, bw, bh = a["bbox"]
            ann = Annotation(images[a["image_id"]], labels[a["category_id"]], (), shape="rectangle",
                             points=((float(x), float(y)), (float(x + bw - 1), float(y + bh - 1))))
            ann = ann.with_(parts=(Part(exterior=((x, y), (x + bw - 1, y), (x + bw - 1, y + bh - 1),
                                                   (x, y + bh - 1))),))
            form = None
        else:
            if isinstance(seg, list):
                mask = mu.decode(mu.merge(mu.frPyObjects(seg, H, W))).astype(bool)
                form, shape = seg, "polygon"
            else:
                rle = mu.frPyObjects(seg, H, W) if isinstance(seg["counts"], list) else seg
                mask = mu.decode(rle).astype(bool)
                form, shape = ("rle-list" if isinstance(seg["counts"], list) else "rle"), "mask"
            ann = Annotation(images[a["image_id"]], labels[a["category_id"]], mask_to_parts(mask), mask_to_rle(mask),
                             shape=shape, source="import")
        kept = {"id": a["id"], "iscrowd": a["iscrowd"], "segmentation": form, "area": a["area"], "bbox": a["bbox"],
                "keys": {k: v for k, v in a.items() if k not in ("id", "image_id", "category_id", "segmentation",
                                                                  "area", "bbox", "iscrowd")},
                "geom": geometry_fingerprint(ann)}
        ids[a["id"]] = project.add_annotation(ann.with_(extra={"coco": kept})).id
    return ids


@pytest.fixture
def imported(tmp_path: Path) -> tuple[Project, dict, dict[int, int]]:
    project = Project.create(tmp_path / "p.samlabel")
    doc = _document()
    ids = _import(project, doc)
    yield project, doc, ids
    project.close()


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="ascii"))


@pytest.mark.parametrize("masks", ["auto", "rle", "polygon"])
def test_an_unchanged_import_comes_back_as_it_came(imported, tmp_path: Path, masks: str) -> None:
    project, doc, _ = imported
    out = tmp_path / "out.json"
    report = export_coco(project, out, masks=masks)
    assert _load(out) == doc  # the same JSON content, key order aside, in every mask mode
    assert report.tally_lines() == [] and not report.skipped and not report.warnings
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(out))
    assert sorted(coco.anns) == [7, 101, 102, 103, 205] and sorted(coco.imgs) == [17, 42]
    for ann in coco.dataset["annotations"]:
        if "segmentation" in ann:  # (a bbox-only annotation has no mask)
            stored = project.annotation(_import_id(imported, ann["id"]))
            assert np.array_equal(coco.annToMask(ann).astype(bool), mu.decode(stored.rle).astype(bool))
    # the parallel path writes the same bytes (info included: it is the imported one)
    two = tmp_path / "two.json"
    export_coco(project, two, masks=masks, workers=2)
    assert two.read_bytes() == out.read_bytes()


def _import_id(imported, coco_id: int) -> int:
    return imported[2][coco_id]


def test_pycocotools_evaluates_it_to_ap_1(imported, tmp_path: Path) -> None:
    """Without the bbox-only annotation (pycocotools cannot rasterise one for 'segm'), the file
    passes formats.md 2.7: structure, annToMask, area/bbox consistency, COCOeval self-AP 1.0 on
    the non-crowd annotations (crowd ones, kept as crowd, are ignored as COCOeval does)."""
    project, _, ids = imported
    project.delete_annotation(ids[103])
    out = tmp_path / "out.json"
    export_coco(project, out)
    coco = validate_coco(out)
    assert {a["id"]: a["iscrowd"] for a in coco.dataset["annotations"]} == {205: 0, 7: 1, 101: 0, 102: 1}


def test_edited_annotations_are_recomputed_but_keep_id_iscrowd_and_keys(imported, tmp_path: Path) -> None:
    project, doc, ids = imported
    ann = project.annotation(ids[205])
    moved = np.zeros((H, W), bool)
    moved[10:20, 5:9] = True
    project.update_annotation(ann.with_(parts=mask_to_parts(moved), rle=mask_to_rle(moved)))
    crowd = project.annotation(ids[102])  # relabelled only: its geometry is unchanged
    project.update_annotation(crowd.with_(label_id=project.label_by_name("box").id))
    out = tmp_path / "out.json"
    report = export_coco(project, out)
    got = {a["id"]: a for a in _load(out)["annotations"]}
    assert got[205] == {"id": 205, "image_id": 17, "category_id": 9, "iscrowd": 0, "their_ann_key": "kept",
                        "segmentation": [[5, 10, 5, 20, 9, 20, 9, 10]], "area": 40.0, "bbox": [5.0, 10.0, 4.0, 10.0]}
    want = copy.deepcopy(doc["annotations"][3])
    want["category_id"] = 9
    assert got[102] == want
    assert report.tally_lines() == [f"1 {EDITED_TALLY}"]


def test_ids_are_kept_once_and_new_ones_come_above_the_kept_ones(imported, tmp_path: Path) -> None:
    project, _, ids = imported
    img42 = project.image_by_path("imgs/42.jpg").id
    copy_of = project.annotation(ids[101])
    project.add_annotation(copy_of.with_(id=None))  # a copy: claims id 101 again
    zero = copy_of.with_(id=None, extra={"coco": {**copy_of.extra["coco"], "id": 0}})
    project.add_annotation(zero)
    m = np.zeros((H, W), bool)
    m[1:4, 1:4] = True
    project.add_annotation(Annotation(img42, copy_of.label_id, mask_to_parts(m), mask_to_rle(m)))  # ours
    new_label = project.add_label_class("ours").id
    project.add_annotation(Annotation(img42, new_label, mask_to_parts(m), mask_to_rle(m)))
    new_image = project.add_image("imgs/new.jpg", W, H)
    project.add_annotation(Annotation(new_image.id, new_label, mask_to_parts(m), mask_to_rle(m)))
    dup_image = project.add_image("imgs/dup.jpg", W, H)
    project.set_image_extra(dup_image.id, {"coco": {"id": 17, "file_name": "dup.jpg", "keys": {}}})
    project.set_image_status(dup_image.id, "done")
    out = tmp_path / "out.json"
    report = export_coco(project, out)
    d = _load(out)
    anns = [a["id"] for a in d["annotations"]]
    assert anns == [205, 7, 101, 102, 103, 206, 207, 208, 209, 210]  # the copy, id 0, ours x3: above 205
    assert [c["id"] for c in d["categories"]] == [3, 9, 12, 13]
    assert d["categories"][-1] == {"id": 13, "name": "ours", "supercategory": ""}
    assert [(i["id"], i["file_name"]) for i in d["images"]] == [
        (17, "train/0017.jpg"), (42, "train/0042.jpg"), (43, "dup.jpg"), (44, "imgs/new.jpg")]
    assert sorted(report.tally_lines()) == sorted([
        "1 annotation(s) whose imported id another annotation already had got a new id",
        "1 annotation(s) whose imported id was not an integer >= 1 got a new id",
        "1 image(s) whose imported id another image already had got a new id"])
    assert {a["image_id"] for a in d["annotations"][-1:]} == {44}  # ours on the new image
    with contextlib.redirect_stdout(io.StringIO()):
        assert len(COCO(str(out)).anns) == 10  # none overwritten by a duplicate id


def test_iscrowd_values_line_shapes_and_resized_images_are_counted(imported, tmp_path: Path) -> None:
    project, _, ids = imported
    for coco_id, value in ((205, True), (101, 2)):
        ann = project.annotation(ids[coco_id])
        project.update_annotation(ann.with_(extra={"coco": {**ann.extra["coco"], "iscrowd": value}}))
    img17 = project.image_by_path("imgs/17.jpg").id
    label = project.label_classes()[0].id
    project.add_annotation(Annotation(img17, label, (), shape="linestrip", points=((1.0, 1.0), (5.0, 1.0), (5.0, 9.0))))
    project.add_annotation(Annotation(img17, label, (), shape="point", points=((3.0, 3.0),)))
    out = tmp_path / "out.json"
    report = export_coco(project, out)
    got = {a["id"]: a for a in _load(out)["annotations"]}
    assert got[205]["iscrowd"] == 1 and got[101]["iscrowd"] == 0 and len(got) == 5
    assert not report.skipped  # line shapes are not "empty masks"
    assert sorted(report.tally_lines()) == sorted([
        f"2 {LINE_TALLY}", "1 iscrowd value(s) true/false (or 0.0/1.0) written as the integers 1/0",
        "1 iscrowd value(s) that were not 0 or 1 written as 0"])
    # image 17 is re-read at another size: its kept RLE no longer fits, so it is computed
    project.set_image_size(img17, W + 2, H)
    report = export_coco(project, out)
    got = {a["id"]: a for a in _load(out)["annotations"]}
    assert got[7]["segmentation"]["size"] == [H, W + 2] and got[7]["iscrowd"] == 1
    assert f"1 {RESIZED_TALLY}" in report.tally_lines()
    assert got[205]["segmentation"] == [[10.5, 5.0, 30.25, 5.0, 30.25, 20.75, 10.5, 20.75]]  # polygons still fit


def test_projects_without_imports_get_ours_and_bad_kept_values_are_replaced(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p.samlabel") as project:
        label = project.add_label_class("a").id
        img = project.add_image("a.png", W, H)
        m = random_mask(np.random.default_rng(1), H, W, 3)
        project.add_annotation(Annotation(img.id, label, mask_to_parts(m), mask_to_rle(m)))
        out = tmp_path / "out.json"
        export_coco(project, out)
        d = _load(out)
        assert d["info"]["description"].endswith("(exported by SAM Labeler)") and d["licenses"] == []
        assert [(x["id"]) for k in ("images", "annotations", "categories") for x in d[k]] == [1, 1, 1]
        assert d["categories"][0]["supercategory"] == ""
        project.set_meta("coco.info", "[1, 2]")  # not an object
        project.set_meta("coco.licenses", "{}")
        project.set_meta("coco.keys", '{"ok": 1, "bad": NaN, "images": "never over ours"}')
        report = export_coco(project, out)
        d = _load(out)
        assert d["info"]["description"].endswith("(exported by SAM Labeler)") and d["licenses"] == []
        assert d["ok"] == 1 and "bad" not in d and isinstance(d["images"], list)
        assert sorted(report.tally_lines()) == sorted([
            "1 imported top-level info that was not an object replaced by ours",
            "1 imported top-level licenses that were not a list replaced by []",
            "1 unknown key(s) whose value was not valid JSON (NaN or infinity) left out"])


def test_row_fingerprint_is_the_provenance_fingerprint(tmp_path: Path) -> None:
    """The exporter hashes stored columns; the importer hashed Annotation objects: both agree for
    every shape kind, polygons with holes, float64 coordinates, both RLE encodings, no parts."""
    rng = np.random.default_rng(4)
    with Project.create(tmp_path / "p.samlabel") as project:
        label = project.add_label_class("a").id
        img = project.add_image("a.png", W, H)
        anns = []
        for k in range(30):
            m = random_mask(rng, H, W, k % 4)
            if not m.any():
                continue
            parts = mask_to_parts(m, simplify=False)
            rle = mask_to_rle(m)
            if k % 3 == 1:
                rle = {"size": [H, W], "counts": _runs(m)}
            anns.append(Annotation(img.id, label, parts, rle, shape="mask" if k % 2 else "polygon"))
        tri = Part(exterior=((1.1, 2.3), (7.77777, 2.0), (3.0, 9.123456789)))
        anns += [Annotation(img.id, label, (tri,)),
                 Annotation(img.id, label, (tri,), shape="circle", points=((4.0, 4.0), (6.0, 4.0))),
                 Annotation(img.id, label, (), shape="linestrip", points=((1.0, 1.0), (3.5, 2.25))),
                 Annotation(img.id, label, (), rle=mask_to_rle(np.ones((H, W), bool)), shape="mask")]
        stored = [project.add_annotation(a) for a in anns]
        rows = {r[0]: r for r in project.iter_annotation_rows()}
        for a in stored:
            r = rows[a.id]
            assert row_fingerprint(r[8], r[9], r[4], r[5], r[6], r[7]) == geometry_fingerprint(a), a.id
        # any change of shape, points, parts or mask changes it
        first = stored[0]
        changes = [first.with_(shape="polygon" if first.shape == "mask" else "mask"), first.with_(rle=None),
                   first.with_(parts=stored[1].parts), stored[-3].with_(points=((4.0, 4.0), (6.0, 4.5)))]
        assert len({geometry_fingerprint(a) for a in [first, stored[-3], *changes]}) == 6


def test_largest_kept_annotation_id_with_and_without_sqlite_json(imported) -> None:
    """annotation_extra_max counts integers only (not true, 1.0 or "300"); an SQLite built without
    JSON functions gets the same answer from Python."""
    project, _, ids = imported
    for coco_id, value in ((205, 300.0), (101, True), (7, "999")):
        ann = project.annotation(ids[coco_id])
        project.update_annotation(ann.with_(extra={"coco": {**ann.extra["coco"], "id": value}}))
    assert project.annotation_extra_max("coco", "id") == 103
    assert project.annotation_extra_max("labelme", "id") is None

    class NoJson:
        def __init__(self, conn: object) -> None:
            self._real = conn

        def execute(self, sql: str, *args: object) -> object:
            if "json_" in sql:
                raise sqlite3.OperationalError("no such function: json_extract")
            return self._real.execute(sql, *args)

    real = project._conn
    project._conn = NoJson(real)  # type: ignore[assignment]
    try:
        assert project.annotation_extra_max("coco", "id") == 103
        assert project.annotation_extra_max("labelme", "id") is None
    finally:
        project._conn = real
