"""Outboxes, chosen by the store URL: the same SQLite file, Redis server or Redis Cluster."""

from __future__ import annotations

from connectors.outbox.base import Outbox
from core.messages import Status

# How far along a message is. A status only ever moves to a higher rank, so a late
# `delivered` never undoes `read`; our own decisions (suppressed, cancelled, dead) are
# final to everything but an explicit revive.
RANK: dict[Status, int] = {
    Status.pending: 0,
    Status.sending: 1,
    Status.sent: 2,
    Status.delivered: 3,
    Status.failed: 3,
    Status.read: 4,
    Status.suppressed: 5,
    Status.cancelled: 5,
    Status.dead: 5,
}
PROVIDER_WORDS = frozenset({Status.sent, Status.delivered, Status.read, Status.failed})
# A claim that expired this many times in a row marks a suspect: claims take one at a time.
SUSPECT_CLAIMS = 2


def poison_reason(claims: int) -> str:
    return f"claimed {claims} times without an answer: its worker died or failed on it each time"


def open_outbox(store_url: str) -> Outbox:
    if store_url.startswith("sqlite://"):
        from connectors.outbox.sqlite import SQLiteOutbox

        return SQLiteOutbox.from_url(store_url)
    if store_url.startswith("redis+cluster://"):
        from connectors.outbox.redis_cluster import RedisClusterOutbox

        return RedisClusterOutbox.from_url(store_url)
    if store_url.startswith(("redis://", "rediss://", "unix://")):
        from connectors.outbox.redis import RedisOutbox

        return RedisOutbox.from_url(store_url)
    raise ValueError(f"unknown store URL scheme: {store_url.split(':', 1)[0]}")


__all__ = ["Outbox", "open_outbox"]
