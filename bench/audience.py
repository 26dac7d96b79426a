"""Time to resolve an outage audience: 100k affected among 1M customers.

    python -m bench.audience [--customers 1000000]

The index is loaded with the store's own layout and scripts (connectors.store.redis_index,
as put_customer writes it, but a thousand members per call so that loading a million
takes a minute, not an hour). The baseline,
in the same run, is a bare SMEMBERS of a set holding exactly the affected ids: the cost
of moving 100k ids from Redis to Python at all.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import tempfile
import time

import redis

from connectors.store import open_store
from connectors.store.redis_index import TermIndex

REDIS_URL = os.environ.get("FORECALL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
REGIONS = [f"RU-R{i:02d}" for i in range(1, 61)]
SCOPE = [["r:RU-R01", "r:RU-R02", "r:RU-R03", "r:RU-R04", "r:RU-R05", "r:RU-R06"], ["s:internet"]]


def population(n: int, seed: int = 3) -> list[tuple[str, list[str]]]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        # Everyone has internet here, so the six regions of the scope pick out 10%.
        terms = [f"r:{rnd.choice(REGIONS)}", f"n:N{rnd.randrange(3000):04d}", "s:internet"]
        if rnd.random() < 0.6:
            terms.append("s:mobile")
        out.append((f"c{i:07d}", terms))
    return out


async def load_redis(people: list[tuple[str, list[str]]]) -> set[str]:
    client = redis.asyncio.Redis.from_url(REDIS_URL, socket_timeout=300)
    await client.flushdb()
    by_term: dict[str, list[str]] = {}
    for customer_id, terms in people:
        for term in terms:
            by_term.setdefault(term, []).append(customer_id)
    index = TermIndex(client)
    for term, members in by_term.items():
        for start in range(0, len(members), 50_000):
            async with client.pipeline(transaction=False) as pipe:
                for at in range(start, min(start + 50_000, len(members)), 1000):
                    await index.add(pipe, term, members[at : at + 1000])
                await pipe.execute()
    affected = {c for c, terms in people if terms[0] in SCOPE[0] and "s:internet" in terms}
    await client.sadd("bench:baseline", *list(affected)[:500_000])
    info = await client.info("memory")
    print(f"redis: index of {len(people):,} customers, used_memory {info['used_memory']:,} bytes")
    await client.aclose()
    return affected


async def time_redis(affected: set[str], rounds: int = 7) -> tuple[float, float]:
    store = open_store(REDIS_URL)
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    ours, bare = [], []
    try:
        for _ in range(rounds):
            t0 = time.perf_counter()
            found = await store.audience(SCOPE)
            t1 = time.perf_counter()
            await client.smembers("bench:baseline")
            t2 = time.perf_counter()
            assert found == affected, (len(found), len(affected))
            ours.append(t1 - t0)
            bare.append(t2 - t1)
    finally:
        await store.close()
        await client.aclose()
    return statistics.median(ours), statistics.median(bare)


async def time_sqlite(people: list[tuple[str, list[str]]], affected: set[str]) -> float:
    path = f"{tempfile.mkdtemp()}/audience.db"
    store = open_store(f"sqlite:///{path}?synchronous=normal")
    await store.close()
    db = sqlite3.connect(path)
    db.executemany(
        "INSERT INTO audience_terms (term, customer_id) VALUES (?, ?)",
        ((term, c) for c, terms in people for term in terms),
    )
    db.commit()
    db.close()
    store = open_store(f"sqlite:///{path}")
    try:
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            found = await store.audience(SCOPE)
            times.append(time.perf_counter() - t0)
            assert found == affected
    finally:
        await store.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    people = population(args.customers)
    affected = asyncio.run(load_redis(people))
    print(f"{args.customers:,} customers, {len(affected):,} affected by the scope")
    ours, bare = asyncio.run(time_redis(affected))
    print(
        f"redis: audience resolved in {ours * 1000:.0f} ms (median of 7); bare SMEMBERS "
        f"of the same ids {bare * 1000:.0f} ms; ratio {ours / bare:.2f}"
    )
    lite = asyncio.run(time_sqlite(people, affected))
    print(f"sqlite: audience resolved in {lite * 1000:.0f} ms (median of 3)")


if __name__ == "__main__":
    main()
