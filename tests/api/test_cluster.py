"""The whole service on a Redis Cluster (.ci/redis-cluster): customers spread over every
master, events, an inbound call, and an incident whose audience (sharded over the slots
of its customers) is notified in full, once each, through a local provider."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from tests.api.test_incidents import channels, customer, incident, until
from tests.cluster import masters
from tests.conftest import CUSTOMER, NOW, event
from tests.fakes.receiver import Receiver

AFFECTED = 30  # Moscow, internet
OTHERS = 10  # St Petersburg


@pytest.fixture
def store_url(cluster_url: str) -> str:
    return cluster_url


async def test_an_outage_reaches_its_whole_audience_on_a_cluster(
    app_factory: Callable[..., Any], store_url: str
) -> None:
    with Receiver() as receiver:
        async with app_factory(channels=channels(receiver)) as client:
            for n in range(AFFECTED + OTHERS):
                region = "RU-MOW" if n < AFFECTED else "RU-SPE"
                body = customer(f"+7916222{n:04d}", region, ["internet"])
                reply = await client.put(f"/v1/customers/m{n}", json=body)
                assert reply.status_code == 201, reply.text
            assert (await client.put("/v1/customers/c1", json=CUSTOMER)).status_code == 201
            delayed = [
                event("o1", "order_placed", order_id="A-1", amount=5000, at=NOW - 5 * 86400),
                event("o2", "order_status_changed", order_id="A-1", status="delayed", at=NOW),
            ]
            taken = await client.post("/v1/events", json={"events": delayed})
            assert taken.status_code == 200, taken.text

            call = {"channel": "ivr", "call_id": "call-1", "caller": "+79161234567"}
            answer = (await client.post("/v1/inbound", json=call)).json()
            assert answer["degraded"] is False and answer["customer"]["id"] == "c1"
            assert answer["reasons"][0]["reason"] == "order_delayed"

            # The customers really are spread: every master holds some of them.
            held = [len(list(m.scan_iter(match="fc:{c:*}:r"))) for m in masters(store_url)]
            assert len(held) == 3 and min(held) > 0, held

            declared = await client.post("/v1/incidents", json=incident())
            assert declared.status_code == 201, declared.text
            # c1 is in Moscow with internet too.
            assert declared.json()["counts"]["affected"] == AFFECTED + 1
            # c1's delayed order may bring its own follow-up through the same provider:
            # count the outage's notices by the incident's own counts and addresses.
            await until(lambda: receiver.delivered >= AFFECTED + 1, "every notice", 30.0)
            for _ in range(500):
                counts = (await client.get("/v1/incidents/INC-7")).json()["counts"]
                if counts["notified"] == AFFECTED + 1:
                    break
                await asyncio.sleep(0.02)
            assert counts["notified"] == AFFECTED + 1 and counts["failed"] == 0, counts
            assert max(receiver.by_key.values()) == 1, "the provider saw a duplicate"
            told = {b["address"] for b in receiver.bodies.values()}
            assert "+79162220000" in told and "+79162220035" not in told

            again = {**call, "call_id": "call-2"}
            answer = (await client.post("/v1/inbound", json=again)).json()
            assert answer["action"]["id"] == "announce_outage"
            assert answer["incident"]["id"] == "INC-7"

            gone = await client.delete("/v1/customers/m0")
            assert gone.status_code in (200, 204), gone.text
            found = await client.get("/v1/identify", params={"phone": "+79162220000"})
            assert found.status_code == 404, found.text
