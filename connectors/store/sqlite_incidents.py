"""Incidents on SQLite: the records, which are open, each one's ledger of customers told
and its counters."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from connectors.store.records import without_customer
from connectors.store.sqlite_db import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    record BLOB NOT NULL,
    is_open INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS incident_audience (
    incident_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    PRIMARY KEY (incident_id, customer_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS incident_audience_by_customer
    ON incident_audience (customer_id);
CREATE TABLE IF NOT EXISTS incident_counters (
    incident_id TEXT NOT NULL,
    counter TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (incident_id, counter)
) WITHOUT ROWID;
"""


class SQLiteIncidents:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def put_incident(self, incident_id: str, record: bytes, is_open: bool) -> None:
        with self._db.write() as db:
            db.execute(
                "INSERT OR REPLACE INTO incidents (id, record, is_open) VALUES (?, ?, ?)",
                (incident_id, record, int(is_open)),
            )

    async def create_incident(self, incident_id: str, record: bytes) -> bool:
        with self._db.write() as db:
            created = db.execute(
                "INSERT OR IGNORE INTO incidents (id, record, is_open) VALUES (?, ?, 1)",
                (incident_id, record),
            )
            return created.rowcount == 1

    async def get_incident(self, incident_id: str) -> bytes | None:
        rows = self._db.read("SELECT record FROM incidents WHERE id=?", (incident_id,))
        return bytes(rows[0][0]) if rows else None

    async def open_incidents(self) -> list[bytes]:
        rows = self._db.read("SELECT record FROM incidents WHERE is_open=1 ORDER BY id")
        return [bytes(row[0]) for row in rows]

    async def add_to_audience(self, incident_id: str, customer_ids: Sequence[str]) -> None:
        with self._db.write() as db:
            db.executemany(
                "INSERT OR IGNORE INTO incident_audience (incident_id, customer_id) VALUES (?, ?)",
                [(incident_id, c) for c in customer_ids],
            )

    async def audience_of(self, incident_id: str) -> set[str]:
        rows = self._db.read(
            "SELECT customer_id FROM incident_audience WHERE incident_id=?", (incident_id,)
        )
        return {str(row[0]) for row in rows}

    async def count_incident(self, incident_id: str, counter: str, by: int = 1) -> None:
        with self._db.write() as db:
            db.execute(
                "INSERT INTO incident_counters (incident_id, counter, n) VALUES (?, ?, ?) "
                "ON CONFLICT (incident_id, counter) DO UPDATE SET n = n + excluded.n",
                (incident_id, counter, by),
            )

    async def incident_counts(self, incident_id: str) -> dict[str, int]:
        rows = self._db.read(
            "SELECT counter, n FROM incident_counters WHERE incident_id=?", (incident_id,)
        )
        return {str(row[0]): int(row[1]) for row in rows}


def erase(db: sqlite3.Connection, customer_id: str) -> None:
    """Take the customer out of every ledger and every incident's scope, inside the
    caller's transaction."""
    db.execute("DELETE FROM incident_audience WHERE customer_id=?", (customer_id,))
    for incident_id, record in db.execute("SELECT id, record FROM incidents").fetchall():
        scrubbed = without_customer(bytes(record), customer_id)
        if scrubbed is not None:
            db.execute("UPDATE incidents SET record=? WHERE id=?", (scrubbed, incident_id))
