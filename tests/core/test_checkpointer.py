"""Background WAL checkpoints (app.core.checkpointer): commits of the project's own connection never
checkpoint once they are on; the background thread does, and stops with close()."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from app.core.model import Annotation, ImageRecord, Part
from app.core.project import Project

PAGE_WRITES = 60  # transactions of ~100 kB each: ~6 MB, past SQLite's 1000-page automatic checkpoint


def _write_a_lot(p: Project) -> None:
    p.bulk_insert_images([ImageRecord(id=0, path="a.jpg", width=100, height=100)])
    label = p.add_label_class("x").id
    image = p.images(0, 1)[0].id
    rng = np.random.default_rng(0)
    for _ in range(PAGE_WRITES):
        # ~6000 vertices of random float64 coordinates: an incompressible ~100 kB geometry blob
        ring = tuple((float(x), float(y)) for x, y in rng.uniform(0, 100, (6000, 2)) + 0.123456789)
        p.add_annotation(Annotation(image_id=image, label_id=label, parts=(Part(ring),)))


def _wait(cond, timeout_s: float = 20.0) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def test_commits_do_not_checkpoint_and_the_thread_does(tmp_path: Path) -> None:
    path = tmp_path / "p.samlabel"
    with Project.create(path) as p:
        p.start_background_checkpoints(interval_s=3600.0)  # only on request in this test
        assert p.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        before = path.stat().st_size
        _write_a_lot(p)
        # nothing reached the main file: no commit ran a checkpoint
        assert path.stat().st_size == before
        assert Path(str(path) + "-wal").stat().st_size > 5_000_000
        ck = p.checkpointer
        assert ck is not None and ck.is_alive()
        ck.request()
        assert _wait(lambda: ck.checkpoints >= 1)
        assert path.stat().st_size > 5_000_000  # the pages were copied into the main file
        assert p.annotation_count() == PAGE_WRITES
    assert not ck.is_alive()  # close() stopped it
    with Project.open(path) as again:
        assert again.annotation_count() == PAGE_WRITES
        assert again.integrity_check() == "ok"


def test_default_connection_checkpoints_by_itself(tmp_path: Path) -> None:
    """The contrast: without the background thread, SQLite's automatic checkpoint (run by a commit)
    copies pages into the main file during the writes."""
    path = tmp_path / "p.samlabel"
    with Project.create(path) as p:
        before = path.stat().st_size
        _write_a_lot(p)
        assert p.checkpointer is None
        assert path.stat().st_size > before + 2_000_000


def test_interval_checkpoints_run_only_after_new_commits(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p.samlabel") as p:
        p.start_background_checkpoints(interval_s=0.05)
        ck = p.checkpointer
        assert ck is not None
        p.add_label_class("a")
        assert _wait(lambda: ck.checkpoints >= 1)
        time.sleep(0.3)
        idle = ck.checkpoints
        time.sleep(0.3)
        assert ck.checkpoints == idle  # nothing committed: no more checkpoints
        p.add_label_class("b")
        assert _wait(lambda: ck.checkpoints > idle)
        assert ck.failures == 0


def test_read_only_project_starts_no_checkpointer(tmp_path: Path) -> None:
    path = tmp_path / "p.samlabel"
    Project.create(path).close()
    with Project.open(path, read_only=True) as ro:
        ro.start_background_checkpoints()
        assert ro.checkpointer is None
