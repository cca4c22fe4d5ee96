"""A project file outside its image folder (the GUI's default: beside the folder); image list queries
(row of an image, name filter, next image not done) and label counts."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.core.errors import ProjectError
from app.core.project import Project


def _images(folder: Path, names: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        Image.fromarray(np.zeros((8, 10, 3), np.uint8)).save(folder / name)
    return folder


def test_project_beside_the_folder_syncs_only_that_folder_and_leaves_it_untouched(tmp_path: Path) -> None:
    photos = _images(tmp_path / "photos", ["a.png", "b.png"])
    _images(tmp_path / "unrelated", ["x.png"])  # a sibling folder must not be scanned
    before = sorted(os.listdir(photos))
    target = tmp_path / "photos.samlabel"
    with Project.open_folder(photos, project_path=target) as proj:
        assert proj.path == target and proj.image_root == photos
        recs = proj.images()
        assert [r.path for r in recs] == ["photos/a.png", "photos/b.png"]
        assert proj.image_path(recs[0]) == photos / "a.png"
    assert sorted(os.listdir(photos)) == before  # no project, WAL or lock file in the image folder
    assert not (tmp_path / "photos.samlabel.lock").exists()
    _images(photos, ["c.png"])
    (photos / "a.png").unlink()
    with Project.open_folder(photos, project_path=target) as proj:  # reopen: new image added, one missing
        assert {r.path: r.missing for r in proj.images()} == {"photos/a.png": True, "photos/b.png": False,
                                                               "photos/c.png": False}


def test_project_far_from_its_folder_and_refusal_of_another_folders_project(tmp_path: Path) -> None:
    photos = _images(tmp_path / "data" / "photos", ["a.png"])
    (tmp_path / "projects").mkdir()
    target = tmp_path / "projects" / "p.samlabel"
    with Project.open_folder(photos, project_path=target) as proj:
        assert [r.path for r in proj.images()] == ["../data/photos/a.png"]
        assert proj.image_root == photos
    other = _images(tmp_path / "other", ["z.png"])
    with pytest.raises(ProjectError, match="project of the image folder"):
        Project.open_folder(other, project_path=target)
    with Project.open(target) as proj:  # the refused open left it intact and unlocked
        assert proj.image_count() == 1


def test_default_location_stays_inside_the_folder(tmp_path: Path) -> None:
    photos = _images(tmp_path / "photos", ["a.png"])
    with Project.open_folder(photos) as proj:
        assert proj.path == photos / "photos.samlabel" and proj.image_root == photos
        assert [r.path for r in proj.images()] == ["a.png"]


def test_image_row_and_label_counts(tmp_path: Path) -> None:
    from app.core.model import Annotation, Part

    photos = _images(tmp_path / "photos", ["c.png", "a.png", "b.png"])
    with Project.open_folder(photos) as proj:
        recs = {r.path: r for r in proj.images()}
        assert [proj.image_row(recs[n].id) for n in ("a.png", "b.png", "c.png")] == [0, 1, 2]
        proj.set_image_status(recs["c.png"].id, "done")
        assert proj.image_row(recs["c.png"].id, "done") == 0 and proj.image_row(recs["a.png"].id, "done") == -1
        cat, dog = proj.add_label_class("cat"), proj.add_label_class("dog")
        square = (Part(((1.0, 1.0), (5.0, 1.0), (5.0, 5.0), (1.0, 5.0))),)
        for image, label in (("a.png", cat), ("a.png", cat), ("a.png", dog), ("b.png", cat)):
            proj.add_annotation(Annotation(recs[image].id, label.id, square))
        assert proj.label_counts() == {cat.id: 3, dog.id: 1}
        assert proj.label_counts(recs["a.png"].id) == {cat.id: 2, dog.id: 1}
        assert proj.label_counts(recs["c.png"].id) == {}


def test_name_filter_and_next_image_not_done(tmp_path: Path) -> None:
    photos = _images(tmp_path / "photos", ["cat_1.png", "dog_1.png", "cat_2.png", "x%_y.png", "xa_y.png"])
    with Project.open_folder(photos) as proj:
        assert [r.path for r in proj.images(name="CAT")] == ["cat_1.png", "cat_2.png"]
        assert proj.image_count(name="cat") == 2 and proj.image_count("new", "dog") == 1
        assert [r.path for r in proj.images(name="%_")] == ["x%_y.png"]  # LIKE wildcards are literal
        assert [r.path for r in proj.images(1, 5, name="cat")] == ["cat_2.png"]
        recs = {r.path: r for r in proj.images()}
        assert proj.image_row(recs["cat_2.png"].id, name="cat") == 1
        assert proj.image_row(recs["dog_1.png"].id, name="cat") == -1
        for name in ("cat_2.png", "dog_1.png"):
            proj.set_image_status(recs[name].id, "done")
        assert proj.next_image_not_done("cat_1.png").path == "x%_y.png"  # cat_2, dog_1 are done
        assert proj.next_image_not_done("xa_y.png").path == "cat_1.png"  # wraps around
        for rec in proj.images():
            proj.set_image_status(rec.id, "done")
        assert proj.next_image_not_done("cat_1.png") is None
