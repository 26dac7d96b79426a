"""The IVR's call, `POST /v1/inbound`, against the floor, measured by wrk.

    python -m bench.inbound [--customers 2000] [--rounds 3] [--seconds 10]
                            [--stores redis,sqlite] [--workers 1,2] [--keep]

A simulated population is loaded through the public API into `forecall serve` on each
store; then, in the same run, wrk posts realistic calls (the customers' phones, one in
ten unknown, one in three with a Russian utterance) to the floor app (parse the body,
ONE Redis GET, a 1 KB answer: bench/floor_app.py) and to each server, one call in flight
and sixteen in flight, in interleaved rounds. Each figure is the median of the rounds;
the ratios to the floor measured in the same round are what to compare across machines.
wrk's own CPU and a run with twice the connections on the floor show whether the client
was the limit. The first call after start is timed on a freshly started server.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import sqlite3
import statistics
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import redis

from bench.floor_app import PREFIX
from bench.servers import BENCH_KEY, forecall_server, uvicorn_server
from bench.wrk import MARK, Run, Wrk
from models.simulator import SimulatorConfig, simulate

REDIS_URL = os.environ.get("FORECALL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
HEADERS = {"Authorization": f"Bearer {BENCH_KEY}", "Content-Type": "application/json"}
CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)


def phones(customers: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each customer's phone (as the customer's record gives it) -> the customer."""
    found = {}
    for customer in customers:
        for identity in customer.get("identities", []):
            if identity.get("kind") == "phone":
                found[identity["value"]] = customer
    return found


def bodies(world: Any, n: int, seed: int = 7) -> list[bytes]:
    """`n` call bodies with MARK where the call id goes."""
    rng = random.Random(seed)
    known = sorted(phones(world.customers))
    said = sorted({c.utterance for c in world.contacts if CYRILLIC.search(c.utterance)})
    out = []
    for _ in range(n):
        unknown = rng.random() < 0.1
        caller = f"+7999{rng.randrange(10**7):07d}" if unknown else rng.choice(known)
        body: dict[str, Any] = {"channel": "ivr", "call_id": MARK, "caller": caller}
        if rng.random() < 1 / 3:
            body["utterance"] = rng.choice(said)
        out.append(orjson.dumps(body))
    return out


def load(url: str, world: Any) -> None:
    """The population and its history, through the public API."""
    with httpx.Client(base_url=url, timeout=120, headers=HEADERS) as client:
        for raw in world.customers:
            body = {k: v for k, v in raw.items() if k != "id"}
            client.put(f"/v1/customers/{raw['id']}", json=body).raise_for_status()
        events = world.events
        for start in range(0, len(events), 500):
            batch = orjson.dumps({"events": events[start : start + 500]})
            client.post("/v1/events", content=batch).raise_for_status()


def load_floor(world: Any) -> None:
    """The floor's one record per caller: about what Forecall's IVR summary holds."""
    client = redis.Redis.from_url(REDIS_URL)
    with client.pipeline(transaction=False) as pipe:
        for phone, customer in phones(world.customers).items():
            record = {
                "id": customer["id"],
                "name": customer.get("name"),
                "segment": customer.get("segment", "b2c"),
                "locale": customer.get("locale", "ru"),
                "region": customer.get("region"),
            }
            pipe.set(PREFIX + phone, orjson.dumps(record))
        pipe.execute()


def first_call(url: str, body: bytes) -> float:
    """Milliseconds for one call on a fresh server (the connection opened beforehand)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    connection.connect()
    started = time.perf_counter()
    connection.request("POST", "/v1/inbound", body.replace(MARK.encode(), b"first"), HEADERS)
    reply = connection.getresponse()
    reply.read()
    elapsed = (time.perf_counter() - started) * 1000
    connection.close()
    if reply.status != 200:
        raise RuntimeError(f"first call: {reply.status}")
    return elapsed


def degraded(url: str) -> float:
    """How many answers so far were the safe default (the server's own counter)."""
    text = httpx.get(url + "/metrics", headers=HEADERS).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("forecall_inbound_degraded_total{")
    )


def forget_calls(store: str) -> None:
    """Drop the call records a run left (a Redis db or SQLite file kept with --keep)."""
    if store.startswith("redis"):
        client = redis.Redis.from_url(store)
        for pattern in ("fc:call:*", "fc:{c:*}:calls"):
            for key in client.scan_iter(pattern, count=1000):
                client.delete(key)
    else:
        with sqlite3.connect(store.removeprefix("sqlite:///")) as db:
            db.execute("DELETE FROM calls")


@contextmanager
def servers(args: argparse.Namespace, world: Any) -> Iterator[dict[str, str]]:
    """The floor and each Forecall server, loaded, then started afresh; name -> base URL."""
    stores = {
        name: REDIS_URL if name == "redis" else f"sqlite:///{args.tmp}/bench-{args.customers}.db"
        for name in args.stores.split(",")
    }
    marker = redis.Redis.from_url(REDIS_URL)
    loaded = f"{args.customers}:{args.stores}"
    if not (args.keep and marker.get("bench:loaded") == loaded.encode()):
        marker.flushdb()
        for store in stores.values():
            if store.startswith("sqlite"):
                Path(store.removeprefix("sqlite:///")).unlink(missing_ok=True)
        with ExitStack() as stack:
            loading = [
                stack.enter_context(forecall_server({"FORECALL_STORE": s})) for s in stores.values()
            ]
            with ThreadPoolExecutor(len(loading)) as pool:  # one loader per server, together
                list(pool.map(lambda url: load(url, world), loading))
        load_floor(world)
        marker.set("bench:loaded", loaded)
    try:
        with ExitStack() as stack:
            urls = {
                "floor": stack.enter_context(
                    uvicorn_server("bench.floor_app:app", {}, factory=False)
                )
            }
            for workers in [int(w) for w in args.workers.split(",")]:
                for name, store in stores.items():
                    label = name if workers == 1 else f"{name}, {workers} workers"
                    env = {"FORECALL_STORE": store}
                    urls[label] = stack.enter_context(forecall_server(env, workers=workers))
            yield urls
    finally:
        for store in stores.values():
            forget_calls(store)


def workers_of(name: str) -> int:
    return int(name.split(", ")[1].split()[0]) if ", " in name else 1


def median(runs: list[Run], field: str) -> float:
    return float(statistics.median(getattr(r, field) for r in runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--stores", default="redis,sqlite")
    parser.add_argument("--workers", default="1", help="comma-separated, e.g. 1,2")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--tmp", default="/tmp")
    parser.add_argument(
        "--keep", action="store_true", help="reuse the population a previous run loaded"
    )
    args = parser.parse_args()

    world = simulate(SimulatorConfig(customers=args.customers, end=datetime.now(UTC)))
    calls = bodies(world, 2000)
    wrk = Wrk(calls, "/v1/inbound", HEADERS)
    print(f"world: {args.customers} customers, {len(world.events)} events; wrk {wrk.script}")
    one: dict[str, list[Run]] = {}
    many: dict[str, list[Run]] = {}
    first: dict[str, float] = {}
    shed: dict[str, float] = {}
    shed16: dict[str, list[float]] = {}
    with servers(args, world) as urls:
        for name, url in urls.items():
            first[name] = first_call(url, calls[0])
            shed[name] = 0.0 if name == "floor" else degraded(url)
            wrk.run(url, 16, 2)  # warm: connections and the OS's caches
        for _ in range(args.rounds):
            for name, url in urls.items():
                one.setdefault(name, []).append(wrk.run(url, 1, args.seconds))
                before = 0.0 if name == "floor" else degraded(url)
                run = wrk.run(url, 16, args.seconds)
                many.setdefault(name, []).append(run)
                after = 0.0 if name == "floor" else degraded(url)
                # With several workers the counter is one worker's: scaled to all of them.
                share = (after - before) * workers_of(name) / max(run.requests, 1)
                shed16.setdefault(name, []).append(min(share, 1.0))
        ceiling = wrk.run(urls["floor"], 32, args.seconds)
        for name, url in urls.items():
            if name != "floor":
                shed[name] = degraded(url) - shed[name]
    wrk.close()

    floor_rate = median(many["floor"], "rate")
    print(
        f"\n{'server':<22} {'req/s @16':>10} {'ratio':>6} {'decided':>8} {'ratio':>6} "
        f"{'p50 @1':>8} {'p99 @1':>8} {'p50 @16':>8} {'p99 @16':>8} {'first':>7} {'degraded':>9}"
    )
    table: dict[str, dict[str, Any]] = {}
    for name in urls:
        shed16.setdefault(name, [0.0] * len(many[name]))
        rate = median(many[name], "rate")
        decided = (
            statistics.median(
                r.rate * (1 - share) for r, share in zip(many[name], shed16[name], strict=True)
            )
            if name != "floor"
            else rate
        )
        row = {
            "decided_16": decided,
            "decided_ratio": decided / floor_rate,
            "rate_16": rate,
            "ratio": rate / floor_rate,
            "p50_1": median(one[name], "p50_ms"),
            "p99_1": median(one[name], "p99_ms"),
            "p50_16": median(many[name], "p50_ms"),
            "p99_16": median(many[name], "p99_ms"),
            "first_ms": first[name],
            "degraded": shed.get(name, 0.0),
            "errors": sum(r.errors for r in one[name] + many[name]),
            "rounds": [round(r.rate) for r in many[name]],
        }
        table[name] = row
        print(
            f"{name:<22} {rate:>10,.0f} {row['ratio']:>5.2f}x {decided:>8,.0f} "
            f"{row['decided_ratio']:>5.2f}x {row['p50_1']:>6.2f}ms {row['p99_1']:>6.2f}ms "
            f"{row['p50_16']:>6.2f}ms {row['p99_16']:>6.2f}ms {row['first_ms']:>5.1f}ms "
            f"{row['degraded']:>9.0f}"
        )
    client_cpu = max(r.client_cpu for runs in many.values() for r in runs)
    print(
        f"\nclient check: wrk used at most {client_cpu:.0%} of a core; the floor at 32 in "
        f"flight {ceiling.rate:,.0f} req/s vs {floor_rate:,.0f} at 16 "
        f"({ceiling.rate / floor_rate:.2f}x: ~1 means the server, not wrk, is the limit)"
    )
    print("per-round req/s @16: " + "; ".join(f"{n} {t['rounds']}" for n, t in table.items()))
    print("'decided': answers per second at 16 in flight that were not the safe default")
    errors = sum(t["errors"] for t in table.values())
    if errors:
        print(f"wrk counted {errors} errors (non-2xx or socket)")
    if args.json:
        figures = {"servers": table, "client_cpu": client_cpu, "floor_32": ceiling.rate}
        Path(args.json).write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
