"""The "to review" state of batch-labelled images (app.automation.review)."""
from __future__ import annotations

from pathlib import Path

from app.automation.review import mark_reviewed, needs_review, review_modes, set_reviewed
from app.core.image_edits import SetImageExtra
from app.core.project import Project


def test_needs_review_follows_the_marks() -> None:
    assert not needs_review({}) and not needs_review({"autolabel": "junk"}) and not needs_review({"labelme": {}})
    extra = {"labelme": {"flags": {}}, "autolabel": {"boxes": {"settings": {}, "annotations": 2, "time": 1.0},
                                                      "text": {"settings": {}, "annotations": 0, "time": 2.0}}}
    assert needs_review(extra) and review_modes(extra) == ["boxes"]  # nothing stored by text: nothing to review
    done = mark_reviewed(extra, when=5.0)
    assert not needs_review(done) and done["labelme"] == extra["labelme"]
    assert done["autolabel"]["boxes"] == {"settings": {}, "annotations": 2, "time": 1.0, "reviewed": 5.0}
    assert "reviewed" not in extra["autolabel"]["boxes"]  # the input is not changed
    # a fresh run of the mode writes a fresh mark: to review again
    again = {**done, "autolabel": {**done["autolabel"], "boxes": {"settings": {}, "annotations": 1, "time": 9.0}}}
    assert review_modes(again) == ["boxes"]
    assert mark_reviewed(done, when=7.0)["autolabel"]["boxes"]["reviewed"] == 5.0  # the first review is kept


def test_set_reviewed_in_a_project(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p.samlabel") as project:
        rec = project.add_image("a.png", 10, 10)
        assert not set_reviewed(project, rec.id)
        with project.transaction():
            project.set_image_extra(rec.id, {"autolabel": {"everything": {"annotations": 3, "time": 1.0}}})
        assert needs_review(project.image(rec.id).extra)
        assert set_reviewed(project, rec.id, when=2.0)
        assert not needs_review(project.image(rec.id).extra)
        assert project.image(rec.id).extra["autolabel"]["everything"]["reviewed"] == 2.0


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
              {"autolabel": {"boxes": dict(mark, reviewed=None)}}, {"autolabel": {}},
              {"autolabel": {"text": dict(mark, annotations=0)}}, {"autolabel": {"text": {"time": 1.0}}}]
    project = Project.create(tmp_path / "p.samlabel")
    project.bulk_insert_images(ImageRecord(0, f"{k}.png", 4, 3, extra=e) for k, e in enumerate(extras))
    expected = [f"{k}.png" for k, e in enumerate(extras) if needs_review(e)]
    assert expected == ["2.png", "5.png", "6.png"]
    assert [r.path for r in project.images(status=TO_REVIEW)] == expected
    assert project.image_count(TO_REVIEW) == 3
    assert [r.path for r in project.images(1, 5, status=TO_REVIEW)] == expected[1:]
