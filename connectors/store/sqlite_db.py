"""One way to open and use SQLite, shared by the store and the outbox.

URL parsing, the connection (WAL, synchronous, busy timeout, secure delete), the write
transaction (`BEGIN IMMEDIATE`) and the translation of `sqlite3.Error` into
`StoreUnavailable` live here once. Calls run inline on the event loop: a primary-key
read takes microseconds, less than a hop to a thread would. Each write is one
synchronous transaction with no `await` inside, so coroutines never interleave within
one, and several processes (uvicorn workers) share the file through SQLite's locking.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from core.errors import StoreUnavailable

SYNCHRONOUS = frozenset({"FULL", "NORMAL", "EXTRA"})


def parse_url(url: str) -> tuple[str, str]:
    """The file path and the `synchronous=` level of a `sqlite:///path?synchronous=...`."""
    parts = urlsplit(url)
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if url.startswith("sqlite:////"):
        path = parts.path[1:]  # sqlite:////abs/path keeps its leading slash
    sync = parse_qs(parts.query).get("synchronous", ["FULL"])[0].upper()
    if sync not in SYNCHRONOUS:
        raise ValueError("sqlite synchronous= must be FULL, NORMAL or EXTRA")
    return path or "forecall.db", sync


class Database:
    """One connection to the file, with the schema of whoever opened it."""

    def __init__(self, path: str, schema: str, synchronous: str = "FULL", what: str = "store"):
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.what = what  # named in errors: "store" or "outbox"
        try:
            self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit survives power loss, not only a process crash.
            self.conn.execute(f"PRAGMA synchronous={synchronous}")
            self.conn.execute("PRAGMA busy_timeout=5000")
            # Deleted rows are overwritten with zeros in the file, not only unlinked:
            # an erased customer must not linger in free pages.
            self.conn.execute("PRAGMA secure_delete=ON")
            self.conn.executescript(schema)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open SQLite {what} at {path}: {exc}") from exc

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One `BEGIN IMMEDIATE` transaction: committed on exit, rolled back on error."""
        db = self.conn
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite {self.what} busy or unwritable: {exc}") from exc
        try:
            yield db
        except sqlite3.Error as exc:
            db.execute("ROLLBACK")
            raise StoreUnavailable(f"SQLite {self.what} write failed: {exc}") from exc
        except BaseException:
            db.execute("ROLLBACK")
            raise
        try:
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            db.execute("ROLLBACK")
            raise StoreUnavailable(f"SQLite {self.what} commit failed: {exc}") from exc

    def read(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite {self.what} read failed: {exc}") from exc

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the file and truncate it to nothing, so that
        what was just deleted leaves no old page image behind in `-wal`."""
        try:
            busy, _, _ = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite {self.what} checkpoint failed: {exc}") from exc
        if busy:
            raise StoreUnavailable(f"SQLite {self.what} checkpoint blocked by a reader; try again")

    def close(self) -> None:
        self.conn.close()
