"""Dispatch rate of one worker, and how closely the token bucket holds a provider's rate.

    python -m bench.dispatch [--messages 20000] [--stores redis,sqlite] [--rate 400]

Two shapes of provider: one request per message (Telegram, most SMS gateways), and a
bulk endpoint taking 100 messages per request (the webhook connector's `batch_size`).

One `Dispatcher` (what `forecall worker` runs) drains an outbox of outage notices through
the HMAC-signed webhook connector into a mock provider running in its own process
(`bench/provider_app.py`). The baseline, measured in the same run against the same
provider: the same number of requests POSTed by bare httpx at the same concurrency, with
no outbox, no claim, no signature and no status writes — the network floor a worker
cannot beat.

Rate-limit conformance: the channel is given `rate_per_second` (a Telegram-like bulk limit
scaled up so that the run is short) and the rate the provider saw, after the first second's
burst, is compared with it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time

import httpx
import redis

from bench.servers import uvicorn_server
from connectors.channels import open_channel
from connectors.outbox import Outbox, open_outbox
from connectors.store import open_store
from core.clock import SystemClock
from core.messages import Message, Route
from proactive.dispatcher import Dispatcher, DispatchSettings
from proactive.ratelimit import TokenBucket
from proactive.runtime import http_client

REDIS_URL = os.environ.get("FORECALL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
SECRET = "bench-provider-secret-0123456789"
CONCURRENCY = 8  # what httpx sustains best here; more connections only add contention
BULK = 100


def notices(n: int, now: float, tag: str) -> list[Message]:
    return [
        Message(
            id=f"{tag}:c{i:07d}",
            customer_id=f"c{i:07d}",
            group=f"incident:{tag}",
            category="service",
            routes=[Route("sms", f"+7916{i:07d}", "Авария в вашем районе, восстановим к 18:00")],
            due_at=now,
            created_at=now,
            critical=True,
        )
        for i in range(n)
    ]


async def provider_stats(client: httpx.AsyncClient, url: str) -> dict[str, object]:
    reply = await client.get(f"{url}/stats")
    return dict(reply.json())


async def baseline(provider: str, n: int) -> float:
    """Bare POSTs of the same size at the same concurrency."""
    body = b'{"text": "' + "Авария в вашем районе, восстановим к 18:00".encode() + b'"}'
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=200)) as client:

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                headers = {"idempotency-key": f"base:{i}", "content-type": "application/json"}
                (
                    await client.post(f"{provider}/hook", content=body, headers=headers)
                ).raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return time.perf_counter() - started


async def drain(
    outbox: Outbox, provider: str, n: int, tag: str, rate: float | None, batch: int
) -> tuple[float, list[float]]:
    """Enqueue `n` notices, then time one dispatcher delivering all of them."""
    now = time.time()
    await outbox.enqueue(notices(n, now, tag), now)
    client = http_client()
    config: dict[str, object] = {"kind": "webhook", "url": f"{provider}/hook", "secret": SECRET}
    if batch > 1:
        config |= {"batch_size": batch, "batch_url": f"{provider}/batch"}
    channel = open_channel("sms", config, client)
    limits = {"sms": TokenBucket(rate, burst=max(1.0, rate / 10))} if rate else None
    dispatcher = Dispatcher(
        outbox,
        {"sms": channel},
        SystemClock(),
        worker_id="bench",
        limits=limits,
        settings=DispatchSettings(batch=500, concurrency=CONCURRENCY),
    )
    async with httpx.AsyncClient() as plain:
        await plain.post(f"{provider}/reset")
        started = time.perf_counter()
        while await dispatcher.run_once():
            pass
        elapsed = time.perf_counter() - started
        stats = await provider_stats(plain, provider)
    await channel.aclose()
    await client.aclose()
    counts = await outbox.counts(f"incident:{tag}")
    assert counts == {"sent": n}, counts
    assert stats["distinct"] == n, stats
    assert stats["requests"] == (n if batch == 1 else stats["requests"]), stats
    arrivals = stats["arrivals"]
    assert isinstance(arrivals, list)
    return elapsed, [float(a) for a in arrivals]


def steady_rate(arrivals: list[float]) -> float:
    """The rate the provider saw: messages after the first request's, over the time from
    the first request to the last (bulk requests arrive as lumps sharing one time)."""
    first = arrivals[0]
    after = [a for a in arrivals if a > first]
    return len(after) / (after[-1] - first)


async def run(stores: list[str], n: int, rate: float, rounds: int) -> None:
    with uvicorn_server("bench.provider_app:app", {}, factory=False) as provider:
        for store_name in stores:
            with tempfile.TemporaryDirectory() as folder:
                url = REDIS_URL if store_name == "redis" else f"sqlite:///{folder}/bench.db"
                if store_name == "redis":
                    redis.Redis.from_url(REDIS_URL).flushdb()
                store = open_store(url)  # creates the schema the outbox shares on SQLite
                outbox = open_outbox(url)
                bases, singles, bulks = [], [], []
                for r in range(rounds):
                    bases.append(await baseline(provider, n))
                    tag = f"{store_name}-{r}"
                    singles.append((await drain(outbox, provider, n, tag, None, 1))[0])
                    bulks.append((await drain(outbox, provider, n, tag + "b", None, BULK))[0])
                base = statistics.median(bases)
                print(f"{store_name}: {n} messages, median of {rounds} rounds")
                print(f"  bare httpx POSTs, one per message (baseline): {n / base:8,.0f} msg/s")
                for label, times in (
                    ("one worker, one request per message", singles),
                    (f"one worker, bulk endpoint ({BULK} per request)", bulks),
                ):
                    mine = statistics.median(times)
                    print(
                        f"  {label:<45} {n / mine:8,.0f} msg/s "
                        f"({base / mine:.2f}x the baseline's rate)"
                    )
                for batch in (1, BULK):
                    limited = int(rate * 6)
                    tag = f"{store_name}-rl{batch}"
                    _, arrivals = await drain(outbox, provider, limited, tag, rate, batch)
                    seen = steady_rate(arrivals)
                    print(
                        f"  rate limit {rate:.0f}/s, {batch} per request: the provider saw "
                        f"{seen:.1f}/s ({(seen - rate) / rate:+.1%}; "
                        "floor ±5%)"
                    )
                await outbox.close()
                await store.close()
                if store_name == "redis":
                    redis.Redis.from_url(REDIS_URL).flushdb()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--stores", default="redis,sqlite")
    parser.add_argument("--rate", type=float, default=400.0, help="token-bucket rate per second")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.stores.split(","), args.messages, args.rate, args.rounds))


if __name__ == "__main__":
    main()
