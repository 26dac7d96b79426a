"""Stores, chosen by URL: `sqlite:///path` (embedded default), `redis://host:port/db` or
`redis+cluster://host:port[,host:port...]/` (a Redis Cluster, by any of its nodes)."""

from __future__ import annotations

from connectors.store.base import (
    CallStore,
    CustomerStore,
    DocumentStore,
    IncidentStore,
    KeyStore,
    LimitStore,
    ProfileUpdate,
    Store,
)


def open_store(url: str) -> Store:
    if url.startswith("sqlite://"):
        from connectors.store.sqlite import SQLiteStore

        return SQLiteStore.from_url(url)
    if url.startswith("redis+cluster://"):
        from connectors.store.redis_cluster import RedisClusterStore

        return RedisClusterStore.from_url(url)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from connectors.store.redis import RedisStore

        return RedisStore.from_url(url)
    raise ValueError(f"unknown store URL scheme: {url.split(':', 1)[0]}")


__all__ = [
    "CallStore",
    "CustomerStore",
    "DocumentStore",
    "IncidentStore",
    "KeyStore",
    "LimitStore",
    "ProfileUpdate",
    "Store",
    "open_store",
]
