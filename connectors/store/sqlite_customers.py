"""Customers on SQLite: the record, its identities and audience terms, the profile blob
and the stop-list, all keyed by customer id."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from connectors.store.base import ProfileUpdate
from connectors.store.records import index_terms_of, pack_record, unpack_record
from connectors.store.sqlite_db import Database
from core.errors import Conflict

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY,
    record BLOB,
    profile BLOB
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS identities (
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    PRIMARY KEY (kind, value)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS identities_by_customer ON identities (customer_id);
CREATE TABLE IF NOT EXISTS audience_terms (
    term TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    PRIMARY KEY (term, customer_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS audience_terms_by_customer ON audience_terms (customer_id);
CREATE TABLE IF NOT EXISTS stop_list (
    customer_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (customer_id, channel)
) WITHOUT ROWID;
"""
CHUNK = 500  # stays below SQLite's bound-parameter limit


class SQLiteCustomers:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def put_customer(
        self, customer_id: str, record: bytes, identities: Sequence[tuple[str, str]]
    ) -> bool:
        with self._db.write() as db:
            for kind, value in identities:
                row = db.execute(
                    "SELECT customer_id FROM identities WHERE kind=? AND value=?", (kind, value)
                ).fetchone()
                if row and row[0] != customer_id:
                    raise Conflict(f"the {kind} identity already belongs to another customer")
            old = db.execute("SELECT record FROM customers WHERE id=?", (customer_id,)).fetchone()
            db.execute("DELETE FROM identities WHERE customer_id=?", (customer_id,))
            db.executemany(
                "INSERT INTO identities (kind, value, customer_id) VALUES (?, ?, ?)",
                [(kind, value, customer_id) for kind, value in identities],
            )
            db.execute(
                "INSERT INTO customers (id, record) VALUES (?, ?) "
                "ON CONFLICT (id) DO UPDATE SET record=excluded.record",
                (customer_id, pack_record(record)),
            )
            db.execute("DELETE FROM audience_terms WHERE customer_id=?", (customer_id,))
            db.executemany(
                "INSERT INTO audience_terms (term, customer_id) VALUES (?, ?)",
                [(term, customer_id) for term in index_terms_of(record)],
            )
        return old is None or old[0] is None

    async def get_customer(self, customer_id: str) -> bytes | None:
        rows = self._db.read("SELECT record FROM customers WHERE id=?", (customer_id,))
        return _unpacked(rows[0][0]) if rows else None

    async def audience(self, dimensions: Sequence[Sequence[str]]) -> set[str]:
        if not dimensions or any(not terms for terms in dimensions):
            return set()
        parts: list[str] = []
        params: list[str] = []
        for terms in dimensions:
            parts.append(
                "SELECT customer_id FROM audience_terms WHERE term IN "
                f"({','.join('?' * len(terms))})"
            )
            params.extend(terms)
        rows = self._db.read(" INTERSECT ".join(parts), params)
        return {str(row[0]) for row in rows}

    async def get_customers(self, customer_ids: Sequence[str]) -> list[bytes | None]:
        found: dict[str, bytes | None] = {}
        for start in range(0, len(customer_ids), CHUNK):
            chunk = list(customer_ids[start : start + CHUNK])
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT id, record FROM customers WHERE id IN ({marks})"
            for row in self._db.read(sql, chunk):
                found[str(row[0])] = _unpacked(row[1])
        return [found.get(c) for c in customer_ids]

    async def find_customer(self, kind: str, value: str) -> str | None:
        rows = self._db.read(
            "SELECT customer_id FROM identities WHERE kind=? AND value=?", (kind, value)
        )
        return str(rows[0][0]) if rows else None

    async def customer_ids(self, cursor: str, limit: int) -> tuple[list[str], str]:
        rows = self._db.read(
            "SELECT id FROM customers WHERE id > ? AND record IS NOT NULL ORDER BY id LIMIT ?",
            (cursor, limit),
        )
        ids = [str(r[0]) for r in rows]
        return ids, (ids[-1] if len(ids) == limit else "")

    async def get_profile(self, customer_id: str) -> tuple[bytes | None, bytes | None]:
        rows = self._db.read("SELECT record, profile FROM customers WHERE id=?", (customer_id,))
        if not rows:
            return None, None
        return _unpacked(rows[0][0]), rows[0][1]

    async def update_profiles(self, customer_ids: Sequence[str], update: ProfileUpdate) -> int:
        total = 0
        with self._db.write() as db:
            for start in range(0, len(customer_ids), CHUNK):
                chunk = list(customer_ids[start : start + CHUNK])
                marks = ",".join("?" * len(chunk))
                current = dict(
                    db.execute(f"SELECT id, profile FROM customers WHERE id IN ({marks})", chunk)
                )
                rows = []
                for customer_id in chunk:
                    blob, count = update(customer_id, current.get(customer_id))
                    total += count
                    rows.append((customer_id, blob))
                db.executemany(
                    "INSERT INTO customers (id, profile) VALUES (?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET profile=excluded.profile",
                    rows,
                )
        return total

    async def set_stop(self, customer_id: str, channel: str, stopped: bool, now: float) -> None:
        with self._db.write() as db:
            if stopped:
                db.execute(
                    "INSERT OR IGNORE INTO stop_list (customer_id, channel, at) VALUES (?, ?, ?)",
                    (customer_id, channel, now),
                )
            else:
                db.execute(
                    "DELETE FROM stop_list WHERE customer_id=? AND channel=?",
                    (customer_id, channel),
                )

    async def stops(self, customer_id: str) -> set[str]:
        rows = self._db.read("SELECT channel FROM stop_list WHERE customer_id=?", (customer_id,))
        return {str(row[0]) for row in rows}

    async def stops_many(self, customer_ids: Sequence[str]) -> list[set[str]]:
        found: dict[str, set[str]] = {}
        for start in range(0, len(customer_ids), CHUNK):
            chunk = list(customer_ids[start : start + CHUNK])
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT customer_id, channel FROM stop_list WHERE customer_id IN ({marks})"
            for row in self._db.read(sql, chunk):
                found.setdefault(str(row[0]), set()).add(str(row[1]))
        return [found.get(c, set()) for c in customer_ids]


def erase(db: sqlite3.Connection, customer_id: str) -> bool:
    """Delete the customer's rows inside the caller's transaction; True if any was there."""
    gone = db.execute("DELETE FROM customers WHERE id=?", (customer_id,)).rowcount
    gone += db.execute("DELETE FROM identities WHERE customer_id=?", (customer_id,)).rowcount
    db.execute("DELETE FROM audience_terms WHERE customer_id=?", (customer_id,))
    db.execute("DELETE FROM stop_list WHERE customer_id=?", (customer_id,))
    return gone > 0


def _unpacked(stored: object) -> bytes | None:
    return unpack_record(stored) if isinstance(stored, bytes) else None
