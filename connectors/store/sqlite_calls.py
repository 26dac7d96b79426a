"""Calls and labelled examples on SQLite: an inbound contact's decision, kept a week for
its card and outcome, and the examples its outcome leaves for retraining."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

from connectors.store import keys
from connectors.store.sqlite_db import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    call_id TEXT PRIMARY KEY,
    customer_id TEXT,
    record BLOB NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_by_customer ON calls (customer_id);
CREATE INDEX IF NOT EXISTS calls_by_expiry ON calls (expires_at);
CREATE TABLE IF NOT EXISTS examples (
    call_id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    record BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS examples_by_customer ON examples (customer_id);
"""


PURGE_EVERY = 600.0  # seconds between purges of expired calls (reads skip them anyway)
CHUNK = 500  # stays below SQLite's bound-parameter limit


class SQLiteCalls:
    _purged_at = 0.0  # when expired calls were last purged (a class default: see SQLiteStore)

    def __init__(self, db: Database) -> None:
        self._db = db

    async def put_call(self, call_id: str, customer_id: str | None, record: bytes) -> None:
        await self.put_calls([(call_id, customer_id, record)])

    async def put_calls(self, calls: Sequence[tuple[str, str | None, bytes]]) -> None:
        now = time.time()
        expires = now + keys.CALL_TTL
        with self._db.write() as db:
            # Expired calls go in a timed purge on the indexed expiry, not a scan per write.
            if now - self._purged_at >= PURGE_EVERY:
                db.execute("DELETE FROM calls WHERE expires_at < ?", (now,))
                self._purged_at = now
            db.executemany(
                "INSERT OR REPLACE INTO calls (call_id, customer_id, record, expires_at) "
                "VALUES (?, ?, ?, ?)",
                [(call_id, customer_id, record, expires) for call_id, customer_id, record in calls],
            )

    async def get_call(self, call_id: str) -> bytes | None:
        return (await self.get_calls([call_id]))[0]

    async def get_calls(self, call_ids: Sequence[str]) -> list[bytes | None]:
        found: dict[str, bytes] = {}
        now = time.time()
        for start in range(0, len(call_ids), CHUNK):
            chunk = list(call_ids[start : start + CHUNK])
            marks = ",".join("?" * len(chunk))
            rows = self._db.read(
                f"SELECT call_id, record FROM calls WHERE call_id IN ({marks}) AND expires_at >= ?",
                [*chunk, now],
            )
            found.update((str(row[0]), bytes(row[1])) for row in rows)
        return [found.get(c) for c in call_ids]

    async def put_example(self, customer_id: str, call_id: str, record: bytes) -> None:
        with self._db.write() as db:
            db.execute(
                "INSERT OR REPLACE INTO examples (call_id, customer_id, record) VALUES (?, ?, ?)",
                (call_id, customer_id, record),
            )

    async def examples(self) -> list[bytes]:
        return [
            bytes(row[0]) for row in self._db.read("SELECT record FROM examples ORDER BY call_id")
        ]


def erase(db: sqlite3.Connection, customer_id: str) -> None:
    db.execute("DELETE FROM calls WHERE customer_id=?", (customer_id,))
    db.execute("DELETE FROM examples WHERE customer_id=?", (customer_id,))
