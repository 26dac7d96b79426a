"""Documents and marks on SQLite: small records by collection (approvals, audit, leases)
and a customer's named counters (contact-policy caps, exposures)."""

from __future__ import annotations

import sqlite3

from connectors.store.sqlite_db import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS marks (
    customer_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (customer_id, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS docs (
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    customer_id TEXT,
    record BLOB NOT NULL,
    PRIMARY KEY (collection, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS docs_by_customer ON docs (customer_id);
"""


class SQLiteDocuments:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def bump_marks(self, customer_id: str, by: dict[str, float]) -> dict[str, float]:
        out = {}
        with self._db.write() as db:
            for name, amount in by.items():
                row = db.execute(
                    "INSERT INTO marks (customer_id, name, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (customer_id, name) DO UPDATE SET value=value+excluded.value "
                    "RETURNING value",
                    (customer_id, name, amount),
                ).fetchone()
                out[name] = float(row[0])
        return out

    async def set_marks(self, customer_id: str, values: dict[str, float | None]) -> None:
        with self._db.write() as db:
            for name, value in values.items():
                if value is None:
                    db.execute(
                        "DELETE FROM marks WHERE customer_id=? AND name=?", (customer_id, name)
                    )
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO marks (customer_id, name, value) VALUES (?, ?, ?)",
                        (customer_id, name, value),
                    )

    async def marks(self, customer_id: str) -> dict[str, float]:
        rows = self._db.read("SELECT name, value FROM marks WHERE customer_id=?", (customer_id,))
        return {str(name): float(value) for name, value in rows}

    async def put_doc(
        self, collection: str, doc_id: str, customer_id: str | None, record: bytes
    ) -> None:
        with self._db.write() as db:
            db.execute(
                "INSERT OR REPLACE INTO docs (collection, id, customer_id, record) "
                "VALUES (?, ?, ?, ?)",
                (collection, doc_id, customer_id, record),
            )

    async def get_doc(self, collection: str, doc_id: str) -> bytes | None:
        rows = self._db.read(
            "SELECT record FROM docs WHERE collection=? AND id=?", (collection, doc_id)
        )
        return bytes(rows[0][0]) if rows else None

    async def swap_doc(
        self, collection: str, doc_id: str, expected: bytes | None, record: bytes
    ) -> bool:
        with self._db.write() as db:  # BEGIN IMMEDIATE: the read and the write are one step
            row = db.execute(
                "SELECT record FROM docs WHERE collection=? AND id=?", (collection, doc_id)
            ).fetchone()
            current = bytes(row[0]) if row is not None else None
            if current != expected:
                return False
            if row is None:
                db.execute(
                    "INSERT INTO docs (collection, id, customer_id, record) VALUES (?, ?, NULL, ?)",
                    (collection, doc_id, record),
                )
            else:  # the owner put_doc named stays, so erasure still finds the document
                db.execute(
                    "UPDATE docs SET record=? WHERE collection=? AND id=?",
                    (record, collection, doc_id),
                )
            return True

    async def docs(self, collection: str) -> list[bytes]:
        rows = self._db.read(
            "SELECT record FROM docs WHERE collection=? ORDER BY id", (collection,)
        )
        return [bytes(r[0]) for r in rows]


def erase(db: sqlite3.Connection, customer_id: str) -> None:
    db.execute("DELETE FROM marks WHERE customer_id=?", (customer_id,))
    db.execute("DELETE FROM docs WHERE customer_id=?", (customer_id,))
