"""The live hub: in-process fan-out, and across processes through Redis pub/sub."""

from __future__ import annotations

import redis

from inbound.live import LocalHub, RedisHub, open_hub


async def test_a_local_hub_delivers_to_the_topics_subscribed_and_ends_streams_on_close() -> None:
    hub = LocalHub()
    a, queue = hub.subscribe(["op:a"]), hub.subscribe(["q:billing", "op:b"])
    await hub.publish("op:a", b"1")
    await hub.publish("q:billing", b"2")
    await hub.publish("op:c", b"nobody")
    assert await a.get(5) == b"1"
    assert await queue.get(5) == b"2"
    assert await a.get(0.01) is None and await queue.get(0.01) is None
    a.close()
    await hub.publish("op:a", b"after close")
    assert await a.get(0.01) is None
    await hub.close()
    assert await queue.get(5) is None and queue.closed


async def test_redis_carries_cards_between_processes_and_keeps_databases_apart(
    redis_url: str,
) -> None:
    assert isinstance(open_hub("sqlite:///x.db"), LocalHub)
    # Two hubs on one database stand for two workers; a third on another database is
    # another deployment sharing the Redis server.
    worker_1, worker_2 = open_hub(redis_url), open_hub(redis_url)
    base, _, db = redis_url.rpartition("/")
    other = RedisHub(f"{base}/{(int(db) + 1) % 16}")
    for hub in (worker_1, worker_2, other):
        await hub.start()
    try:
        page = worker_2.subscribe(["op:a"])
        stranger = other.subscribe(["op:a"])
        await worker_1.publish("op:a", b'{"call_id":"c-1"}')
        assert await page.get(5) == b'{"call_id":"c-1"}'
        # The other database's hub heard nothing (pub/sub ignores database numbers): once
        # its own later message is through, an earlier one for op:a would be too.
        probe = other.subscribe(["op:probe"])
        await other.publish("op:probe", b"y")
        assert await probe.get(5) == b"y"
        assert await stranger.get(0.01) is None
    finally:
        for hub in (worker_1, worker_2, other):
            await hub.close()
    assert redis.Redis.from_url(redis_url).ping()
