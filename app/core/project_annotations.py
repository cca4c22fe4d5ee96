"""Annotations of a project (mixin of app.core.project.Project).

Rows: image, label, group_id, z, geometry (codec.encode_parts blob), rle (h, w, counts), source,
score, created/updated (UNIX seconds), extra (JSON or NULL), shape, points, description, flags,
attributes, file_id, and the mask's outline (app.core.outline.to_bytes; NULL when unknown).
Coordinates are pixel-centre image pixels (see app.core.model). The store knows no file format:
what formats keep lives in ``extra`` (app.core.formats.provenance).

The outline (model.Outline) is written in the same statement as the geometry it derives from, so
it is never stale: every add/update/bulk insert keeps the one the caller passed only when it was
computed from this annotation's rle/parts (outline.fits) for the image's current size (the RLE's
size when the image's is unknown), and otherwise computes it (~0.15 ms for a 100 px object; NULL
for line shapes, when the stored mask is corrupt or neither size is known). Exporters compute
NULL rows and rows whose size is no longer the image's.
"""
from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace

from app.core import codec, outline
from app.core.batching import chunked
from app.core.masks import rle_size
from app.core.model import LINE_SHAPES, SHAPE_POINTS, SHAPES, SOURCES, Annotation, Outline
from app.core.project_base import NotFoundError, ProjectBase, inserted_id

_ANN_COLS = ("id, image_id, label_id, group_id, z, geometry, rle_h, rle_w, rle_counts, source, score, "
             "created, updated, extra, outline, shape, points, description, flags, attributes, file_id")
_VALUE_COLS = ("image_id, label_id, group_id, z, geometry, rle_h, rle_w, rle_counts, source, score, extra, "
               "shape, points, description, flags, attributes, file_id")
_INSERT = (f"INSERT INTO annotation(id, {_VALUE_COLS}, outline, created, updated) "
           f"VALUES ({', '.join(['?'] * 21)})")
_UPDATE = (f"UPDATE annotation SET {', '.join(c + ' = ?' for c in _VALUE_COLS.split(', '))}, outline = ?, "
           "created = ?, updated = ? WHERE id = ?")
_ROW_COLS = ("id, image_id, label_id, z, geometry, rle_h, rle_w, rle_counts, shape, points, extra, outline, "
             "group_id, description, flags, attributes")
ROW_FIELDS: tuple[str, ...] = tuple(_ROW_COLS.split(", "))
"""The fields of an iter_annotation_rows tuple, in order."""


def _json_object(text: str | None) -> dict:
    """A stored JSON object column ({} for NULL)."""
    return {} if text is None else json.loads(text)


def _row(row: tuple, memo: codec.PartsMemo | None = None) -> Annotation:
    parts = codec.decode_parts(row[5], memo)
    rle = codec.decode_rle(row[6], row[7], row[8])
    return Annotation(
        id=int(row[0]), image_id=int(row[1]), label_id=int(row[2]),
        group_id=None if row[3] is None else int(row[3]), z=int(row[4]),
        parts=parts, rle=rle,
        source=str(row[9]), score=None if row[10] is None else float(row[10]),
        created=float(row[11]), updated=float(row[12]),
        extra=_json_object(row[13]),
        outline=outline.from_bytes(row[14], rle, parts),
        shape=row_shape(row[15], rle is not None),
        points=codec.decode_points(row[16]), description=str(row[17]),
        flags=_json_object(row[18]), attributes=_json_object(row[19]),
        file_id=None if row[20] is None else int(row[20]),
    )


def row_shape(stored: str | None, has_rle: bool) -> str:
    """The shape kind of a row: stored, or for rows of schema <= 2 (''), "mask" when the row has
    an RLE, else "polygon"."""
    return str(stored) if stored else ("mask" if has_rle else "polygon")


def _json_text(value: object, what: str) -> str | None:
    """Compact JSON text of a dict column (None when empty); ValueError when not serialisable."""
    if not value:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"the {what} of an annotation must be a JSON object.")
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        raise ValueError(f"the {what} of an annotation must be JSON-serialisable.") from None


def check_shape(ann: Annotation) -> None:
    """ValueError (one sentence) when ann's shape kind, points, parts and rle do not fit together
    (model.ShapeKind, model.SHAPE_POINTS)."""
    if ann.shape not in SHAPES:
        raise ValueError(f"an annotation shape must be one of {', '.join(SHAPES)} (got {ann.shape!r}).")
    fewest, most = SHAPE_POINTS[ann.shape]
    n = len(ann.points)
    if n < fewest or (most is not None and n > most):
        need = f"{fewest}" if fewest == most else f"at least {fewest}"
        raise ValueError(f"a {ann.shape} annotation needs {need} point(s), it has {n}.")
    if ann.shape in LINE_SHAPES:
        if ann.parts or ann.rle is not None:
            raise ValueError(f"a {ann.shape} annotation has no area: it takes no polygons and no mask.")
        return
    if not ann.parts and ann.rle is None:
        raise ValueError("an annotation needs at least one polygon or a mask.")
    if ann.shape == "rectangle":
        (x0, y0), (x1, y1) = ann.points
        if x0 > x1 or y0 > y1:
            raise ValueError("a rectangle's points must be its top-left then its bottom-right corner.")


def _outline_size(ann: Annotation, image_size: tuple[int, int] | None) -> tuple[int, int] | None:
    """The image size to compute ann's Outline for: the image's when known, else its RLE's."""
    if image_size is not None and image_size[0] > 0 and image_size[1] > 0:
        return image_size
    size = rle_size(ann.rle)
    return size if size is not None and size[0] > 0 and size[1] > 0 else None


def _kept_outline(ann: Annotation, size: tuple[int, int] | None) -> Outline | None:
    """ann.outline when it may be stored as it is (computed from ann's geometry for ``size``)."""
    got = ann.outline
    if got is None or size is None or (got.height, got.width) != size:
        return None
    return got if outline.fits(got, ann) else None


def _outline_column(found: Outline | None) -> bytes | None:
    if found is None:
        return None
    try:
        return outline.to_bytes(found)
    except ValueError:
        return None


def _outlines(anns: list[Annotation], sizes: list[tuple[int, int] | None]) -> list[Outline | None]:
    """The Outline to store with each annotation (``sizes``: image size per annotation, or None when
    unknown): the caller's when it fits, else computed in one batch; None when not computable."""
    out = [_kept_outline(a, s) for a, s in zip(anns, sizes)]
    todo = [i for i, (got, a, s) in enumerate(zip(out, anns, sizes))
            if got is None and a.shape not in LINE_SHAPES and _outline_size(a, s)]
    if todo:
        sources = []
        for i in todo:
            h, w = _outline_size(anns[i], sizes[i])  # type: ignore[misc]
            sources.append((anns[i].rle, anns[i].parts, h, w))
        try:
            computed: list[Outline | str | None] = list(outline.outlines(sources))
        except Exception:  # noqa: BLE001 - the outline is optional: a failure never refuses a store
            computed = [None] * len(todo)
        for i, got in zip(todo, computed):
            out[i] = got if isinstance(got, Outline) else None
    return out


def _encode(ann: Annotation) -> tuple:
    """Validate ``ann`` (ValueError, one sentence) and return its storable column values
    (_VALUE_COLS); the outline column is added by the callers (_outline_column)."""
    parts = ann.parts if isinstance(ann.parts, tuple) else tuple(ann.parts)  # keeps EncodedParts' blob
    check_shape(ann)
    if ann.source not in SOURCES:
        raise ValueError(f"an annotation source must be one of {', '.join(SOURCES)} (got {ann.source!r}).")
    score = None if ann.score is None else float(ann.score)
    if score is not None and not math.isfinite(score):
        raise ValueError(f"an annotation score must be a finite number (got {ann.score!r}).")
    extra = _json_text(ann.extra, "extra data")
    if not isinstance(ann.description, str):
        raise ValueError("the description of an annotation must be text.")
    if any(not isinstance(k, str) or not isinstance(v, bool) for k, v in dict(ann.flags).items()):
        raise ValueError("annotation flags must map names to true/false.")
    h, w, counts = codec.encode_rle(ann.rle)
    group = None if ann.group_id is None else _sql_int(ann.group_id, "group id")
    return (_sql_int(ann.image_id, "image id"), _sql_int(ann.label_id, "label id"), group, _sql_int(ann.z, "z"),
            codec.encode_parts(parts), h, w, counts, ann.source, score, extra,
            ann.shape, codec.encode_points(tuple(ann.points)), ann.description,
            _json_text(dict(ann.flags), "flags"), _json_text(dict(ann.attributes), "attributes"),
            None if ann.file_id is None else _sql_int(ann.file_id, "file id"))


_SQL_INT = 1 << 63


def _sql_int(value: object, what: str) -> int:
    """``value`` as an integer SQLite can store (64-bit); ValueError (one sentence) otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            number = int(value)  # type: ignore[call-overload]  # any value: the except reports what int() refuses
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"an annotation's {what} must be an integer (got {value!r:.40}).") from None
    else:
        number = value
    if not -_SQL_INT <= number < _SQL_INT:
        raise ValueError(f"an annotation's {what} {number} is too large to store.")
    return int(number)


_OUTLINE_BATCH = 1000  # annotations whose outlines are computed together by bulk_insert_annotations


class AnnotationsMixin(ProjectBase):
    """annotation table; adding the first annotation moves a "new" image to "in_progress"."""

    def _image_size(self, image_id: int) -> tuple[int, int] | None:
        """(height, width) of an image as stored, None when unknown (0) or the image is absent."""
        row = self.conn.execute("SELECT height, width FROM image WHERE id = ?", (image_id,)).fetchone()
        return (int(row[0]), int(row[1])) if row is not None and row[0] > 0 and row[1] > 0 else None

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
        return [_row(r, self.parts_memo) for r in rows]

    def annotation(self, ann_id: int) -> Annotation:
        """The annotation with this id; NotFoundError otherwise."""
        row = self.conn.execute(f"SELECT {_ANN_COLS} FROM annotation WHERE id = ?", (ann_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"{self.path} has no annotation with id {ann_id}.")
        return _row(row, self.parts_memo)

    def add_annotation(self, ann: Annotation) -> Annotation:
        """Store ``ann`` and return it with id/created/updated set. One transaction.

        ``ann.id`` set: that id is reused (redo of an undone add/delete); ValueError if taken.
        ``ann.created``/``ann.updated`` > 0 are kept (redo, import), otherwise set to now.
        A "new" image becomes "in_progress" in the same transaction. ``ann.outline`` is kept when
        it fits, otherwise computed (see the module doc); the returned annotation carries the stored one.
        """
        values = _encode(ann)
        now = time.time()
        created = ann.created if ann.created > 0 else now
        updated = ann.updated if ann.updated > 0 else created
        with self.transaction() as conn:
            self._check_refs(ann.image_id, ann.label_id)
            if ann.id is not None and conn.execute("SELECT 1 FROM annotation WHERE id = ?", (ann.id,)).fetchone():
                raise ValueError(f"annotation id {ann.id} is already in use.")
            found = _outlines([ann], [self._image_size(ann.image_id)])[0]
            cur = conn.execute(_INSERT, (ann.id, *values, _outline_column(found), created, updated))
            new_id = inserted_id(cur) if ann.id is None else int(ann.id)
            conn.execute("UPDATE image SET status = 'in_progress' WHERE id = ? AND status = 'new'", (ann.image_id,))
        self._remember_parts(ann)
        return self.annotation(new_id)

    def _remember_parts(self, ann: Annotation) -> None:
        """A stored geometry that knows its blob: reads of it return these very parts (no decode)."""
        if isinstance(ann.parts, codec.EncodedParts):
            self.parts_memo.put(ann.parts)

    def update_annotation(self, ann: Annotation, *, touch: bool = True) -> None:
        """Overwrite the stored annotation ``ann.id`` with ``ann``. One transaction.

        touch=True: ``updated`` becomes now (created is kept). touch=False: created/updated are
        written as given (undo/redo restore an exact earlier row). The outline is replaced in the
        same statement: ``ann.outline`` when it fits ``ann``'s rle/parts, else the stored one when
        that still fits (the geometry did not change), else a computed one.
        """
        if ann.id is None:
            raise ValueError("update_annotation needs an annotation with an id.")
        values = _encode(ann)
        with self.transaction() as conn:
            old = self.annotation(ann.id)
            self._check_refs(ann.image_id, ann.label_id)
            created, updated = (old.created, time.time()) if touch else (ann.created, ann.updated)
            size = self._image_size(ann.image_id)
            if _kept_outline(ann, _outline_size(ann, size)) is None and old.outline is not None:
                ann = replace(ann, outline=old.outline)  # kept if the geometry is unchanged (relabel, z, ...)
            found = _outlines([ann], [size])[0]
            conn.execute(_UPDATE, (*values, _outline_column(found), created, updated, ann.id))
        self._remember_parts(ann)

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

    def label_counts(self, image_id: int | None = None) -> dict[int, int]:
        """{label id: number of annotations} over the project, or of one image when given (labels
        without annotations are absent). The whole-project count reads the label index only."""
        if image_id is None:
            rows = self.conn.execute("SELECT label_id, COUNT(*) FROM annotation GROUP BY label_id")
        else:
            rows = self.conn.execute("SELECT label_id, COUNT(*) FROM annotation WHERE image_id = ? GROUP BY label_id",
                                     (image_id,))
        return {int(label): int(n) for label, n in rows}

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
        """Raw rows for bulk readers (exporters), without building Annotation objects: tuples of
        ROW_FIELDS (id, image_id, label_id, z, geometry blob (codec.decode_parts), rle_h, rle_w,
        rle_counts (codec.decode_rle), shape (row_shape), points blob (codec.decode_points), extra
        (JSON text or None), outline (outline.from_bytes), group_id, description, flags and
        attributes (JSON text or None)), ordered by (image_id, z, id) like
        iter_annotations, optionally only of images first_image_id <= image_id <= last_image_id;
        keyset paging ``batch`` rows at a time."""
        batch = max(1, int(batch))
        lo = -(1 << 62) if first_image_id is None else int(first_image_id)
        hi = (1 << 62) if last_image_id is None else int(last_image_id)
        conn = self.conn
        rows = conn.execute(f"SELECT {_ROW_COLS} FROM annotation WHERE image_id BETWEEN ? AND ? "
                            "ORDER BY image_id, z, id LIMIT ?", (lo, hi, batch)).fetchall()
        while rows:
            yield from rows
            if len(rows) < batch:
                return
            last = rows[-1]
            rows = conn.execute(
                f"SELECT {_ROW_COLS} FROM annotation WHERE (image_id, z, id) > (?, ?, ?) AND image_id <= ? "
                "ORDER BY image_id, z, id LIMIT ?", (last[1], last[3], last[0], hi, batch)
            ).fetchall()

    def outline_coverage(self, samples: int = 128) -> float:
        """Estimated fraction (0..1) of annotations stored with their outline, from ``samples`` rows
        at evenly spaced ids (a few ms at any size; 1.0 without annotations). Exporters use it to
        decide whether worker processes pay off."""
        lo, hi = self.conn.execute("SELECT MIN(id), MAX(id) FROM annotation").fetchone()
        if lo is None:
            return 1.0
        n = max(2, int(samples))
        targets = sorted({int(lo) + (int(hi) - int(lo)) * k // (n - 1) for k in range(n)})  # lo .. hi
        found = [self.conn.execute("SELECT outline IS NOT NULL FROM annotation WHERE id >= ? ORDER BY id LIMIT 1",
                                   (t,)).fetchone() for t in targets]
        flags = [int(f[0]) for f in found if f is not None]
        return sum(flags) / len(flags) if flags else 1.0

    def annotation_extra_max(self, key: str, field: str) -> int | None:
        """The largest integer stored at ``extra[key][field]`` among the annotations (e.g. the
        largest id a format's import kept: ``annotation_extra_max("coco", "id")``), None when none
        has one. Integers only (not true/false, not 1.0), within SQLite's 64-bit range."""
        path = "$." + ".".join(json.dumps(part) for part in (key, field))
        try:
            row = self.conn.execute(
                "SELECT MAX(json_extract(extra, ?)) FROM annotation WHERE extra IS NOT NULL "
                "AND json_type(extra, ?) = 'integer'", (path, path)).fetchone()
            return None if row[0] is None else int(row[0])
        except sqlite3.OperationalError:  # an SQLite without JSON functions: read them here
            best: int | None = None
            for (text,) in self.conn.execute("SELECT extra FROM annotation WHERE extra IS NOT NULL"):
                value = _json_object(text).get(key)
                value = value.get(field) if isinstance(value, dict) else None
                if type(value) is int and -(1 << 63) <= value < (1 << 63) and (best is None or value > best):
                    best = value
            return best

    def annotation_counts_by_image(self) -> dict[int, int]:
        """{image_id: number of annotations} for images that have any."""
        return {int(i): int(n) for i, n in self.conn.execute(
            "SELECT image_id, COUNT(*) FROM annotation GROUP BY image_id")}

    def bulk_insert_annotations(self, anns: Iterable[Annotation]) -> int:
        """Insert many annotations in one transaction (validated; ids reused when set; timestamps
        kept when > 0, else now); "new" images that got annotations become "in_progress".
        A bad row rolls the whole batch back (ValueError). Returns the number inserted. Outlines
        that do not fit are computed _OUTLINE_BATCH annotations at a time (see the module doc)."""
        now = time.time()
        sizes: dict[int, tuple[int, int] | None] = {}

        def size_of(image_id: int) -> tuple[int, int] | None:
            if image_id not in sizes:
                sizes[image_id] = self._image_size(image_id)
            return sizes[image_id]

        def rows() -> Iterator[tuple]:
            for chunk in chunked(anns, _OUTLINE_BATCH):
                values = [_encode(a) for a in chunk]
                found = _outlines(chunk, [size_of(int(a.image_id)) for a in chunk])
                for a, v, got in zip(chunk, values, found):
                    created = a.created if a.created > 0 else now
                    yield (a.id, *v, _outline_column(got), created, a.updated if a.updated > 0 else created)

        with self.transaction() as conn:
            before = conn.total_changes
            conn.executemany(_INSERT, rows())
            count = conn.total_changes - before
            conn.execute("UPDATE image SET status = 'in_progress' WHERE status = 'new' "
                         "AND EXISTS (SELECT 1 FROM annotation a WHERE a.image_id = image.id)")
        return count
