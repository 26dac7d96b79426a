"""Failover during a broadcast: the master holding the outbox dies while an incident's
notices go out; its replica takes over; IVR calls keep being answered (degraded at most
while the cluster switches); every notice still arrives, and duplicates are counted."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connectors.store import keys as store_keys
from connectors.store.redis_client import cluster_seeds
from core.clock import FixedClock
from tests.api.test_incidents import customer, incident, until
from tests.cluster import admin
from tests.fakes.receiver import SECRET, Receiver

AUDIENCE = 120
SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "redis-cluster"


@pytest.fixture
def store_url(cluster_url: str) -> str:
    return cluster_url


def outbox_master(url: str) -> tuple[int, int]:
    """(port, pid) of the master that holds the outbox's slot."""
    cluster = admin(url)
    try:
        node = cluster.get_node_from_key(store_keys.outbox_ready())  # type: ignore[no-untyped-call]
        pid = int(cluster.info("server", target_nodes=node)["process_id"])
        return int(node.port), pid
    finally:
        cluster.close()


def wait_healthy(url: str, without: int | None, seconds: float = 30.0) -> None:
    """Until the cluster is ok with the outbox slot on a master other than `without`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            cluster = admin(url)
            try:
                node = cluster.get_node_from_key(store_keys.outbox_ready())  # type: ignore[no-untyped-call]
                healthy = cluster.cluster_info(target_nodes=node)["cluster_state"] == "ok"
            finally:
                cluster.close()
            if healthy and int(node.port) != without:
                return
        except Exception:  # nodes still deciding
            pass
        time.sleep(0.2)
    raise AssertionError("the cluster did not recover")


async def test_a_master_dies_during_a_broadcast(
    app_factory: Callable[..., Any], store_url: str, clock: FixedClock
) -> None:
    sms = {"kind": "webhook", "url": "", "secret": SECRET, "rate_per_second": 60}
    killed: int | None = None
    with Receiver() as receiver:
        sms["url"] = receiver.url
        try:
            async with app_factory(channels={"sms": sms}) as client:
                for n in range(AUDIENCE):
                    body = customer(f"+7916444{n:04d}", "RU-MOW", ["internet"])
                    assert (await client.put(f"/v1/customers/f{n}", json=body)).status_code == 201
                declared = await client.post("/v1/incidents", json=incident())
                assert declared.json()["counts"]["affected"] == AUDIENCE
                await until(lambda: receiver.delivered >= AUDIENCE // 4, "the broadcast", 30.0)

                killed, pid = outbox_master(store_url)
                os.kill(pid, signal.SIGKILL)
                answers = []
                for n in range(20):  # IVR calls while the replica takes over
                    call = {"channel": "ivr", "call_id": f"fo-{n}", "caller": "+79164440007"}
                    reply = await client.post("/v1/inbound", json=call)
                    assert reply.status_code == 200, reply.text
                    answers.append(reply.json())
                    await asyncio.sleep(0.1)
                await asyncio.to_thread(wait_healthy, store_url, killed)

                # Claims lost with the master come back when their leases run out.
                for _ in range(600):
                    if receiver.delivered == AUDIENCE:
                        break
                    clock.advance(30)
                    await asyncio.sleep(0.05)
                degraded = sum(a["degraded"] for a in answers)
                after = {"channel": "ivr", "call_id": "fo-after", "caller": "+79164440007"}
                settled = (await client.post("/v1/inbound", json=after)).json()
        finally:
            if killed is not None:
                port = cluster_seeds(store_url)[0][1]
                env = {**os.environ, "FORECALL_CLUSTER_PORT": str(port)}
                subprocess.run([str(SCRIPT), "node", str(killed)], env=env, check=True)
                await asyncio.to_thread(wait_healthy, store_url, None)
    duplicates = sum(n - 1 for n in receiver.by_key.values())
    print(f"failover: {degraded}/20 calls degraded, {duplicates} duplicate notices")
    assert receiver.delivered == AUDIENCE, "a notice was lost"
    told = {b["address"] for b in receiver.bodies.values()}
    assert len(told) == AUDIENCE
    assert settled["degraded"] is False and settled["incident"]["id"] == "INC-7"
    assert degraded < len(answers), "every call during the switch was degraded"
