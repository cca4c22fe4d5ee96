"""The project store: one SQLite file ``NAME.samlabel`` holding label classes, images and annotations.

Usage::

    with Project.open_folder(Path("photos")) as project:      # photos/photos.samlabel
        cat = project.label_by_name("cat") or project.add_label_class("cat")
        img = project.images(limit=1)[0]
        project.add_annotation(Annotation(image_id=img.id, label_id=cat.id, parts=(part,)))

Every mutating method is one transaction, committed before it returns (WAL, synchronous=NORMAL:
a crash or kill of the application loses nothing committed; see app.core.project_base). Opening
for writing takes a single-instance OS lock (app.core.locking); ``read_only=True`` opens with
SQLite ``mode=ro`` and is allowed while another instance holds the lock. Files that are not projects, or that a newer version wrote, are refused
(ProjectError) and left byte-for-byte untouched. The GUI uses one Project from one thread.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from app.core.errors import OutdatedProject, ProjectError, ProjectLocked
from app.core.locking import ProjectFileLock, lock_holder
from app.core.project_annotations import AnnotationsMixin
from app.core.project_base import NotFoundError, connect_ro, connect_rw, enable_wal
from app.core.project_files import FilesMixin
from app.core.project_images import IMAGE_DIR_META, ImagesMixin
from app.core.project_labels import PALETTE, LabelsMixin
from app.core.schema import check_header, migrate, read_version, schema_version
from app.core.sync import SyncReport

PROJECT_SUFFIX = ".samlabel"

__all__ = ["PALETTE", "PROJECT_SUFFIX", "NotFoundError", "Project", "SyncReport"]


def _validated_version(path: Path) -> int:
    """Schema version of a project file, read without writing it; ProjectError if not a project/newer."""
    check_header(path)
    try:
        conn = connect_ro(path)
    except sqlite3.Error as exc:
        raise ProjectError(f"{path} cannot be opened: {exc}.") from None
    try:
        return read_version(conn, path)
    finally:
        conn.close()


class Project(LabelsMixin, ImagesMixin, AnnotationsMixin, FilesMixin):
    """An open project (see the module doc). Attributes: path (the .samlabel file, absolute),
    root (its folder; image paths are relative to it), read_only."""

    @classmethod
    def create(cls, path: Path) -> "Project":
        """Create a new empty project file; ProjectError if the file exists or the folder is missing."""
        path = Path(path).absolute()
        if path.exists():
            raise ProjectError(f"{path} already exists; open it instead of creating a new project.")
        if not path.parent.is_dir():
            raise ProjectError(f"cannot create {path}: the folder {path.parent} does not exist.")
        lock = ProjectFileLock(path)
        conn: sqlite3.Connection | None = None
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)  # refuse a racing creator
            os.close(fd)
            conn = connect_rw(path)
            enable_wal(conn)
            migrate(conn, 0)
        except FileExistsError:
            lock.release()
            raise ProjectError(f"{path} already exists; open it instead of creating a new project.") from None
        except BaseException as exc:
            if conn is not None:
                conn.close()
            for leftover in (path, Path(str(path) + "-wal"), Path(str(path) + "-shm")):
                with contextlib.suppress(OSError):
                    leftover.unlink()
            lock.release()
            if isinstance(exc, (sqlite3.Error, OSError)):
                raise ProjectError(f"cannot create {path}: {exc}.") from None
            raise
        return cls(path, conn, lock, read_only=False)

    @classmethod
    def open(cls, path: Path, *, read_only: bool = False) -> "Project":
        """Open an existing project; migrate an older schema (when writable).

        ProjectError: missing, not a project, newer schema (file untouched); ProjectLocked: another
        instance has it open for writing (read_only=True still works).
        """
        path = Path(path).absolute()
        if read_only:
            version = _validated_version(path)
            if version < schema_version():
                raise OutdatedProject(
                    f"{path} uses an older project format (version {version}); open it once for writing "
                    "to upgrade it."
                )
            try:
                conn = connect_ro(path)
            except sqlite3.Error as exc:
                raise ProjectError(f"{path} cannot be opened read-only: {exc}.") from None
            return cls(path, conn, None, read_only=True)
        _validated_version(path)  # refuse non-projects before leaving any trace (lock file) beside them
        if not os.access(path, os.W_OK):
            raise ProjectError(f"{path} is not writable; open it read-only to view.")
        lock = ProjectFileLock(path)
        try:
            conn = connect_rw(path)
        except BaseException as exc:
            lock.release()
            if isinstance(exc, sqlite3.Error):
                raise ProjectError(f"{path} cannot be opened for writing: {exc}.") from None
            raise
        try:
            version = read_version(conn, path)  # again, under the lock
            enable_wal(conn)
            migrate(conn, version)
        except BaseException as exc:
            conn.close()
            lock.release()
            if isinstance(exc, sqlite3.Error):
                raise ProjectError(f"{path} cannot be opened for writing: {exc}.") from None
            raise
        return cls(path, conn, lock, read_only=False)

    @classmethod
    def open_for_reading(cls, path: Path) -> tuple["Project", str | None]:
        """(project, holder) for commands that only read (export, scan).

        Opened for writing when the file and its folder are writable and no other instance holds
        it: closing it then leaves nothing beside it (a read-only SQLite connection leaves -wal and
        -shm files behind) and an older format is upgraded. Otherwise a read-only view: of a
        read-only file or folder (holder None), or of a project in use by another instance
        (holder: "pid N on HOST" of that instance).
        """
        path = Path(path).absolute()
        if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK):
            try:
                return cls.open(path), None
            except ProjectLocked:
                project = cls.open(path, read_only=True)
                return project, lock_holder(path) or "pid unknown"
        return cls.open(path, read_only=True), lock_holder(path)

    @classmethod
    def open_folder(cls, folder: Path, *, read_only: bool = False,
                    progress: Callable[[int, int], None] | None = None,
                    project_path: Path | None = None) -> "Project":
        """Open (or create) the project of image folder ``folder`` and sync its images (not when read-only).

        The project file is ``project_path`` when given (e.g. beside the folder: the GUI asks), else
        ``folder/<folder name>.samlabel``. A project file outside ``folder`` records the image folder
        (meta ``image_dir``, relative to the project file) so that syncing scans that folder only; an
        existing project file that belongs to another image folder is refused.
        """
        folder = Path(folder).absolute()
        if not folder.is_dir():
            raise ProjectError(f"{folder} is not a folder.")
        path = Path(project_path).absolute() if project_path is not None else folder / (folder.name + PROJECT_SUFFIX)
        if path.exists():
            project = cls.open(path, read_only=read_only)
            if os.path.normcase(os.path.abspath(project.image_root)) != os.path.normcase(str(folder)):
                other = project.image_root
                project.close()
                raise ProjectError(f"{path} is the project of the image folder {other}, not of {folder}.")
        elif read_only:
            raise ProjectError(f"{folder} has no project file {path.name}; open it for writing to create one.")
        else:
            project = cls.create(path)
            if path.parent != folder:
                try:
                    project.set_meta(IMAGE_DIR_META, os.path.relpath(folder, path.parent).replace(os.sep, "/"))
                except BaseException:
                    project.close()
                    raise
        if not read_only:
            try:
                project.sync_images(progress)
            except BaseException:
                project.close()
                raise
        return project

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("read-only" if self.read_only else "open")
        return f"<Project {self.path} ({state})>"
