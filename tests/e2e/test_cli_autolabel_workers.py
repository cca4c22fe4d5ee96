"""`autolabel --workers N` on this machine: worker processes label the images (the summary says so),
a bad worker flag is one line, and Ctrl+C to the terminal's whole process group or kill -9 of the
CLI leaves every finished image whole and no worker process behind (the real CLI in a
subprocess; golden mobile_sam weights)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.core.errors import ProjectError
from app.core.model import Annotation
from app.core.project import Project
from app.core.shapes import rectangle_parts
from tests.e2e.signals import sigint_as_in_a_terminal

ROOT = Path(__file__).resolve().parents[2]
BOXES = (((4.0, 5.0), (40.0, 30.0)), ((50.0, 20.0), (90.0, 60.0)))


def _folder(tmp_path: Path, n: int) -> Path:
    """n images, each with two rectangles (car, dog) in its project: a detection dataset."""
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (70, 100, 3), dtype=np.uint8)).save(folder / f"img{i}.png")
    with Project.open_folder(folder) as project:
        labels = [project.add_label_class(name).id for name in ("car", "dog")]
        for rec in project.images():
            for label, box in zip(labels, BOXES):
                project.add_annotation(Annotation(rec.id, label, rectangle_parts(*box), None, shape="rectangle",
                                                  points=box, source="import"))
    return folder


def _cmd(folder: Path, ckpt: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "app", "autolabel", str(folder), "--mode", "boxes", "--checkpoint", str(ckpt),
            "--device", "cpu", *extra]


def _done(folder: Path) -> dict[str, list[str]]:
    """Per finished image: the labels of its auto annotations (read-only)."""
    with Project.open(folder / (folder.name + ".samlabel"), read_only=True) as project:
        assert project.integrity_check() == "ok"
        names = {c.id: c.name for c in project.label_classes()}
        out: dict[str, list[str]] = {}
        for rec in project.images():
            auto = [names[a.label_id] for a in project.annotations(rec.id) if a.source == "auto"]
            mark = rec.extra.get("autolabel", {}).get("boxes")
            assert len(auto) == (mark["annotations"] if mark else 0)  # whole, or not at all
            if mark:
                out[rec.path] = sorted(auto)
        return out


def _children(pid: int) -> set[int]:
    kids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.add(int(entry.name))
    return kids


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def test_worker_processes_label_the_folder(tmp_path: Path, sam_reference: Path) -> None:
    folder = _folder(tmp_path, 4)
    ckpt = sam_reference / "golden_mobile_sam_weights_fp16.pt"
    run = subprocess.run(_cmd(folder, ckpt, "--workers", "2", "--cpus-per-worker", "1"), cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "labelled 4 of 4 images" in run.stdout and "on cpu (2 worker processes, 1 thread each)" in run.stdout
    assert _done(folder) == {f"img{i}.png": ["car", "dog"] for i in range(4)}


@pytest.mark.parametrize("flags, message", [
    (["--workers", "0"], "--workers must be at least 1 (got 0)"),
    (["--workers", "2", "--cpus-per-worker", "0.5"], "--cpus-per-worker takes a whole number of at least 1"),
    (["--gpus-per-worker", "1"], "--gpus-per-worker needs --executor ray"),
])
def test_bad_worker_flags_are_one_line(tmp_path: Path, sam_reference: Path, flags: list[str], message: str) -> None:
    folder = _folder(tmp_path, 1)
    run = subprocess.run(_cmd(folder, sam_reference / "golden_mobile_sam_weights_fp16.pt", *flags), cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and message in run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.parametrize("how", ["ctrl-c", "kill-9"])
def test_interrupting_a_run_with_workers_keeps_images_whole_and_leaves_no_worker(tmp_path: Path, sam_reference: Path,
                                                                                 how: str) -> None:
    folder = _folder(tmp_path, 8)
    ckpt = sam_reference / "golden_mobile_sam_weights_fp16.pt"
    proc = subprocess.Popen(_cmd(folder, ckpt, "--workers", "2"), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=sigint_as_in_a_terminal)
    workers: set[int] = set()
    try:
        end = time.monotonic() + 240
        while time.monotonic() < end:
            workers |= _children(proc.pid)
            try:
                if (folder / "imgs.samlabel").exists() and _done(folder):
                    break
            except ProjectError:  # being written
                pass
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.1)
        workers |= _children(proc.pid)
        assert len(workers) >= 2  # the spawned workers (and multiprocessing's resource tracker)
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl+C reaches the whole foreground group
        else:
            proc.kill()
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    if how == "ctrl-c":
        assert proc.returncode == 130 and "stopped by Ctrl+C after" in err
        assert "Traceback" not in err and "KeyboardInterrupt" not in err
    else:
        assert proc.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 30
    while _alive(workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(workers), "worker processes outlived the CLI"
    done = _done(folder)
    assert 1 <= len(done) < 8 and all(labels == ["car", "dog"] for labels in done.values())
