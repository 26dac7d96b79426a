"""The embedded store: one SQLite file in WAL mode, one module per concern.

The plumbing (URL, connection, transactions, errors) is `sqlite_db.py`, shared with the
outbox; each concern (`sqlite_customers.py`, `sqlite_incidents.py`, `sqlite_documents.py`,
`sqlite_keys.py`, `sqlite_calls.py`) brings its tables and methods, and this class puts
them on one connection. Erasure crosses them all in one transaction.
"""

from __future__ import annotations

from connectors.store import (
    sqlite_calls,
    sqlite_customers,
    sqlite_documents,
    sqlite_incidents,
    sqlite_keys,
)
from connectors.store.sqlite_calls import SQLiteCalls
from connectors.store.sqlite_customers import SQLiteCustomers
from connectors.store.sqlite_db import Database, parse_url
from connectors.store.sqlite_documents import SQLiteDocuments
from connectors.store.sqlite_incidents import SQLiteIncidents
from connectors.store.sqlite_keys import SQLiteKeys

SCHEMA = "".join(
    part.SCHEMA
    for part in (sqlite_customers, sqlite_incidents, sqlite_calls, sqlite_documents, sqlite_keys)
)


class SQLiteStore(SQLiteCustomers, SQLiteIncidents, SQLiteDocuments, SQLiteKeys, SQLiteCalls):
    def __init__(self, path: str, synchronous: str = "FULL") -> None:
        super().__init__(Database(path, SCHEMA, synchronous))
        self.path = path

    @classmethod
    def from_url(cls, url: str) -> SQLiteStore:
        return cls(*parse_url(url))

    async def ping(self) -> None:
        self._db.read("SELECT 1")

    async def close(self) -> None:
        self._db.close()

    async def erase_customer(self, customer_id: str) -> bool:
        with self._db.write() as db:
            existed = sqlite_customers.erase(db, customer_id)
            sqlite_incidents.erase(db, customer_id)
            sqlite_calls.erase(db, customer_id)
            sqlite_documents.erase(db, customer_id)
        # The deleted rows are zeroed in the pages (secure_delete), but the log still
        # holds the pages as they were until a checkpoint: take it now, and empty the log.
        self._db.checkpoint()
        return existed
