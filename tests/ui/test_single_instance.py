"""One running instance per user: a later start hands its project to the running window (QLocalServer)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.ui import single_instance
from app.ui.single_instance import InstanceServer, send, server_name

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    return folder


def _send_from_another_process(path: str, cwd: Path) -> subprocess.Popen[str]:
    code = f"from app.ui.single_instance import send; print(send({path!r}))"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", code], cwd=cwd, env=env, stdout=subprocess.PIPE, text=True)


def test_a_later_process_hands_its_path_to_the_running_one(qtbot, tmp_path: Path, runtime_dir: Path) -> None:
    server = InstanceServer()
    assert server.listen() and server.name.startswith(str(runtime_dir))
    try:
        (tmp_path / "work").mkdir()
        with qtbot.waitSignal(server.openRequested, timeout=20000) as got:
            proc = _send_from_another_process("p/x.samlabel", tmp_path / "work")  # relative: made absolute
        assert got.args == [str(tmp_path / "work" / "p" / "x.samlabel")]
        assert proc.communicate(timeout=30)[0].strip() == "True"
    finally:
        server.close()


def test_nobody_listening_means_start_normally(runtime_dir: Path) -> None:  # noqa: ARG001
    t = time.monotonic()
    assert send("/x.samlabel") is False
    assert time.monotonic() - t < 3


def test_one_server_per_user_and_data_root(qtbot, runtime_dir: Path, monkeypatch, tmp_path: Path) -> None:  # noqa: ARG001
    first, second = InstanceServer(), InstanceServer()
    try:
        assert first.listen() and not second.listen()  # a live instance is never replaced
        name = server_name()
        monkeypatch.setenv("SAM_LABELER_HOME", str(tmp_path / "other_home"))
        assert server_name() != name  # another data root (e.g. a test run) is another instance
    finally:
        first.close()
        second.close()


def test_a_socket_left_by_a_crashed_instance_is_taken_over(qtbot, runtime_dir: Path) -> None:  # noqa: ARG001
    name = server_name()
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(name)  # bound, never listening, then abandoned: what a killed process leaves
    dead.close()
    assert Path(name).exists()
    server = InstanceServer()
    try:
        assert server.listen()
    finally:
        server.close()


def test_garbage_and_oversized_requests_are_ignored(qtbot, runtime_dir: Path) -> None:  # noqa: ARG001
    server = InstanceServer()
    assert server.listen()
    got: list[str] = []
    server.openRequested.connect(got.append)
    try:
        for payload in (b"not json\n", json.dumps({"open": 3}).encode() + b"\n",
                        b"x" * (single_instance.MAX_REQUEST + 10)):
            client = socket.socket(socket.AF_UNIX)
            client.connect(server.name)
            client.sendall(payload)
            qtbot.wait(100)
            client.close()
        qtbot.wait(100)
        assert got == []
    finally:
        server.close()


def test_a_second_start_opens_its_project_in_the_first_window(tmp_path: Path, runtime_dir: Path) -> None:
    """Two real GUI processes (offscreen): the second exits at once, the first opens the second's project."""
    from app.core.project import Project
    from tests.ui.window_support import make_images

    paths = []
    for name in ("first", "second"):
        project = Project.open_folder(make_images(tmp_path / name, n=1))
        paths.append(project.path)
        project.close()
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    first = subprocess.Popen([sys.executable, "-m", "app", str(paths[0])], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    settings = Path(os.environ["SAM_LABELER_HOME"]) / "settings" / "settings.json"

    def recent() -> list[str]:
        try:
            return list(json.loads(settings.read_text(encoding="utf-8")).get("recent_projects", []))
        except (OSError, ValueError):
            return []

    try:
        deadline = time.monotonic() + 60
        while recent()[:1] != [str(paths[0])] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert recent()[:1] == [str(paths[0])], first.stderr.read() if first.poll() is not None else "timeout"
        second = subprocess.run([sys.executable, "-m", "app", str(paths[1])], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr
        deadline = time.monotonic() + 30
        while recent()[:1] != [str(paths[1])] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert recent()[:2] == [str(paths[1]), str(paths[0])]  # the first window opened it
        assert first.poll() is None
    finally:
        first.terminate()
        first.communicate(timeout=30)
