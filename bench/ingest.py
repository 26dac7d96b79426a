"""Ingest throughput, profile read latency and Redis bytes per customer.

    python -m bench.ingest [--customers 5000] [--stores sqlite,redis]

Throughput is end to end: batches of 500 simulated events POSTed to one uvicorn worker,
beside a bare FastAPI endpoint that only parses the same bodies (same run, same client).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from typing import Any

import httpx
import orjson
import redis

from bench.servers import BENCH_KEY, uvicorn_server
from connectors.store import keys, open_store
from core.events import Catalogue
from models.simulator import SimulatorConfig, simulate
from predictors import attributes, profile_codec

BATCH = 500
REDIS_URL = os.environ.get("FORECALL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def batches(events: list[dict[str, Any]]) -> list[bytes]:
    return [orjson.dumps({"events": events[i : i + BATCH]}) for i in range(0, len(events), BATCH)]


async def post_all(url: str, bodies: list[bytes], concurrency: int = 4) -> float:
    """Seconds to POST every body, `concurrency` at a time; fails on any non-200."""
    headers = {"Authorization": f"Bearer {BENCH_KEY}", "content-type": "application/json"}
    queue = list(reversed(bodies))
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:

        async def worker() -> None:
            while queue:
                response = await client.post("/v1/events", content=queue.pop())
                if response.status_code != 200:
                    raise RuntimeError(f"{response.status_code}: {response.text[:200]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def read_latency(store_url: str, ids: list[str]) -> dict[str, float]:
    store = open_store(store_url)
    catalogue = Catalogue.with_extensions()
    raw, full = [], []
    try:
        for customer_id in ids:  # warm up connections and caches
            await store.get_profile(customer_id)
        for customer_id in ids:
            t0 = time.perf_counter()
            await store.get_profile(customer_id)
            t1 = time.perf_counter()
            _, blob = await store.get_profile(customer_id)
            attributes.derive(profile_codec.decode_state(blob), catalogue, time.time())
            t2 = time.perf_counter()
            raw.append((t1 - t0) * 1e6)
            full.append((t2 - t1) * 1e6)
    finally:
        await store.close()
    return {
        "read_p50_us": percentile(raw, 0.5),
        "read_p99_us": percentile(raw, 0.99),
        "profile_p50_us": percentile(full, 0.5),
        "profile_p99_us": percentile(full, 0.99),
    }


def redis_bytes(customers: list[str]) -> dict[str, float]:
    client = redis.Redis.from_url(REDIS_URL)
    per_customer = []
    for customer_id in customers:
        record = client.memory_usage(keys.record(customer_id), samples=0) or 0
        profile = client.memory_usage(keys.profile(customer_id), samples=0) or 0
        per_customer.append(record + profile)
    # Shared structures, spread over the customers: identity buckets, audience sets.
    shared = [k for k in client.scan_iter(match="fc:ids:*", count=5000)]
    shared += [k for k in client.scan_iter(match="fc:{idx}:*", count=5000)]
    identity_bytes = sum(client.memory_usage(k, samples=0) or 0 for k in shared)
    per_identity = identity_bytes / max(len(customers), 1)
    return {
        "median_bytes": statistics.median(per_customer) + per_identity,
        "mean_bytes": statistics.mean(per_customer) + per_identity,
        "p90_bytes": percentile([float(b) for b in per_customer], 0.9) + per_identity,
        "identity_bytes_per_customer": per_identity,
    }


async def index_bytes_at_scale(n: int) -> float:
    """Identity buckets and audience sets per customer for a population of `n`, written
    through the store's own put_customer (records only: no events needed for this)."""
    url = REDIS_URL.rsplit("/", 1)[0] + "/13"
    client = redis.Redis.from_url(url)
    client.flushdb()
    store = open_store(url)
    world = simulate(SimulatorConfig(customers=n, days=1, end=_now_utc(), seed=5))
    from core.customers import CustomerIn
    from profiles import directory

    async def put(raw: dict[str, Any]) -> None:
        body = CustomerIn.model_validate({k: v for k, v in raw.items() if k != "id"})
        await directory.put_customer(store, raw["id"], body, "RU", time.time())

    for start in range(0, n, 200):
        await asyncio.gather(*(put(raw) for raw in world.customers[start : start + 200]))
    await store.close()
    shared = [k for k in client.scan_iter(match="fc:ids:*", count=5000)]
    shared += [k for k in client.scan_iter(match="fc:{idx}:*", count=5000)]
    total = sum(client.memory_usage(k, samples=0) or 0 for k in shared)
    client.flushdb()
    return total / n


async def run(customers: int, stores: list[str]) -> None:
    world = simulate(SimulatorConfig(customers=customers, end=_now_utc()))
    events = world.events
    bodies = batches(events)
    ids = [c["id"] for c in world.customers]
    print(
        f"world: {len(ids)} customers, {len(events)} events "
        f"({len(events) / len(ids):.1f} per customer), {len(bodies)} batches of {BATCH}"
    )
    with uvicorn_server("bench.echo_app:app", {}, factory=False) as url:
        await post_all(url, bodies[:20])
        baseline = len(events) / await post_all(url, bodies)
    print(f"baseline (parse and echo, no validation, no store): {baseline:,.0f} events/s")
    for name in stores:
        if name == "redis":
            redis.Redis.from_url(REDIS_URL).flushdb()
            store_url = REDIS_URL
        else:
            store_url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
        with uvicorn_server("api.app:create_app_from_env", {"FORECALL_STORE": store_url}) as url:
            async with httpx.AsyncClient(base_url=url, timeout=60) as client:
                headers = {"Authorization": f"Bearer {BENCH_KEY}"}
                for raw in world.customers:
                    body = {k: v for k, v in raw.items() if k != "id"}
                    r = await client.put(f"/v1/customers/{raw['id']}", json=body, headers=headers)
                    r.raise_for_status()
            seconds = await post_all(url, bodies)
        rate = len(events) / seconds
        print(f"{name}: ingest {rate:,.0f} events/s  (ratio to baseline {rate / baseline:.2f})")
        latency = await read_latency(store_url, ids[:2000])
        print(
            f"{name}: store read p50 {latency['read_p50_us']:.0f} us, p99 "
            f"{latency['read_p99_us']:.0f} us; read + derive p50 "
            f"{latency['profile_p50_us']:.0f} us, p99 {latency['profile_p99_us']:.0f} us"
        )
        if name == "redis":
            size = redis_bytes(ids)
            own = size["median_bytes"] - size["identity_bytes_per_customer"]
            at_scale = await index_bytes_at_scale(100_000)
            print(
                f"redis: the customer's own keys (record, profile) median {own:.0f} bytes; "
                f"shared indexes {size['identity_bytes_per_customer']:.0f} bytes per customer "
                f"at this size, {at_scale:.0f} at 100,000 customers; typical total at "
                f"scale {own + at_scale:.0f} bytes"
            )


def _now_utc() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--stores", default="sqlite,redis")
    args = parser.parse_args()
    asyncio.run(run(args.customers, args.stores.split(",")))


if __name__ == "__main__":
    main()
