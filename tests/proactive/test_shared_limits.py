"""Limits shared by every worker: three `forecall worker` processes on a Redis Cluster
send to one local provider at the configured rate together, not three times it; and a
provider that one worker found failing is rested by all of them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from connectors.outbox import open_outbox
from connectors.store import LimitStore, open_store
from connectors.store import keys as store_keys
from core.messages import Message, Route
from proactive.breaker import SharedBreaker
from tests.cluster import admin
from tests.fakes.receiver import SECRET, Receiver

RATE = 20.0  # messages a second, for all workers together
MESSAGES = 200  # 10 seconds at that rate
WORKERS = 3
BURST = 2  # a worker that stalls a moment may catch up by two messages, no more
FORECALL = Path(sys.executable).with_name("forecall")


def message(i: int, now: float) -> Message:
    return Message(
        id=f"rl{i}",
        customer_id=f"c{i}",
        group="rate-test",
        category="transactional",
        routes=[Route("sms", f"+7916333{i:04d}", f"text {i}")],
        due_at=now,
        created_at=now,
    )


def start_worker(store_url: str, receiver: Receiver) -> subprocess.Popen[bytes]:
    channel = {
        "kind": "webhook",
        "url": receiver.url,
        "secret": SECRET,
        "rate_per_second": RATE,
        "burst": BURST,
    }
    env = {
        **os.environ,
        "FORECALL_STORE": store_url,
        "FORECALL_CHANNELS": json.dumps({"sms": channel}),
        # Small batches, so that every worker has a share of the queue.
        "FORECALL_DISPATCHER": json.dumps({"batch": 10, "concurrency": 10}),
        "FORECALL_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([str(FORECALL), "worker"], env=env)


async def until(check: Callable[[], bool], what: str, seconds: float) -> None:
    """Waits for the workers; the limit only catches a hang."""
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def consumers(cluster: Any) -> int:
    """Workers that have claimed from the ready stream (a consumer of its group is made
    by its first claim that finds something)."""
    try:
        return len(cluster.xinfo_consumers(store_keys.outbox_ready(), "dispatch"))
    except redis.ResponseError:  # no stream or group yet
        return 0


async def test_three_workers_hold_one_rate_together(cluster_url: str) -> None:
    outbox = open_outbox(cluster_url)
    cluster = admin(cluster_url)
    warm = 0
    with Receiver() as receiver:
        workers = [start_worker(cluster_url, receiver) for _ in range(WORKERS)]
        try:
            # Warm-up messages, ten at a time, until every worker has claimed some.
            for _ in range(240):
                if consumers(cluster) == WORKERS:
                    break
                batch = [message(-1 - warm - i, time.time()) for i in range(10)]
                warm += await outbox.enqueue(batch, time.time())
                await asyncio.sleep(0.5)
            assert consumers(cluster) == WORKERS, "the workers did not all start"
            await until(lambda: receiver.delivered == warm, "the warm-up", 60.0)
            mark = len(receiver.times)
            await outbox.enqueue([message(i, time.time()) for i in range(MESSAGES)], time.time())
            await until(lambda: receiver.delivered == warm + MESSAGES, "every message", 60.0)
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(10)
            await outbox.close()
            cluster.close()
    assert max(receiver.by_key.values()) == 1, "the provider saw a duplicate"
    arrivals = sorted(receiver.times[mark:])  # the warm-up aside
    rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    start = arrivals[0]
    windows = [0] * int(arrivals[-1] - start)  # whole one-second windows only
    for t in arrivals:
        if int(t - start) < len(windows):
            windows[int(t - start)] += 1
    print(f"rate {rate:.2f}/s for {RATE}/s; per second: {windows}")
    assert abs(rate - RATE) <= 0.05 * RATE, (rate, windows)
    # Every whole second within 5 %, give or take the burst (a stall caught up).
    assert all(abs(n - RATE) <= 0.05 * RATE + BURST for n in windows), windows


async def test_a_failing_provider_is_rested_by_every_worker(cluster_url: str) -> None:
    store = open_store(cluster_url)
    assert isinstance(store, LimitStore)
    now = [1000.0]
    first, second = (SharedBreaker(store, "sms", lambda: now[0], threshold=3) for _ in range(2))
    try:
        await first.failed()
        await second.failed()
        assert await first.admit() is None  # two in a row, across workers: still closed
        await first.succeeded()  # a success anywhere forgets them
        for breaker in (first, second, first):
            await breaker.failed()
        assert await second.admit() == 1030.0  # opened by three in a row: rest 30 s
        now[0] = 1031.0
        assert await second.admit() is None  # half-open: one try
        await first.failed()  # and it failed: open again, for everyone
        assert await second.admit() == 1061.0
    finally:
        await store.close()
