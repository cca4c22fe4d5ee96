"""Per-label-class flag/attribute schema (app.core.attributes), its storage (schema version 5),
undoable edits, defaults of new annotations, relabel, and the project's image flags."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.core import attributes as at
from app.core import edits, schema
from app.core.image_edits import SetImageFlagNames, SetImageFlags
from app.core.model import Annotation, ImageRecord, Part
from app.core.project import Project

SQUARE = (Part(((1.0, 1.0), (8.0, 1.0), (8.0, 8.0), (1.0, 8.0))),)
SCHEMA = (at.spec("occluded", "flag", True), at.spec("note", "text", "n/a"),
          at.spec("count", "number", 2), at.spec("colour", "choice", "red", ("red", "blue")))


@pytest.fixture()
def project(tmp_path: Path) -> Project:
    p = Project.create(tmp_path / "p.samlabel")
    p.bulk_insert_images([ImageRecord(0, "a.png", 10, 10), ImageRecord(0, "b.png", 10, 10)])
    yield p
    p.close()


def test_spec_checks_kinds_defaults_and_options() -> None:
    assert at.spec("x", "number").default == 0 and at.spec("x", "flag").default is False
    assert at.spec("x", "choice", None, ["a", "b"]).default == ""
    for bad in (lambda: at.spec("", "flag"), lambda: at.spec("x", "colour"),
                lambda: at.spec("x", "flag", "yes"), lambda: at.spec("x", "number", float("nan")),
                lambda: at.spec("x", "number", True), lambda: at.spec("x", "choice", "c", ["a", "b"]),
                lambda: at.spec("x", "choice"), lambda: at.spec("x", "text", options=["a"]),
                lambda: at.spec("x", "choice", options=["a", "a"])):
        with pytest.raises(ValueError):
            bad()
    with pytest.raises(ValueError, match="used twice"):
        at.check_schema([at.spec("x", "flag"), at.spec("x", "text")])


def test_schema_json_round_trip_and_damaged_text() -> None:
    assert at.from_json(at.to_json(SCHEMA)) == SCHEMA
    assert at.schema_of_text(at.schema_text(SCHEMA)) == SCHEMA
    assert at.schema_of_text('[{"name": 3}]') == () and at.schema_of_text("not json") == ()
    with pytest.raises(ValueError):
        at.from_json({"name": "x"})


def test_with_defaults_adds_only_missing_names() -> None:
    flags, attrs = at.with_defaults({"occluded": False, "mine": True}, {"note": "kept", "other": 1}, SCHEMA)
    assert flags == {"occluded": False, "mine": True}
    assert attrs == {"note": "kept", "other": 1, "count": 2, "colour": "red"}


def test_schema_stored_undoable_and_survives_reopen(project: Project, tmp_path: Path) -> None:
    lc = project.add_label_class("car")
    assert lc.attributes == ()
    edit = edits.SetLabelAttributes(lc.id, SCHEMA)
    edit.apply(project)
    assert project.label_class(lc.id).attributes == SCHEMA
    edit.revert(project)
    assert project.label_class(lc.id).attributes == ()
    edit.apply(project)
    project.close()
    with Project.open(tmp_path / "p.samlabel") as again:
        assert again.label_class(lc.id).attributes == SCHEMA
        assert again.conn.execute("PRAGMA user_version").fetchone()[0] == 5


def test_invalid_schema_is_refused_before_any_write(project: Project) -> None:
    lc = project.add_label_class("car")
    bad = (at.AttributeSpec("x", "flag", "yes"),)
    with pytest.raises(ValueError):
        edits.SetLabelAttributes(lc.id, bad)
    with pytest.raises(ValueError):
        project.update_label_class(lc.__class__(lc.id, lc.name, lc.color, lc.order, attributes=bad))
    assert project.label_class(lc.id).attributes == ()


def test_deleted_class_comes_back_with_its_schema(project: Project) -> None:
    lc = project.add_label_class("car", attributes=SCHEMA)
    project.add_annotation(Annotation(1, lc.id, SQUARE))
    edit = edits.DeleteLabelClass(lc.id)
    edit.apply(project)
    edit.revert(project)
    assert project.label_class(lc.id).attributes == SCHEMA


def test_new_annotation_gets_class_defaults_and_keeps_its_values(project: Project) -> None:
    lc = project.add_label_class("car", attributes=SCHEMA)
    edit = edits.AddAnnotation(Annotation(1, lc.id, SQUARE, attributes={"note": "mine", "extra": [1]}))
    edit.apply(project)
    stored = project.annotation(edit.annotation_id or 0)
    assert stored.flags == {"occluded": True}
    assert stored.attributes == {"note": "mine", "extra": [1], "count": 2, "colour": "red"}
    edit.revert(project)
    edit.apply(project)  # redo: the same row
    assert project.annotation(stored.id or 0) == stored


def test_relabel_keeps_values_and_adds_the_new_class_defaults(project: Project) -> None:
    a = project.add_label_class("a", attributes=(at.spec("note", "text", "from a"),))
    b = project.add_label_class("b", attributes=(at.spec("note", "text", "from b"), at.spec("big", "flag", True)))
    ann = project.add_annotation(Annotation(1, a.id, SQUARE, attributes={"note": "typed"}, flags={"x": False}))
    edit = edits.Relabel(ann.id or 0, b.id)
    edit.apply(project)
    moved = project.annotation(ann.id or 0)
    assert moved.label_id == b.id and moved.attributes == {"note": "typed"}
    assert moved.flags == {"x": False, "big": True}
    edit.revert(project)
    assert project.annotation(ann.id or 0) == ann
    edit.apply(project)
    assert project.annotation(ann.id or 0) == moved


def test_image_flags_and_declared_names_are_undoable(project: Project) -> None:
    names = SetImageFlagNames(["blurry", "night"])
    names.apply(project)
    flags = SetImageFlags(1, {"blurry": True, "night": False})
    flags.apply(project)
    project.set_image_flags(2, {"imported": True})
    assert project.image(1).flags == {"blurry": True, "night": False}
    assert project.image_flag_names() == ["blurry", "imported", "night"]
    flags.revert(project)
    names.revert(project)
    assert project.image(1).flags == {} and project.image_flag_names() == ["imported"]
    project.set_meta("image_flags", "{damaged")
    assert project.declared_image_flags() == [] and project.image_flag_names() == ["imported"]


def test_a_version_4_project_opens_and_gets_the_schema_column(tmp_path: Path) -> None:
    path = tmp_path / "old.samlabel"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    schema.migrate(conn, 0, schema.MIGRATIONS[:4])
    conn.execute("INSERT INTO label_class(name, color, ord) VALUES ('a', '#ff0000', 0)")
    conn.close()
    with Project.open(path) as p:
        assert p.conn.execute("PRAGMA user_version").fetchone()[0] == 5
        lc = p.label_by_name("a")
        assert lc is not None and lc.attributes == ()
        edits.SetLabelAttributes(lc.id, SCHEMA).apply(p)
        assert p.label_class(lc.id).attributes == SCHEMA


# ------------------------------------------------------------------ exports

def _labelled_project(tmp_path: Path) -> Project:
    from tests.core.formats_support import build_project

    src, _ = build_project(tmp_path)
    lc = src.label_classes()[0]
    src.update_label_class(lc.__class__(lc.id, lc.name, lc.color, lc.order, lc.extra, SCHEMA))
    ann = next(a for a in src.iter_annotations() if a.label_id == lc.id)
    src.update_annotation(ann.with_(group_id=7, description="left one", flags={"occluded": False},
                                    attributes={"colour": "blue", "count": 3, "unknown": [1, "x"]}))
    return src


def test_coco_writes_details_and_schema_and_reads_them_back(tmp_path: Path) -> None:
    import json

    from app.core.formats import export_coco, import_coco
    from tests.core.formats_support import validate_coco

    src = _labelled_project(tmp_path)
    lc = src.label_classes()[0]
    out = tmp_path / "exports" / "coco.json"
    export_coco(src, out)
    src.close()
    validate_coco(out)
    data = json.loads(out.read_text())
    cat = next(c for c in data["categories"] if c["name"] == lc.name)
    assert at.from_json(cat["attribute_schema"]) == SCHEMA
    mine = [a for a in data["annotations"] if "attributes" in a]
    assert len(mine) == 1 and mine[0]["group_id"] == 7 and mine[0]["description"] == "left one"
    assert mine[0]["flags"] == {"occluded": False}
    assert mine[0]["attributes"] == {"colour": "blue", "count": 3, "unknown": [1, "x"]}
    assert all("group_id" not in a for a in data["annotations"] if a is not mine[0])  # none written when unset
    with Project.create(tmp_path / "exports" / "copy.samlabel") as dst:
        import_coco(dst, out)
        got = dst.label_by_name(lc.name)
        assert got is not None and got.attributes == SCHEMA
        back = [a for a in dst.iter_annotations() if a.attributes]
        assert len(back) == 1 and back[0].group_id == 7 and back[0].description == "left one"
        assert back[0].flags == {"occluded": False} and back[0].attributes["unknown"] == [1, "x"]
        again = tmp_path / "exports" / "again.json"
        export_coco(dst, again)
        ann2 = [a for a in json.loads(again.read_text())["annotations"] if "attributes" in a]
        assert [{k: a[k] for k in ("group_id", "description", "flags", "attributes")} for a in ann2] == \
            [{k: mine[0][k] for k in ("group_id", "description", "flags", "attributes")}]


def test_coco_malformed_details_stay_unknown_keys(tmp_path: Path) -> None:
    import json

    from app.core.formats import export_coco, import_coco
    from tests.core.formats_support import build_project

    src, _ = build_project(tmp_path)
    out = tmp_path / "exports" / "coco.json"
    export_coco(src, out)
    src.close()
    data = json.loads(out.read_text())
    data["annotations"][0]["flags"] = ["not", "an", "object"]
    data["categories"][0]["attribute_schema"] = [{"name": "x", "kind": "???"}]
    out.write_text(json.dumps(data))
    with Project.create(tmp_path / "exports" / "copy.samlabel") as dst:
        import_coco(dst, out)
        assert all(not a.flags for a in dst.iter_annotations())
        again = tmp_path / "exports" / "again.json"
        export_coco(dst, again)
        back = json.loads(again.read_text())
        assert back["annotations"][0]["flags"] == ["not", "an", "object"]
        assert back["categories"][0]["attribute_schema"] == [{"name": "x", "kind": "???"}]


def test_labelme_writes_flags_attributes_and_image_flags(tmp_path: Path) -> None:
    import json

    from app.core.formats import export_labelme

    src = _labelled_project(tmp_path)
    rec = src.images()[0]
    SetImageFlags(rec.id, {"blurry": True}).apply(src)
    export_labelme(src, tmp_path / "lm")
    src.close()
    files = {p.name: json.loads(p.read_text()) for p in (tmp_path / "lm").rglob("*.json")}
    shapes = [s for d in files.values() for s in d["shapes"] if s.get("attributes")]
    assert len(shapes) == 1 and shapes[0]["flags"] == {"occluded": False} and shapes[0]["group_id"] == 7
    assert shapes[0]["attributes"] == {"colour": "blue", "count": 3, "unknown": [1, "x"]}
    assert any(d["flags"] == {"blurry": True} for d in files.values())
