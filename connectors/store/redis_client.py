"""How to connect to Redis (one server, or a Redis Cluster), shared by the store and
the outbox."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

MAX_CONNECTIONS = 256


def connect(url: str, socket_timeout: float = 2.0) -> aioredis.Redis:
    """A client whose pool makes a busy caller wait for a connection (up to the socket
    timeout) instead of failing at once, and retries a dropped connection three times."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=socket_timeout,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.02), 3),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=30,
    )
    # from_pool hands the pool to the client, so aclose() closes its connections too.
    return aioredis.Redis.from_pool(pool)


def as_bytes(raw: bytes | str | None) -> bytes | None:
    # The client is built without decode_responses, so replies are bytes; typeshed
    # cannot know that.
    return raw.encode() if isinstance(raw, str) else raw


def as_text(raw: bytes | str | None) -> str | None:
    return raw.decode() if isinstance(raw, bytes) else raw


CLUSTER_SCHEME = "redis+cluster://"


def cluster_seeds(url: str) -> list[tuple[str, int]]:
    """The seed nodes of `redis+cluster://HOST:PORT[,HOST:PORT...]/`; the client finds
    the rest of the cluster from any one of them."""
    if not url.startswith(CLUSTER_SCHEME):
        raise ValueError(f"a cluster URL starts with {CLUSTER_SCHEME}")
    rest = url.removeprefix(CLUSTER_SCHEME).split("/", 1)[0]
    seeds = []
    for part in rest.split(","):
        host, _, port = part.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"{part!r}: a seed node is HOST:PORT")
        seeds.append((host, int(port)))
    return seeds


class _Cluster(RedisCluster):
    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        # redis-py resolves a command's routing (asking the seed node) before it learns
        # the cluster's shape, and learning it closes the seed's connections: commands
        # sent at once by a fresh client then fail on closed sockets. So the shape is
        # learnt first (once; concurrent callers wait on redis-py's lock).
        if self._initialize:
            await self.initialize()
        return await super().execute_command(*args, **kwargs)


def connect_cluster(url: str, socket_timeout: float = 2.0) -> RedisCluster:
    """A Redis Cluster client: it routes each command to the master of its key's slot,
    follows MOVED/ASK when slots move, and re-reads the cluster's shape after a failover
    (the retries cover the second or so a replica needs to take over)."""
    return _Cluster(
        startup_nodes=[ClusterNode(host, port) for host, port in cluster_seeds(url)],
        max_connections=MAX_CONNECTIONS,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 8),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=30,
    )
