"""The embedded store: one SQLite file in WAL mode.

Calls run inline on the event loop: a primary-key read takes microseconds, less than
a hop to a thread would. Each method is one synchronous transaction with no `await`
inside, so coroutines never interleave within one. Several processes (uvicorn
workers) share the file through SQLite's own locking (`BEGIN IMMEDIATE`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from connectors.store import keys
from connectors.store.base import ProfileUpdate
from connectors.store.records import (
    dump_key,
    index_terms_of,
    load_key,
    pack_record,
    unpack_record,
)
from core.apikeys import ApiKey
from core.errors import Conflict, StoreUnavailable

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
CREATE TABLE IF NOT EXISTS api_keys (
    key_hash TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    record BLOB NOT NULL
);
"""
CHUNK = 500  # stays below SQLite's bound-parameter limit


class SQLiteStore:
    def __init__(self, path: str, synchronous: str = "FULL") -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit survives power loss, not only a process crash.
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open SQLite store at {path}: {exc}") from exc

    @classmethod
    def from_url(cls, url: str) -> SQLiteStore:
        parts = urlsplit(url)
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        if url.startswith("sqlite:////"):
            path = parts.path[1:]  # sqlite:////abs/path keeps its leading slash
        sync = parse_qs(parts.query).get("synchronous", ["FULL"])[0].upper()
        if sync not in {"FULL", "NORMAL", "EXTRA"}:
            raise ValueError("sqlite synchronous= must be FULL, NORMAL or EXTRA")
        return cls(path or "forecall.db", sync)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite store busy or unwritable: {exc}") from exc
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._db.execute("ROLLBACK")
            raise StoreUnavailable(f"SQLite commit failed: {exc}") from exc

    def _read(self, sql: str, params: Sequence[object]) -> list[tuple[object, ...]]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite read failed: {exc}") from exc

    async def ping(self) -> None:
        self._read("SELECT 1", ())

    async def close(self) -> None:
        self._db.close()

    async def put_customer(
        self, customer_id: str, record: bytes, identities: Sequence[tuple[str, str]]
    ) -> bool:
        with self._write() as db:
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
        rows = self._read("SELECT record FROM customers WHERE id=?", (customer_id,))
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
        rows = self._read(" INTERSECT ".join(parts), params)
        return {str(row[0]) for row in rows}

    async def get_customers(self, customer_ids: Sequence[str]) -> list[bytes | None]:
        found: dict[str, bytes | None] = {}
        for start in range(0, len(customer_ids), CHUNK):
            chunk = list(customer_ids[start : start + CHUNK])
            marks = ",".join("?" * len(chunk))
            for row in self._read(f"SELECT id, record FROM customers WHERE id IN ({marks})", chunk):
                found[str(row[0])] = _unpacked(row[1])
        return [found.get(c) for c in customer_ids]

    async def find_customer(self, kind: str, value: str) -> str | None:
        rows = self._read(
            "SELECT customer_id FROM identities WHERE kind=? AND value=?", (kind, value)
        )
        return str(rows[0][0]) if rows else None

    async def erase_customer(self, customer_id: str) -> bool:
        with self._write() as db:
            gone = db.execute("DELETE FROM customers WHERE id=?", (customer_id,)).rowcount
            gone += db.execute(
                "DELETE FROM identities WHERE customer_id=?", (customer_id,)
            ).rowcount
            for table in (
                "audience_terms",
                "stop_list",
                "incident_audience",
                "calls",
                "examples",
                "marks",
                "docs",
            ):
                db.execute(f"DELETE FROM {table} WHERE customer_id=?", (customer_id,))
        return gone > 0

    async def get_profile(self, customer_id: str) -> tuple[bytes | None, bytes | None]:
        rows = self._read("SELECT record, profile FROM customers WHERE id=?", (customer_id,))
        if not rows:
            return None, None
        return _unpacked(rows[0][0]), rows[0][1]  # type: ignore[return-value]

    async def update_profiles(self, customer_ids: Sequence[str], update: ProfileUpdate) -> int:
        total = 0
        with self._write() as db:
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
        with self._write() as db:
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
        rows = self._read("SELECT channel FROM stop_list WHERE customer_id=?", (customer_id,))
        return {str(row[0]) for row in rows}

    async def stops_many(self, customer_ids: Sequence[str]) -> list[set[str]]:
        found: dict[str, set[str]] = {}
        for start in range(0, len(customer_ids), CHUNK):
            chunk = list(customer_ids[start : start + CHUNK])
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT customer_id, channel FROM stop_list WHERE customer_id IN ({marks})"
            for row in self._read(sql, chunk):
                found.setdefault(str(row[0]), set()).add(str(row[1]))
        return [found.get(c, set()) for c in customer_ids]

    async def put_incident(self, incident_id: str, record: bytes, is_open: bool) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO incidents (id, record, is_open) VALUES (?, ?, ?)",
                (incident_id, record, int(is_open)),
            )

    async def create_incident(self, incident_id: str, record: bytes) -> bool:
        with self._write() as db:
            created = db.execute(
                "INSERT OR IGNORE INTO incidents (id, record, is_open) VALUES (?, ?, 1)",
                (incident_id, record),
            )
            return created.rowcount == 1

    async def get_incident(self, incident_id: str) -> bytes | None:
        rows = self._read("SELECT record FROM incidents WHERE id=?", (incident_id,))
        return rows[0][0] if rows else None  # type: ignore[return-value]

    async def open_incidents(self) -> list[bytes]:
        rows = self._read("SELECT record FROM incidents WHERE is_open=1 ORDER BY id", ())
        return [row[0] for row in rows]  # type: ignore[misc]

    async def add_to_audience(self, incident_id: str, customer_ids: Sequence[str]) -> None:
        with self._write() as db:
            db.executemany(
                "INSERT OR IGNORE INTO incident_audience (incident_id, customer_id) VALUES (?, ?)",
                [(incident_id, c) for c in customer_ids],
            )

    async def audience_of(self, incident_id: str) -> set[str]:
        rows = self._read(
            "SELECT customer_id FROM incident_audience WHERE incident_id=?", (incident_id,)
        )
        return {str(row[0]) for row in rows}

    async def count_incident(self, incident_id: str, counter: str, by: int = 1) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO incident_counters (incident_id, counter, n) VALUES (?, ?, ?) "
                "ON CONFLICT (incident_id, counter) DO UPDATE SET n = n + excluded.n",
                (incident_id, counter, by),
            )

    async def incident_counts(self, incident_id: str) -> dict[str, int]:
        rows = self._read(
            "SELECT counter, n FROM incident_counters WHERE incident_id=?", (incident_id,)
        )
        return {str(row[0]): int(row[1]) for row in rows}  # type: ignore[call-overload]

    async def put_call(self, call_id: str, customer_id: str | None, record: bytes) -> None:
        with self._write() as db:
            db.execute("DELETE FROM calls WHERE expires_at < ?", (time.time(),))
            db.execute(
                "INSERT OR REPLACE INTO calls (call_id, customer_id, record, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (call_id, customer_id, record, time.time() + keys.CALL_TTL),
            )

    async def get_call(self, call_id: str) -> bytes | None:
        rows = self._read(
            "SELECT record FROM calls WHERE call_id=? AND expires_at >= ?", (call_id, time.time())
        )
        return rows[0][0] if rows else None  # type: ignore[return-value]

    async def put_example(self, customer_id: str, call_id: str, record: bytes) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO examples (call_id, customer_id, record) VALUES (?, ?, ?)",
                (call_id, customer_id, record),
            )

    async def examples(self) -> list[bytes]:
        return [row[0] for row in self._read("SELECT record FROM examples ORDER BY call_id", ())]  # type: ignore[misc]

    async def bump_marks(self, customer_id: str, by: dict[str, float]) -> dict[str, float]:
        out = {}
        with self._write() as db:
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
        with self._write() as db:
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
        rows = self._read("SELECT name, value FROM marks WHERE customer_id=?", (customer_id,))
        return {str(name): float(value) for name, value in rows}  # type: ignore[arg-type]

    async def put_doc(
        self, collection: str, doc_id: str, customer_id: str | None, record: bytes
    ) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO docs (collection, id, customer_id, record) "
                "VALUES (?, ?, ?, ?)",
                (collection, doc_id, customer_id, record),
            )

    async def get_doc(self, collection: str, doc_id: str) -> bytes | None:
        rows = self._read(
            "SELECT record FROM docs WHERE collection=? AND id=?", (collection, doc_id)
        )
        return bytes(rows[0][0]) if rows else None  # type: ignore[call-overload]

    async def swap_doc(
        self, collection: str, doc_id: str, expected: bytes | None, record: bytes
    ) -> bool:
        with self._write() as db:  # BEGIN IMMEDIATE: the read and the write are one step
            row = db.execute(
                "SELECT record FROM docs WHERE collection=? AND id=?", (collection, doc_id)
            ).fetchone()
            current = bytes(row[0]) if row is not None else None
            if current != expected:
                return False
            db.execute(
                "INSERT OR REPLACE INTO docs (collection, id, customer_id, record) "
                "VALUES (?, ?, NULL, ?)",
                (collection, doc_id, record),
            )
            return True

    async def docs(self, collection: str) -> list[bytes]:
        rows = self._read("SELECT record FROM docs WHERE collection=? ORDER BY id", (collection,))
        return [bytes(r[0]) for r in rows]  # type: ignore[call-overload]

    async def customer_ids(self, cursor: str, limit: int) -> tuple[list[str], str]:
        rows = self._read(
            "SELECT id FROM customers WHERE id > ? AND record IS NOT NULL ORDER BY id LIMIT ?",
            (cursor, limit),
        )
        ids = [str(r[0]) for r in rows]
        return ids, (ids[-1] if len(ids) == limit else "")

    async def put_api_key(self, key: ApiKey) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO api_keys (key_hash, id, record) VALUES (?, ?, ?)",
                (key.key_hash, key.id, dump_key(key)),
            )

    async def get_api_key(self, key_hash: str) -> ApiKey | None:
        rows = self._read("SELECT record FROM api_keys WHERE key_hash=?", (key_hash,))
        return load_key(rows[0][0]) if rows else None  # type: ignore[arg-type]

    async def list_api_keys(self) -> list[ApiKey]:
        rows = self._read("SELECT record FROM api_keys ORDER BY id", ())
        return [load_key(row[0]) for row in rows]  # type: ignore[arg-type]

    async def revoke_api_key(self, key_id: str) -> bool:
        with self._write() as db:
            return db.execute("DELETE FROM api_keys WHERE id=?", (key_id,)).rowcount > 0


def _unpacked(stored: object) -> bytes | None:
    return unpack_record(stored) if isinstance(stored, bytes) else None
