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
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TypeVar
from urllib.parse import quote

from app.core import codec
from app.core.checkpointer import DEFAULT_INTERVAL_S, WalCheckpointer
from app.core.errors import DiskFull, ProjectError, ReadOnlyProject
from app.core.locking import ProjectFileLock
from app.core.schema import MARKER_TABLE


_P = TypeVar("_P", bound="ProjectBase")

# "NORMAL": durable against application crashes, no fsync per commit (see the module doc).
# "FULL": also durable against power loss, one fsync per commit.
SYNCHRONOUS = "NORMAL"


_SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_NOTADB, _SQLITE_READONLY = 11, 13, 26, 8


class NotFoundError(ProjectError):
    """An id or name that the project does not contain."""


def sqlite_error(path: Path, exc: sqlite3.Error, writing: bool = False) -> ProjectError:
    """A one-sentence ProjectError (DiskFull when the disk is full) for an SQLite failure on ``path``."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        code &= 0xFF  # primary result code
    text = str(exc)
    if code == _SQLITE_FULL or "disk is full" in text:
        return DiskFull(f"disk full: {path} cannot grow ({text}); the change was rolled back, nothing of it "
                        "was stored.")
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or "malformed" in text or "not a database" in text:
        return ProjectError(f"{path} is damaged ({text}); restore it from a backup "
                            "(`sqlite3 FILE .recover` may save part of it).")
    if code == _SQLITE_READONLY:
        return ProjectError(f"{path} cannot be written ({text}): the file or its folder is read-only.")
    return ProjectError(f"{path} cannot be {'written' if writing else 'read'}: {text}.")


@contextlib.contextmanager
def sqlite_errors_as_project_errors(path: Path) -> Iterator[None]:
    """Turn an SQLite failure escaping the block (a damaged page met while reading, disk full...)
    into the one-sentence ProjectError of sqlite_error, naming ``path``."""
    try:
        yield
    except sqlite3.Error as exc:
        raise sqlite_error(path, exc) from None


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


def _ro_needs_immutable(path: Path) -> bool:
    """True when a read-only view must open the file as immutable (SQLite ``immutable=1``: no
    locks, no -wal/-shm side files): the file or its folder is not writable by us (a 0444 file, a
    read-only folder or medium) and no write-ahead log holds changes. SQLite's ``mode=ro`` needs
    to create or write the -shm index there: in a read-only folder it fails ("attempt to write a
    readonly database"), beside a read-only file it leaves -wal/-shm files behind. With an empty or
    absent log the file alone is the whole project; nobody can be writing it through SQLite without
    a log, so reading it unlocked is safe."""
    if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK):
        return False
    try:
        return os.stat(str(path) + "-wal").st_size == 0
    except FileNotFoundError:
        return True
    except OSError:
        return False


def connect_ro(path: Path) -> sqlite3.Connection:
    """A read-only connection (SQLite ``mode=ro`` URI, ``immutable=1`` where needed: see
    _ro_needs_immutable); it never writes the database file. ProjectError when a read-only folder
    holds unmerged changes in the project's write-ahead log that SQLite cannot read there."""
    path = Path(path).absolute()
    immutable = _ro_needs_immutable(path)
    posix = str(path).replace("\\", "/")
    uri = ("file://" + ("" if posix.startswith("/") else "/") + quote(posix, safe="/:") + "?mode=ro"
           + ("&immutable=1" if immutable else ""))
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=10.0)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA query_only = ON")
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # opens the log: failures show here
    except sqlite3.OperationalError as exc:
        conn.close()
        if not immutable and not os.access(path.parent, os.W_OK | os.X_OK) and os.path.exists(str(path) + "-wal"):
            raise ProjectError(
                f"{path} cannot be read in its read-only folder: changes are still in its write-ahead log "
                f"{path.name}-wal, which SQLite can only read with an index file it cannot create there "
                f"({exc}); open the project once where its folder is writable (or copy the folder)."
            ) from None
        raise
    except BaseException:
        conn.close()
        raise
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
        self.parts_memo = codec.PartsMemo()  # decoded geometry of recent reads and writes (see codec)

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
    def read_snapshot(self) -> Iterator[None]:
        """Every read inside the block sees one committed state of the project, whatever other
        processes commit meanwhile (an SQLite read transaction; exporters run in one). Nested in
        a transaction or another snapshot it adds nothing (those are consistent already). No
        writes through this project inside the block (ProjectError)."""
        conn = self.conn
        if self._depth or conn.in_transaction:
            yield
            return
        conn.execute("BEGIN")
        self._depth = -1  # marks the snapshot for transaction()
        try:
            conn.execute(f"SELECT 1 FROM {MARKER_TABLE} LIMIT 1").fetchall()  # the snapshot starts here
            yield
        finally:
            self._depth = 0
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")  # nothing was written: ends the read transaction

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of writes; nests (inner levels are savepoints).

        The outermost level commits when the block ends, or rolls back on any exception.
        An inner level that raises rolls back only its own writes. ReadOnlyProject on a read-only
        project. SQLite failures become ValueError (constraint), DiskFull (disk or size limit
        full: everything rolled back) or ProjectError (I/O, damaged file).
        """
        if self.read_only:
            raise ReadOnlyProject(f"{self.path} is open read-only; changes are not allowed.")
        if self._depth < 0:
            raise ProjectError(f"{self.path}: a change was attempted inside a read snapshot.")
        conn = self.conn
        if self._depth == 0:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._write_error(exc) from None
            self._depth = 1
            try:
                try:
                    yield conn
                except BaseException:
                    self._rollback(conn)
                    raise
                try:
                    conn.execute("COMMIT")
                    self._commits += 1
                except BaseException:
                    self._rollback(conn)
                    raise
            except sqlite3.Error as exc:
                raise self._write_error(exc) from None
            finally:
                self._depth = 0
        else:
            name = f"sp{self._depth}"
            conn.execute(f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:  # SQLite may have rolled everything back already (disk full)
                    conn.execute(f"ROLLBACK TO {name}")
                    conn.execute(f"RELEASE {name}")
                raise
            else:
                conn.execute(f"RELEASE {name}")
            finally:
                self._depth -= 1

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        """Roll back what is left of the transaction without masking the error being handled:
        after some errors (disk full, I/O) SQLite has already rolled it back itself."""
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")

    def _write_error(self, exc: sqlite3.Error) -> ProjectError | ValueError:
        """The one-sentence error of a failed write (the transaction is rolled back)."""
        if isinstance(exc, sqlite3.IntegrityError):
            return ValueError(f"{self.path}: the change violates a project rule ({exc}).")
        return sqlite_error(self.path, exc, writing=True)

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
