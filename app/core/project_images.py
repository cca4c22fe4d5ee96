"""Images of a project (mixin of app.core.project.Project).

Image paths are stored relative to the project folder with "/" separators. Listing and counting
use the indexes on image(path) and image(status, path); annotations are never loaded here.
"""
from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Callable, Iterable
from pathlib import Path

from app.core.model import IMAGE_STATUSES, ImageRecord
from app.core.project_base import NotFoundError, ProjectBase, inserted_id
from app.core.sync import SyncReport, apply_sync_plan, known_images, plan_sync, scan_image_files, scan_prefix

_IMG_COLS = "id, path, width, height, sha1, status, missing, flags, extra"


def _row(row: tuple) -> ImageRecord:
    return ImageRecord(id=int(row[0]), path=str(row[1]), width=int(row[2]), height=int(row[3]),
                       sha1=row[4], status=str(row[5]), missing=bool(row[6]),
                       flags={} if row[7] is None else json.loads(row[7]),
                       extra={} if row[8] is None else json.loads(row[8]))


def _json_column(value: dict, what: str) -> str | None:
    """Compact JSON text of an image's flags/extra (None when empty); ValueError otherwise."""
    if not value:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"the {what} of an image must be a JSON object.")
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        raise ValueError(f"the {what} of an image must be JSON-serialisable.") from None


TO_REVIEW = "to_review"
IMAGE_FLAGS_META = "image_flags"
"""A filter of images() / image_count() beside the statuses: images an automation labeled that
nobody has reviewed since (the same rule as app.automation.review.needs_review). It reads every
image's extra (about 75 ms per 100k images, measured), so it is for a filter the person picks,
not for counts refreshed after every edit."""
# a mark of extra["autolabel"] that is an object with stored annotations and without a true
# "reviewed"; CASE keeps json_each away from text that is not JSON
_TO_REVIEW_SQL = ("CASE WHEN json_valid(extra) THEN EXISTS (SELECT 1 FROM json_each(extra, '$.autolabel') AS m "
                  "WHERE m.type = 'object' "
                  "AND CAST(COALESCE(json_extract(m.value, '$.annotations'), 0) AS INTEGER) > 0 "
                  "AND NOT COALESCE(json_extract(m.value, '$.reviewed'), 0)) ELSE 0 END")


def check_status(status: str) -> str:
    """Return ``status`` if it is one of IMAGE_STATUSES, else ValueError."""
    if status not in IMAGE_STATUSES:
        raise ValueError(f"an image status must be one of {', '.join(IMAGE_STATUSES)} (got {status!r}).")
    return status


def _image_filter(status: str | None, name: str | None) -> tuple[str, tuple[str, ...]]:
    """SQL condition prefix ("... AND ") and its arguments for a status (or TO_REVIEW) and a path
    substring; ("", ()) for all images."""
    where, args = "", tuple[str, ...]()
    if status == TO_REVIEW:
        where = f"{_TO_REVIEW_SQL} AND "
    elif status is not None:
        where, args = "status = ? AND ", (check_status(status),)
    if name:
        escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where, args = where + "path LIKE ? ESCAPE '\\' AND ", (*args, f"%{escaped}%")
    return where, args


IMAGE_DIR_META = "image_dir"  # meta key: the image folder relative to the project file's folder (absent: that folder)


class ImagesMixin(ProjectBase):
    """image table: relative paths, decoded size, sha1, status, missing flag."""

    @property
    def image_root(self) -> Path:
        """The folder whose images this project syncs: ``root`` unless the project file lives outside
        its image folder (meta ``image_dir``, written by ``Project.open_folder``)."""
        rel = self.get_meta(IMAGE_DIR_META)
        return self.root if not rel else Path(os.path.normpath(self.root / rel))

    def relative_path(self, path: str | Path) -> str:
        """Normalise a path to the stored form: relative to root, "/" separators, no "." parts.

        Absolute paths are made relative to the project folder (".." allowed for files outside it).
        """
        text = str(path)
        if os.sep == "\\":
            text = text.replace("\\", "/")
        if os.path.isabs(text):
            try:
                text = os.path.relpath(text, self.root).replace(os.sep, "/")
            except ValueError:
                raise ValueError(f"{path} is on another drive than the project {self.path}.") from None
        rel = posixpath.normpath(text)
        if rel in ("", "."):
            raise ValueError(f"{path!r} is not an image path.")
        return rel

    def image_count(self, status: str | None = None, name: str | None = None) -> int:
        """Number of images (with this status or TO_REVIEW, and whose path contains ``name``, when given)."""
        if status is None and not name:
            return int(self.conn.execute("SELECT COUNT(*) FROM image").fetchone()[0])
        where, args = _image_filter(status, name)
        return int(self.conn.execute(f"SELECT COUNT(*) FROM image WHERE {where}1", args).fetchone()[0])

    def status_counts(self) -> dict[str, int]:
        """{status: count} for every status in IMAGE_STATUSES (zeros included)."""
        counts = dict.fromkeys(IMAGE_STATUSES, 0)
        for status, n in self.conn.execute("SELECT status, COUNT(*) FROM image GROUP BY status"):
            counts[str(status)] = int(n)
        return counts

    def images(self, offset: int = 0, limit: int | None = None, status: str | None = None,
               name: str | None = None) -> list[ImageRecord]:
        """A page of images ordered by path (optionally only one status or TO_REVIEW, only paths containing
        ``name``, case-insensitive for ASCII letters).

        Deep pages skip ``offset`` entries in a covering index (paths only), then read the page
        from its first path on, so a page far down a 100k-image list costs milliseconds.
        """
        lim = -1 if limit is None else max(0, int(limit))
        off = max(0, int(offset))
        where, args = _image_filter(status, name)
        start = ""
        if off:
            row = self.conn.execute(f"SELECT path FROM image WHERE {where}1 ORDER BY path LIMIT 1 OFFSET ?",
                                    (*args, off)).fetchone()
            if row is None:
                return []
            start = str(row[0])
        rows = self.conn.execute(
            f"SELECT {_IMG_COLS} FROM image WHERE {where}path >= ? ORDER BY path LIMIT ?", (*args, start, lim)
        )
        return [_row(r) for r in rows]

    def image_row(self, image_id: int, status: str | None = None, name: str | None = None) -> int:
        """Position of an image in ``images(status=status, name=name)`` order (by path); -1 when it is
        not there."""
        where, args = _image_filter(status, name)
        found = self.conn.execute(f"SELECT path FROM image WHERE {where}id = ?", (*args, image_id)).fetchone()
        if found is None:
            return -1
        return int(self.conn.execute(f"SELECT COUNT(*) FROM image WHERE {where}path < ?",
                                     (*args, found[0])).fetchone()[0])

    def next_image_not_done(self, after_path: str) -> ImageRecord | None:
        """The first image after ``after_path`` (by path, wrapping around) whose status is not "done"
        and that is not missing; None when every image is done."""
        for sql in ("path > ? AND", "path <= ? AND"):
            row = self.conn.execute(f"SELECT {_IMG_COLS} FROM image WHERE {sql} status != 'done' AND missing = 0 "
                                    "ORDER BY path LIMIT 1", (after_path,)).fetchone()
            if row is not None:
                return _row(row)
        return None

    def image(self, image_id: int) -> ImageRecord:
        """The image with this id; NotFoundError otherwise."""
        row = self.conn.execute(f"SELECT {_IMG_COLS} FROM image WHERE id = ?", (image_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"{self.path} has no image with id {image_id}.")
        return _row(row)

    def image_by_path(self, rel: str) -> ImageRecord | None:
        """The image with this (relative or absolute) path, or None."""
        row = self.conn.execute(f"SELECT {_IMG_COLS} FROM image WHERE path = ?",
                                (self.relative_path(rel),)).fetchone()
        return None if row is None else _row(row)

    def image_path(self, rec: ImageRecord) -> Path:
        """Absolute path of an image file."""
        return Path(os.path.normpath(self.root / rec.path))

    def add_image(self, rel_path: str, width: int = 0, height: int = 0, sha1: str | None = None) -> ImageRecord:
        """Add an image (status "new"); ValueError if its path is already in the project."""
        rel = self.relative_path(rel_path)
        w, h = self._check_size(width, height)
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM image WHERE path = ?", (rel,)).fetchone():
                raise ValueError(f"{rel} is already in the project.")
            cur = conn.execute("INSERT INTO image(path, width, height, sha1) VALUES (?, ?, ?, ?)", (rel, w, h, sha1))
            new_id = inserted_id(cur)
        return ImageRecord(id=new_id, path=rel, width=w, height=h, sha1=sha1)

    @staticmethod
    def _check_size(width: int, height: int) -> tuple[int, int]:
        w, h = int(width), int(height)
        if w < 0 or h < 0:
            raise ValueError(f"an image size must not be negative (got {w}x{h}).")
        return w, h

    def _update_image(self, image_id: int, sql: str, params: tuple) -> None:
        with self.transaction() as conn:
            if conn.execute(f"UPDATE image SET {sql} WHERE id = ?", (*params, image_id)).rowcount == 0:
                raise NotFoundError(f"{self.path} has no image with id {image_id}.")

    def set_image_size(self, image_id: int, width: int, height: int) -> None:
        """Record the decoded size (after EXIF rotation)."""
        self._update_image(image_id, "width = ?, height = ?", self._check_size(width, height))

    def set_image_sha1(self, image_id: int, sha1: str) -> None:
        """Record the hex sha1 of the file bytes."""
        self._update_image(image_id, "sha1 = ?", (str(sha1),))

    def set_image_status(self, image_id: int, status: str) -> None:
        """Set "new" | "in_progress" | "done"."""
        self._update_image(image_id, "status = ?", (check_status(status),))

    def set_image_flags(self, image_id: int, flags: dict) -> None:
        """Set the image-level flags {name: bool} (LabelMe ``flags``)."""
        if any(not isinstance(k, str) or not isinstance(v, bool) for k, v in dict(flags).items()):
            raise ValueError("image flags must map names to true/false.")
        self._update_image(image_id, "flags = ?", (_json_column(dict(flags), "flags"),))

    def image_flag_names(self) -> list[str]:
        """The project's image flags, sorted: the names declared (meta ``image_flags``, a JSON list,
        set_image_flag_names) and every name an image carries (e.g. imported LabelMe flags)."""
        declared = self.declared_image_flags()
        used = self.conn.execute("SELECT DISTINCT j.key FROM image, json_each(image.flags) AS j "
                                 "WHERE image.flags IS NOT NULL AND json_valid(image.flags) "
                                 "AND json_type(image.flags) = 'object'").fetchall()
        return sorted(set(declared) | {str(r[0]) for r in used})

    def declared_image_flags(self) -> list[str]:
        """The image flag names declared for the project (meta ``image_flags``; [] when none or damaged)."""
        try:
            names = json.loads(self.get_meta(IMAGE_FLAGS_META) or "[]")
        except ValueError:
            return []
        return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []

    def set_image_flag_names(self, names: Iterable[str]) -> None:
        """Declare the project's image flags (LabelMe's ``--flags``): one-line, non-empty names."""
        clean = sorted({str(n).strip() for n in names})
        if any(not n or "\n" in n or "\r" in n for n in clean):
            raise ValueError("an image flag name must be one non-empty line.")
        self.set_meta(IMAGE_FLAGS_META, json.dumps(clean, ensure_ascii=False))

    def set_image_extra(self, image_id: int, extra: dict) -> None:
        """Set what other tools stored about the image (JSON object keyed by format, see
        model.ImageRecord.extra)."""
        self._update_image(image_id, "extra = ?", (_json_column(dict(extra), "extra data"),))

    def bulk_insert_images(self, records: Iterable[ImageRecord]) -> int:
        """Insert many images in one transaction (ids assigned by the store); returns the count.

        Paths are normalised; a duplicate path rolls the whole batch back (ValueError).
        """
        rows = ((self.relative_path(r.path), *self._check_size(r.width, r.height), r.sha1,
                 check_status(r.status), int(r.missing), _json_column(r.flags, "flags"),
                 _json_column(r.extra, "extra data")) for r in records)
        with self.transaction() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT INTO image(path, width, height, sha1, status, missing, flags, extra) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
            return conn.total_changes - before

    def sync_images(self, progress: Callable[[int, int], None] | None = None) -> SyncReport:
        """Match the image table with the files under root, in one transaction.

        New files are added (size 0x0, status "new"; nothing is decoded), files that vanished are
        marked missing (their annotations are kept), missing ones that came back are un-marked.
        ``progress(done, total)``: (found, 0) while scanning, then (total, total) at the end.
        """
        image_root = self.image_root
        found = scan_image_files(image_root, progress=progress)
        plan = plan_sync(self.root, scan_prefix(self.root, image_root), found, known_images(self.conn))
        if not plan.empty():
            with self.transaction() as conn:
                apply_sync_plan(conn, plan)
        if progress is not None:
            progress(len(found), len(found))
        return SyncReport(added=len(plan.new), missing=len(plan.gone), returned=len(plan.back), total=len(found))
