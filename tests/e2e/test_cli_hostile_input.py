"""Issue 8: hostile or broken input on the command line gives one clear line and a non-zero exit
(defects 5, 7, 9), leftovers are cleaned (defect 10), `scan` keeps one line per image (defect 11),
and the dispatcher keeps tracebacks for genuine bugs only."""
from __future__ import annotations

import json
import os
import resource
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.cli import main
from app.core.project import Project
from tests.core.formats_support import build_project
from tests.unprivileged import ROOT, one_error_line

posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs and /dev/zero are POSIX")


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("sam-labeler")]
    assert len(lines) == 1, err
    return lines[0]


def _limited(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m app ARGS` with 3 GB of address space and a timeout: a reader that hangs on a FIFO or
    swallows /dev/zero fails the test instead of the machine."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limit, env=dict(os.environ, PYTHONPATH=str(ROOT), **(env or {})))


@pytest.fixture
def project_file(tmp_path: Path) -> Path:
    project, _ = build_project(tmp_path)
    project.close()
    return project.path


# ------------------------------------------------------------------ defect 5
def test_deeply_nested_json_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert main(["import", str(deep), "--format", "coco", "--project", str(tmp_path / "p.samlabel")]) == 1
    assert _error_line(capsys) == (f"sam-labeler: error: {deep} nests arrays/objects too deeply to be read (it is "
                                   "not an annotation file).")
    assert not (tmp_path / "p.samlabel").exists()


def _corrupt_table(path: Path, table: str) -> None:
    """Overwrite the root page of ``table`` with garbage (the damage a bad sector does)."""
    conn = sqlite3.connect(path)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(path, "r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(bytes([0xA5]) * page_size)


@pytest.mark.parametrize("fmt", ["coco", "labelme"])
def test_export_of_damaged_pages_is_one_line(project_file: Path, tmp_path: Path, fmt: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    _corrupt_table(project_file, "annotation")
    assert main(["export", str(project_file), "--format", fmt, "--out", str(tmp_path / "out.json")]) == 1
    line = _error_line(capsys)
    assert line.startswith(f"sam-labeler: error: {project_file} is damaged (database disk image is malformed); "
                           "restore it from a backup")


def test_scan_of_a_damaged_project_is_one_line(project_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _corrupt_table(project_file, "image")
    assert main(["scan", str(project_file)]) == 1
    assert f"{project_file} is damaged (database disk image is malformed)" in _error_line(capsys)


@pytest.mark.parametrize("version", [0, 2])
def test_file_with_only_the_marker_table_is_refused(tmp_path: Path, version: int,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "only.samlabel"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE samlabel_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO samlabel_meta VALUES ('application', 'sam-labeler')")
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    assert main(["export", str(path), "--format", "coco", "--out", str(tmp_path / "c.json")]) == 1
    expected = ("is damaged: it is marked as a project but has no project tables (schema version 0)." if version == 0
                else "is damaged: its table 'label_class' is missing.")
    assert _error_line(capsys) == f"sam-labeler: error: {path} {expected}"
    assert path.read_bytes() == before


@pytest.mark.parametrize("fmt", ["coco", "labelme"])
def test_annotation_whose_label_class_is_missing_is_skipped(project_file: Path, tmp_path: Path, fmt: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    conn = sqlite3.connect(project_file)  # foreign keys are off in a plain connection: the damage is possible
    label_id = conn.execute("SELECT id FROM label_class WHERE name = 'box'").fetchone()[0]
    ann_ids = [r[0] for r in conn.execute("SELECT id FROM annotation WHERE label_id = ? ORDER BY id", (label_id,))]
    conn.execute("DELETE FROM label_class WHERE id = ?", (label_id,))
    conn.commit()
    conn.close()
    assert len(ann_ids) == 2
    out = tmp_path / ("c.json" if fmt == "coco" else "labels")
    assert main(["export", str(project_file), "--format", fmt, "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Exported 7 annotation(s) on 2 image(s)") and "; 2 item(s) skipped." in lines[0]
    where = "" if fmt == "coco" else " (../../sub/b.jpg)"  # LabelMe names the imagePath of labels/sub/b.json
    assert lines[1:] == [f"skipped annotation {i}{where}: its label class (id {label_id}) is missing from the project"
                         for i in ann_ids]


# ------------------------------------------------------------------ defect 7
def _coco_of(tmp_path: Path, n: int) -> Path:
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / "img.png")
    anns = [{"id": i + 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 16.0, "bbox": [0, 0, 4, 4],
             "segmentation": [[float(i % 60), 0.0, i % 60 + 4.0, 0.0, i % 60 + 4.0, 4.0, float(i % 60), 4.0]]}
            for i in range(n)]
    src = tmp_path / "c.json"
    src.write_text(json.dumps({"images": [{"id": 1, "file_name": "img.png", "width": 64, "height": 64}],
                               "categories": [{"id": 1, "name": "thing"}], "annotations": anns}), encoding="utf-8")
    return src


def test_disk_full_during_import_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills up mid-import (simulated with SQLite's max_page_count, which fails a write
    exactly like a full disk: SQLITE_FULL, after which SQLite has rolled the transaction back)."""
    import app.core.project as project_module

    path = tmp_path / "p.samlabel"
    Project.create(path).close()
    real_connect = project_module.connect_rw

    def small_disk(p: Path) -> sqlite3.Connection:
        conn = real_connect(p)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + 4}")
        return conn

    monkeypatch.setattr(project_module, "connect_rw", small_disk)
    src = _coco_of(tmp_path, 3000)
    assert main(["import", str(src), "--format", "coco", "--project", str(path)]) == 1
    assert _error_line(capsys) == (f"sam-labeler: error: disk full: nothing was imported into {path}; free some "
                                   "space and run the import again.")
    monkeypatch.setattr(project_module, "connect_rw", real_connect)
    with Project.open(path) as p:
        assert p.annotation_count() == 0 and p.image_count() == 0 and p.label_classes() == []
        assert p.integrity_check() == "ok"


# ------------------------------------------------------------------ defect 9
@pytest.mark.parametrize("kind", ["fifo", "dev_zero"])
@posix_only
def test_fifo_or_dev_zero_in_an_imported_folder_is_skipped(project_file: Path, tmp_path: Path, kind: str) -> None:
    labels = tmp_path / "labels"
    assert main(["export", str(project_file), "--format", "labelme", "--out", str(labels)]) == 0
    if kind == "fifo":
        bad = labels / "pipe.json"
        os.mkfifo(bad)
        why = "is a FIFO (named pipe)"
    else:
        bad = labels / "zero.json"
        bad.symlink_to("/dev/zero")
        why = "is a device"
    dst = tmp_path / "dst.samlabel"
    proc = _limited("import", str(labels), "--format", "labelme", "--images", str(project_file.parent),
                    "--project", str(dst))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert out[0].startswith("Imported 9 annotation(s) on 2 image(s) from LabelMe")
    assert f"skipped {bad}: {bad} {why}, not an ordinary file; only ordinary files are read." in out


@posix_only
def test_coco_from_dev_zero_is_one_line(tmp_path: Path) -> None:
    link = tmp_path / "c.json"
    link.symlink_to("/dev/zero")
    proc = _limited("import", str(link), "--format", "coco", "--project", str(tmp_path / "p.samlabel"))
    assert proc.returncode == 1
    assert one_error_line(proc) == f"sam-labeler: error: {link} is not a file; COCO annotations are one file."


def test_annotation_files_over_the_size_limit_are_not_read(project_file: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    src = _coco_of(tmp_path, 200)
    size = src.stat().st_size
    assert 20_000 < size < 40_000
    monkeypatch.setenv("SAM_LABELER_MAX_JSON_MB", "0.01")
    assert main(["import", str(src), "--format", "coco", "--project", str(tmp_path / "p.samlabel")]) == 1
    assert _error_line(capsys) == (f"sam-labeler: error: {src} is {round(size / 1000)} kB; annotation files over "
                                   "10 kB are not read (set SAM_LABELER_MAX_JSON_MB to change the limit).")
    monkeypatch.setenv("SAM_LABELER_MAX_JSON_MB", "lots")
    assert main(["import", str(src), "--format", "coco", "--project", str(tmp_path / "p.samlabel")]) == 1
    assert "SAM_LABELER_MAX_JSON_MB must be a positive number of megabytes (got 'lots')" in _error_line(capsys)
    assert not (tmp_path / "p.samlabel").exists()


# ------------------------------------------------------------------ defect 10
def test_import_that_stores_nothing_leaves_no_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "x.json").write_text(json.dumps({"shapes": [], "imagePath": "missing.png"}), encoding="utf-8")
    dst = tmp_path / "new.samlabel"
    assert main(["import", str(labels), "--format", "labelme", "--project", str(dst)]) == 1
    captured = capsys.readouterr()
    assert f"skipped {labels / 'x.json'}: its image missing.png was not found" in captured.out
    assert captured.err.strip().splitlines()[-1] == (f"sam-labeler: error: nothing could be imported from {labels}; "
                                                     f"the project {dst} was not created.")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels"]


def test_failed_create_and_clean_close_leave_no_lock_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import app.core.project as project_module
    from app.core.errors import ProjectError

    with Project.create(tmp_path / "a.samlabel"):
        assert (tmp_path / "a.samlabel.lock").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.samlabel"]

    def no_space(conn: sqlite3.Connection, current: int) -> int:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(project_module, "migrate", no_space)
    with pytest.raises(ProjectError, match="cannot create"):
        Project.create(tmp_path / "b.samlabel")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.samlabel"]


# ------------------------------------------------------------------ defect 11
def _tiff_with_bad_tag_offsets(path: Path) -> None:
    """A TIFF whose Software/Artist tags point far beyond its end (Pillow warns "Truncated File Read")."""
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(path, tiffinfo={305: "x" * 50, 315: "y" * 40})
    data = bytearray(path.read_bytes())
    ifd = struct.unpack("<I", data[4:8])[0]
    for i in range(struct.unpack("<H", data[ifd:ifd + 2])[0]):
        entry = ifd + 2 + 12 * i
        if struct.unpack("<H", data[entry:entry + 2])[0] in (305, 315):
            data[entry + 8:entry + 12] = struct.pack("<I", 10_000_000)
    path.write_bytes(bytes(data))


def test_scan_keeps_one_line_per_image(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        _tiff_with_bad_tag_offsets(folder / f"w{i}.tif")
    Image.fromarray(np.zeros((6, 5, 3), np.uint8)).save(folder / "new\nline.png")
    Image.fromarray(np.zeros((6, 5, 3), np.uint8)).save(folder / "tab\there.png")
    proc = subprocess.run([sys.executable, "-m", "app", "scan", str(folder)], cwd=ROOT, capture_output=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert proc.returncode == 0
    assert proc.stderr == b""
    lines = proc.stdout.decode("utf-8").splitlines()
    assert lines == ['"new\\nline.png"\t5x6\tPNG', '"tab\\there.png"\t5x6\tPNG'] + [
        f"w{i}.tif\t20x20\tTIFF\tPillow warned: Truncated File Read" for i in range(3)] + [
        "5 images: 5 ok, 0 unreadable"]


@posix_only
def test_scan_quotes_undecodable_names(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.fromarray(np.zeros((6, 5, 3), np.uint8)).save(os.fsdecode(bytes(folder) + b"/caf\xe9.png"), format="PNG")
    proc = subprocess.run([sys.executable, "-m", "app", "scan", str(folder)], cwd=ROOT, capture_output=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8"), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode("utf-8").splitlines() == ['"caf\\xe9.png"\t5x6\tPNG', "1 image: 1 ok, 0 unreadable"]


def test_scan_puts_native_library_messages_on_the_image_line(tmp_path: Path, capfd: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A C library under Pillow (libtiff of older Pillow builds) writes its warnings to file
    descriptor 2 itself; simulated here by writing to fd 2 while the image is decoded."""
    from app.cli import scan_cmd

    Image.fromarray(np.zeros((6, 5, 3), np.uint8)).save(tmp_path / "a.tif")
    real_load = scan_cmd.load_image

    def noisy_load(path: Path):
        os.write(2, b"TIFFReadDirectory: Warning, Unknown field with tag 65000 (0xfde8) encountered.\n")
        return real_load(path)

    monkeypatch.setattr(scan_cmd, "load_image", noisy_load)
    assert main(["scan", str(tmp_path)]) == 0
    captured = capfd.readouterr()
    assert captured.err == ""
    assert captured.out.splitlines()[0] == ("a.tif\t5x6\tTIFF\tlibrary messages: TIFFReadDirectory: Warning, "
                                            "Unknown field with tag 65000 (0xfde8) encountered.")


# ------------------------------------------------------------------ the dispatcher
def test_internal_errors_keep_their_traceback(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import scan_cmd

    def bug(args: object) -> int:
        return {}["missing"]

    monkeypatch.setattr(scan_cmd, "run", bug)
    assert main(["scan", "."]) == 70
    err = capsys.readouterr().err
    assert "Traceback" in err and "KeyError" in err
    assert err.strip().splitlines()[-1] == ("sam-labeler: internal error: KeyError: 'missing'; this is a bug, please "
                                            "report it with the lines above.")


@pytest.mark.parametrize("exc, text", [
    (RecursionError("maximum recursion depth exceeded"),
     "the input is nested too deeply to be processed (it is not a valid file of this kind)"),
    (MemoryError(), "out of memory: the input is too large for the memory available"),
    (sqlite3.DatabaseError("database disk image is malformed"),
     "the project database failed: database disk image is malformed (is the file damaged?)"),
    (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
     "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
])
def test_hostile_input_errors_are_one_line(exc: BaseException, text: str, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import scan_cmd

    def fail(args: object) -> int:
        raise exc

    monkeypatch.setattr(scan_cmd, "run", fail)
    assert main(["scan", "."]) == 1
    assert _error_line(capsys) == f"sam-labeler: error: {text}"
