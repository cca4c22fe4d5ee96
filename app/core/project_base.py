"""The connection, lifecycle, transactions and meta table of a project (base of app.core.project.Project).

Durability choice: WAL journal with ``PRAGMA synchronous=NORMAL`` (SYNCHRONOUS below).
A transaction is in the WAL file - in the operating system's page cache - before COMMIT returns,
so a crash or kill -9 of the application never loses an accepted edit (tests/core/
test_project_processes.py kills a writer 15 times and checks every confirmed id). What NORMAL
does not cover is power loss / an OS crash: edits since the last WAL sync may then be rolled back
(the file stays consistent). FULL would cover that with one fsync per commit, but the GUI thread
commits after every accepted edit and would wait for that fsync each time: measured with
benchmarks/bench_project.py (300k and 1M annotations, busy 2-core VM), 2.7-9 ms per
add_annotation with FULL against 0.1-0.2 ms with NORMAL, on a fast virtual disk; slow, busy, USB
or network disks take far longer per fsync, which would stall the canvas. The WAL is synced by
every checkpoint: SQLite's automatic one (every 1000 pages) - or, in the GUI, the background
thread of ``start_background_checkpoints()`` instead (app.core.checkpointer) -, ``checkpoint()``
(the GUI's Ctrl+S "save") and close().
"""
from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TypeVar
from urllib.parse import quote

from app.core.checkpointer import DEFAULT_INTERVAL_S, WalCheckpointer
from app.core.errors import ProjectError, ReadOnlyProject
from app.core.locking import ProjectFileLock
from app.core.schema import MARKER_TABLE


_P = TypeVar("_P", bound="ProjectBase")

# "NORMAL": durable against application crashes, no fsync per commit (see the module doc).
# "FULL": also durable against power loss, one fsync per commit.
SYNCHRONOUS = "NORMAL"


class NotFoundError(ProjectError):
    """An id or name that the project does not contain."""


def connect_rw(path: Path) -> sqlite3.Connection:
    """A read-write connection in autocommit mode (transactions are explicit) with our pragmas."""
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=10.0)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def enable_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL (persistent in the file) and set SYNCHRONOUS commits (see module doc)."""
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise ProjectError(f"the project file cannot use write-ahead logging (journal mode {mode}).")
    conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")


def _checkpoint_connection(path: Path) -> sqlite3.Connection:
    """The background checkpointer's own connection (used only in its thread)."""
    conn = connect_rw(path)
    conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
    return conn


def connect_ro(path: Path) -> sqlite3.Connection:
    """A read-only connection (SQLite ``mode=ro`` URI); it never writes the database file."""
    posix = str(path.absolute()).replace("\\", "/")
    uri = "file://" + ("" if posix.startswith("/") else "/") + quote(posix, safe="/:") + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=10.0)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA query_only = ON")
    return conn


class ProjectBase:
    """Holds the connection and the lock; provides ``transaction()`` and the meta key/value store.

    path: absolute path of the .samlabel file; root: its folder (image paths are relative to it).
    """

    path: Path
    root: Path
    read_only: bool

    def __init__(self, path: Path, conn: sqlite3.Connection, lock: ProjectFileLock | None, read_only: bool) -> None:
        """Take ownership of an open, validated connection (and of the write lock unless read-only)."""
        self.path = path
        self.root = path.parent
        self.read_only = read_only
        self._conn: sqlite3.Connection | None = conn
        self._lock = lock
        self._depth = 0
        self._commits = 0  # outermost transactions committed by this object (read by the checkpointer)
        self._checkpointer: WalCheckpointer | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def conn(self) -> sqlite3.Connection:
        """The open connection; ProjectError after close()."""
        if self._conn is None:
            raise ProjectError(f"{self.path} has been closed.")
        return self._conn

    @property
    def closed(self) -> bool:
        """True after close()."""
        return self._conn is None

    def close(self) -> None:
        """Close the connection (SQLite checkpoints the WAL) and release the lock. Idempotent."""
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        conn, self._conn = self._conn, None
        try:
            if conn is not None:
                conn.close()
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def __enter__(self: _P) -> _P:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def start_background_checkpoints(self, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        """Move WAL checkpoints off the thread that commits (the GUI thread, in the app): SQLite's
        automatic checkpoint is turned off for this connection and a WalCheckpointer runs passive
        checkpoints every ``interval_s`` while there are new commits, until close(). No-op when
        read-only or already started."""
        if self.read_only or self._checkpointer is not None:
            return
        self.conn.execute("PRAGMA wal_autocheckpoint = 0")
        self._checkpointer = WalCheckpointer(self.path, _checkpoint_connection, lambda: self._commits, interval_s)

    @property
    def checkpointer(self) -> WalCheckpointer | None:
        """The background checkpointer, when started."""
        return self._checkpointer

    def checkpoint(self) -> None:
        """Copy the WAL into the main file, sync it and truncate the WAL ("save" in the GUI: makes
        every edit so far durable against power loss too; against crashes they already are)."""
        if not self.read_only:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # ------------------------------------------------------------------ transactions
    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of writes; nests (inner levels are savepoints).

        The outermost level commits when the block ends, or rolls back on any exception.
        An inner level that raises rolls back only its own writes. ReadOnlyProject on a read-only
        project. SQLite failures become ValueError (constraint) or ProjectError (I/O, disk full).
        """
        if self.read_only:
            raise ReadOnlyProject(f"{self.path} is open read-only; changes are not allowed.")
        conn = self.conn
        if self._depth == 0:
            conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                try:
                    conn.execute("COMMIT")
                    self._commits += 1
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.IntegrityError as exc:
                raise ValueError(f"{self.path}: the change violates a project rule ({exc}).") from None
            except sqlite3.Error as exc:
                raise ProjectError(f"{self.path} cannot be written: {exc}.") from None
            finally:
                self._depth = 0
        else:
            name = f"sp{self._depth}"
            conn.execute(f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield conn
            except BaseException:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
                raise
            else:
                conn.execute(f"RELEASE {name}")
            finally:
                self._depth -= 1

    # ------------------------------------------------------------------ meta
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        """A value of the project's key/value meta table, or ``default``."""
        row = self.conn.execute(f"SELECT value FROM {MARKER_TABLE} WHERE key = ?", (key,)).fetchone()
        return default if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Set a meta value (one transaction). The key "application" is reserved."""
        if key == "application":
            raise ValueError("the meta key 'application' is reserved (it marks the file as a project).")
        with self.transaction() as conn:
            conn.execute(
                f"INSERT INTO {MARKER_TABLE}(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, str(value)),
            )

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` result ("ok" when the file is sound)."""
        rows = self.conn.execute("PRAGMA integrity_check").fetchall()
        return "\n".join(str(r[0]) for r in rows)
