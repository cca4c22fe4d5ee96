"""Core pieces behind issue 8's fixes: the lock file removed on release without ever letting two
holders in, disk full inside a transaction, stale temporary files, and guarded reads."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.core import atomic_file
from app.core.errors import DiskFull, FormatError, ProjectLocked
from app.core.formats.common import read_json
from app.core.locking import ProjectFileLock, lock_holder, lock_path_for
from app.core.project import Project

ROOT = Path(__file__).resolve().parents[2]
posix_only = pytest.mark.skipif(os.name != "posix", reason="flock, FIFOs and pids are POSIX here")

HAMMER = """
import os, sys, time
from pathlib import Path
from app.core.errors import ProjectLocked
from app.core.locking import ProjectFileLock

project, marker, seconds = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
held = clashes = 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    try:
        lock = ProjectFileLock(project)
    except ProjectLocked:
        continue
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)  # only one holder may create it
        os.close(fd)
        held += 1
        os.unlink(marker)
    except FileExistsError:
        clashes += 1
    finally:
        lock.release()
print(held, clashes)
"""


@posix_only
def test_removing_the_lock_file_on_release_never_admits_two_holders(tmp_path: Path) -> None:
    project = tmp_path / "p.samlabel"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", HAMMER, str(project), str(tmp_path / "marker"), "3"],
                              stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT) for _ in range(3)]
    results = [tuple(map(int, p.communicate(timeout=60)[0].split())) for p in procs]
    assert all(clashes == 0 for _, clashes in results), results
    assert sum(held for held, _ in results) > 30  # they really took turns
    assert not lock_path_for(project).exists()


@posix_only
def test_lock_holder_is_reported_without_creating_anything(tmp_path: Path) -> None:
    project = tmp_path / "p.samlabel"
    assert lock_holder(project) is None and not lock_path_for(project).exists()
    lock = ProjectFileLock(project)
    try:
        child = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                                "from app.core.locking import lock_holder; print(lock_holder(Path(sys.argv[1])))",
                                str(project)], capture_output=True, text=True, cwd=ROOT,
                               env=dict(os.environ, PYTHONPATH=str(ROOT)))
        assert child.stdout.strip().startswith(f"pid {os.getpid()} on ")
        with pytest.raises(ProjectLocked):
            ProjectFileLock(project)
    finally:
        lock.release()
    assert not lock_path_for(project).exists()


def test_disk_full_in_a_transaction_is_reported_and_rolled_back(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p.samlabel") as project:
        project.add_label_class("kept")
        pages = project.conn.execute("PRAGMA page_count").fetchone()[0]
        project.conn.execute(f"PRAGMA max_page_count = {pages + 1}")
        with pytest.raises(DiskFull, match=r"^disk full: .*p\.samlabel cannot grow \(database or disk is full\); "
                                           r"the change was rolled back, nothing of it was stored\.$"):
            with project.transaction():
                project.add_label_class("first")
                for i in range(2000):
                    project.add_label_class(f"padding {i} " + "x" * 200)
        assert [lc.name for lc in project.label_classes()] == ["kept"]
        project.conn.execute(f"PRAGMA max_page_count = {pages + 1000}")
        project.add_label_class("after")  # the project is usable again
        assert [lc.name for lc in project.label_classes()] == ["kept", "after"]


@posix_only
def test_only_our_stale_temporary_files_are_swept(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    mine = atomic_file.temp_name_for("a.json")
    parts = mine.rsplit("-", 2)
    stale = tmp_path / f"{parts[0]}-{dead.pid}-{parts[2]}"
    live = tmp_path / mine  # this process: alive
    old = tmp_path / f"{parts[0].replace(atomic_file._HOST, 'ffffff')}-{os.getpid()}-{parts[2]}"  # another host
    foreign = tmp_path / ".a.json.abcdef.tmp"  # not ours
    for p in (stale, live, old, foreign):
        p.write_text("x", encoding="utf-8")
    assert atomic_file.is_our_temp(stale.name) and not atomic_file.is_our_temp(foreign.name)
    assert atomic_file.sweep_stale_temps(tmp_path) == [stale]
    day_ago = time.time() - atomic_file.STALE_AGE_S - 60
    os.utime(old, (day_ago, day_ago))
    assert atomic_file.sweep_stale_temps(tmp_path) == [old]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, foreign.name])


@posix_only
def test_read_json_reads_only_regular_files_within_the_limit(tmp_path: Path) -> None:
    fifo = tmp_path / "p.json"
    os.mkfifo(fifo)
    with pytest.raises(FormatError, match=r"p\.json is a FIFO \(named pipe\), not an ordinary file"):
        read_json(fifo)
    big = tmp_path / "big.json"
    big.write_text("[" + "1," * 3_000_000 + "1]", encoding="utf-8")
    with pytest.raises(FormatError, match=r"big\.json is 6 MB; annotation files over 5 MB are not read"):
        read_json(big, max_bytes=5_000_000)
    assert len(read_json(big, max_bytes=7_000_000)) == 3_000_001


def test_atomic_writer_refuses_links_and_devices(tmp_path: Path) -> None:
    from app.core.errors import UnsafeOutput

    target = tmp_path / "t.json"
    target.write_text("old", encoding="utf-8")
    link = tmp_path / "l.json"
    link.symlink_to(target)
    with pytest.raises(UnsafeOutput, match="is a symbolic link; it was not written through"):
        with atomic_file.atomic_writer(link) as fh:
            fh.write("new")
    assert target.read_text(encoding="utf-8") == "old" and link.is_symlink()
    assert [p.name for p in tmp_path.iterdir() if atomic_file.is_our_temp(p.name)] == []
