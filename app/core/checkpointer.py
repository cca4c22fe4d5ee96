"""WAL checkpoints in a background thread, so that no commit of an interactive session pays for one.

With SQLite's default, the commit that pushes the write-ahead log past 1000 pages copies the log into
the main file and fsyncs it, in the committing thread: 5-20 ms on a fast disk, far more on a slow,
busy or network one - a visible stall when that thread is the GUI's. `WalCheckpointer` turns the
automatic checkpoint of the project's connection off and runs passive checkpoints (they never block
writers or readers) on a connection of its own every `interval_s`, when something was committed
since the last one. Durability is unchanged: a commit is in the WAL before it returns, and the
checkpoints sync the WAL as before; only the thread that pays for them differs.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 2.0


class WalCheckpointer:
    """Background checkpoints of one project file (see the module doc).

    connect: opens a new read-write connection to the same file (with the project's pragmas);
    changes: returns a number that grows with every commit of the project's connection (a plain
    counter: sqlite3 objects may not be touched from this thread) - polled, it is only compared.
    """

    def __init__(self, path: Path, connect: Callable[[Path], sqlite3.Connection],
                 changes: Callable[[], int], interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self.path = path
        self.interval_s = interval_s
        self._connect = connect
        self._changes = changes
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.checkpoints = 0  # passive checkpoints run (for tests and diagnostics)
        self.failures = 0
        self._thread = threading.Thread(target=self._run, name="sam-labeler-checkpoints", daemon=True)
        self._thread.start()

    def request(self) -> None:
        """Checkpoint soon (without waiting for the interval)."""
        self._wake.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the thread (after a checkpoint in progress) and close its connection. Idempotent."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)

    def is_alive(self) -> bool:
        """True while the thread runs."""
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            conn = self._connect(self.path)
        except sqlite3.Error as exc:  # the project's own connection keeps working without us
            log.warning("background checkpoints are off for %s: %s", self.path, exc)
            self.failures += 1
            return
        seen = -1
        try:
            while not self._stop.is_set():
                self._wake.wait(self.interval_s)
                self._wake.clear()
                try:
                    now = self._changes()
                except Exception:  # noqa: BLE001 - the project was closed under us: stop quietly
                    return
                if now == seen:
                    continue
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.checkpoints += 1
                    seen = now
                except sqlite3.Error as exc:  # busy or I/O trouble: try again next round
                    self.failures += 1
                    log.info("background checkpoint of %s failed: %s", self.path, exc)
        finally:
            conn.close()
