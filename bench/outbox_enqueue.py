"""Outbox enqueue rate on each store, beside a bare write of the same data.

    python -m bench.outbox_enqueue [--messages 200000] [--stores sqlite,redis] [--rounds 3]

Messages go in batches of 1,000, one `await` each, from this one process: the shape of
an incident fan-out. Baselines, measured in the same run on the same server or disk:

- redis: the same JSON payloads, already encoded, XADDed to a stream through a redis-py
  pipeline per batch: no idempotency, no schedule, no counters, no customer index.
- sqlite: the same rows `executemany`-INSERTed into a plain table (no key, no index, no
  trigger) of a file with the outbox's settings (WAL, synchronous=FULL), a transaction
  per batch.

Each round runs the baseline and the outbox on an emptied store; the medians are printed.
A second pass of every batch (ids all known, so nothing is written) is timed too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
import redis
import redis.asyncio as aioredis

from connectors.outbox import Outbox, open_outbox
from core.messages import Message, Route

REDIS_URL = os.environ.get("FORECALL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
BATCH = 1000
NOW = 1_795_000_000.0


def fan_out(n: int) -> list[Message]:
    """An outage notice to `n` customers, a tenth of them scheduled for later."""
    return [
        Message(
            id=f"incident:I-42:c{i:07d}",
            customer_id=f"c{i:07d}",
            group="incident:I-42",
            category="service",
            routes=[
                Route("telegram", f"55{i:08d}", "Авария в вашем районе, восстановим к 18:00"),
                Route("sms", f"+7916{i:07d}", "Авария в вашем районе, восстановим к 18:00"),
            ],
            due_at=NOW + (3600 if i % 10 == 0 else 0),
            created_at=NOW,
            critical=True,
            meta={"incident": "I-42"},
        )
        for i in range(n)
    ]


def batches(messages: list[Message]) -> list[list[Message]]:
    return [messages[i : i + BATCH] for i in range(0, len(messages), BATCH)]


Write = Callable[[list[Message]], Awaitable[int]]


async def timed(batched: list[list[Message]], write: Write) -> float:
    started = time.perf_counter()
    for batch in batched:
        await write(batch)
    return time.perf_counter() - started


async def redis_round(messages: list[Message]) -> tuple[float, float, float, float]:
    sync = redis.Redis.from_url(REDIS_URL)
    batched = batches(messages)
    payloads = [[orjson.dumps(m) for m in batch] for batch in batched]

    sync.flushdb()
    client = aioredis.Redis.from_url(REDIS_URL)
    started = time.perf_counter()
    for encoded in payloads:
        async with client.pipeline(transaction=False) as pipe:
            for payload in encoded:
                pipe.xadd("bench:stream", {"m": payload})
            await pipe.execute()
    baseline = time.perf_counter() - started
    await client.aclose()

    sync.flushdb()
    before = sync.info("memory")["used_memory"]
    scripts = _script_usec(sync)
    outbox = open_outbox(REDIS_URL)
    try:
        ours = await timed(batched, lambda batch: outbox.enqueue(batch, NOW))
        server_usec = (_script_usec(sync) - scripts) / len(messages)
        known = await timed(batched, lambda batch: outbox.enqueue(batch, NOW))
        assert await outbox.counts("incident:I-42") == {"pending": len(messages)}
    finally:
        await outbox.close()
    per_message = (sync.info("memory")["used_memory"] - before) / len(messages)
    sync.flushdb()
    sync.close()
    print(f"  redis round: {server_usec:.1f} µs of Redis CPU per new message (scripts)")
    return baseline, ours, known, per_message


def _script_usec(client: redis.Redis) -> float:
    # A delta, not CONFIG RESETSTAT: the server may be shared.
    stats = client.info("commandstats").get("cmdstat_evalsha", {})
    return float(stats.get("usec", 0))


async def sqlite_round(messages: list[Message]) -> tuple[float, float, float, float]:
    batched = batches(messages)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(
            "CREATE TABLE plain (id TEXT, customer_id TEXT, grp TEXT, status TEXT, "
            "due_at REAL, updated_at REAL, payload BLOB)"
        )
        started = time.perf_counter()
        for batch in batched:
            rows = [
                (m.id, m.customer_id, m.group, "pending", m.due_at, NOW, orjson.dumps(m))
                for m in batch
            ]
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT INTO plain VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            db.execute("COMMIT")
        baseline = time.perf_counter() - started
        db.execute("DROP TABLE plain")
        db.close()

        outbox: Outbox = open_outbox(f"sqlite:///{path}")
        try:
            ours = await timed(batched, lambda batch: outbox.enqueue(batch, NOW))
            known = await timed(batched, lambda batch: outbox.enqueue(batch, NOW))
            assert await outbox.counts("incident:I-42") == {"pending": len(messages)}
        finally:
            await outbox.close()
        per_message = path.stat().st_size / len(messages)
    return baseline, ours, known, per_message


async def run(n: int, stores: list[str], rounds: int) -> None:
    messages = fan_out(n)
    print(f"{n:,} messages in batches of {BATCH:,}, {rounds} rounds, medians")
    for name in stores:
        measure = redis_round if name == "redis" else sqlite_round
        results = [await measure(messages) for _ in range(rounds)]
        baseline, ours, known, size = (statistics.median(r[i] for r in results) for i in range(4))
        base_rate, our_rate, known_rate = n / baseline, n / ours, n / known
        unit = "bytes of Redis memory" if name == "redis" else "bytes of file"
        print(
            f"{name}: enqueue {our_rate:,.0f} msg/s | baseline {base_rate:,.0f} msg/s | "
            f"ratio {our_rate / base_rate:.2f} | known ids {known_rate:,.0f} msg/s | "
            f"{size:,.0f} {unit} per message"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--stores", default="sqlite,redis")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.messages, args.stores.split(","), args.rounds))


if __name__ == "__main__":
    main()
