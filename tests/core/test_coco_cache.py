"""The COCO segmentation stored with each annotation (model.CocoSeg, coco_segment, the store's
columns): it is what the exporter computes, it is never stale after geometry edits (undo/redo
included), old files migrate, and exports are byte-identical with and without it."""
from __future__ import annotations

import json
import sqlite3
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core import codec, schema
from app.core.edits import AddAnnotation, DeleteAnnotation, DeleteLabelClass, Relabel, SetGeometry
from app.core.errors import ProjectError
from app.core.formats import coco_segment, export_coco
from app.core.formats.coco import coco_segment as plain_segment
from app.core.formats.coco_segment import coco_seg_of_annotation, coco_seg_of_mask, coco_segs, seg_fits
from app.core.geometry import mask_to_parts, parts_to_mask
from app.core.model import Annotation, CocoSeg, Part
from app.core.project import Project
from app.core.rle import mask_to_rle
from tests.core.test_coco_fast import _random_mask

H, W = 24, 30


def _masks(seed: int, n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        m = _random_mask(rng, H, W, k % 4)
        if k % 7 == 3:  # a ring: one part with a hole, away from the borders
            m[:] = False
            m[4:15, 5:20] = True
            m[7:11, 9:14] = False
        out.append(m)
    return out


def _expected(ann: Annotation, h: int, w: int) -> CocoSeg | None:
    """What the store must hold for ``ann`` on an image of h x w: a fresh computation."""
    return coco_seg_of_annotation(ann, h, w)


def _stored_fresh(project: Project) -> None:
    """Every stored CocoSeg equals a fresh computation for the image's size and fits its annotation."""
    for ann in project.iter_annotations():
        img = project.image(ann.image_id)
        size = (img.height, img.width) if img.width > 0 else coco_segment.rle_size(ann.rle)
        want = None if size is None else _expected(ann, *size)
        assert ann.coco == want, ann.id
        if want is not None:
            assert seg_fits(ann.coco, ann)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    p = Project.create(tmp_path / "c.samlabel")
    p.add_label_class("a")
    p.add_label_class("b")
    p.add_image("x.png", W, H)
    p.add_image("y.png", W, H)
    yield p
    p.close()


def _ann(project: Project, m: np.ndarray, image: int = 1, rle: bool = True, **kw: object) -> Annotation:
    parts = mask_to_parts(m, simplify=False) if m.any() else (Part(exterior=((0.0, 0.0), (1.0, 0.0), (0.0, 1.0))),)
    return Annotation(image_id=image, label_id=1, parts=parts, rle=mask_to_rle(m) if rle else None, **kw)


# ------------------------------------------------------------------ what is computed

@pytest.mark.parametrize("masks", ["auto", "rle", "polygon"])
def test_computed_segmentation_renders_what_the_plain_exporter_path_writes(masks: str) -> None:
    """coco_segs (used by the store and the exporter) against coco.coco_segment, the straightforward
    one-annotation path: same segmentation, area and bbox, from RLEs and from polygons."""
    from app.core.formats.coco_encode import _cached, _render

    for k, m in enumerate(_masks(11, 60)):
        rle = mask_to_rle(m)
        parts = mask_to_parts(m, simplify=False) if m.any() else ()
        for ann in (Annotation(1, 1, (), rle, id=k), Annotation(1, 1, parts, None, id=k)):
            want = plain_segment(ann, H, W, masks, [])
            seg = coco_segs([(ann.rle, ann.parts, H, W)], rle_for_parts=masks == "rle")[0]
            assert isinstance(seg, CocoSeg)
            got = _render(_cached(seg), ann.rle, masks)
            if isinstance(want, str):
                assert got == want == "its mask is empty"
                continue
            text, area, bbox, _ = got
            assert json.loads(text) == json.loads(json.dumps(want[0]))
            assert float(area) == want[1] and [float(v) for v in bbox] == want[2]


def test_mask_and_annotation_paths_agree_with_crops_and_offsets() -> None:
    for m in _masks(12, 40):
        rle = mask_to_rle(m)
        want = coco_seg_of_annotation(Annotation(1, 1, (), rle), H, W)
        assert coco_seg_of_mask(m, rle) == want and coco_seg_of_mask(m, rle).source is rle
        if m.any():
            rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
            y0, x0 = max(0, rows[0] - 1), max(0, cols[0] - 2)
            assert coco_seg_of_mask(m[y0:, x0:], rle, int(x0), int(y0)) == want
        else:
            assert want.area == 0 and want.polygons == ""
    with pytest.raises(ValueError):
        coco_seg_of_mask(np.ones((2, 2), bool), {"counts": "x"})


def test_holes_polygons_with_holes_and_corrupt_masks() -> None:
    ring = np.zeros((H, W), bool)
    ring[3:12, 4:16] = True
    ring[6:9, 8:12] = False
    seg = coco_seg_of_annotation(Annotation(1, 1, (), mask_to_rle(ring)), H, W)
    assert seg.holes and seg.area == int(ring.sum()) and seg.filled_area == 9 * 12 and seg.rle_counts is None
    assert seg.bbox == (4, 3, 12, 9)
    parts = mask_to_parts(ring, simplify=False)
    from_parts = coco_seg_of_annotation(Annotation(1, 1, parts, None), H, W)
    assert from_parts.holes and from_parts.rle_counts == mask_to_rle(parts_to_mask(parts, H, W))["counts"]
    assert from_parts.source == parts
    bad = coco_segs([({"size": [H, W], "counts": "zz"}, (), H, W)])[0]
    assert isinstance(bad, str) and bad.startswith("its stored mask is unreadable")
    assert coco_seg_of_annotation(Annotation(1, 1, (), {"size": [H, W], "counts": "zz"}), H, W) is None


@pytest.mark.parametrize("level", [0, 1])
def test_codec_round_trip_and_unknown_heads(level: int) -> None:
    m = _masks(13, 4)[3]
    rle = mask_to_rle(m)
    seg = coco_seg_of_annotation(Annotation(1, 1, (), rle), H, W)
    head, counts, poly = codec.encode_coco(seg, zlib_level=level)
    assert isinstance(poly, bytes if level else str)
    back = codec.decode_coco(head, counts, poly, rle, ())
    assert back == seg and back.source is rle
    parts_src = codec.decode_coco(head, counts, poly, {"size": [H + 1, W], "counts": "x"}, ("p",))
    assert parts_src.source == ("p",)  # an RLE of another size is not what it was computed from
    assert codec.decode_coco(None, None, None, rle, ()) is None
    assert codec.decode_coco(b"\x09" + head[1:], counts, poly, rle, ()) is None  # a future version
    assert codec.decode_coco_columns(head, counts, None)[2] is None  # polygons not read
    assert codec.encode_coco(None) == (None, None, None)


# ------------------------------------------------------------------ the store

def test_add_and_bulk_insert_compute_it_and_keep_a_fitting_one(project: Project,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    masks = _masks(14, 12)
    stored = project.add_annotation(_ann(project, masks[0]))
    assert stored.coco == coco_seg_of_annotation(stored, H, W) and stored.coco.polygons.startswith("[[")
    project.bulk_insert_annotations([_ann(project, m, image=2) for m in masks[1:]]
                                    + [_ann(project, masks[1], rle=False)])  # polygons only
    _stored_fresh(project)
    calls: list[int] = []
    real = coco_segment.coco_segs
    monkeypatch.setattr(coco_segment, "coco_segs", lambda s, **kw: calls.append(len(s)) or real(s, **kw))
    ann = _ann(project, masks[2])
    pre = coco_seg_of_mask(masks[2], ann.rle)
    project.add_annotation(replace(ann, coco=pre))
    project.bulk_insert_annotations([replace(ann, coco=pre, z=3), replace(ann, coco=pre, z=4)])
    assert calls == []  # precomputed (e.g. on the GUI's geometry thread): nothing is computed
    project.add_annotation(replace(_ann(project, masks[3]), coco=pre))  # another mask: recomputed
    assert calls == [1]
    stored = project.annotation(stored.id)
    project.update_annotation(replace(stored, label_id=2, coco=None))  # same geometry: the stored one is kept
    assert calls == [1] and project.annotation(stored.id).coco == stored.coco
    _stored_fresh(project)


def test_update_never_keeps_a_stale_one(project: Project) -> None:
    a, b = _masks(15, 6)[4:6]
    old = project.add_annotation(_ann(project, a))
    new_rle = mask_to_rle(b)
    project.update_annotation(replace(old, rle=new_rle))  # carries old.coco along
    got = project.annotation(old.id)
    assert got.coco == coco_seg_of_annotation(got, H, W) and got.coco.source == new_rle
    assert got.coco != old.coco
    # polygons only: the cache follows the parts
    poly = project.add_annotation(_ann(project, a, rle=False))
    moved = tuple(Part(exterior=tuple((x + 2.0, y) for x, y in p.exterior),
                       holes=tuple(tuple((x + 2.0, y) for x, y in h) for h in p.holes)) for p in poly.parts)
    project.update_annotation(replace(poly, parts=moved))
    assert project.annotation(poly.id).coco.bbox[0] == poly.coco.bbox[0] + 2
    # a relabel keeps the geometry: the carried segmentation is kept as it is
    project.update_annotation(replace(got, label_id=2))
    assert project.annotation(old.id).coco == got.coco
    # a corrupt RLE stores no segmentation instead of refusing the edit
    project.update_annotation(replace(got, rle={"size": [H, W], "counts": "zz"}))
    assert project.annotation(old.id).coco is None
    _stored_fresh(project)


def test_edits_undo_redo_restore_matching_segmentations(project: Project) -> None:
    a, b = _masks(16, 8)[6:8]
    add = AddAnnotation(_ann(project, a))
    add.apply(project)
    ann_id = add.annotation_id
    first = project.annotation(ann_id).coco
    rle_b = mask_to_rle(b)
    geom = SetGeometry(ann_id, mask_to_parts(b, simplify=False), rle_b, coco=coco_seg_of_mask(b, rle_b))
    geom.apply(project)
    second = project.annotation(ann_id).coco
    assert second.source == rle_b and second != first
    stale = SetGeometry(ann_id, (), rle_b, coco=first)  # a wrong precomputed one is not trusted
    stale.apply(project)
    assert project.annotation(ann_id).coco == second
    stale.revert(project)
    geom.revert(project)
    assert project.annotation(ann_id).coco == first
    geom.apply(project)
    assert project.annotation(ann_id).coco == second
    for edit in (Relabel(ann_id, 2), DeleteAnnotation(ann_id), DeleteLabelClass(2)):
        edit.apply(project)
        _stored_fresh(project)
        edit.revert(project)
        assert project.annotation(ann_id).coco == second


MASK = st.integers(0, 10_000).map(lambda seed: _masks(seed, 4)[seed % 4])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_geometry_edits_keep_every_stored_segmentation_fresh(data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p = Project.create(Path(tmp) / "prop.samlabel")
        try:
            p.add_label_class("a")
            p.add_image("x.png", W, H)
            p.add_image("unknown_size.png")
            done = []
            for _ in range(data.draw(st.integers(1, 8))):
                anns = [a.id for a in p.iter_annotations()]
                kind = data.draw(st.sampled_from(["add", "geom", "undo"] if anns else ["add"]))
                if kind == "undo" and done:
                    done.pop().revert(p)
                    _stored_fresh(p)
                    continue
                m = data.draw(MASK)
                with_rle = data.draw(st.booleans())
                parts = mask_to_parts(m, simplify=False) or (Part(exterior=((1.0, 1.0), (3.0, 1.0), (1.0, 3.0))),)
                rle = mask_to_rle(m) if with_rle else None
                pre = coco_seg_of_mask(m, rle) if with_rle and data.draw(st.booleans()) else None
                if kind == "add":
                    image = data.draw(st.sampled_from([1, 2]))
                    edit = AddAnnotation(Annotation(image, 1, parts, rle, coco=pre))
                else:
                    edit = SetGeometry(data.draw(st.sampled_from(anns)), parts, rle, coco=pre)
                edit.apply(p)
                done.append(edit)
                _stored_fresh(p)
            while done:
                done.pop().revert(p)
                _stored_fresh(p)
        finally:
            p.close()


def test_rows_coco_columns_and_coverage(project: Project) -> None:
    assert project.coco_cache_coverage() == 1.0  # no annotations
    for m in _masks(17, 5):
        project.add_annotation(_ann(project, m))
    assert [len(r) for r in project.iter_annotation_rows()] == [8] * 5
    assert [len(r) for r in project.iter_annotation_rows(coco="head")] == [10] * 5
    rows = list(project.iter_annotation_rows(coco="all"))
    assert [codec.decode_coco(r[8], r[9], r[10], codec.decode_rle(r[5], r[6], r[7]), ()) for r in rows] \
        == [a.coco for a in project.iter_annotations()]
    with pytest.raises(ValueError, match="coco must be one of"):
        list(project.iter_annotation_rows(coco="everything"))
    assert project.coco_cache_coverage() == 1.0
    with project.transaction() as conn:
        conn.execute("UPDATE annotation SET coco_head = NULL WHERE id % 2 = 1")
    assert project.coco_cache_coverage() == pytest.approx(0.4)  # every id sampled: exact


# ------------------------------------------------------------------ export

def _export_text(project: Project, out: Path, masks: str, workers: int = 1) -> str:
    export_coco(project, out, masks=masks, workers=workers)
    data = json.loads(out.read_text(encoding="ascii"))
    data.pop("info")
    text = out.read_text(encoding="ascii")
    return text[text.index('"licenses"'):], data


@pytest.mark.parametrize("masks", ["auto", "rle", "polygon"])
def test_export_is_identical_with_stored_recomputed_and_stale_sizes(project: Project, tmp_path: Path,
                                                                     masks: str) -> None:
    masks_list = _masks(18, 40)
    project.bulk_insert_annotations([_ann(project, m, image=1 + k % 2, rle=k % 5 != 1, z=k)
                                     for k, m in enumerate(masks_list)])
    project.set_image_status(1, "done")
    cached, cached_data = _export_text(project, tmp_path / "a.json", masks)
    with project.transaction() as conn:  # as if written by an older version
        conn.execute("UPDATE annotation SET coco_head = NULL, coco_rle = NULL, coco_poly = NULL WHERE id % 3 = 0")
    mixed, _ = _export_text(project, tmp_path / "b.json", masks)
    parallel, _ = _export_text(project, tmp_path / "c.json", masks, workers=2)
    assert cached == mixed == parallel
    assert len(cached_data["annotations"]) == sum(1 for m in masks_list if m.any())
    # the image is re-read at another size: stored segmentations no longer apply, polygons are used
    project.set_image_size(2, W + 3, H + 2)
    resized, data = _export_text(project, tmp_path / "d.json", masks)
    with project.transaction() as conn:
        conn.execute("UPDATE annotation SET coco_head = NULL, coco_rle = NULL, coco_poly = NULL")
    assert resized == _export_text(project, tmp_path / "e.json", masks)[0]
    assert resized != cached and [i["height"] for i in data["images"]] == [H, H + 2]


def test_polygons_with_holes_export_their_stored_rle(project: Project, tmp_path: Path) -> None:
    ring = np.zeros((H, W), bool)
    ring[3:12, 4:16] = True
    ring[6:9, 8:12] = False
    stored = project.add_annotation(_ann(project, ring, rle=False))
    assert stored.coco.rle_counts is not None
    _, data = _export_text(project, tmp_path / "a.json", "auto")
    seg = data["annotations"][0]["segmentation"]
    assert seg == {"size": [H, W], "counts": stored.coco.rle_counts}


# ------------------------------------------------------------------ migration

def _v1_project(path: Path) -> None:
    """A version-1 project file (as the previous release wrote it) with two annotations."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    schema.migrate(conn, 0, schema.MIGRATIONS[:1])
    conn.execute("INSERT INTO label_class(name, color, ord) VALUES ('a', '#ff0000', 0)")
    conn.execute("INSERT INTO image(path, width, height) VALUES ('x.png', ?, ?)", (W, H))
    for m in _masks(19, 2):
        h, w, counts = codec.encode_rle(mask_to_rle(m))
        conn.execute("INSERT INTO annotation(image_id, label_id, z, geometry, rle_h, rle_w, rle_counts, source, "
                     "created, updated) VALUES (1, 1, 0, ?, ?, ?, ?, 'sam', 1.0, 1.0)",
                     (codec.encode_parts(mask_to_parts(m, simplify=False)), h, w, counts))
    conn.close()


def test_version_1_files_migrate_and_export_by_computing(tmp_path: Path) -> None:
    path = tmp_path / "old.samlabel"
    _v1_project(path)
    with pytest.raises(ProjectError, match="older project format"):
        Project.open(path, read_only=True)
    with Project.open(path) as p:
        assert p.conn.execute("PRAGMA user_version").fetchone()[0] == schema.schema_version() >= 2
        anns = list(p.iter_annotations())
        assert [a.coco for a in anns] == [None, None] and p.coco_cache_coverage() == 0.0
        old_text, data = _export_text(p, tmp_path / "a.json", "auto")
        assert len(data["annotations"]) == 2
        p.update_annotation(anns[0], touch=False)  # any later write stores it
        assert p.annotation(anns[0].id).coco == coco_seg_of_annotation(anns[0], H, W)
        assert _export_text(p, tmp_path / "b.json", "auto")[0] == old_text
    with Project.open(path, read_only=True) as p:
        assert p.coco_cache_coverage() == 0.5


def test_imported_annotations_carry_their_segmentation(tmp_path: Path) -> None:
    from app.core.formats import import_coco
    from tests.core.formats_support import build_project

    src, _ = build_project(tmp_path)
    with src:
        export_coco(src, tmp_path / "in.json")
    with Project.create(tmp_path / "dst.samlabel") as dst:
        report = import_coco(dst, tmp_path / "in.json")
        assert report.annotations == 9
        assert all(a.coco is not None for a in dst.iter_annotations())
        _stored_fresh(dst)


def test_worker_processes_only_for_annotations_without_stored_segmentation(project: Project, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.formats import coco_parallel

    for m in _masks(20, 6):
        project.add_annotation(_ann(project, m))
    monkeypatch.setattr(coco_parallel, "MIN_ANNOTATIONS", 2)
    monkeypatch.setattr(coco_parallel.os, "cpu_count", lambda: 4)
    used: list[int] = []
    real = coco_parallel.parallel_fragments
    monkeypatch.setattr(coco_parallel, "parallel_fragments", lambda *a: used.append(a[-1]) or real(*a))
    export_coco(project, tmp_path / "a.json")
    assert used == []  # everything stored: one process writes it out
    with project.transaction() as conn:
        conn.execute("UPDATE annotation SET coco_head = NULL")
    export_coco(project, tmp_path / "b.json")
    assert used == [3]
