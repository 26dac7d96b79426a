"""One inbound decision's own CPU, in process: store read, features, models, arbitration,
the answer. No HTTP, no client: what `Calls.answer` costs the event loop per call.

    python -m bench.decision_cpu [--customers 2000] [--stores redis,sqlite] [--profile]

The population is the one `bench.inbound --keep` loaded (the same calls, the same mix);
on an empty store it is loaded here, through the API in process. The after-answer write
is settled between calls and not counted: it is batched, off the answer's path.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from api.app import create_app
from bench.inbound import REDIS_URL, bodies
from bench.servers import BENCH_KEY
from core.settings import Settings
from inbound.calls import Calls, Contact
from models.simulator import SimulatorConfig, simulate


def contacts(world: Any, n: int) -> list[Contact]:
    out = []
    for k, raw in enumerate(bodies(world, n)):
        body = orjson.loads(raw)
        out.append(
            Contact(
                call_id=f"cpu-{k}",
                channel=body["channel"],
                caller=body["caller"],
                utterance=body.get("utterance"),
            )
        )
    return out


async def measure(store: str, world: Any, n: int, profile: bool) -> dict[str, float]:
    settings = Settings(store=store, admin_key=BENCH_KEY, dispatcher={"embedded": False})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {BENCH_KEY}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://b", headers=headers):
            calls: Calls = app.state.forecall.calls
            if await app.state.forecall.store.find_customer("phone", _a_phone(world)) is None:
                raise SystemExit(f"{store}: load it first: python -m bench.inbound --keep")
            mix = contacts(world, n)
            spent: list[float] = []
            degraded = 0
            profiler = cProfile.Profile(time.thread_time) if profile else None
            for contact in mix:
                if profiler:
                    profiler.enable()
                started = time.thread_time()
                answer, _ = await calls.answer(contact)
                spent.append(time.thread_time() - started)
                if profiler:
                    profiler.disable()
                degraded += bool(answer["degraded"])
                await calls.settle()
            if profiler:
                pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    spent.sort()
    return {
        "mean_ms": statistics.fmean(spent) * 1000,
        "p50_ms": spent[len(spent) // 2] * 1000,
        "p99_ms": spent[int(len(spent) * 0.99)] * 1000,
        "degraded": degraded,
    }


def _a_phone(world: Any) -> str:
    from bench.inbound import phones

    return sorted(phones(world.customers))[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--stores", default="redis,sqlite")
    parser.add_argument("--tmp", default="/tmp")
    parser.add_argument("--profile", action="store_true", help="print where the CPU goes")
    args = parser.parse_args()
    world = simulate(SimulatorConfig(customers=args.customers, end=datetime.now(UTC)))
    for name in args.stores.split(","):
        store = REDIS_URL if name == "redis" else f"sqlite:///{args.tmp}/bench-{args.customers}.db"
        result = asyncio.run(measure(store, world, args.calls, args.profile))
        print(
            f"{name}: one decision's own CPU {result['mean_ms']:.3f} ms on average "
            f"(p50 {result['p50_ms']:.3f}, p99 {result['p99_ms']:.3f}); "
            f"{result['degraded']:.0f} of {args.calls} degraded"
        )


if __name__ == "__main__":
    main()
