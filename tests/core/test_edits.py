"""Undoable edits: each edit's apply/revert/redo, atomicity, and a property test over random sequences."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.edits import (AddAnnotation, AddLabelClass, CompoundEdit, DeleteAnnotation, DeleteLabelClass, Edit,
                            MoveLabelClass, RecolorLabelClass, Relabel, RenameLabelClass, Reorder, SetGeometry,
                            SetGroup, SetImageStatus)
from app.core.errors import CoreError
from app.core.model import Annotation, Part
from app.core.project import Project

TRI = Part(exterior=((0.0, 0.0), (8.0, 0.0), (0.0, 8.0)))
QUAD = Part(exterior=((1.5, 1.5), (6.25, 1.5), (6.25, 7.1), (1.5, 7.1)), holes=(((2.0, 2.0), (3.0, 2.0), (2.5, 3.0)),))


def dump(project: Project) -> tuple:
    """Everything an edit may touch: label classes, images (status), annotations (all fields)."""
    anns = sorted(project.iter_annotations(), key=lambda a: a.id)
    return (project.label_classes(), project.images(),
            [(a, a.extra) for a in anns])  # extra is excluded from Annotation equality


def _setup(path: Path) -> Project:
    p = Project.create(path)
    cat = p.add_label_class("cat")
    dog = p.add_label_class("dog")
    imgs = [p.add_image(f"{i}.png") for i in range(3)]
    p.add_annotation(Annotation(image_id=imgs[0].id, label_id=cat.id, parts=(TRI,), z=1))
    p.add_annotation(Annotation(image_id=imgs[0].id, label_id=dog.id, parts=(QUAD,), group_id=4,
                                rle={"size": [10, 10], "counts": "0123"}, source="sam", score=0.5))
    p.add_annotation(Annotation(image_id=imgs[1].id, label_id=cat.id, parts=(QUAD, TRI), extra={"a": 1}))
    p.set_image_status(imgs[1].id, "done")
    return p


@pytest.fixture
def project(tmp_path: Path) -> Project:
    p = _setup(tmp_path / "e.samlabel")
    yield p
    p.close()


def _roundtrip(project: Project, edit: Edit) -> tuple:
    """apply, revert, apply: check exact states; return the state after apply."""
    start = dump(project)
    edit.apply(project)
    after = dump(project)
    assert after != start, f"{edit.text} changed nothing"
    edit.revert(project)
    assert dump(project) == start
    edit.apply(project)
    assert dump(project) == after
    return after


def test_add_annotation_reuses_id_and_restores_new_status(project: Project) -> None:
    img = project.images()[2]
    edit = AddAnnotation(Annotation(image_id=img.id, label_id=1, parts=(TRI,)))
    _roundtrip(project, edit)
    assert edit.annotation_id is not None and project.annotation(edit.annotation_id) == edit.annotation
    assert project.image(img.id).status == "in_progress"
    edit.revert(project)
    assert project.image(img.id).status == "new"


@pytest.mark.parametrize("make", [
    lambda: DeleteAnnotation(2),
    lambda: SetGeometry(1, [QUAD], {"size": [9, 9], "counts": "xyz"}),
    lambda: Relabel(1, 2),
    lambda: SetGroup(2, None),
    lambda: Reorder(3, -5),
    lambda: AddLabelClass("bird", "#abcdef"),
    lambda: RenameLabelClass(1, "kitty"),
    lambda: RecolorLabelClass(2, "#000000"),
    lambda: MoveLabelClass(2, 0),
    lambda: DeleteLabelClass(1),
    lambda: SetImageStatus(3, "done"),
    lambda: CompoundEdit("several", [Relabel(1, 2), DeleteAnnotation(3), SetImageStatus(1, "done")]),
])
def test_each_edit_round_trips_exactly(project: Project, make) -> None:
    _roundtrip(project, make())


def test_delete_annotation_revert_keeps_a_manually_set_status(project: Project) -> None:
    project.set_image_status(1, "new")  # the user reset an annotated image to "new"
    for edit in (DeleteAnnotation(1), DeleteLabelClass(2)):
        _roundtrip(project, edit)
        edit.revert(project)
        assert project.image(1).status == "new"


def test_delete_label_class_removes_and_restores_its_annotations(project: Project) -> None:
    edit = DeleteLabelClass(1)
    edit.apply(project)
    assert project.label_by_name("cat") is None and project.annotation_count() == 1
    edit.revert(project)
    assert project.label_by_name("cat").id == 1 and project.annotation_count() == 3
    assert project.annotation(3).extra == {"a": 1}


def test_change_edits_bump_updated_once(project: Project) -> None:
    before = project.annotation(1)
    edit = Relabel(1, 2)
    edit.apply(project)
    after = project.annotation(1)
    assert after.label_id == 2 and after.created == before.created and after.updated >= before.updated


def test_failing_edit_changes_nothing(project: Project) -> None:
    start = dump(project)
    for bad in (RenameLabelClass(1, "dog"), Relabel(1, 99), SetImageStatus(1, "lost"), DeleteAnnotation(99),
                CompoundEdit("half", [SetGroup(1, 9), Relabel(2, 99)])):
        with pytest.raises((ValueError, CoreError)):
            bad.apply(project)
        assert dump(project) == start


def test_revert_before_apply_is_an_error(project: Project) -> None:
    with pytest.raises(RuntimeError, match="reverted before it was applied"):
        DeleteAnnotation(1).revert(project)


# ---------------------------------------------------------------- property test
COORD = st.floats(min_value=-50, max_value=5000, allow_nan=False, allow_infinity=False)
RING = st.lists(st.tuples(COORD, COORD), min_size=3, max_size=6).map(tuple)
PART = st.builds(Part, exterior=RING, holes=st.lists(RING, max_size=1).map(tuple))
PARTS = st.lists(PART, min_size=1, max_size=2).map(tuple)
RLE = st.one_of(st.none(), st.builds(lambda h, w, c: {"size": [h, w], "counts": c},
                                     st.integers(1, 50), st.integers(1, 50), st.text("0123abcXYZ", min_size=1)))
NAMES = st.sampled_from(["cat", "dog", "bird", "fish", "car", "tree"])
COLORS = st.sampled_from(["#ff0000", "#00ff00", "#0000ff", "#123abc"])
STATUSES = st.sampled_from(["new", "in_progress", "done"])


def _draw_edit(data: st.DataObject, p: Project, allow_compound: bool = True) -> Edit | None:
    labels = [lc.id for lc in p.label_classes()]
    images = [r.id for r in p.images()]
    anns = [a.id for a in p.iter_annotations()]
    kinds = ["add_label", "status"] + (["rename", "recolor", "move", "del_label"] if labels else [])
    kinds += ["add_ann"] if labels else []
    kinds += ["del_ann", "geom", "group", "z"] if anns else []
    kinds += ["relabel"] if anns and labels else []
    kinds += ["compound"] if allow_compound else []
    kind = data.draw(st.sampled_from(kinds))
    pick = lambda xs: data.draw(st.sampled_from(xs))  # noqa: E731
    if kind == "add_label":
        return AddLabelClass(data.draw(NAMES), data.draw(st.one_of(st.none(), COLORS)))
    if kind == "status":
        return SetImageStatus(pick(images), data.draw(STATUSES))
    if kind == "rename":
        return RenameLabelClass(pick(labels), data.draw(NAMES))
    if kind == "recolor":
        return RecolorLabelClass(pick(labels), data.draw(COLORS))
    if kind == "move":
        return MoveLabelClass(pick(labels), data.draw(st.integers(0, len(labels))))
    if kind == "del_label":
        return DeleteLabelClass(pick(labels))
    if kind == "add_ann":
        return AddAnnotation(Annotation(image_id=pick(images), label_id=pick(labels), parts=data.draw(PARTS),
                                        rle=data.draw(RLE), z=data.draw(st.integers(-3, 3)),
                                        group_id=data.draw(st.one_of(st.none(), st.integers(0, 5)))))
    if kind == "del_ann":
        return DeleteAnnotation(pick(anns))
    if kind == "geom":
        return SetGeometry(pick(anns), data.draw(PARTS), data.draw(RLE))
    if kind == "group":
        return SetGroup(pick(anns), data.draw(st.one_of(st.none(), st.integers(0, 5))))
    if kind == "z":
        return Reorder(pick(anns), data.draw(st.integers(-3, 3)))
    if kind == "relabel":
        return Relabel(pick(anns), pick(labels))
    subs = [e for e in (_draw_edit(data, p, False), _draw_edit(data, p, False)) if e is not None]
    return CompoundEdit("compound", subs)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_edit_sequences_undo_and_redo_exactly(data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p = _setup(Path(tmp) / "prop.samlabel")
        try:
            start = dump(p)
            applied: list[Edit] = []
            for _ in range(data.draw(st.integers(1, 10), label="length")):
                edit = _draw_edit(data, p)
                before = dump(p)
                try:
                    edit.apply(p)
                except (ValueError, CoreError):
                    assert dump(p) == before  # a refused edit (e.g. duplicate name) changes nothing
                    continue
                applied.append(edit)
            after = dump(p)
            for edit in reversed(applied):
                edit.revert(p)
            assert dump(p) == start
            for edit in applied:
                edit.apply(p)
            assert dump(p) == after
            assert p.integrity_check() == "ok"
        finally:
            p.close()
