"""`python -m app models ...` and `self-check` in subprocesses: exit codes and one-line messages.

The success path uses sam_hq_vit_tiny (no published md5: a torch archive holding exactly its
official tensors is accepted), served by a local HTTP server through SAM_LABELER_MODEL_MIRROR.
"""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.e2e.signals import sigint_as_in_a_terminal

from tests.sam_backend._httpserver import Behaviour, FileServer, serve

ROOT = Path(__file__).resolve().parents[2]
TINY_FILE = "sam_hq_vit_tiny.pth"


@pytest.fixture(scope="module")
def tiny_zip() -> bytes:
    """A 42 MB torch archive with exactly the official sam_hq_vit_tiny tensors (random values)."""
    from tests.sam_backend.checkpoint_files import layout_checkpoint

    return layout_checkpoint("sam_hq_vit_tiny", seed=5)


@pytest.fixture
def server() -> Iterator[FileServer]:
    yield from serve()


def sam(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=full_env)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess[str]:
    """The same dispatcher in-process (no torch import per call): CompletedProcess-like result."""
    from app.cli import main

    code = main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, out, err)


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("sam-labeler")]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def _models_dir(home: Path) -> Path:
    return home / "models"


def test_list_shows_all_models(_isolated_home: Path) -> None:
    proc = sam("models", "list")
    assert proc.returncode == 0, proc.stderr
    for model_id in ("sam_vit_b", "sam_vit_l", "sam_vit_h", "mobile_sam", "sam_hq_vit_tiny", "sam2.1_hiera_tiny",
                     "sam3", "edgetam", "grounding-dino-base"):
        assert model_id in proc.stdout
    rows = [ln for ln in proc.stdout.splitlines() if "not installed" in ln]
    assert len(rows) == 16  # 8 checkpoint files + 8 hub snapshot models
    assert f"model cache: {_models_dir(_isolated_home)}" in proc.stdout


def test_download_list_verify_and_damage(server: FileServer, tiny_zip: bytes, _isolated_home: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    server.files[TINY_FILE] = Behaviour(tiny_zip)
    env = {"SAM_LABELER_MODEL_MIRROR": server.base_url}
    proc = sam("models", "download", "sam_hq_vit_tiny", env=env)
    assert proc.returncode == 0, proc.stderr
    installed = _models_dir(_isolated_home) / TINY_FILE
    assert installed.read_bytes() == tiny_zip
    assert "downloading sam_hq_vit_tiny: 100%" in proc.stderr  # periodic lines when not a tty
    assert f"installed sam_hq_vit_tiny: {installed}" in proc.stdout

    listing = cli(capsys, "models", "list").stdout
    assert "installed, verified" in next(ln for ln in listing.splitlines() if ln.startswith("sam_hq_vit_tiny"))
    again = cli(capsys, "models", "download", "sam_hq_vit_tiny")
    assert again.returncode == 0 and "already installed and verified" in again.stdout
    assert len(server.requests) == 1

    ok = cli(capsys, "models", "verify")
    assert ok.returncode == 0 and "sam_hq_vit_tiny: OK" in ok.stdout

    with open(installed, "r+b") as fh:  # inside the tensor data: found by the archive's CRCs
        fh.seek(len(tiny_zip) // 2)
        fh.write(b"\xff" * 16)
    bad = cli(capsys, "models", "verify", "sam_hq_vit_tiny")
    assert bad.returncode == 1
    line = _one_error_line(bad)
    assert "damaged or not the official file" in line and "models download sam_hq_vit_tiny" in line


def test_download_error_in_a_subprocess(server: FileServer) -> None:
    missing = sam("models", "download", "mobile_sam", env={"SAM_LABELER_MODEL_MIRROR": server.base_url})
    assert missing.returncode == 1 and "answered HTTP 404" in _one_error_line(missing)


def test_download_errors_are_one_line(server: FileServer, _isolated_home: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    unknown = cli(capsys, "models", "download", "sam_vit_x")
    assert unknown.returncode == 1 and "unknown model id 'sam_vit_x'" in _one_error_line(unknown)

    monkeypatch.setenv("SAM_LABELER_MODEL_MIRROR", server.base_url)
    server.files["mobile_sam.pt"] = Behaviour(b"", status=500)
    failing = cli(capsys, "models", "download", "mobile_sam")
    assert failing.returncode == 1 and "answered HTTP 500" in _one_error_line(failing)

    server.files["mobile_sam.pt"] = Behaviour(b"definitely not mobile_sam" * 40_000)
    wrong = cli(capsys, "models", "download", "mobile_sam")
    assert wrong.returncode == 1 and "failed its checksum" in _one_error_line(wrong)
    assert list(_models_dir(_isolated_home).glob("mobile_sam*")) == []

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("SAM_LABELER_MODEL_MIRROR", f"http://127.0.0.1:{port}")
    refused = cli(capsys, "models", "download", "sam_vit_b")
    assert refused.returncode == 1 and "refused" in _one_error_line(refused)
    bad_mirror = cli(capsys, "models", "download", "sam_vit_b", "--mirror", "ftp://x")
    assert bad_mirror.returncode == 1 and "not an http" in _one_error_line(bad_mirror)


def test_ctrl_c_keeps_part_for_resume(server: FileServer, tiny_zip: bytes, _isolated_home: Path) -> None:
    server.files[TINY_FILE] = Behaviour(tiny_zip, chunk_delay_s=0.02)
    env = dict(os.environ, SAM_LABELER_MODEL_MIRROR=server.base_url)
    proc = subprocess.Popen([sys.executable, "-m", "app", "models", "download", "sam_hq_vit_tiny"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=sigint_as_in_a_terminal)
    part = _models_dir(_isolated_home) / (TINY_FILE + ".part")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (part.exists() and part.stat().st_size > 1_000_000):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted; run the same command again to resume" in err and "Traceback" not in err
    assert not (_models_dir(_isolated_home) / TINY_FILE).exists()
    kept = part.stat().st_size
    assert 1_000_000 <= kept < len(tiny_zip)

    server.files[TINY_FILE] = Behaviour(tiny_zip)
    resumed = sam("models", "download", "sam_hq_vit_tiny", env={"SAM_LABELER_MODEL_MIRROR": server.base_url})
    assert resumed.returncode == 0, resumed.stderr
    assert server.requests[-1][1] is not None and server.requests[-1][1].startswith("bytes=")
    assert (_models_dir(_isolated_home) / TINY_FILE).read_bytes() == tiny_zip


def test_import(tmp_path: Path, tiny_zip: bytes, _isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "mobile_sam.pt"
    junk.write_bytes(b"junk" * 1000)
    bad = cli(capsys, "models", "import", "mobile_sam", str(junk))
    assert bad.returncode == 1
    assert "is not a valid mobile_sam checkpoint" in _one_error_line(bad)
    absent = cli(capsys, "models", "import", "mobile_sam", str(tmp_path / "nope.pt"))
    assert absent.returncode == 1 and "no such file" in _one_error_line(absent)
    unknown = cli(capsys, "models", "verify", "mobile_sam")
    assert unknown.returncode == 1 and "mobile_sam is not installed" in _one_error_line(unknown)

    good = tmp_path / "hq_tiny.pth"
    good.write_bytes(tiny_zip)
    proc = cli(capsys, "models", "import", "sam_hq_vit_tiny", str(good))
    assert proc.returncode == 0, proc.stderr
    assert (_models_dir(_isolated_home) / TINY_FILE).read_bytes() == tiny_zip


def test_self_check(_isolated_home: Path) -> None:
    proc = sam("self-check")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "torch:" in out and "device:" in out and "PySide6:" in out
    assert f"models:        {_models_dir(_isolated_home)}" in out
    assert "installed:     none" in out


def test_self_check_unusable_device_fails(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from app.cli import selfcheck_cmd

    parser = argparse.ArgumentParser()
    selfcheck_cmd.add_arguments(parser)
    assert selfcheck_cmd.run(parser.parse_args(["--device", "cuda:7"])) == 1
    out = capsys.readouterr().out
    assert "requested:" in out and "cuda:7" in out
    assert selfcheck_cmd.run(parser.parse_args(["--device", "cpu"])) == 0
    assert "requested:     cpu is usable" in capsys.readouterr().out


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def test_progress_bar_in_place_on_a_tty_and_lines_otherwise() -> None:
    from app.cli.models_cmd import ProgressBar

    tty = _Stream(True)
    bar = ProgressBar("downloading x", stream=tty, min_interval_s=0.0)
    for done in range(0, 1_000_001, 100_000):
        bar(done, 1_000_000)
    bar.finish()
    text = tty.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n") and text.count("\r") >= 10
    assert "100.0% 1.0/1.0 MB" in text and "[" + "#" * 30 + "]" in text

    plain = _Stream(False)
    bar = ProgressBar("downloading x", stream=plain)
    for done in range(0, 1_000_001, 1_000):
        bar(done, 1_000_000)
    bar.finish()
    lines = plain.getvalue().splitlines()
    assert "\r" not in plain.getvalue()
    assert 10 <= len(lines) <= 12 and lines[-1] == "downloading x: 100% 1.0/1.0 MB"

    unknown = _Stream(False)
    bar = ProgressBar("encoding", stream=unknown, unit="images", scale=1.0)
    bar(3, None)
    assert unknown.getvalue() == "encoding: 3 images\n"
