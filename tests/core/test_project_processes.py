"""Crash safety (SIGKILL while writing) and the single-instance lock, with real subprocesses."""
from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.core.errors import ProjectLocked
from app.core.project import Project

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")

REPO = Path(__file__).resolve().parents[2]

WRITER = """
import sys
from pathlib import Path
from app.core.model import Annotation, Part
from app.core.project import Project
p = Project.open(Path(sys.argv[1]))
lab = p.label_by_name("x")
img = p.images(limit=1)[0]
part = Part(exterior=tuple((float(i), float(i * i % 17)) for i in range(30)))
print("ready", flush=True)
k = 0
while True:
    k += 1
    a = p.add_annotation(Annotation(image_id=img.id, label_id=lab.id, parts=(part,), z=k,
                                    rle={"size": [100, 100], "counts": "0a1b" * 40}))
    print(a.id, flush=True)
"""

HOLDER = """
import sys, time
from pathlib import Path
from app.core.project import Project
p = Project.open(Path(sys.argv[1]))
p.add_label_class("from holder")
print("locked", flush=True)
time.sleep(120)
"""


def _spawn(code: str, path: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _make_project(path: Path) -> None:
    with Project.create(path) as p:
        p.add_label_class("x")
        p.add_image("a.png")


def test_sigkill_while_writing_never_loses_an_accepted_annotation(tmp_path: Path) -> None:
    path = tmp_path / "crash.samlabel"
    _make_project(path)
    rng = random.Random(1234)
    confirmed: set[int] = set()
    for round_no in range(15):
        proc = _spawn(WRITER, path)
        if round_no % 5 == 4:
            time.sleep(rng.uniform(0.0, 0.4))  # may hit start-up / WAL recovery
        else:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            assert first == "ready\n", proc.stderr.read() if proc.stderr else first
            time.sleep(rng.uniform(0.01, 0.3))
        proc.send_signal(signal.SIGKILL)
        out, _err = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        lines = out.splitlines(keepends=True)
        printed = {int(line) for line in lines if line.endswith("\n") and line.strip().isdigit()}
        confirmed |= printed
        if round_no % 2:  # a viewer may be the first to open the killed writer's file (WAL not recovered yet)
            with Project.open(path, read_only=True) as ro:
                assert confirmed <= {int(r[0]) for r in ro.conn.execute("SELECT id FROM annotation")}
        with Project.open(path) as p:
            assert p.integrity_check() == "ok"
            stored = {int(r[0]) for r in p.conn.execute("SELECT id FROM annotation")}
            assert confirmed <= stored, f"round {round_no}: lost {sorted(confirmed - stored)[:10]}"
            anns = p.annotations(p.images(limit=1)[0].id)
            assert all(len(a.parts[0].exterior) == 30 for a in anns[:50])
    assert len(confirmed) > 15  # the writers really wrote between kills


def test_lock_second_process_read_only_and_release_on_kill(tmp_path: Path) -> None:
    path = tmp_path / "locked.samlabel"
    _make_project(path)
    holder = _spawn(HOLDER, path)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n", holder.stderr.read() if holder.stderr else ""
        with pytest.raises(ProjectLocked) as info:
            Project.open(path)
        assert str(info.value) == (f"{path} is in use by another instance (pid {holder.pid} on "
                                   f"{socket.gethostname()}); open it read-only to view.")
        with pytest.raises(ProjectLocked, match=f"pid {holder.pid} "):
            Project.open(path, read_only=False)  # again: a failed attempt leaves the lock as it was
        with Project.open(path, read_only=True) as ro:  # viewing is allowed while locked
            assert [lc.name for lc in ro.label_classes()] == ["x", "from holder"]
            assert ro.image_count() == 1
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.communicate(timeout=30)
    with Project.open(path) as p:  # the kernel released the lock with the killed holder
        assert p.integrity_check() == "ok"
        assert [lc.name for lc in p.label_classes()] == ["x", "from holder"]


def test_second_project_object_in_same_process_is_locked_out(tmp_path: Path) -> None:
    path = tmp_path / "p.samlabel"
    first = Project.create(path)
    try:
        with pytest.raises(ProjectLocked, match=f"pid {os.getpid()} on"):
            Project.open(path)
        first.add_label_class("still writable")
    finally:
        first.close()
    with Project.open(path) as again:
        assert [lc.name for lc in again.label_classes()] == ["still writable"]

