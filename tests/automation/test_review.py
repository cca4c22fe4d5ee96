"""The "to review" state of batch-labelled images (app.automation.review)."""
from __future__ import annotations

from pathlib import Path

from app.automation.review import mark_reviewed, needs_review, review_modes, set_reviewed
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
