"""Folder sync (added / missing / returned) and the schema migration runner."""
from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

import pytest

from app.core import schema, sync
from app.core.errors import ProjectError
from app.core.model import Annotation, Part
from app.core.project import Project

TRI = Part(exterior=((0.0, 0.0), (4.0, 0.0), (0.0, 4.0)))


def _touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not decoded by sync")


def test_open_folder_sync_added_missing_returned(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    for rel in ("a.jpg", "B.PNG", "sub/c.tiff", "sub/deep/d.webp", "notes.txt", ".hidden/e.jpg", ".f.png"):
        _touch(root / rel)
    calls: list[tuple[int, int]] = []
    with Project.open_folder(root, progress=lambda d, t: calls.append((d, t))) as p:
        assert p.path == root / "photos.samlabel"
        assert [r.path for r in p.images()] == ["B.PNG", "a.jpg", "sub/c.tiff", "sub/deep/d.webp"]
        assert all(r.width == 0 and r.height == 0 and r.status == "new" for r in p.images())
        assert calls[-1] == (4, 4)
        lab = p.add_label_class("x")
        c = p.image_by_path("sub/c.tiff")
        ann = p.add_annotation(Annotation(image_id=c.id, label_id=lab.id, parts=(TRI,)))
        outside = p.add_image(str(tmp_path / "outside.jpg"))
        _touch(tmp_path / "outside.jpg")
    (root / "sub" / "c.tiff").unlink()
    (root / "a.jpg").unlink()
    _touch(root / "new" / "g.bmp")
    with Project.open_folder(root) as p:
        assert not p.image_by_path("../outside.jpg").missing  # outside the folder: checked directly
        assert p.image(outside.id).path == "../outside.jpg"
        assert p.image_by_path("sub/c.tiff").missing and p.image_by_path("a.jpg").missing
        assert p.annotation(ann.id) == ann  # annotations of missing images are kept
        report = p.sync_images()
        assert (report.added, report.missing, report.returned) == (0, 0, 0)
        assert p.image_by_path("new/g.bmp") is not None
    _touch(root / "sub" / "c.tiff")
    with Project.open(root / "photos.samlabel") as p:
        report = p.sync_images()
        assert (report.added, report.missing, report.returned, report.total) == (0, 0, 1, 4)
        assert not p.image_by_path("sub/c.tiff").missing and p.image_by_path("a.jpg").missing


def test_sync_reports_counts_and_is_idempotent(tmp_path: Path) -> None:
    for i in range(30):
        _touch(tmp_path / f"d{i % 3}" / f"{i}.jpg")
    with Project.create(tmp_path / "p.samlabel") as p:
        first = p.sync_images()
        assert (first.added, first.missing, first.returned, first.total) == (30, 0, 0, 30)
        second = p.sync_images()
        assert (second.added, second.missing, second.returned) == (0, 0, 0)
        assert p.image_count() == 30


def test_open_folder_read_only_needs_an_existing_project(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="has no project file"):
        Project.open_folder(tmp_path, read_only=True)
    with pytest.raises(ProjectError, match="not a folder"):
        Project.open_folder(tmp_path / "absent")


def _next_step(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE image ADD COLUMN note TEXT")
    conn.execute("UPDATE image SET note = 'migrated'")


def _broken(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE image ADD COLUMN half TEXT")
    raise sqlite3.OperationalError("step failed on purpose")


def test_user_version_set_and_registered_migration_applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.samlabel"
    with Project.create(path) as p:
        p.add_image("a.jpg")
        assert p.conn.execute("PRAGMA user_version").fetchone()[0] == schema.schema_version()
    current = schema.schema_version()
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, _next_step])
    with pytest.raises(ProjectError, match="older project format"):
        Project.open(path, read_only=True)  # cannot upgrade without writing
    with Project.open(path) as p:
        assert p.conn.execute("PRAGMA user_version").fetchone()[0] == current + 1
        assert p.conn.execute("SELECT note FROM image").fetchall() == [("migrated",)]
        assert [r.path for r in p.images()] == ["a.jpg"]


def test_failing_migration_leaves_the_file_at_its_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.samlabel"
    Project.create(path).close()
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, _broken])
    with pytest.raises(ProjectError, match="on purpose"):
        Project.open(path)
    monkeypatch.undo()
    with Project.open(path) as p:
        assert p.conn.execute("PRAGMA user_version").fetchone()[0] == schema.schema_version()
        cols = [r[1] for r in p.conn.execute("PRAGMA table_info(image)")]
        assert "half" not in cols


def test_migrate_runner_from_empty_database(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "raw.db", isolation_level=None)
    target = schema.schema_version() + 1
    assert schema.migrate(conn, 0, [*schema.MIGRATIONS, _next_step]) == target
    assert conn.execute("PRAGMA user_version").fetchone()[0] == target
    with pytest.raises(ProjectError, match="newer SAM Labeler"):
        schema.read_version(conn, tmp_path / "raw.db")  # this code only knows up to schema_version()
    conn.close()


def test_sync_progress_and_symlink_loops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sync, "PROGRESS_EVERY", 10)
    for i in range(25):
        _touch(tmp_path / "imgs" / f"{i:02}.png")
    with contextlib.suppress(OSError):  # e.g. Windows without the privilege
        os.symlink(tmp_path / "imgs", tmp_path / "imgs" / "loop", target_is_directory=True)
    calls: list[tuple[int, int]] = []
    with Project.create(tmp_path / "p.samlabel") as p:
        report = p.sync_images(lambda d, t: calls.append((d, t)))
    assert report.added == 25
    assert calls == [(10, 0), (20, 0), (25, 25)]
