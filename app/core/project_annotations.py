"""Annotations of a project (mixin of app.core.project.Project).

Rows: image, label, group_id, z, geometry (codec.encode_parts blob), rle (h, w, counts), source,
score, created/updated (UNIX seconds), extra (JSON or NULL). Coordinates are pixel-centre image
pixels (see app.core.model).
"""
from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Iterator

from app.core import codec
from app.core.model import Annotation
from app.core.project_base import NotFoundError, ProjectBase

SOURCES: tuple[str, ...] = ("sam", "manual", "import")
_ANN_COLS = ("id, image_id, label_id, group_id, z, geometry, rle_h, rle_w, rle_counts, source, score, "
             "created, updated, extra")


def _row(row: tuple) -> Annotation:
    return Annotation(
        id=int(row[0]), image_id=int(row[1]), label_id=int(row[2]),
        group_id=None if row[3] is None else int(row[3]), z=int(row[4]),
        parts=codec.decode_parts(row[5]), rle=codec.decode_rle(row[6], row[7], row[8]),
        source=str(row[9]), score=None if row[10] is None else float(row[10]),
        created=float(row[11]), updated=float(row[12]),
        extra={} if row[13] is None else json.loads(row[13]),
    )


def _encode(ann: Annotation) -> tuple:
    """Validate ``ann`` (ValueError, one sentence) and return its storable column values
    (image_id, label_id, group_id, z, geometry, rle_h, rle_w, rle_counts, source, score, extra)."""
    parts = tuple(ann.parts)
    if not parts and ann.rle is None:
        raise ValueError("an annotation needs at least one polygon or a mask.")
    if ann.source not in SOURCES:
        raise ValueError(f"an annotation source must be one of {', '.join(SOURCES)} (got {ann.source!r}).")
    score = None if ann.score is None else float(ann.score)
    if score is not None and not math.isfinite(score):
        raise ValueError(f"an annotation score must be a finite number (got {ann.score!r}).")
    try:
        extra = json.dumps(ann.extra, sort_keys=True) if ann.extra else None
    except (TypeError, ValueError):
        raise ValueError("the extra data of an annotation must be JSON-serialisable.") from None
    h, w, counts = codec.encode_rle(ann.rle)
    group = None if ann.group_id is None else int(ann.group_id)
    return (int(ann.image_id), int(ann.label_id), group, int(ann.z), codec.encode_parts(parts),
            h, w, counts, ann.source, score, extra)


class AnnotationsMixin(ProjectBase):
    """annotation table; adding the first annotation moves a "new" image to "in_progress"."""

    def _check_refs(self, image_id: int, label_id: int) -> None:
        conn = self.conn
        if conn.execute("SELECT 1 FROM image WHERE id = ?", (image_id,)).fetchone() is None:
            raise ValueError(f"{self.path} has no image with id {image_id}.")
        if conn.execute("SELECT 1 FROM label_class WHERE id = ?", (label_id,)).fetchone() is None:
            raise ValueError(f"{self.path} has no label class with id {label_id}.")

    def annotations(self, image_id: int) -> list[Annotation]:
        """The annotations of one image, by z then id (bottom first)."""
        rows = self.conn.execute(
            f"SELECT {_ANN_COLS} FROM annotation WHERE image_id = ? ORDER BY z, id", (image_id,)
        ).fetchall()
        return [_row(r) for r in rows]

    def annotation(self, ann_id: int) -> Annotation:
        """The annotation with this id; NotFoundError otherwise."""
        row = self.conn.execute(f"SELECT {_ANN_COLS} FROM annotation WHERE id = ?", (ann_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"{self.path} has no annotation with id {ann_id}.")
        return _row(row)

    def add_annotation(self, ann: Annotation) -> Annotation:
        """Store ``ann`` and return it with id/created/updated set. One transaction.

        ``ann.id`` set: that id is reused (redo of an undone add/delete); ValueError if taken.
        ``ann.created``/``ann.updated`` > 0 are kept (redo, import), otherwise set to now.
        A "new" image becomes "in_progress" in the same transaction.
        """
        values = _encode(ann)
        now = time.time()
        created = ann.created if ann.created > 0 else now
        updated = ann.updated if ann.updated > 0 else created
        with self.transaction() as conn:
            self._check_refs(ann.image_id, ann.label_id)
            if ann.id is not None and conn.execute("SELECT 1 FROM annotation WHERE id = ?", (ann.id,)).fetchone():
                raise ValueError(f"annotation id {ann.id} is already in use.")
            cur = conn.execute(
                "INSERT INTO annotation(id, image_id, label_id, group_id, z, geometry, rle_h, rle_w, rle_counts, "
                "source, score, extra, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (ann.id, *values, created, updated),
            )
            new_id = int(cur.lastrowid) if ann.id is None else int(ann.id)
            conn.execute("UPDATE image SET status = 'in_progress' WHERE id = ? AND status = 'new'", (ann.image_id,))
        return self.annotation(new_id)

    def update_annotation(self, ann: Annotation, *, touch: bool = True) -> None:
        """Overwrite the stored annotation ``ann.id`` with ``ann``. One transaction.

        touch=True: ``updated`` becomes now (created is kept). touch=False: created/updated are
        written as given (undo/redo restore an exact earlier row).
        """
        if ann.id is None:
            raise ValueError("update_annotation needs an annotation with an id.")
        values = _encode(ann)
        with self.transaction() as conn:
            old = self.annotation(ann.id)
            self._check_refs(ann.image_id, ann.label_id)
            created, updated = (old.created, time.time()) if touch else (ann.created, ann.updated)
            conn.execute(
                "UPDATE annotation SET image_id = ?, label_id = ?, group_id = ?, z = ?, geometry = ?, rle_h = ?, "
                "rle_w = ?, rle_counts = ?, source = ?, score = ?, extra = ?, created = ?, updated = ? WHERE id = ?",
                (*values, created, updated, ann.id),
            )

    def delete_annotation(self, ann_id: int) -> None:
        """Delete one annotation; NotFoundError if absent. The image status is left as it is."""
        with self.transaction() as conn:
            if conn.execute("DELETE FROM annotation WHERE id = ?", (ann_id,)).rowcount == 0:
                raise NotFoundError(f"{self.path} has no annotation with id {ann_id}.")

    def delete_annotations_with_label(self, label_id: int) -> int:
        """Delete every annotation of one label class (one transaction); returns how many."""
        with self.transaction() as conn:
            return int(conn.execute("DELETE FROM annotation WHERE label_id = ?", (label_id,)).rowcount)

    def annotation_count(self, image_id: int | None = None) -> int:
        """Number of annotations (of one image when given)."""
        if image_id is None:
            return int(self.conn.execute("SELECT COUNT(*) FROM annotation").fetchone()[0])
        return int(self.conn.execute("SELECT COUNT(*) FROM annotation WHERE image_id = ?", (image_id,)).fetchone()[0])

    def annotations_with_label(self, label_id: int) -> list[Annotation]:
        """Every annotation of one label class, by id."""
        rows = self.conn.execute(f"SELECT {_ANN_COLS} FROM annotation WHERE label_id = ? ORDER BY id", (label_id,))
        return [_row(r) for r in rows]

    def iter_annotations(self, batch: int = 10000) -> Iterator[Annotation]:
        """Every annotation, ordered by (image_id, z, id), read ``batch`` rows at a time (keyset
        paging: memory stays bounded and the project may be written between batches)."""
        batch = max(1, int(batch))
        conn = self.conn
        rows = conn.execute(f"SELECT {_ANN_COLS} FROM annotation ORDER BY image_id, z, id LIMIT ?",
                            (batch,)).fetchall()
        while rows:
            for r in rows:
                yield _row(r)
            if len(rows) < batch:
                return
            last = rows[-1]
            rows = conn.execute(
                f"SELECT {_ANN_COLS} FROM annotation WHERE (image_id, z, id) > (?, ?, ?) "
                "ORDER BY image_id, z, id LIMIT ?", (last[1], last[4], last[0], batch)
            ).fetchall()

    def iter_annotation_rows(self, first_image_id: int | None = None, last_image_id: int | None = None,
                             batch: int = 10000) -> Iterator[tuple]:
        """Raw rows for bulk readers (exporters), without building Annotation objects: tuples
        (id, image_id, label_id, z, geometry blob (codec.decode_parts), rle_h, rle_w, rle_counts
        (codec.decode_rle)), ordered by (image_id, z, id) like iter_annotations, optionally only of
        images first_image_id <= image_id <= last_image_id; keyset paging ``batch`` rows at a time."""
        batch = max(1, int(batch))
        lo = -(1 << 62) if first_image_id is None else int(first_image_id)
        hi = (1 << 62) if last_image_id is None else int(last_image_id)
        cols = "id, image_id, label_id, z, geometry, rle_h, rle_w, rle_counts"
        conn = self.conn
        rows = conn.execute(f"SELECT {cols} FROM annotation WHERE image_id BETWEEN ? AND ? "
                            "ORDER BY image_id, z, id LIMIT ?", (lo, hi, batch)).fetchall()
        while rows:
            yield from rows
            if len(rows) < batch:
                return
            last = rows[-1]
            rows = conn.execute(
                f"SELECT {cols} FROM annotation WHERE (image_id, z, id) > (?, ?, ?) AND image_id <= ? "
                "ORDER BY image_id, z, id LIMIT ?", (last[1], last[3], last[0], hi, batch)
            ).fetchall()

    def annotation_counts_by_image(self) -> dict[int, int]:
        """{image_id: number of annotations} for images that have any."""
        return {int(i): int(n) for i, n in self.conn.execute(
            "SELECT image_id, COUNT(*) FROM annotation GROUP BY image_id")}

    def bulk_insert_annotations(self, anns: Iterable[Annotation]) -> int:
        """Insert many annotations in one transaction (validated; ids reused when set; timestamps
        kept when > 0, else now); "new" images that got annotations become "in_progress".
        A bad row rolls the whole batch back (ValueError). Returns the number inserted."""
        now = time.time()

        def rows() -> Iterator[tuple]:
            for a in anns:
                created = a.created if a.created > 0 else now
                yield (a.id, *_encode(a), created, a.updated if a.updated > 0 else created)

        with self.transaction() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT INTO annotation(id, image_id, label_id, group_id, z, geometry, rle_h, rle_w, rle_counts, "
                "source, score, extra, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows()
            )
            count = conn.total_changes - before
            conn.execute("UPDATE image SET status = 'in_progress' WHERE status = 'new' "
                         "AND EXISTS (SELECT 1 FROM annotation a WHERE a.image_id = image.id)")
        return count
