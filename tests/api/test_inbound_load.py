"""`POST /v1/inbound` under pressure: a saturating burst is shed, not queued; a dead store
fails fast behind the breaker and is found again when it is back."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from api.app import create_app
from bench.servers import BENCH_KEY, free_port, uvicorn_server
from core.clock import FixedClock
from tests.conftest import CUSTOMER, NOW, _Client, make_settings
from tests.fakes.redis_server import start_redis

BUDGET_MS = 150.0
MARGIN_MS = 100.0  # what the server cannot see: the socket and the wait for the loop's turn
PHONE = "+79161234567"


async def timed_call(client: httpx.AsyncClient, call_id: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    reply = await client.post(
        "/v1/inbound", json={"channel": "ivr", "call_id": call_id, "caller": "+79161234567"}
    )
    elapsed = (time.perf_counter() - started) * 1000
    assert reply.status_code == 200, reply.text
    answer: dict[str, Any] = reply.json()
    return elapsed, answer


async def post_in_a_loop(
    port: int, bodies: list[bytes], results: list[tuple[float, dict[str, Any]]]
) -> None:
    """One keep-alive connection posting `bodies` one after another; a bare client, so
    that the time measured is the server's, not the client's."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for body in bodies:
            head = (
                f"POST /v1/inbound HTTP/1.1\r\nHost: forecall\r\n"
                f"Authorization: Bearer {BENCH_KEY}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            )
            started = time.perf_counter()
            writer.write(head.encode() + body)
            await writer.drain()
            reply = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length: *(\d+)", reply)
            assert reply.startswith(b"HTTP/1.1 200") and length, reply
            answer = orjson.loads(await reader.readexactly(int(length[1])))
            results.append(((time.perf_counter() - started) * 1000, answer))
    finally:
        writer.close()


async def test_a_saturating_load_is_answered_in_budget_or_shed(store_url: str) -> None:
    """Sixty-four calls in flight on one worker, far more than it decides in 150 ms:
    each answer comes within the budget (plus a margin for sending it) or is the safe
    default; the calls that waited their budget in line are shed (`overload`), not
    decided late."""
    env = {"FORECALL_STORE": store_url, "FORECALL_DISPATCHER__EMBEDDED": "false"}
    with uvicorn_server("api.app:create_app_from_env", env) as url:
        headers = {"Authorization": f"Bearer {BENCH_KEY}"}
        async with httpx.AsyncClient(base_url=url, headers=headers) as client:
            assert (await client.put("/v1/customers/c1", json=CUSTOMER)).status_code == 201
        port = int(url.rsplit(":", 1)[1])
        results: list[tuple[float, dict[str, Any]]] = []
        calls = [
            [
                orjson.dumps({"channel": "ivr", "call_id": f"l{c}-{i}", "caller": PHONE})
                for i in range(8)
            ]
            for c in range(64)
        ]
        await asyncio.gather(*(post_in_a_loop(port, bodies, results) for bodies in calls))
    late = [
        (ms, a.get("degraded_reason"))
        for ms, a in results
        if not a["degraded"] and ms > BUDGET_MS + MARGIN_MS
    ]
    assert not late, late
    shed = [a for _, a in results if a["degraded"]]
    assert len(results) == 64 * 8 and shed, "the load did not saturate: the test proves nothing"
    assert {a["degraded_reason"] for a in shed} <= {"overload", "deadline"}
    assert all(a["ivr"]["final"] and a["ivr"]["queue"] for a in shed)


@pytest.mark.parametrize("fault", ["killed"])
async def test_a_dead_store_fails_fast_and_is_found_again(tmp_path: Path, fault: str) -> None:
    """Redis dies: once the breaker has seen it fail, each call is the safe default,
    `store_unavailable`, in a small part of the budget instead of all of it; the
    breaker's probe finds the store again when it is back."""
    port = free_port()
    data = tmp_path / "redis"
    data.mkdir()
    server = start_redis(port, data)
    settings = make_settings(f"redis://127.0.0.1:{port}/0", dispatcher={"embedded": False})
    try:
        async with _Client(create_app(settings, clock=FixedClock(NOW))) as client:
            assert (await client.put("/v1/customers/c1", json=CUSTOMER)).status_code == 201
            _, before = await timed_call(client, "before")
            assert before["degraded"] is False
            server.send_signal(signal.SIGKILL)
            server.wait(timeout=10)
            for i in range(100):  # the calls in flight meanwhile wait out their budget
                _, first = await timed_call(client, f"first-{i}")
                assert first["degraded"]
                if first["degraded_reason"] == "store_unavailable":
                    break
            during = [await timed_call(client, f"during-{i}") for i in range(20)]
            assert {a["degraded_reason"] for _, a in during} == {"store_unavailable"}
            # The whole budget is what a call waited before the breaker; now a fraction.
            assert sorted(ms for ms, _ in during)[10] < BUDGET_MS / 3, during
            server = start_redis(port, data)
            for _ in range(200):
                _, after = await timed_call(client, "after")
                if not after["degraded"]:
                    break
                await asyncio.sleep(0.05)
            assert after["degraded"] is False and after["customer"]["id"] == "c1"
    finally:
        server.kill()
        server.wait()
