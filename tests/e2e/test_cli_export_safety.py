"""Issue 8, export side: outputs that must never be written (defect 1), file modes (defect 8),
read-only projects (defect 4) and leftovers of killed exports (defect 10)."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.core.project import Project
from tests.core.formats_support import build_project
from tests.unprivileged import ROOT, one_error_line, run_app

posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs, symlinks to devices and modes are POSIX")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def project_file(tmp_path: Path) -> Path:
    project, _ = build_project(tmp_path)
    project.close()
    return project.path


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("sam-labeler: error:")]
    assert len(lines) == 1, err
    return lines[0]


# ------------------------------------------------------------------ defect 1: refused outputs
@pytest.mark.parametrize("fmt", ["coco"])
def test_export_refuses_to_write_over_the_project(project_file: Path, capsys: pytest.CaptureFixture[str],
                                                  fmt: str) -> None:
    before = _digest(project_file)
    assert main(["export", str(project_file), "--format", fmt, "--out", str(project_file)]) == 1
    line = _error_line(capsys)
    assert line == (f"sam-labeler: error: {project_file} is the project file itself; refusing to write over it "
                    "(choose another output).")
    assert _digest(project_file) == before
    with Project.open(project_file, read_only=True) as p:
        assert p.annotation_count() == 9


@pytest.mark.parametrize("suffix, what", [("-wal", "the project's write-ahead log"),
                                          (".lock", "the project's lock file"),
                                          ("-shm", "the project's shared-memory index")])
def test_export_refuses_the_project_side_files(project_file: Path, capsys: pytest.CaptureFixture[str],
                                               suffix: str, what: str) -> None:
    side = Path(str(project_file) + suffix)
    assert main(["export", str(project_file), "--format", "coco", "--out", str(side)]) == 1
    assert f"{side} is {what}; refusing to write over it" in _error_line(capsys)
    assert not side.exists()


def test_export_refuses_to_write_over_an_image(project_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = project_file.parent / "a.png"
    before = _digest(image)
    assert main(["export", str(project_file), "--format", "coco", "--out", str(image)]) == 1
    assert _error_line(capsys) == (f"sam-labeler: error: {image} is an image of the project; refusing to write "
                                   "over it (choose another output).")
    assert _digest(image) == before


@posix_only
def test_export_refuses_the_project_under_another_name(project_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hard = project_file.parent / "copy.json"
    os.link(project_file, hard)
    before = _digest(project_file)
    assert main(["export", str(project_file), "--format", "coco", "--out", str(hard)]) == 1
    assert "is the project file itself" in _error_line(capsys)
    soft = project_file.parent / "link.json"
    soft.symlink_to(project_file)
    assert main(["export", str(project_file), "--format", "coco", "--out", str(soft)]) == 1
    assert "is the project file itself" in _error_line(capsys)
    assert _digest(project_file) == before and soft.is_symlink()


@posix_only
def test_export_refuses_a_fifo_and_a_link_to_a_device(project_file: Path) -> None:
    fifo = project_file.parent / "pipe.json"
    os.mkfifo(fifo)
    proc = run_app("export", str(project_file), "--format", "coco", "--out", str(fifo), timeout=60, restricted=False)
    assert proc.returncode == 1
    assert one_error_line(proc) == (f"sam-labeler: error: {fifo} is a FIFO (named pipe), not an ordinary file; "
                                    "it was not written.")
    link = project_file.parent / "null.json"
    link.symlink_to("/dev/null")
    proc = run_app("export", str(project_file), "--format", "coco", "--out", str(link), timeout=60, restricted=False)
    assert proc.returncode == 1
    assert one_error_line(proc) == (f"sam-labeler: error: {link} is a symbolic link to /dev/null, which is not an "
                                    "existing ordinary file; it was not written.")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and link.is_symlink()


@posix_only
def test_a_named_symlink_to_an_ordinary_file_is_written_through(project_file: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    real = tmp_path / "elsewhere" / "real.json"
    real.parent.mkdir()
    real.write_text("{}", encoding="utf-8")
    link = tmp_path / "out.json"
    link.symlink_to(real)
    assert main(["export", str(project_file), "--format", "coco", "--out", str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    data = json.loads(real.read_text(encoding="ascii"))
    assert len(data["annotations"]) == 9
    assert {i["file_name"] for i in data["images"]} == {"../a.png", "../sub/b.jpg"}  # relative to real.json


@posix_only
def test_labelme_skips_per_image_files_that_are_links_or_fifos(project_file: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    (project_file.parent / "a.json").symlink_to(victim)
    os.mkfifo(project_file.parent / "sub" / "b.json")
    proc = run_app("export", str(project_file), "--format", "labelme", timeout=60, restricted=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "Exported 0 annotation(s) on 0 image(s) as LabelMe to 0 files; 2 item(s) skipped."
    assert f"skipped a.png: {project_file.parent / 'a.json'} is a symbolic link; it was not written through." in lines
    assert (f"skipped sub/b.jpg: {project_file.parent / 'sub' / 'b.json'} is a FIFO (named pipe), not an ordinary "
            "file; it was not written.") in lines
    assert victim.read_text(encoding="utf-8") == "precious"


# ------------------------------------------------------------------ defect 8: modes
@posix_only
def test_exported_files_honour_the_umask_and_keep_a_replaced_files_mode(project_file: Path, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.json"
        assert main(["export", str(project_file), "--format", "coco", "--out", str(fresh)]) == 0
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        shared = tmp_path / "shared.json"
        shared.write_text("{}", encoding="utf-8")
        shared.chmod(0o664)
        assert main(["export", str(project_file), "--format", "coco", "--out", str(shared)]) == 0
        assert stat.S_IMODE(shared.stat().st_mode) == 0o664 and len(json.loads(shared.read_text())["annotations"]) == 9
        labels = tmp_path / "labels"
        assert main(["export", str(project_file), "--format", "labelme", "--out", str(labels)]) == 0
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in labels.rglob("*.json")}
        assert modes == {"a.json": 0o644, "b.json": 0o644}
        os.umask(0o077)
        private = tmp_path / "private.json"
        assert main(["export", str(project_file), "--format", "coco", "--out", str(private)]) == 0
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    finally:
        os.umask(old)


# ------------------------------------------------------------------ defect 10: leftovers of a killed export
@posix_only
def test_temporary_file_of_a_killed_export_is_removed_by_the_next_one(project_file: Path, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out" / "c.json"
    out.parent.mkdir()
    script = ("import os, signal, sys\n"
              "from app.core.formats.common import atomic_text_writer\n"
              "with atomic_text_writer(sys.argv[1]) as fh:\n"
              "    fh.write('{\"half\": ')\n"
              "    fh.flush()\n"
              "    os.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, "-c", script, str(out)], cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == -signal.SIGKILL
    left = [p.name for p in out.parent.iterdir()]
    assert len(left) == 1 and left[0].startswith(".c.json.")  # the killed writer's hidden temporary file
    unrelated = out.parent / ".c.json.notours.tmp"
    unrelated.write_text("someone else's", encoding="utf-8")
    assert main(["export", str(project_file), "--format", "coco", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.parent.iterdir()) == [".c.json.notours.tmp", "c.json"]


def test_export_leaves_no_lock_file(project_file: Path, tmp_path: Path) -> None:
    assert main(["export", str(project_file), "--format", "coco", "--out", str(tmp_path / "c.json")]) == 0
    assert sorted(p.name for p in project_file.parent.iterdir() if p.name.startswith("proj")) == ["proj.samlabel"]


# ------------------------------------------------------------------ defect 4: read-only projects
@posix_only
def test_export_of_a_read_only_project_file(project_file: Path, tmp_path: Path) -> None:
    before = sorted(p.name for p in project_file.parent.iterdir())
    project_file.chmod(0o444)
    out = tmp_path.parent / f"{tmp_path.name}-out" / "c.json"
    proc = run_app("export", str(project_file), "--format", "coco", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Exported 9 annotation(s) on 2 image(s) as COCO")
    assert len(json.loads(out.read_text(encoding="ascii"))["annotations"]) == 9
    assert sorted(p.name for p in project_file.parent.iterdir()) == before  # no -wal/-shm/.lock left beside it


@posix_only
def test_export_from_a_read_only_folder(project_file: Path, tmp_path: Path) -> None:
    folder = project_file.parent
    out = tmp_path.parent / f"{tmp_path.name}-out" / "labels"
    for p in folder.rglob("*"):
        p.chmod(0o555 if p.is_dir() else 0o444)
    folder.chmod(0o555)
    try:
        proc = run_app("export", str(project_file), "--format", "labelme", "--out", str(out))
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("Exported 9 annotation(s) on 2 image(s) as LabelMe")
        assert sorted(p.name for p in out.rglob("*.json")) == ["a.json", "b.json"]
        coco = run_app("export", str(project_file), "--format", "coco", "--out", str(out.parent / "c.json"))
        assert coco.returncode == 0, coco.stderr
    finally:
        folder.chmod(0o755)
        for p in folder.rglob("*"):
            p.chmod(0o755 if p.is_dir() else 0o644)


@posix_only
def test_read_only_folder_with_unmerged_log_is_refused_clearly(tmp_path: Path) -> None:
    project, _ = build_project(tmp_path / "p")
    project.conn.execute("PRAGMA wal_autocheckpoint = 0")
    project.add_label_class("late")  # committed to the WAL only
    folder = tmp_path / "frozen"
    folder.mkdir()
    for suffix in ("", "-wal"):  # what a crash leaves: the file and its log, no -shm index
        (folder / f"proj.samlabel{suffix}").write_bytes(Path(str(project.path) + suffix).read_bytes())
    project.close()
    folder.chmod(0o555)
    try:
        proc = run_app("export", str(folder / "proj.samlabel"), "--format", "coco", "--out", str(tmp_path / "c.json"))
    finally:
        folder.chmod(0o755)
    assert proc.returncode == 1
    line = one_error_line(proc)
    assert line.startswith(f"sam-labeler: error: {folder / 'proj.samlabel'} cannot be read in its read-only folder: "
                           "changes are still in its write-ahead log proj.samlabel-wal")
