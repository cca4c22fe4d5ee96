"""`python -m app autolabel DIR --mode text --prompt ...`: stored annotations, resume, --redo, Ctrl+C
and kill -9 (the real CLI in a subprocess; tiny random Grounding DINO, golden mobile_sam weights)."""
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
from app.core.project import Project
from tests.detector_support import make_tiny_grounding_dino
from tests.e2e.signals import sigint_as_in_a_terminal

ROOT = Path(__file__).resolve().parents[2]
PROMPT = "cat. fire hydrants"


@pytest.fixture(scope="module")
def tiny_detector_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random detector with few queries (each kept box costs a SAM decode in every run)."""
    return make_tiny_grounding_dino(tmp_path_factory.mktemp("detector") / "gdino", seed=1, num_queries=6)


def _cmd(folder: Path, detector: Path, ckpt: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "app", "autolabel", str(folder), "--mode", "text", "--prompt", PROMPT,
            "--detector", str(detector), "--checkpoint", str(ckpt), "--device", "cpu", "--box-threshold", "0.5",
            "--text-threshold", "0.5", *extra]


def sam(args: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=dict(os.environ))


def _images(folder: Path, n: int) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        arr = rng.integers(0, 255, (40, 56, 3), dtype=np.uint8)
        arr[10:30, 10 + i:30 + i] = (240, 230, 20)
        Image.fromarray(arr).save(folder / f"img{i}.png")
    return folder


def _state(folder: Path) -> tuple[dict[str, int], set[str]]:
    """(auto annotations per image path, paths marked done) read from the project, read-only."""
    with Project.open(folder / (folder.name + ".samlabel"), read_only=True) as project:
        counts, done = {}, set()
        for rec in project.images():
            counts[rec.path] = sum(a.source == "auto" for a in project.annotations(rec.id))
            if "text" in rec.extra.get("autolabel", {}):
                done.add(rec.path)
        return counts, done


@pytest.fixture
def small_sam_cli(monkeypatch: pytest.MonkeyPatch):
    """The CLI's load_predictor gives a small random SAM (in-process runs: fast encodes)."""
    import torch

    import sam_backend
    from sam_backend import SamPredictor, build_model

    torch.manual_seed(5)
    predictor = SamPredictor(build_model("sam_vit_b", dict(depth=2, embed_dim=64, num_heads=2, global_attn_indexes=[1],
                                                             window_size=8)), "sam_vit_b", "cpu")
    calls: list[dict] = []

    def load(**kw):
        calls.append(kw)
        return predictor

    monkeypatch.setattr(sam_backend, "load_predictor", load)
    return calls


def _main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from app.cli import main

    code = main(args[3:])  # without "python -m app"
    out, err = capsys.readouterr()
    return code, out, err


def test_autolabel_text_stores_resumes_and_redoes(tmp_path: Path, tiny_detector_dir: Path, small_sam_cli: list,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    folder = _images(tmp_path / "imgs", 2)
    ckpt = tmp_path / "unused.pth"
    code, out, err = _main(_cmd(folder, tiny_detector_dir, ckpt), capsys)
    assert code == 0, err
    assert small_sam_cli == [{"model": "mobile_sam", "checkpoint": str(ckpt), "device": "cpu", "precision": "fp32"}]
    assert "labelled 2 of 2 images (0 already done, 0 failed) with text on cpu" in out
    assert "autolabel text: 100% 2/2 images" in err and "Traceback" not in err
    with Project.open(folder / "imgs.samlabel", read_only=True) as project:
        names = {lc.id: lc.name for lc in project.label_classes()}
        anns = [a for rec in project.images() for a in project.annotations(rec.id)]
        assert anns and {names[a.label_id] for a in anns} <= {"cat", "fire hydrants"}
        for a in anns:
            assert a.source == "auto" and a.extra["phrase"] == names[a.label_id]
            assert len(a.extra["box"]) == 4 and a.extra["detector_score"] > 0.5 and a.rle is not None
        marks = [rec.extra["autolabel"]["text"] for rec in project.images()]
        assert sum(m["annotations"] for m in marks) == len(anns)
        edited = anns[0]
    total = len(anns)
    assert f"{total} annotations" in out

    code, out, _ = _main(_cmd(folder, tiny_detector_dir, ckpt), capsys)
    assert code == 0 and "nothing to do" in out
    assert sum(_state(folder)[0].values()) == total

    with Project.open(folder / "imgs.samlabel") as project:  # a person fixes one annotation
        project.update_annotation(edited.with_(z=edited.z + 10))
    code, _, err = _main(_cmd(folder, tiny_detector_dir, ckpt, "--redo"), capsys)
    assert code == 0, err
    with Project.open(folder / "imgs.samlabel", read_only=True) as project:
        after = [a for rec in project.images() for a in project.annotations(rec.id)]
    assert len(after) == total + 1  # replaced, except the edited one, which is kept
    assert edited.id in {a.id for a in after}

    code, out, _ = _main(_cmd(folder, tiny_detector_dir, ckpt)[:-4] + ["--box-threshold", "0.6"], capsys)
    assert code == 0 and "labelled 2 of 2 images" in out  # other settings: not skipped

    # an opt-in fast encoder mode reaches the loader and counts as another model: not skipped either
    code, out, _ = _main(_cmd(folder, tiny_detector_dir, ckpt) + ["--precision", "int8"], capsys)
    assert code == 0 and "labelled 2 of 2 images" in out
    assert small_sam_cli[-1]["precision"] == "int8"


def _wait_for_done(folder: Path, proc: subprocess.Popen, n: int, timeout: float = 240) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if (folder / (folder.name + ".samlabel")).exists() and len(_state(folder)[1]) >= n:
                return
        except ProjectError:  # being created
            pass
        if proc.poll() is not None:
            pytest.fail(f"autolabel ended early: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.2)
    pytest.fail("autolabel did not label an image in time")


def _check_whole(folder: Path) -> set[str]:
    """Every image is stored whole with its done mark, or not at all; returns the done ones."""
    counts, done = _state(folder)
    with Project.open(folder / (folder.name + ".samlabel"), read_only=True) as project:
        assert project.integrity_check() == "ok"
        for rec in project.images():
            mark = rec.extra.get("autolabel", {}).get("text")
            assert counts[rec.path] == (mark["annotations"] if mark else 0)
    return done


@pytest.mark.slow
def test_autolabel_ctrl_c_and_kill_9_keep_every_finished_image_whole(tmp_path: Path, tiny_detector_dir: Path,
                                                                     sam_reference: Path) -> None:
    """Ctrl+C, then kill -9 in a second run, then a third run finishes the rest."""
    folder = _images(tmp_path / "imgs", 4)
    ckpt = sam_reference / "golden_mobile_sam_weights_fp16.pt"
    done: set[str] = set()
    for how in ("ctrl-c", "kill-9"):
        proc = subprocess.Popen(_cmd(folder, tiny_detector_dir, ckpt), cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=dict(os.environ),
                                preexec_fn=sigint_as_in_a_terminal)
        try:
            _wait_for_done(folder, proc, len(done) + 1)
            proc.send_signal(signal.SIGINT if how == "ctrl-c" else signal.SIGKILL)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        if how == "ctrl-c":
            assert proc.returncode == 130 and "stopped by Ctrl+C after" in err and "Traceback" not in err
        else:
            assert proc.returncode == -signal.SIGKILL
        now = _check_whole(folder)
        assert done < now and len(now) < 4
        done = now
    rest = sam(_cmd(folder, tiny_detector_dir, ckpt))
    assert rest.returncode == 0, rest.stderr
    assert f"labelled {4 - len(done)} of {4 - len(done)} images ({len(done)} already done" in rest.stdout
    assert len(_check_whole(folder)) == 4


def test_autolabel_user_errors_are_one_line(tmp_path: Path, tiny_detector_dir: Path) -> None:
    folder = _images(tmp_path / "imgs", 1)
    base = [sys.executable, "-m", "app", "autolabel", str(folder), "--mode", "text"]
    cases = [
        (base, "--mode text needs --prompt"),
        (base + ["--prompt", " . "], "no phrase"),
        (base + ["--prompt", "cat"], "sam-labeler models download grounding-dino-tiny"),
        (base + ["--prompt", "cat", "--detector", str(tmp_path / "nowhere")], "does not exist"),
        (base[:4] + [str(folder), "--mode", "paint"], "unknown automation 'paint'"),
        (base + ["--prompt", "cat", "--detector", str(tiny_detector_dir), "--box-threshold", "3"], "box threshold"),
    ]
    for args, expected in cases:
        got = sam(args, timeout=120)
        assert got.returncode == 1, (args, got.stderr)
        lines = got.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0] and lines[0].startswith("sam-labeler: error:"), got.stderr


def test_autolabel_without_transformers_says_how_to_enable_it(tmp_path: Path) -> None:
    folder = _images(tmp_path / "imgs", 1)
    code = ("import sys; sys.modules['transformers'] = None\n"
            "from app.cli import main\n"
            f"sys.exit(main(['autolabel', {str(folder)!r}, '--mode', 'text', '--prompt', 'cat']))")
    got = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert got.returncode == 1
    assert got.stderr.strip() == ('sam-labeler: error: Text prompts need the optional package transformers: install '
                                  'it with pip install "sam-labeler[text]" and restart SAM Labeler.')
