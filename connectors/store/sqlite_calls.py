"""Calls and labelled examples on SQLite: an inbound contact's decision, kept a week for
its card and outcome, and the examples its outcome leaves for retraining."""

from __future__ import annotations

import sqlite3
import time

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
CREATE TABLE IF NOT EXISTS examples (
    call_id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    record BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS examples_by_customer ON examples (customer_id);
"""


class SQLiteCalls:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def put_call(self, call_id: str, customer_id: str | None, record: bytes) -> None:
        with self._db.write() as db:
            db.execute("DELETE FROM calls WHERE expires_at < ?", (time.time(),))
            db.execute(
                "INSERT OR REPLACE INTO calls (call_id, customer_id, record, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (call_id, customer_id, record, time.time() + keys.CALL_TTL),
            )

    async def get_call(self, call_id: str) -> bytes | None:
        rows = self._db.read(
            "SELECT record FROM calls WHERE call_id=? AND expires_at >= ?", (call_id, time.time())
        )
        return bytes(rows[0][0]) if rows else None

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
