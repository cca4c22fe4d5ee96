"""Project store: CRUD, relative paths, statuses, label classes, refusal of foreign/newer files."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.core.errors import ProjectError, ReadOnlyProject
from app.core.model import Annotation, ImageRecord, Part
from app.core.project import PALETTE, NotFoundError, Project
from app.core.schema import schema_version

SQUARE = Part(exterior=((0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)),
              holes=(((2.0, 2.0), (4.0, 2.0), (3.0, 4.0)),))
ODD = Part(exterior=((0.1, 0.2), (5.3, 0.7), (2.9, 4.123456789)))


@pytest.fixture
def project(tmp_path: Path) -> Project:
    p = Project.create(tmp_path / "p.samlabel")
    yield p
    p.close()


def _ann(image_id: int, label_id: int, **kw: object) -> Annotation:
    return Annotation(image_id=image_id, label_id=label_id, parts=(SQUARE,), **kw)


def test_create_refuses_existing_file_and_missing_folder(tmp_path: Path) -> None:
    path = tmp_path / "x.samlabel"
    path.write_bytes(b"precious")
    with pytest.raises(ProjectError, match="already exists"):
        Project.create(path)
    assert path.read_bytes() == b"precious"
    with pytest.raises(ProjectError, match="does not exist"):
        Project.create(tmp_path / "nope" / "y.samlabel")


def test_file_settings(project: Project) -> None:
    conn = project.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL (see project_base's doc)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema_version() >= 1
    assert project.integrity_check() == "ok"


def test_label_classes_crud_and_rules(project: Project) -> None:
    a = project.add_label_class("cat")
    b = project.add_label_class(" dog ", "#00FF00")
    assert (a.order, b.order) == (0, 1)
    assert a.color == PALETTE[0] and b.color == "#00ff00" and b.name == "dog"
    c = project.add_label_class("bird")
    assert c.color == PALETTE[1]  # first palette colour not used yet
    with pytest.raises(ValueError, match="already exists"):
        project.add_label_class("cat")
    with pytest.raises(ValueError, match="empty"):
        project.add_label_class("   ")
    with pytest.raises(ValueError, match="#rrggbb"):
        project.add_label_class("fish", "red")
    assert project.label_by_name("dog") == b and project.label_by_name("cow") is None
    project.update_label_class(b.__class__(id=b.id, name="hound", color="#123456", order=5))
    assert project.label_class(b.id).name == "hound"
    with pytest.raises(ValueError, match="already exists"):
        project.update_label_class(b.__class__(id=b.id, name="cat", color="#123456", order=5))
    project.move_label_class(c.id, 0)
    assert [lc.name for lc in project.label_classes()] == ["bird", "cat", "hound"]
    assert [lc.order for lc in project.label_classes()] == [0, 1, 2]
    img = project.add_image("a.png")
    project.add_annotation(_ann(img.id, a.id))
    with pytest.raises(ProjectError, match="used by 1 annotation"):
        project.delete_label_class(a.id)
    project.delete_label_class(c.id)
    with pytest.raises(NotFoundError):
        project.label_class(c.id)
    again = project.add_label_class("bird", id=c.id, order=0)
    assert again.id == c.id and project.label_classes()[0] == again


def test_images_relative_paths_paging_and_status(project: Project, tmp_path: Path) -> None:
    img = project.add_image(str(tmp_path / "sub" / "b.jpg"))
    assert img.path == "sub/b.jpg"
    assert project.image_path(img) == tmp_path / "sub" / "b.jpg"
    assert project.add_image("./sub/../a.jpg").path == "a.jpg"
    outside = project.add_image(str(tmp_path.parent / "elsewhere.png"))
    assert outside.path == "../elsewhere.png"
    with pytest.raises(ValueError, match="already in the project"):
        project.add_image("sub/b.jpg")
    assert project.image_by_path(str(tmp_path / "a.jpg")).path == "a.jpg"
    assert [r.path for r in project.images()] == ["../elsewhere.png", "a.jpg", "sub/b.jpg"]
    assert [r.path for r in project.images(offset=1, limit=1)] == ["a.jpg"]
    project.set_image_size(img.id, 640, 480)
    project.set_image_sha1(img.id, "ab" * 20)
    project.set_image_status(img.id, "done")
    got = project.image(img.id)
    assert (got.width, got.height, got.sha1, got.status) == (640, 480, "ab" * 20, "done")
    assert project.status_counts() == {"new": 2, "in_progress": 0, "done": 1}
    assert project.image_count() == 3 and project.image_count("done") == 1
    assert [r.id for r in project.images(status="done")] == [img.id]
    with pytest.raises(ValueError, match="status"):
        project.set_image_status(img.id, "finished")
    with pytest.raises(ValueError, match="negative"):
        project.set_image_size(img.id, -1, 3)
    with pytest.raises(NotFoundError):
        project.set_image_status(999, "done")


def test_annotation_crud_roundtrip_and_status_transition(project: Project) -> None:
    lab = project.add_label_class("cat")
    img = project.add_image("a.png")
    rle = {"size": [20, 30], "counts": "PQ0a1b2"}
    a = project.add_annotation(_ann(img.id, lab.id, rle=rle, group_id=7, z=2, source="sam", score=0.93,
                                    extra={"note": "x"}))
    assert a.id is not None and a.created > 0 and a.updated == a.created
    assert project.image(img.id).status == "in_progress"
    assert project.annotation(a.id) == a and a.parts == (SQUARE,) and a.rle == rle and a.extra == {"note": "x"}
    b = project.add_annotation(Annotation(image_id=img.id, label_id=lab.id, parts=(ODD, SQUARE), z=1,
                                          rle={"size": [2, 2], "counts": [0, 3, 1]}))
    assert b.parts == (ODD, SQUARE)  # non-float32 coordinates survive exactly
    assert b.rle == {"size": [2, 2], "counts": [0, 3, 1]}
    assert [x.id for x in project.annotations(img.id)] == [b.id, a.id]  # by z
    project.update_annotation(a.with_(label_id=lab.id, z=0, parts=(ODD,), rle=None))
    upd = project.annotation(a.id)
    assert upd.parts == (ODD,) and upd.rle is None and upd.created == a.created and upd.updated >= a.updated
    project.set_image_status(img.id, "done")
    project.add_annotation(_ann(img.id, lab.id))
    assert project.image(img.id).status == "done"  # only "new" moves to "in_progress"
    assert project.annotation_count() == 3 and project.annotation_count(img.id) == 3
    assert project.annotation_counts_by_image() == {img.id: 3}
    project.delete_annotation(b.id)
    with pytest.raises(NotFoundError):
        project.annotation(b.id)
    with pytest.raises(NotFoundError):
        project.delete_annotation(b.id)
    reused = project.add_annotation(_ann(img.id, lab.id, id=b.id))
    assert reused.id == b.id


@pytest.mark.parametrize("bad, message", [
    (dict(parts=(Part(exterior=((0.0, 0.0), (1.0, 1.0))),)), "at least 3"),
    (dict(parts=(Part(exterior=((0.0, 0.0), (1.0, float("nan")), (2.0, 0.0))),)), "invalid point"),
    (dict(parts=()), "at least one polygon or a mask"),
    (dict(source="robot"), "source"),
    (dict(label_id=999), "no label class"),
    (dict(image_id=999), "no image"),
    (dict(rle={"counts": "x"}), "COCO RLE"),
    (dict(extra={"f": object()}), "JSON"),
])
def test_bad_annotations_are_refused_and_change_nothing(project: Project, bad: dict, message: str) -> None:
    lab = project.add_label_class("cat")
    img = project.add_image("a.png")
    ann = _ann(img.id, lab.id).with_(**bad)
    with pytest.raises(ValueError, match=message):
        project.add_annotation(ann)
    assert project.annotation_count() == 0 and project.image(img.id).status == "new"


def test_iter_annotations_streams_everything_in_image_order(project: Project) -> None:
    lab = project.add_label_class("cat")
    imgs = [project.add_image(f"{i}.png") for i in range(5)]
    ids = {}
    for k in range(23):
        img = imgs[(k * 3) % 5]
        ids[project.add_annotation(_ann(img.id, lab.id, z=k % 4)).id] = img.id
    got = list(project.iter_annotations(batch=4))
    assert sorted(a.id for a in got) == sorted(ids)
    keys = [(a.image_id, a.z, a.id) for a in got]
    assert keys == sorted(keys)


def test_bulk_inserts(project: Project) -> None:
    lab = project.add_label_class("cat")
    n = project.bulk_insert_images(ImageRecord(id=0, path=f"d/{i:03}.jpg", width=4, height=3) for i in range(50))
    assert n == 50 and project.image_count() == 50
    first = project.images(limit=1)[0]
    m = project.bulk_insert_annotations(_ann(first.id, lab.id) for _ in range(7))
    assert m == 7 and project.annotation_count(first.id) == 7
    assert project.image(first.id).status == "in_progress"
    with pytest.raises(ValueError):
        project.bulk_insert_annotations([_ann(first.id, lab.id), _ann(first.id, 999)])
    assert project.annotation_count() == 7  # the whole batch rolled back


def test_transaction_nesting_rolls_back_inner_only(project: Project) -> None:
    with project.transaction():
        project.add_label_class("kept")
        with pytest.raises(ValueError):
            with project.transaction():
                project.add_label_class("inner")
                project.add_label_class("inner")
    assert [lc.name for lc in project.label_classes()] == ["kept"]
    with pytest.raises(RuntimeError):
        with project.transaction():
            project.add_label_class("gone")
            raise RuntimeError("boom")
    assert [lc.name for lc in project.label_classes()] == ["kept"]


def test_meta_and_persistence_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "p.samlabel"
    with Project.create(path) as p:
        p.set_meta("model", "sam_vit_b")
        lab = p.add_label_class("cat")
        img = p.add_image("a.png")
        ann = p.add_annotation(_ann(img.id, lab.id))
        with pytest.raises(ValueError, match="reserved"):
            p.set_meta("application", "other")
    with Project.open(path) as p:
        assert p.get_meta("model") == "sam_vit_b" and p.get_meta("nothing", "d") == "d"
        assert p.annotation(ann.id) == ann and p.label_classes() == [lab]
    with pytest.raises(ProjectError, match="closed"):
        p.image_count()


def test_read_only_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "p.samlabel"
    Project.create(path).close()
    with Project.open(path, read_only=True) as ro:
        assert ro.read_only and ro.label_classes() == []
        with pytest.raises(ReadOnlyProject, match="read-only"):
            ro.add_label_class("cat")
        with pytest.raises(ReadOnlyProject):
            ro.set_meta("k", "v")


def test_non_project_files_are_refused_untouched(tmp_path: Path) -> None:
    text = tmp_path / "notes.samlabel"
    text.write_bytes(b"just some text, not a database\n" * 10)
    empty = tmp_path / "empty.samlabel"
    empty.write_bytes(b"")
    other = tmp_path / "other.samlabel"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    conn.close()
    for path, message in ((text, "not an SQLite database"), (empty, "empty"), (other, "not a SAM Labeler project")):
        before = path.read_bytes()
        for ro in (False, True):
            with pytest.raises(ProjectError, match=message):
                Project.open(path, read_only=ro)
        assert path.read_bytes() == before
        assert not Path(str(path) + ".lock").exists()
    with pytest.raises(ProjectError, match="does not exist"):
        Project.open(tmp_path / "missing.samlabel")


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "p.samlabel"
    with Project.create(path) as p:
        p.add_label_class("cat")
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema_version() + 1}")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    for ro in (False, True):
        with pytest.raises(ProjectError, match="newer SAM Labeler"):
            Project.open(path, read_only=ro)
    assert path.read_bytes() == before


def test_truncated_project_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "p.samlabel"
    with Project.create(path) as p:
        lab = p.add_label_class("x")
        p.bulk_insert_images(ImageRecord(id=0, path=f"{i}.png", width=9, height=9) for i in range(200))
        p.bulk_insert_annotations(_ann(img.id, lab.id) for img in p.images())
    broken = tmp_path / "broken.samlabel"
    broken.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    before = broken.read_bytes()
    for ro in (True, False):
        with pytest.raises(ProjectError, match="malformed"):
            Project.open(broken, read_only=ro)
    assert broken.read_bytes() == before


def test_unusual_characters_in_the_project_path(tmp_path: Path) -> None:
    folder = tmp_path / "we ird #% dir"
    folder.mkdir()
    path = folder / "a b#%&.samlabel"
    with Project.create(path) as p:
        p.add_label_class("x")
    with Project.open(path, read_only=True) as ro:
        assert [lc.name for lc in ro.label_classes()] == ["x"]
