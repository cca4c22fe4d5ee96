"""`sam-labeler export` / `sam-labeler import` end to end: round trips, read-only fallback,
default project location, one-line errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from app.core.geometry import annotation_mask
from app.core.project import Project
from tests.core.formats_support import build_project

ROOT = Path(__file__).resolve().parents[2]


def _all_masks(path: Path) -> list[tuple[str, str, np.ndarray]]:
    with Project.open(path, read_only=True) as p:
        names = {lc.id: lc.name for lc in p.label_classes()}
        out = []
        for rec in p.images():
            for a in p.annotations(rec.id):
                out.append((Path(rec.path).name, names[a.label_id], annotation_mask(a, rec.height, rec.width)))
        return out


@pytest.mark.parametrize("fmt, masks", [("coco", "auto"), ("labelme", "mask")])
def test_export_then_import_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture, fmt: str, masks: str) -> None:
    project, _ = build_project(tmp_path / "src")
    project.close()
    src = tmp_path / "src" / "proj.samlabel"
    out = tmp_path / "out" / ("c.json" if fmt == "coco" else "labels")
    assert main(["export", str(src), "--format", fmt, "--out", str(out), "--masks", masks]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("Exported 9 annotation(s) on 2 image(s)")
    last = captured.err.strip().splitlines()[-1]  # the progress line (stderr is not a terminal here)
    assert last == ("exporting coco: 9/9" if fmt == "coco" else "exporting labelme: 2/2")  # annotations, images
    dst = tmp_path / "dst.samlabel"
    assert main(["import", str(out), "--format", fmt, "--project", str(dst)]) == 0
    captured = capsys.readouterr()
    assert "Imported 9 annotation(s) on 2 image(s)" in captured.out and f"Created the project {dst}" in captured.out
    before, after = _all_masks(src), _all_masks(dst)
    assert [(a, b) for a, b, _ in before] == [(a, b) for a, b, _ in after]
    assert all((m1 == m2).all() for (_, _, m1), (_, _, m2) in zip(before, after))


def test_locked_project_is_exported_read_only(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    project, _ = build_project(tmp_path)  # stays open: holds the single-instance lock
    try:
        assert main(["export", str(project.path), "--format", "coco", "--masks", "rle"]) == 0
        captured = capsys.readouterr()
        assert "read-only" in captured.err
        data = json.loads((tmp_path / "proj.coco.json").read_text(encoding="ascii"))
        assert len(data["annotations"]) == 9
        assert all(isinstance(a["segmentation"], dict) for a in data["annotations"])
    finally:
        project.close()


def test_export_prints_one_line_per_kind_of_change(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from app.core.model import Annotation

    project, _ = build_project(tmp_path)
    with project:
        img, label = project.images()[0].id, project.label_classes()[0].id
        for shape, points in (("line", ((1.0, 1.0), (4.0, 4.0))), ("point", ((2.0, 2.0),))):
            project.add_annotation(Annotation(img, label, (), shape=shape, points=points))
    assert main(["export", str(project.path), "--format", "coco"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Exported 9 annotation(s)")
    assert lines[1] == "note: 2 line shape(s) (point/line/linestrip) not in COCO"


def test_import_creates_the_default_project_and_reports_skips(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    project, _ = build_project(tmp_path / "photos")
    project.close()
    labels = tmp_path / "labels"
    assert main(["export", str(tmp_path / "photos" / "proj.samlabel"), "--format", "labelme", "--out",
                 str(labels)]) == 0
    (labels / "notes.json").write_text("[1, 2]", encoding="utf-8")
    capsys.readouterr()
    assert main(["import", str(labels), "--format", "labelme", "--images", str(tmp_path / "photos")]) == 0
    out = capsys.readouterr().out
    expected = tmp_path / "photos" / "photos.samlabel"
    assert expected.is_file() and f"Created the project {expected}" in out
    assert f"skipped {labels / 'notes.json'}: it is not a LabelMe file" in out
    with Project.open(expected, read_only=True) as p:
        assert p.annotation_count() == 9 and {i.path for i in p.images()} == {"a.png", "sub/b.jpg"}


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_user_errors_are_one_line_and_leave_nothing_behind(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    res = _cli("import", str(tmp_path / "missing.json"), "--format", "coco", "--project",
               str(tmp_path / "p.samlabel"), cwd=tmp_path)  # a real process: exit code and stderr
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stderr.strip().count("\n") == 0 and "missing.json does not exist" in res.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"shapes": 3}', encoding="utf-8")
    assert main(["import", str(bad), "--format", "coco", "--project", str(tmp_path / "p.samlabel")]) == 1
    err = capsys.readouterr().err
    assert "is not a COCO file" in err and err.strip().splitlines()[-1].startswith("sam-labeler: error:")
    assert not (tmp_path / "p.samlabel").exists()  # the project this command created is removed again
    assert main(["export", str(bad), "--format", "coco"]) == 1
    assert "not a SAM Labeler project" in capsys.readouterr().err
