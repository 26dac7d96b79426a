"""The IVR's call: `POST /v1/inbound` latency and throughput on each store.

    python -m bench.inbound [--customers 3000] [--calls 2000] [--stores sqlite,redis]

A simulated population and its events are loaded through the API; then calls from its
customers' phones (one in ten from unknown numbers, one in three with an utterance) are
answered one at a time (latency p50/p99) and sixteen at a time (calls per second), beside
a bare FastAPI endpoint that parses the same body and answers a fixed route (same run,
same client). Degraded answers are counted: past the 150 ms budget the caller gets the
safe default, so a slow run shows up there, not as a hang.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from typing import Any

import httpx
import orjson
import redis

from bench.servers import BENCH_KEY, uvicorn_server
from models.simulator import SimulatorConfig, simulate

REDIS_URL = os.environ.get("FORECALL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
HEADERS = {"Authorization": f"Bearer {BENCH_KEY}", "Content-Type": "application/json"}
UTTERANCES = [
    "где мой заказ",
    "у меня не работает интернет",
    "почему списали деньги",
    "хочу расторгнуть договор",
    "не проходит оплата картой",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def calls(world_customers: list[dict[str, Any]], n: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    phones = [
        i["value"]
        for c in world_customers
        for i in c.get("identities", [])
        if i.get("kind") == "phone"
    ]
    bodies = []
    for k in range(n):
        caller = f"+7999{rng.randrange(10**7):07d}" if rng.random() < 0.1 else rng.choice(phones)
        body: dict[str, Any] = {"channel": "ivr", "call_id": f"bench-{k}", "caller": caller}
        if rng.random() < 1 / 3:
            body["utterance"] = rng.choice(UTTERANCES)
        bodies.append(orjson.dumps(body))
    return bodies


async def measure(url: str, bodies: list[bytes]) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=HEADERS) as client:
        for body in bodies[:50]:  # warm up: connections, caches, model sessions
            (await client.post("/v1/inbound", content=body)).raise_for_status()
        latencies, degraded = [], 0
        for body in bodies:
            start = time.perf_counter()
            reply = await client.post("/v1/inbound", content=body)
            latencies.append((time.perf_counter() - start) * 1000)
            reply.raise_for_status()
            degraded += bool(reply.json().get("degraded"))
        queue = list(bodies)

        async def caller() -> None:
            while queue:
                (await client.post("/v1/inbound", content=queue.pop())).raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(16)))
        rate = len(bodies) / (time.perf_counter() - start)
    return {
        "p50_ms": statistics.median(latencies),
        "p99_ms": percentile(latencies, 0.99),
        "calls_per_s": rate,
        "degraded": degraded,
    }


async def load(url: str, world: Any) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60, headers=HEADERS) as client:
        for raw in world.customers:
            body = {k: v for k, v in raw.items() if k != "id"}
            (await client.put(f"/v1/customers/{raw['id']}", json=body)).raise_for_status()
        events = world.events
        for start in range(0, len(events), 500):
            batch = orjson.dumps({"events": events[start : start + 500]})
            (await client.post("/v1/events", content=batch)).raise_for_status()


def report(name: str, result: dict[str, float], baseline: dict[str, float] | None) -> None:
    ratio = ""
    if baseline is not None:
        ratio = (
            f"  (p50 {result['p50_ms'] / baseline['p50_ms']:.1f}x the baseline's, "
            f"throughput {result['calls_per_s'] / baseline['calls_per_s']:.2f} of it)"
        )
    print(
        f"{name}: p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, "
        f"{result['calls_per_s']:,.0f} calls/s at 16 in flight, "
        f"{result['degraded']:.0f} degraded{ratio}"
    )


async def run(customers: int, n_calls: int, stores: list[str]) -> None:
    from datetime import UTC, datetime

    world = simulate(SimulatorConfig(customers=customers, end=datetime.now(UTC)))
    bodies = calls(world.customers, n_calls)
    print(f"world: {customers} customers, {len(world.events)} events; {n_calls} calls")
    with uvicorn_server("bench.echo_app:app", {}, factory=False) as url:
        baseline = await measure(url, bodies)
    report("baseline (parse, fixed answer)", baseline, None)
    for name in stores:
        if name == "redis":
            redis.Redis.from_url(REDIS_URL).flushdb()
            store_url = REDIS_URL
        else:
            store_url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
        env = {"FORECALL_STORE": store_url, "FORECALL_DISPATCHER__EMBEDDED": "false"}
        with uvicorn_server("api.app:create_app_from_env", env) as url:
            await load(url, world)
            report(name, await measure(url, bodies), baseline)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--stores", default="sqlite,redis")
    args = parser.parse_args()
    asyncio.run(run(args.customers, args.calls, args.stores.split(",")))


if __name__ == "__main__":
    main()
