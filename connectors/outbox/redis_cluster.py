"""The outbox on a Redis Cluster: the same streams, sets and scripts as on one Redis.

Every outbox key carries the `{ob}` hash tag (connectors.store.keys), so each script
runs on the one master that owns that slot, and its replica takes over with it on a
failover. Only the enqueue path differs: on one server it writes packed script calls
straight to a pooled connection, which a cluster client (a pool per node) does not
offer; here each chunk is one script call, routed by its keys.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from connectors.outbox.redis import PER_SCRIPT, PREFIXES, QUEUE_KEYS, RedisOutbox
from connectors.store.redis_client import connect_cluster
from core.messages import Message


class RedisClusterOutbox(RedisOutbox):
    @classmethod
    def from_url(cls, url: str, *, socket_timeout: float = 2.0) -> RedisClusterOutbox:
        return cls(connect_cluster(url, socket_timeout))  # type: ignore[arg-type]

    async def _enqueue_once(self, messages: Sequence[Message], stamp: str, now: float) -> int:
        added = 0
        for start in range(0, len(messages), PER_SCRIPT):
            args: list[bytes | str] = [*PREFIXES, stamp]
            for m in messages[start : start + PER_SCRIPT]:
                due = "" if m.due_at <= now else repr(m.due_at)
                args += (m.id, orjson.dumps(m), m.group, m.customer_id, due)
            added += int(await self._enqueue(keys=QUEUE_KEYS, args=args))
        return added
