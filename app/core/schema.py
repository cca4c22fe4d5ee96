"""SQLite schema of a project file: DDL, the project marker, validation and migrations.

A project file is an SQLite database with the table ``samlabel_meta`` holding the row
``application = sam-labeler`` (the marker), and ``PRAGMA user_version`` = schema version.
Migrations are a list of functions: ``MIGRATIONS[k]`` upgrades a file from version ``k`` to
``k + 1`` inside the caller's transaction. Version 0 means "empty database" (freshly created).
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from app.core.errors import ProjectError

APPLICATION = "sam-labeler"
MARKER_TABLE = "samlabel_meta"
SQLITE_MAGIC = b"SQLite format 3\x00"

Migration = Callable[[sqlite3.Connection], None]


def _v0_to_v1(conn: sqlite3.Connection) -> None:
    """Create the version-1 tables and indexes in an empty database."""
    for stmt in _V1_DDL:
        conn.execute(stmt)
    conn.execute(f"INSERT INTO {MARKER_TABLE}(key, value) VALUES ('application', ?)", (APPLICATION,))


_V1_DDL: tuple[str, ...] = (
    f"CREATE TABLE {MARKER_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE label_class (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        color TEXT NOT NULL,
        ord INTEGER NOT NULL)""",
    """CREATE TABLE image (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT NOT NULL UNIQUE,
        width INTEGER NOT NULL DEFAULT 0,
        height INTEGER NOT NULL DEFAULT 0,
        sha1 TEXT,
        status TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'in_progress', 'done')),
        missing INTEGER NOT NULL DEFAULT 0)""",
    "CREATE INDEX image_status_path ON image(status, path)",
    """CREATE TABLE annotation (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        image_id INTEGER NOT NULL REFERENCES image(id) ON DELETE CASCADE,
        label_id INTEGER NOT NULL REFERENCES label_class(id),
        group_id INTEGER,
        z INTEGER NOT NULL DEFAULT 0,
        geometry BLOB NOT NULL,
        rle_h INTEGER,
        rle_w INTEGER,
        rle_counts,
        source TEXT NOT NULL,
        score REAL,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        extra TEXT)""",
    "CREATE INDEX annotation_image_z ON annotation(image_id, z, id)",
    "CREATE INDEX annotation_label ON annotation(label_id)",
)


def _v1_to_v2(conn: sqlite3.Connection) -> None:
    """Version 2: each annotation's COCO segmentation, computed when it is stored (coco_head,
    coco_rle, coco_poly; retired by version 4, see RETIRED_COLUMNS). O(1): SQLite adds nullable
    columns without rewriting the table."""
    conn.execute("ALTER TABLE annotation ADD COLUMN coco_head BLOB")
    conn.execute("ALTER TABLE annotation ADD COLUMN coco_rle TEXT")
    conn.execute("ALTER TABLE annotation ADD COLUMN coco_poly TEXT")


def _v2_to_v3(conn: sqlite3.Connection) -> None:
    """Version 3: what other tools' files carry survives a round trip, and non-area shapes.

    annotation: ``shape`` (model.SHAPES; '' in rows of older versions = "mask" when the row has an
    RLE, else "polygon"), ``points`` (codec.encode_points blob or NULL), ``description``, ``flags``
    and ``attributes`` (JSON objects or NULL), ``file_id`` (the file_record it was imported from).
    image: ``flags`` and ``extra`` (JSON or NULL). label_class: ``extra`` (JSON or NULL).
    file_record: the annotation files this project imported or exported (path, content hash), so
    that an import of the same file is recognised and an export updates only files we know.
    Nullable columns with constant defaults: SQLite adds them without rewriting the tables."""
    conn.execute("ALTER TABLE annotation ADD COLUMN shape TEXT NOT NULL DEFAULT ''")
    conn.execute("ALTER TABLE annotation ADD COLUMN points BLOB")
    conn.execute("ALTER TABLE annotation ADD COLUMN description TEXT NOT NULL DEFAULT ''")
    conn.execute("ALTER TABLE annotation ADD COLUMN flags TEXT")
    conn.execute("ALTER TABLE annotation ADD COLUMN attributes TEXT")
    conn.execute("ALTER TABLE annotation ADD COLUMN file_id INTEGER")
    conn.execute("ALTER TABLE image ADD COLUMN flags TEXT")
    conn.execute("ALTER TABLE image ADD COLUMN extra TEXT")
    conn.execute("ALTER TABLE label_class ADD COLUMN extra TEXT")
    conn.execute("""CREATE TABLE file_record (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        format TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('import', 'export')),
        path TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        time REAL NOT NULL,
        annotations INTEGER NOT NULL DEFAULT 0)""")
    conn.execute("CREATE INDEX file_record_path ON file_record(path)")
    conn.execute("CREATE INDEX file_record_sha ON file_record(sha256)")
    conn.execute("CREATE INDEX annotation_file ON annotation(file_id) WHERE file_id IS NOT NULL")


RETIRED_COLUMNS: dict[str, tuple[str, ...]] = {"annotation": ("coco_head", "coco_rle", "coco_poly")}
"""Columns that earlier versions wrote and this one neither reads nor writes (version 4 retired
the COCO cache of version 2); rows written since are NULL there."""


def _v3_to_v4(conn: sqlite3.Connection) -> None:
    """Version 4: the store keeps no format's data. annotation ``outline`` (app.core.outline
    to_bytes: area, bbox, holes and the packed pixel-corner rings of the mask; NULL for rows of
    older versions, which exporters compute) replaces the COCO cache columns of version 2, which
    are retired (RETIRED_COLUMNS) but not dropped: on 1 000 000 annotations (4.2 GB)
    ``ALTER TABLE .. DROP COLUMN`` of the three took 101 s and 4.2 GB of WAL, a rebuilt table 48 s
    and 5 GB of WAL, and setting them NULL 37 s while freeing only 24 % of the pages (SQLite 3.40,
    secure_delete on, 2 cores at load 5); the file shrinks only with a VACUUM anyway, which is the
    user's choice. Adding a nullable column does not rewrite the table."""
    conn.execute("ALTER TABLE annotation ADD COLUMN outline BLOB")


def _v4_to_v5(conn: sqlite3.Connection) -> None:
    """Version 5: label_class ``attributes``, the flags and attributes its annotations carry
    (app.core.attributes schema as JSON; NULL: none). A nullable column: no table rewrite."""
    conn.execute("ALTER TABLE label_class ADD COLUMN attributes TEXT")


# MIGRATIONS[k] upgrades version k -> k + 1. Append only; never edit a released step.
MIGRATIONS: list[Migration] = [_v0_to_v1, _v1_to_v2, _v2_to_v3, _v3_to_v4, _v4_to_v5]


def schema_version() -> int:
    """The schema version this code writes (= number of registered migrations)."""
    return len(MIGRATIONS)


def check_header(path: Path) -> None:
    """Refuse (ProjectError) a file that is empty or not an SQLite database, by its first bytes.

    Reads only; the file is never modified.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise ProjectError(f"{path} does not exist.") from None
    except IsADirectoryError:
        raise ProjectError(f"{path} is a folder, not a project file.") from None
    except OSError as exc:
        raise ProjectError(f"{path} cannot be read: {exc.strerror or exc}.") from None
    if not head:
        raise ProjectError(f"{path} is empty, not a SAM Labeler project.")
    if head != SQLITE_MAGIC:
        raise ProjectError(f"{path} is not a SAM Labeler project (not an SQLite database).")


def read_version(conn: sqlite3.Connection, path: Path) -> int:
    """Check the marker table and return ``PRAGMA user_version``; ProjectError if not a project.

    Issues only reads.
    """
    try:
        row = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", (MARKER_TABLE,)
        ).fetchone()
        if row is None:
            raise ProjectError(f"{path} is an SQLite database but not a SAM Labeler project.")
        app_row = conn.execute(f"SELECT value FROM {MARKER_TABLE} WHERE key = 'application'").fetchone()
        if app_row is None or app_row[0] != APPLICATION:
            raise ProjectError(f"{path} is an SQLite database but not a SAM Labeler project.")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > schema_version():
            raise ProjectError(
                f"{path} was written by a newer SAM Labeler (schema version {version}, this version "
                f"understands up to {schema_version()}); update the application to open it."
            )
        _check_tables(conn, path, version)
    except sqlite3.DatabaseError as exc:
        raise ProjectError(f"{path} cannot be read as a project, it is damaged ({exc}); restore it from "
                           "a backup.") from None
    return version


# Tables and columns every project of a schema version has (checked on open: a file with the
# marker but without them - damaged, or written by something else - is refused with the reason
# instead of failing later in the middle of an export).
_REQUIRED: dict[int, dict[str, tuple[str, ...]]] = {
    1: {"label_class": ("id", "name", "color", "ord"),
        "image": ("id", "path", "width", "height", "sha1", "status", "missing"),
        "annotation": ("id", "image_id", "label_id", "group_id", "z", "geometry", "rle_h", "rle_w", "rle_counts",
                       "source", "score", "created", "updated", "extra")},
    2: {"annotation": ("coco_head", "coco_rle", "coco_poly")},
    5: {"label_class": ("attributes",)},
}


def _check_tables(conn: sqlite3.Connection, path: Path, version: int) -> None:
    """ProjectError naming the first table/column that a project of ``version`` must have and lacks."""
    if version < 1:
        raise ProjectError(f"{path} is damaged: it is marked as a project but has no project tables "
                           "(schema version 0).")
    needed: dict[str, list[str]] = {}
    for v in range(1, version + 1):
        for table, cols in _REQUIRED.get(v, {}).items():
            needed.setdefault(table, []).extend(cols)
    for table, wanted in needed.items():
        have = {str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")}
        if not have:
            raise ProjectError(f"{path} is damaged: its table {table!r} is missing.")
        missing = [c for c in wanted if c not in have]
        if missing:
            raise ProjectError(f"{path} is damaged: the table {table!r} lacks the column(s) {', '.join(missing)}.")


def migrate(conn: sqlite3.Connection, current: int, migrations: list[Migration] | None = None) -> int:
    """Apply ``migrations[current:]`` in ONE transaction and set user_version; return the new version.

    ``conn`` must be in autocommit mode (isolation_level=None) and outside a transaction.
    ``migrations`` defaults to MIGRATIONS (tests pass their own list to exercise the runner).
    A failing step rolls everything back, leaving the file at ``current``.
    """
    steps = MIGRATIONS if migrations is None else migrations
    target = len(steps)
    if current >= target:
        return current
    conn.execute("BEGIN IMMEDIATE")
    try:
        for step in steps[current:]:
            step(conn)
        conn.execute(f"PRAGMA user_version = {int(target)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return target
