"""The "to review" state of auto-labeled images (app.automation.review) and its undoable edit."""
from __future__ import annotations

from pathlib import Path

from app.automation.review import mark_reviewed, needs_review, pending_modes
from app.core.image_edits import SetImageExtra
from app.core.project import Project


def test_marks_from_a_batch_run_need_review_until_marked() -> None:
    assert not needs_review({}) and not needs_review({"coco": {"id": 3}})
    assert not needs_review({"autolabel": "garbage"})
    extra = {"autolabel": {"boxes": {"settings": {"model": "m"}, "annotations": 2, "time": 5.0}}, "coco": {"id": 3}}
    assert needs_review(extra) and pending_modes(extra) == ["boxes"]
    done = mark_reviewed(extra, when=10.0)
    assert not needs_review(done) and pending_modes(done) == []
    assert done["autolabel"]["boxes"] == {"settings": {"model": "m"}, "annotations": 2, "time": 5.0, "reviewed": 10.0}
    assert done["coco"] == {"id": 3}
    assert "reviewed" not in extra["autolabel"]["boxes"]  # the input is not changed
    # a later run of another mode writes a fresh mark: to review again, the old review kept
    again = dict(done, autolabel=dict(done["autolabel"], everything={"settings": {}, "annotations": 0, "time": 11.0}))
    assert needs_review(again) and pending_modes(again) == ["everything"]
    assert mark_reviewed(again, when=12.0)["autolabel"]["boxes"]["reviewed"] == 10.0
    assert mark_reviewed({"coco": 1}) == {"coco": 1}


def test_set_image_extra_is_undoable(tmp_path: Path) -> None:
    project = Project.create(tmp_path / "p.samlabel")
    rec = project.add_image("a.png", 4, 3)
    before = {"autolabel": {"everything": {"settings": {}, "annotations": 1, "time": 1.0}}}
    project.set_image_extra(rec.id, before)
    edit = SetImageExtra(rec.id, mark_reviewed(before, when=2.0))
    edit.apply(project)
    assert not needs_review(project.image(rec.id).extra)
    edit.revert(project)
    assert project.image(rec.id).extra == before
    edit.apply(project)  # redo
    assert project.image(rec.id).extra["autolabel"]["everything"]["reviewed"] == 2.0


def test_the_store_filter_agrees_with_needs_review(tmp_path: Path) -> None:
    from app.core.model import ImageRecord
    from app.core.project_images import TO_REVIEW

    mark = {"settings": {}, "annotations": 1, "time": 1.0}
    extras = [{}, {"coco": {"id": 1}}, {"autolabel": {"boxes": mark}}, {"autolabel": "text"},
              {"autolabel": {"boxes": dict(mark, reviewed=3.0)}},
              {"autolabel": {"boxes": dict(mark, reviewed=3.0), "everything": mark}},
              {"autolabel": {"boxes": dict(mark, reviewed=None)}}, {"autolabel": {}}]
    project = Project.create(tmp_path / "p.samlabel")
    project.bulk_insert_images(ImageRecord(0, f"{k}.png", 4, 3, extra=e) for k, e in enumerate(extras))
    expected = [f"{k}.png" for k, e in enumerate(extras) if needs_review(e)]
    assert expected == ["2.png", "5.png", "6.png"]
    assert [r.path for r in project.images(status=TO_REVIEW)] == expected
    assert project.image_count(TO_REVIEW) == 3
    assert [r.path for r in project.images(1, 5, status=TO_REVIEW)] == expected[1:]
