"""API keys on SQLite, by the SHA-256 of their secret."""

from __future__ import annotations

from connectors.store.records import dump_key, load_key
from connectors.store.sqlite_db import Database
from core.apikeys import ApiKey

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_hash TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    record BLOB NOT NULL
);
"""


class SQLiteKeys:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def put_api_key(self, key: ApiKey) -> None:
        with self._db.write() as db:
            db.execute(
                "INSERT OR REPLACE INTO api_keys (key_hash, id, record) VALUES (?, ?, ?)",
                (key.key_hash, key.id, dump_key(key)),
            )

    async def get_api_key(self, key_hash: str) -> ApiKey | None:
        rows = self._db.read("SELECT record FROM api_keys WHERE key_hash=?", (key_hash,))
        return load_key(rows[0][0]) if rows else None

    async def list_api_keys(self) -> list[ApiKey]:
        rows = self._db.read("SELECT record FROM api_keys ORDER BY id")
        return [load_key(row[0]) for row in rows]

    async def revoke_api_key(self, key_id: str) -> bool:
        with self._db.write() as db:
            return db.execute("DELETE FROM api_keys WHERE id=?", (key_id,)).rowcount > 0
