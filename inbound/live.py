"""Live fan-out of operator cards: publish to a topic, every page subscribed to it hears.

Which hub runs follows the store, and that choice is deliberate:

- SQLite is the embedded single-node store, served by one process: `LocalHub` fans out
  in memory. (Several `--workers` over one SQLite file would each see only the calls
  they decided themselves; run one worker with SQLite.)
- Redis is the store for scaling out (`forecall serve --workers N`, several replicas):
  the call may be decided in one process while the operator's page is connected to
  another, so `RedisHub` publishes through Redis pub/sub and each process relays what it
  hears to its own pages through a `LocalHub`. One subscription per process, not per page.

Delivery is at most once: a page that was disconnected re-reads its cards by GET.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from connectors.store.redis_client import cluster_seeds
from core.errors import StoreUnavailable

log = logging.getLogger("forecall.live")
QUEUE_SIZE = 100  # cards a slow page may fall behind by before the oldest are dropped


class Subscription:
    """One page's bounded queue of payloads; `None` from `get` means nothing came yet."""

    def __init__(self, hub: LocalHub, topics: frozenset[str]) -> None:
        self.topics = topics
        self.closed = False
        self._hub = hub
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_SIZE)

    def put(self, payload: bytes | None) -> None:
        if self._queue.full():
            self._queue.get_nowait()  # a page that stopped reading loses its oldest card
        self._queue.put_nowait(payload)

    async def get(self, timeout: float) -> bytes | None:
        try:
            payload = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None
        if payload is None:
            self.closed = True
        return payload

    def close(self) -> None:
        self._hub.unsubscribe(self)


class Hub(Protocol):
    async def start(self) -> None: ...

    async def publish(self, topic: str, payload: bytes) -> None: ...

    def subscribe(self, topics: Iterable[str]) -> Subscription: ...

    async def close(self) -> None: ...


class LocalHub:
    """In-process fan-out."""

    def __init__(self) -> None:
        self._subs: dict[str, set[Subscription]] = {}

    async def start(self) -> None:
        return None

    def deliver(self, topic: str, payload: bytes) -> None:
        for sub in tuple(self._subs.get(topic, ())):
            sub.put(payload)

    async def publish(self, topic: str, payload: bytes) -> None:
        self.deliver(topic, payload)

    def subscribe(self, topics: Iterable[str]) -> Subscription:
        sub = Subscription(self, frozenset(topics))
        for topic in sub.topics:
            self._subs.setdefault(topic, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        for topic in sub.topics:
            subs = self._subs.get(topic)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[topic]

    async def close(self) -> None:
        for subs in tuple(self._subs.values()):
            for sub in tuple(subs):
                sub.put(None)  # ends the page's stream, so shutdown does not wait on it
        self._subs.clear()


class RedisHub:
    """Fan-out across processes through Redis pub/sub."""

    def __init__(self, url: str) -> None:
        self._redis = aioredis.Redis.from_url(url, socket_connect_timeout=2.0)
        # Pub/sub channels ignore the database number: name it, so that deployments (and
        # test runs) sharing one Redis server on different databases stay apart.
        db = self._redis.connection_pool.connection_kwargs.get("db", 0)
        self.prefix = f"fc:{db}:live:"
        self._pubsub = self._redis.pubsub()
        self._local = LocalHub()
        self._subscribed = False
        self._stop = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # Subscribed before the app serves, so a card published right after start-up is
        # heard; a Redis that is down does not stop start-up, the reader keeps trying.
        with contextlib.suppress(RedisError, OSError):
            await self._subscribe()
        self._reader = asyncio.create_task(self._read(), name="live-hub")

    async def _subscribe(self) -> None:
        await self._pubsub.psubscribe(self.prefix + "*")
        while True:
            message = await self._pubsub.get_message(timeout=2.0)
            if message is None:
                raise RedisError("no psubscribe confirmation")
            if message["type"] == "psubscribe":
                self._subscribed = True
                return

    async def _read(self) -> None:
        while not self._stop.is_set():
            try:
                if not self._subscribed:
                    await self._subscribe()
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=1.0
                )
            except (RedisError, OSError) as exc:
                log.warning("live hub lost Redis; retrying", extra={"detail": str(exc)})
                self._subscribed = False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), 1.0)
                continue
            if message is not None and message["type"] == "pmessage":
                channel = message["channel"]
                topic = (channel.decode() if isinstance(channel, bytes) else channel)[
                    len(self.prefix) :
                ]
                self._local.deliver(topic, bytes(message["data"]))

    async def publish(self, topic: str, payload: bytes) -> None:
        try:
            await self._redis.publish(self.prefix + topic, payload)
        except RedisError as exc:
            raise StoreUnavailable(f"Redis publish failed: {exc}") from exc

    def subscribe(self, topics: Iterable[str]) -> Subscription:
        return self._local.subscribe(topics)

    async def close(self) -> None:
        self._stop.set()
        if self._reader is not None:
            await self._reader
        await self._local.close()
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self._redis.aclose()


def open_hub(store_url: str) -> Hub:
    if store_url.startswith("redis+cluster://"):
        # Redis Cluster carries PUBLISH to every node, so one node (the first seed) is
        # enough to hear every replica's cards.
        host, port = cluster_seeds(store_url)[0]
        return RedisHub(f"redis://{host}:{port}/0")
    if store_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHub(store_url)
    return LocalHub()
