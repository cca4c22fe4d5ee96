"""Annotation files a project imported or exported (mixin of app.core.project.Project).

Two uses: an import recognises a file it already imported (same path, or same bytes under another
name) and skips, replaces or appends it (``import --on-duplicate``); an export that updates files
in place (LabelMe beside the images) touches only files whose current bytes are ones this project
imported or wrote, never a file another tool changed since.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import time
from pathlib import Path

from app.core.model import FileRecord
from app.core.project_base import ProjectBase

_FILE_COLS = "id, format, role, path, sha256, size, time, annotations"


def _row(row: tuple) -> FileRecord:
    return FileRecord(id=int(row[0]), format=str(row[1]), role=str(row[2]), path=str(row[3]), sha256=str(row[4]),
                      size=int(row[5]), time=float(row[6]), annotations=int(row[7]))


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> tuple[str, int]:
    """(hex sha256, size) of a regular file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while True:
            block = fh.read(1 << 20)
            if not block:
                break
            size += len(block)
            h.update(block)
    return h.hexdigest(), size


class FilesMixin(ProjectBase):
    """file_record table."""

    def _file_rel(self, path: str | Path) -> str:
        text = str(path)
        if os.path.isabs(text):
            with contextlib.suppress(ValueError):  # another drive (Windows): keep it absolute
                text = os.path.relpath(text, self.root)
        return text.replace(os.sep, "/")

    def record_file(self, format_id: str, role: str, path: str | Path, sha256: str, size: int,
                    annotations: int = 0) -> FileRecord:
        """Remember an imported or exported file (one transaction); returns the record."""
        if role not in ("import", "export"):
            raise ValueError(f"a file record's role is import or export (got {role!r}).")
        rel, now = self._file_rel(path), time.time()
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO file_record(format, role, path, sha256, size, time, annotations) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (str(format_id), role, rel, str(sha256), int(size), now, int(annotations)))
            new_id = int(cur.lastrowid or 0)
        return FileRecord(new_id, str(format_id), role, rel, str(sha256), int(size), now, int(annotations))

    def set_file_annotations(self, file_id: int, count: int) -> None:
        """Record how many annotations a file brought or held."""
        with self.transaction() as conn:
            conn.execute("UPDATE file_record SET annotations = ? WHERE id = ?", (int(count), int(file_id)))

    def file_records(self, *, format_id: str | None = None, role: str | None = None, path: str | Path | None = None,
                     sha256: str | None = None) -> list[FileRecord]:
        """Records matching every given criterion (``path`` and ``sha256`` match either one when
        both are given), oldest first."""
        where, args = [], []
        if format_id is not None:
            where.append("format = ?")
            args.append(format_id)
        if role is not None:
            where.append("role = ?")
            args.append(role)
        alts = []
        if path is not None:
            alts.append("path = ?")
            args.append(self._file_rel(path))
        if sha256 is not None:
            alts.append("sha256 = ?")
            args.append(sha256)
        if alts:
            where.append("(" + " OR ".join(alts) + ")")
        sql = f"SELECT {_FILE_COLS} FROM file_record" + (" WHERE " + " AND ".join(where) if where else "")
        return [_row(r) for r in self.conn.execute(sql + " ORDER BY id", args)]

    def known_file_digests(self, path: str | Path) -> set[str]:
        """sha256 digests of every version of ``path`` this project imported or exported."""
        rel = self._file_rel(path)
        return {str(r[0]) for r in self.conn.execute("SELECT sha256 FROM file_record WHERE path = ?", (rel,))}

    def delete_annotations_of_file(self, file_id: int) -> int:
        """Delete every annotation imported from one file (one transaction); returns how many."""
        with self.transaction() as conn:
            return int(conn.execute("DELETE FROM annotation WHERE file_id = ?", (int(file_id),)).rowcount)
