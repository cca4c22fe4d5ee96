"""The outline stored with each annotation (model.Outline, app.core.outline, the store's column): it
is what the exporter would compute, it is never stale after geometry edits (undo/redo included),
old files migrate, and exports are byte-identical with and without it."""
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

from app.core import codec, outline, schema
from app.core.edits import AddAnnotation, DeleteAnnotation, DeleteLabelClass, Relabel, SetGeometry
from app.core.errors import ProjectError
from app.core.formats import export_coco
from app.core.formats.coco import coco_segment as plain_segment
from app.core.formats.coco_text import polygon_texts
from app.core.geometry import mask_to_parts, parts_to_mask
from app.core.masks import rle_size
from app.core.model import Annotation, Outline, Part
from app.core.outline import fits, outline_of_annotation, outline_of_mask, outlines
from app.core.project import Project
from app.core.rle import mask_to_rle
from tests.core.formats_support import fill_holes, random_mask

H, W = 24, 30


def _masks(seed: int, n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        m = random_mask(rng, H, W, k % 4)
        if k % 7 == 3:  # a ring: one part with a hole, away from the borders
            m[:] = False
            m[4:15, 5:20] = True
            m[7:11, 9:14] = False
        out.append(m)
    return out


def _polygons(found: Outline) -> list:
    """The outline's rings as COCO polygons (through the exporter's text path)."""
    flat, sizes, per_item = outline.ring_arrays([found.rings])
    return json.loads(polygon_texts(flat, sizes, per_item)[0])


def _stored_fresh(project: Project) -> None:
    """Every stored outline equals a fresh computation for the image's size and fits its annotation."""
    for ann in project.iter_annotations():
        img = project.image(ann.image_id)
        size = (img.height, img.width) if img.width > 0 else rle_size(ann.rle)
        want = None if size is None or not ann.has_area else outline_of_annotation(ann, *size)
        assert ann.outline == want, ann.id
        if want is not None:
            assert fits(ann.outline, ann)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    p = Project.create(tmp_path / "c.samlabel")
    p.add_label_class("a")
    p.add_label_class("b")
    p.add_image("x.png", W, H)
    p.add_image("y.png", W, H)
    yield p
    p.close()


def _ann(m: np.ndarray, image: int = 1, rle: bool = True, **kw: object) -> Annotation:
    parts = mask_to_parts(m, simplify=False) if m.any() else (Part(exterior=((0.0, 0.0), (1.0, 0.0), (0.0, 1.0))),)
    return Annotation(image_id=image, label_id=1, parts=parts, rle=mask_to_rle(m) if rle else None, **kw)


# ------------------------------------------------------------------ what is computed

def test_outline_is_what_the_plain_exporter_path_writes() -> None:
    """outlines() (used by the store and the exporter) against coco.coco_segment, the straightforward
    one-annotation path: same polygons, area (filled in "polygon" mode), bbox and holes, from RLEs
    and from polygons; the rings rasterise back (pycocotools) to the hole-filled mask."""
    from pycocotools import mask as mu

    for k, m in enumerate(_masks(11, 60)):
        rle = mask_to_rle(m)
        parts = mask_to_parts(m, simplify=False) if m.any() else ()
        for ann in (Annotation(1, 1, (), rle, id=k), Annotation(1, 1, parts, None, id=k)):
            found = outlines([(ann.rle, ann.parts, H, W)])[0]
            assert isinstance(found, Outline)
            auto = plain_segment(ann, H, W, "auto", [])
            if isinstance(auto, str):
                assert auto == "its mask is empty" and found.area == 0 and found.rings == b""
                continue
            filled: list[int] = []
            poly = plain_segment(ann, H, W, "polygon", filled)
            assert _polygons(found) == poly[0] and found.filled_area == poly[2 - 1]
            assert found.holes == bool(filled) == isinstance(auto[0], dict)
            assert found.area == auto[1] == int(m.sum()) and list(found.bbox) == auto[2]
            raster = mu.decode(mu.merge(mu.frPyObjects(_polygons(found), H, W))).astype(bool)
            assert (raster == fill_holes(m)).all()


def test_mask_and_annotation_paths_agree_with_crops_and_offsets() -> None:
    for m in _masks(12, 40):
        rle = mask_to_rle(m)
        want = outline_of_annotation(Annotation(1, 1, (), rle), H, W)
        assert outline_of_mask(m, rle) == want and outline_of_mask(m, rle).source is rle
        if m.any():
            rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
            y0, x0 = max(0, rows[0] - 1), max(0, cols[0] - 2)
            assert outline_of_mask(m[y0:, x0:], rle, int(x0), int(y0)) == want
        else:
            assert want.area == 0 and want.rings == b""
    with pytest.raises(ValueError):
        outline_of_mask(np.ones((2, 2), bool), {"counts": "x"})


def test_holes_polygons_with_holes_and_corrupt_masks() -> None:
    ring = np.zeros((H, W), bool)
    ring[3:12, 4:16] = True
    ring[6:9, 8:12] = False
    found = outline_of_annotation(Annotation(1, 1, (), mask_to_rle(ring)), H, W)
    assert found.holes and found.area == int(ring.sum()) and found.filled_area == 9 * 12
    assert found.bbox == (4, 3, 12, 9) and _polygons(found) == [[4, 3, 4, 12, 16, 12, 16, 3]]
    parts = mask_to_parts(ring, simplify=False)
    from_parts = outline_of_annotation(Annotation(1, 1, parts, None), H, W)
    assert from_parts.holes and from_parts.source == parts and from_parts.area == found.area
    bad = outlines([({"size": [H, W], "counts": "zz"}, (), H, W)])[0]
    assert isinstance(bad, str) and bad.startswith("its stored mask is unreadable")
    assert outline_of_annotation(Annotation(1, 1, (), {"size": [H, W], "counts": "zz"}), H, W) is None


def test_stored_form_round_trips_and_is_compact() -> None:
    m = _masks(13, 4)[3]
    rle = mask_to_rle(m)
    found = outline_of_annotation(Annotation(1, 1, (), rle), H, W)
    blob = outline.to_bytes(found)
    back = outline.from_bytes(blob, rle, ())
    assert back == found and back.source is rle
    assert outline.from_bytes(blob, {"size": [H + 1, W], "counts": "x"}, ("p",)).source == ("p",)
    assert outline.from_bytes(None) is None and outline.from_bytes(b"X9" + blob[2:]) is None  # unknown form
    assert outline.header(blob)[:9] == (H, W, found.area, found.filled_area, *found.bbox, found.holes)
    # one byte per vertex for ordinary objects (plus a 43-byte header, 5 bytes, 12 per ring)
    big = np.zeros((480, 640), bool)
    yy, xx = np.mgrid[:480, :640]
    big[(yy - 240) ** 2 + (xx - 300) ** 2 <= 45 ** 2] = True
    disk = outline_of_mask(big, mask_to_rle(big))
    n_vertices = sum(len(p) for p in _polygons(disk)) // 2
    assert len(outline.to_bytes(disk)) == 43 + 5 + 12 + n_vertices - 1


def test_packed_rings_round_trip_any_ring() -> None:
    """Rings that alternate (every traced one) and rings that do not (pairs mode), long edges
    (int16/int32 steps), far coordinates; corrupt values are refused."""
    rng = np.random.default_rng(3)
    packs, want = [], []
    for k in range(400):
        h, w = (int(v) for v in rng.integers(1, 60, 2))
        m = random_mask(rng, h, w, k % 4)
        if k % 50 == 0:
            m = np.zeros((3, 40_000), bool)
            m[1, 3:39_000] = True  # steps beyond int16
        if not m.any():
            packs.append(b"")
            want.append([])
            continue
        contours, _ = outline.trace_corner_raw(m)
        flat, sizes = outline.corner_rings(contours, [(int(rng.integers(0, 70_000)), 2)] * len(contours))
        packs.append(outline.pack_rings(flat, sizes))
        want.append(np.split(flat, np.cumsum(sizes)[:-1]))
    tri = np.array([0, 0, 5, 0, 5, 5, 2, 7], np.int64)  # a diagonal edge: not the outline of pixels
    packs.insert(3, outline.pack_rings(tri, np.array([8])))
    want.insert(3, [tri])
    flat, sizes, per_item = outline.ring_arrays(packs)
    assert per_item == [len(w) for w in want]
    assert np.array_equal(flat, np.concatenate([r for w in want for r in w]))
    assert sizes.tolist() == [r.size for w in want for r in w]
    for bad in (packs[1][:-1], packs[1] + b"\x01", b"\x03" + packs[1][1:], packs[1][:7]):
        with pytest.raises(ValueError, match="corrupt"):
            outline.ring_arrays([packs[0], bad])
    # a header announcing no rings (to_bytes writes b"" then) is corrupt too, alone or not
    no_rings = packs[0][:1] + b"\x00\x00\x00\x00"
    for values in ([no_rings], [b"", no_rings]):
        with pytest.raises(ValueError, match="corrupt"):
            outline.ring_arrays(values)


# ------------------------------------------------------------------ the store

def test_add_and_bulk_insert_compute_it_and_keep_a_fitting_one(project: Project,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    masks = _masks(14, 12)
    stored = project.add_annotation(_ann(masks[0]))
    assert stored.outline == outline_of_annotation(stored, H, W) and stored.outline.area > 0
    project.bulk_insert_annotations([_ann(m, image=2) for m in masks[1:]] + [_ann(masks[1], rle=False)])
    project.add_annotation(Annotation(1, 1, (), shape="point", points=((3.0, 4.0),)))  # no area: none
    _stored_fresh(project)
    calls: list[int] = []
    real = outline.outlines
    monkeypatch.setattr(outline, "outlines", lambda s: calls.append(len(s)) or real(s))
    ann = _ann(masks[2])
    pre = outline_of_mask(masks[2], ann.rle)
    project.add_annotation(replace(ann, outline=pre))
    project.bulk_insert_annotations([replace(ann, outline=pre, z=3), replace(ann, outline=pre, z=4)])
    assert calls == []  # precomputed (e.g. on the GUI's geometry thread): nothing is computed
    project.add_annotation(replace(_ann(masks[3]), outline=pre))  # another mask: recomputed
    assert calls == [1]
    stored = project.annotation(stored.id)
    project.update_annotation(replace(stored, label_id=2, outline=None))  # same geometry: the stored one is kept
    assert calls == [1] and project.annotation(stored.id).outline == stored.outline
    _stored_fresh(project)


def test_update_never_keeps_a_stale_one(project: Project) -> None:
    a, b = _masks(15, 6)[4:6]
    old = project.add_annotation(_ann(a))
    new_rle = mask_to_rle(b)
    project.update_annotation(replace(old, rle=new_rle))  # carries old.outline along
    got = project.annotation(old.id)
    assert got.outline == outline_of_annotation(got, H, W) and got.outline.source == new_rle
    assert got.outline != old.outline
    # polygons only: the outline follows the parts
    poly = project.add_annotation(_ann(a, rle=False))
    moved = tuple(Part(exterior=tuple((x + 2.0, y) for x, y in p.exterior),
                       holes=tuple(tuple((x + 2.0, y) for x, y in h) for h in p.holes)) for p in poly.parts)
    project.update_annotation(replace(poly, parts=moved))
    assert project.annotation(poly.id).outline.bbox[0] == poly.outline.bbox[0] + 2
    # a relabel keeps the geometry: the carried outline is kept as it is
    project.update_annotation(replace(got, label_id=2))
    assert project.annotation(old.id).outline == got.outline
    # a corrupt RLE stores no outline instead of refusing the edit
    project.update_annotation(replace(got, rle={"size": [H, W], "counts": "zz"}))
    assert project.annotation(old.id).outline is None
    _stored_fresh(project)


def test_edits_undo_redo_restore_matching_outlines(project: Project) -> None:
    a, b = _masks(16, 8)[6:8]
    add = AddAnnotation(_ann(a))
    add.apply(project)
    ann_id = add.annotation_id
    first = project.annotation(ann_id).outline
    rle_b = mask_to_rle(b)
    geom = SetGeometry(ann_id, mask_to_parts(b, simplify=False), rle_b, outline=outline_of_mask(b, rle_b))
    geom.apply(project)
    second = project.annotation(ann_id).outline
    assert second.source == rle_b and second != first
    stale = SetGeometry(ann_id, (), rle_b, outline=first)  # a wrong precomputed one is not trusted
    stale.apply(project)
    assert project.annotation(ann_id).outline == second
    stale.revert(project)
    geom.revert(project)
    assert project.annotation(ann_id).outline == first
    geom.apply(project)
    assert project.annotation(ann_id).outline == second
    for edit in (Relabel(ann_id, 2), DeleteAnnotation(ann_id), DeleteLabelClass(2)):
        edit.apply(project)
        _stored_fresh(project)
        edit.revert(project)
        assert project.annotation(ann_id).outline == second


MASK = st.integers(0, 10_000).map(lambda seed: _masks(seed, 4)[seed % 4])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_geometry_edits_keep_every_stored_outline_fresh(data: st.DataObject) -> None:
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
                pre = outline_of_mask(m, rle) if with_rle and data.draw(st.booleans()) else None
                if kind == "add":
                    image = data.draw(st.sampled_from([1, 2]))
                    edit = AddAnnotation(Annotation(image, 1, parts, rle, outline=pre))
                else:
                    edit = SetGeometry(data.draw(st.sampled_from(anns)), parts, rle, outline=pre)
                edit.apply(p)
                done.append(edit)
                _stored_fresh(p)
            while done:
                done.pop().revert(p)
                _stored_fresh(p)
        finally:
            p.close()


def test_rows_carry_the_outline_and_coverage_is_sampled(project: Project) -> None:
    assert project.outline_coverage() == 1.0  # no annotations
    for m in _masks(17, 5):
        project.add_annotation(_ann(m))
    rows = list(project.iter_annotation_rows())
    assert [outline.from_bytes(r[11], codec.decode_rle(r[5], r[6], r[7]), ()) for r in rows] \
        == [a.outline for a in project.iter_annotations()]
    assert project.outline_coverage() == 1.0
    with project.transaction() as conn:
        conn.execute("UPDATE annotation SET outline = NULL WHERE id % 2 = 1")
    assert project.outline_coverage() == pytest.approx(0.4)  # every id sampled: exact


# ------------------------------------------------------------------ export

def _export_text(project: Project, out: Path, masks: str, workers: int = 1) -> tuple[str, dict]:
    export_coco(project, out, masks=masks, workers=workers)
    data = json.loads(out.read_text(encoding="ascii"))
    data.pop("info")
    text = out.read_text(encoding="ascii")
    return text[text.index('"licenses"'):], data


@pytest.mark.parametrize("masks", ["auto", "rle", "polygon"])
def test_export_is_identical_with_stored_recomputed_and_stale_sizes(project: Project, tmp_path: Path,
                                                                     masks: str) -> None:
    masks_list = _masks(18, 40)
    project.bulk_insert_annotations([_ann(m, image=1 + k % 2, rle=k % 5 != 1, z=k)
                                     for k, m in enumerate(masks_list)])
    project.set_image_status(1, "done")
    stored, stored_data = _export_text(project, tmp_path / "a.json", masks)
    with project.transaction() as conn:  # as if written by an older version
        conn.execute("UPDATE annotation SET outline = NULL WHERE id % 3 = 0")
    mixed, _ = _export_text(project, tmp_path / "b.json", masks)
    parallel, _ = _export_text(project, tmp_path / "c.json", masks, workers=2)
    assert stored == mixed == parallel
    assert len(stored_data["annotations"]) == sum(1 for m in masks_list if m.any())
    # the image is re-read at another size: stored outlines no longer apply, polygons are used
    project.set_image_size(2, W + 3, H + 2)
    resized, data = _export_text(project, tmp_path / "d.json", masks)
    with project.transaction() as conn:
        conn.execute("UPDATE annotation SET outline = NULL")
    assert resized == _export_text(project, tmp_path / "e.json", masks)[0]
    assert resized != stored and [i["height"] for i in data["images"]] == [H, H + 2]
    # a corrupt stored outline is computed again from the geometry
    with project.transaction() as conn:
        conn.execute("UPDATE annotation SET outline = ?", (outline.to_bytes(Outline(H + 2, W + 3, 5, 5, (1, 1, 2, 3),
                                                                                     False, b"\x00\x09")),))
    assert _export_text(project, tmp_path / "f.json", masks)[0] == resized


def test_polygons_with_holes_export_their_raster_as_rle(project: Project, tmp_path: Path) -> None:
    ring = np.zeros((H, W), bool)
    ring[3:12, 4:16] = True
    ring[6:9, 8:12] = False
    stored = project.add_annotation(_ann(ring, rle=False))
    assert stored.outline.holes
    _, data = _export_text(project, tmp_path / "a.json", "auto")
    seg = data["annotations"][0]["segmentation"]
    assert seg == mask_to_rle(parts_to_mask(stored.parts, H, W))


# ------------------------------------------------------------------ migration

def _old_project(path: Path, version: int) -> None:
    """A project file of schema ``version`` (1 or 3) with two annotations; at version 3 they carry
    version 2's COCO cache columns, filled with bytes of the size the old code wrote."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    schema.migrate(conn, 0, schema.MIGRATIONS[:version])
    conn.execute("INSERT INTO label_class(name, color, ord) VALUES ('a', '#ff0000', 0)")
    conn.execute("INSERT INTO image(path, width, height) VALUES ('x.png', ?, ?)", (W, H))
    for m in _masks(19, 2):
        h, w, counts = codec.encode_rle(mask_to_rle(m))
        conn.execute("INSERT INTO annotation(image_id, label_id, z, geometry, rle_h, rle_w, rle_counts, source, "
                     "created, updated) VALUES (1, 1, 0, ?, ?, ?, ?, 'sam', 1.0, 1.0)",
                     (codec.encode_parts(mask_to_parts(m, simplify=False)), h, w, counts))
    if version >= 2:
        conn.execute("UPDATE annotation SET coco_head = zeroblob(42), coco_poly = '[[1,2,3,4,5,6]]'")
    conn.close()


@pytest.mark.parametrize("version", [1, 3])
def test_older_files_migrate_and_export_by_computing(tmp_path: Path, version: int) -> None:
    path = tmp_path / "old.samlabel"
    _old_project(path, version)
    with pytest.raises(ProjectError, match="older project format"):
        Project.open(path, read_only=True)
    with Project.open(path) as p:
        assert p.conn.execute("PRAGMA user_version").fetchone()[0] == schema.schema_version() == 5
        anns = list(p.iter_annotations())
        assert [a.outline for a in anns] == [None, None] and p.outline_coverage() == 0.0
        old_text, data = _export_text(p, tmp_path / "a.json", "auto")
        assert len(data["annotations"]) == 2
        p.update_annotation(anns[0], touch=False)  # any later write stores it
        assert p.annotation(anns[0].id).outline == outline_of_annotation(anns[0], H, W)
        assert _export_text(p, tmp_path / "b.json", "auto")[0] == old_text
        # the retired columns are left as they were (no table rewrite), and never written again
        columns = [r[1] for r in p.conn.execute("PRAGMA table_info(annotation)")]
        assert set(schema.RETIRED_COLUMNS["annotation"]) <= set(columns) and "outline" in columns
        p.add_annotation(anns[1].with_(id=None))
        kept = p.conn.execute("SELECT coco_poly IS NOT NULL FROM annotation ORDER BY id").fetchall()
        assert [k[0] for k in kept] == [int(version >= 2), int(version >= 2), 0]
    with Project.open(path, read_only=True) as p:
        assert p.outline_coverage() == pytest.approx(2 / 3)


def test_worker_processes_only_for_annotations_without_a_stored_outline(project: Project, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.formats import coco_parallel

    for m in _masks(20, 6):
        project.add_annotation(_ann(m))
    monkeypatch.setattr(coco_parallel, "MIN_ANNOTATIONS", 2)
    monkeypatch.setattr(coco_parallel.os, "cpu_count", lambda: 4)
    used: list[int] = []
    real = coco_parallel.parallel_chunks
    monkeypatch.setattr(coco_parallel, "parallel_chunks", lambda *a: used.append(a[-1]) or real(*a))
    export_coco(project, tmp_path / "a.json")
    assert used == []  # everything stored: one process unpacks and writes it
    with project.transaction() as conn:
        conn.execute("UPDATE annotation SET outline = NULL")
    export_coco(project, tmp_path / "b.json")
    assert used == [3]
    a, b = (json.loads((tmp_path / n).read_text(encoding="ascii")) for n in ("a.json", "b.json"))
    a.pop("info"), b.pop("info")
    assert a == b and len(a["annotations"]) == sum(1 for m in _masks(20, 6) if m.any())


def test_imported_annotations_carry_their_outline(tmp_path: Path) -> None:
    from app.core.formats import import_coco
    from tests.core.formats_support import build_project

    src, _ = build_project(tmp_path)
    with src:
        export_coco(src, tmp_path / "in.json")
    with Project.create(tmp_path / "dst.samlabel") as dst:
        report = import_coco(dst, tmp_path / "in.json")
        assert report.annotations == 9
        assert all(a.outline is not None for a in dst.iter_annotations())
        _stored_fresh(dst)


def test_the_store_imports_no_format_code() -> None:
    """Issue 9: the store (project modules, codec, model, schema, outline, masks) never imports
    app.core.formats, not even inside a function (an AST scan, so lazy imports count too)."""
    import ast

    root = Path(__file__).resolve().parents[2] / "app" / "core"
    store = [*root.glob("project*.py"), *(root / n for n in ("codec.py", "model.py", "schema.py", "outline.py",
                                                              "masks.py", "edits.py", "mask_convert.py"))]
    offenders = []
    for path in store:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}: {n}" for n in names if n.startswith("app.core.formats")]
    assert len(store) >= 12 and offenders == []
