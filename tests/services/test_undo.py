"""UndoService over a real Project with the core edits: push/undo/redo, signal order, failures."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.core.edits import AddAnnotation, AddLabelClass, DeleteAnnotation, Relabel
from app.core.model import Annotation, Part
from app.core.project import Project
from app.services.undo import UndoService

SQUARE = (Part(exterior=((1.0, 1.0), (9.0, 1.0), (9.0, 9.0), (1.0, 9.0))),)


@pytest.fixture
def project(tmp_path: Path):
    p = Project.create(tmp_path / "t.samlabel")
    p.add_image("a.png", 20, 20)
    yield p
    p.close()


def _record(svc: UndoService) -> list:
    seen: list = []
    svc.projectChanged.connect(seen.append)
    return seen


def test_push_undo_redo_and_signal_order(qtbot, project: Project) -> None:
    svc = UndoService()
    svc.set_project(project)
    seen = _record(svc)
    add_cls = AddLabelClass("cat", "#ff0000")
    assert svc.push(add_cls)
    cat = project.label_by_name("cat")
    assert cat is not None
    img = project.images()[0].id
    add = AddAnnotation(Annotation(image_id=img, label_id=cat.id, parts=SQUARE))
    assert svc.push(add)
    ann_id = add.annotation_id
    assert ann_id is not None and [a.id for a in project.annotations(img)] == [ann_id]
    assert svc.push(AddLabelClass("dog", "#00ff00"))
    relabel = Relabel(ann_id, project.label_by_name("dog").id)
    assert svc.push(relabel)
    assert project.annotation(ann_id).label_id == project.label_by_name("dog").id
    assert svc.stack.count() == 4 and svc.stack.undoText() == relabel.text

    svc.undo()
    assert project.annotation(ann_id).label_id == cat.id
    svc.undo()
    svc.undo()
    assert project.annotations(img) == [] and project.label_by_name("dog") is None
    svc.redo()
    assert [a.id for a in project.annotations(img)] == [ann_id]  # redo reuses the id
    assert seen[0] is add_cls and seen[1] is add and seen[3] is relabel
    # after the 4 pushes: undo relabel, undo dog, undo add, redo add — in that order
    assert [type(e).__name__ for e in seen[4:]] == ["Relabel", "AddLabelClass", "AddAnnotation", "AddAnnotation"]
    assert svc.stack.index() == 2


def test_failing_apply_reports_and_stays_off_the_stack(qtbot, project: Project) -> None:
    svc = UndoService()
    svc.set_project(project)
    seen = _record(svc)
    with qtbot.waitSignal(svc.failed, timeout=1000) as blocker:
        assert svc.push(DeleteAnnotation(12345)) is False
    assert "Delete annotation failed" in blocker.args[0]
    assert svc.stack.count() == 0 and seen == []
    assert svc.push(AddLabelClass("cat"))
    with qtbot.waitSignal(svc.failed, timeout=1000):
        assert svc.push(AddLabelClass("cat")) is False  # duplicate name refused by the project
    assert svc.stack.count() == 1 and len(project.label_classes()) == 1


def test_failing_undo_is_reported_and_dropped(qtbot, project: Project) -> None:
    svc = UndoService()
    svc.set_project(project)
    add = AddLabelClass("cat")
    assert svc.push(add)
    img = project.images()[0].id
    # an annotation added behind the service's back makes the class undeletable
    project.add_annotation(Annotation(image_id=img, label_id=add.label_class.id, parts=SQUARE))
    with qtbot.waitSignal(svc.failed, timeout=1000) as blocker:
        svc.undo()
    assert blocker.args[0].startswith("Undo of ")
    assert project.label_by_name("cat") is not None
    assert svc.stack.count() == 0  # the obsolete command left the stack


def test_set_project_clears_and_no_project_refuses(qtbot, project: Project) -> None:
    svc = UndoService()
    with qtbot.waitSignal(svc.failed, timeout=1000) as blocker:
        assert svc.push(AddLabelClass("cat")) is False
    assert "No project" in blocker.args[0]
    svc.set_project(project)
    assert svc.push(AddLabelClass("cat"))
    assert svc.stack.canUndo()
    svc.set_project(None)
    assert svc.stack.count() == 0 and not svc.stack.canUndo()
