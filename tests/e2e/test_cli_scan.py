"""`sam-labeler scan`: folders (recursive), projects, single files, bad images, exit codes."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.cli import main as cli_main
from app.core.project import Project

REPO = Path(__file__).resolve().parents[2]


def _make_folder(root: Path) -> Path:
    root.mkdir()
    (root / "sub" / "deeper").mkdir(parents=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (40, 30), (200, 10, 10)).save(root / "rotated.jpg", exif=exif)
    Image.new("L", (16, 9)).save(root / "sub" / "gray.png")
    Image.new("RGB", (5, 7)).save(root / "sub" / "deeper" / "UPPER.PNG")
    data = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(data).save(root / "sub" / "broken.jpg")
    raw = (root / "sub" / "broken.jpg").read_bytes()
    (root / "sub" / "broken.jpg").write_bytes(raw[: len(raw) // 2])
    (root / "empty.png").write_bytes(b"")
    (root / "notes.txt").write_text("not listed: not an image extension")
    return root


def _lines(out: str) -> dict[str, list[str]]:
    rows = [line.split("\t") for line in out.strip().splitlines()[:-1]]
    return {r[0]: r[1:] for r in rows}


def test_scan_folder_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _make_folder(tmp_path / "imgs")
    assert cli_main(["scan", str(root)]) == 0
    out = capsys.readouterr().out
    rows = _lines(out)
    assert set(rows) == {"rotated.jpg", "sub/gray.png", "sub/deeper/UPPER.PNG", "sub/broken.jpg", "empty.png"}
    assert rows["rotated.jpg"][:2] == ["30x40", "JPEG"]  # size after EXIF rotation
    assert "EXIF orientation 6 applied" in rows["rotated.jpg"][2]
    assert rows["sub/gray.png"] == ["16x9", "PNG"]
    assert rows["sub/deeper/UPPER.PNG"] == ["5x7", "PNG"]
    assert rows["sub/broken.jpg"] == ["UNREADABLE", "truncated JPEG data (the file is incomplete)"]
    assert rows["empty.png"] == ["UNREADABLE", "file is empty (0 bytes)"]
    assert out.strip().splitlines()[-1] == "5 images: 3 ok, 2 unreadable"


def test_header_only_does_not_decode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _make_folder(tmp_path / "imgs")
    assert cli_main(["scan", "--header-only", str(root)]) == 0
    out = capsys.readouterr().out
    assert _lines(out)["sub/broken.jpg"][:2] == ["64x64", "JPEG"]
    assert out.strip().splitlines()[-1] == "5 images: 4 ok, 1 unreadable"


def test_scan_project_lists_its_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _make_folder(tmp_path / "imgs")
    project = Project.create(root / "imgs.samlabel")
    try:
        project.add_image("rotated.jpg", width=40, height=30)  # recorded before rotation: flagged
        project.add_image("sub/gray.png", width=16, height=9)
        project.add_image("gone.png")
    finally:
        project.close()
    assert cli_main(["scan", str(root / "imgs.samlabel")]) == 0
    out = capsys.readouterr().out
    rows = _lines(out)
    assert set(rows) == {"rotated.jpg", "sub/gray.png", "gone.png"}
    assert rows["rotated.jpg"][0] == "30x40" and "the project records 40x30" in rows["rotated.jpg"][2]
    assert rows["sub/gray.png"] == ["16x9", "PNG"]
    assert rows["gone.png"] == ["UNREADABLE", "file not found"]
    assert out.strip().splitlines()[-1] == "3 images: 2 ok, 1 unreadable"


def test_scan_single_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Image.new("RGB", (3, 2)).save(tmp_path / "one.bmp")
    assert cli_main(["scan", str(tmp_path / "one.bmp")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == ["one.bmp\t3x2\tBMP", "1 image: 1 ok, 0 unreadable"]


def test_missing_path_is_the_only_failure(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "app", "scan", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [f"sam-labeler scan: error: {tmp_path / 'nowhere'} does not exist"]


def test_subprocess_scan_of_bad_folder_exits_zero(tmp_path: Path) -> None:
    root = tmp_path / "bad"
    root.mkdir()
    (root / "a.jpg").write_text("hello")
    proc = subprocess.run(
        [sys.executable, "-m", "app", "scan", str(root)], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "a.jpg\tUNREADABLE\tnot an image file (looks like a text file)",
        "1 image: 0 ok, 1 unreadable",
    ]
    assert "Traceback" not in proc.stderr
