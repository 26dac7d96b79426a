"""One way to connect to Redis, shared by the store and the outbox."""

from __future__ import annotations

import redis.asyncio as aioredis
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
