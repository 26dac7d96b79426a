"""Erasure is total: after `DELETE /v1/customers/{id}` no file of the embedded store and
no Redis key or value holds the person's id, phone, e-mail or name (issue 15, item 5).

The customer is put through everything that keeps something of them: events, an inbound
call and its outcome, an incident that names them (its scope, its ledger, its notices in
the outbox), a stop and policy marks. Then the raw store is read past our own API: every
byte of every file in the SQLite directory (the database, its write-ahead log, the
shared-memory index), every Redis key and every value of every type.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import redis

from tests.conftest import NOW, event

CUSTOMER_ID = "erasable-4711"
PHONE = "+79175550123"
EMAIL = "zoryana.kvist@example.org"
NAME = "Зоряна Квист"
TELEGRAM = "7700123987"
PERSON: dict[str, Any] = {
    "name": NAME,
    "identities": [
        {"kind": "phone", "value": "8 (917) 555-01-23"},
        {"kind": "email", "value": "Zoryana.Kvist@Example.org"},
        {"kind": "telegram", "value": TELEGRAM},
    ],
    "time_zone": "Europe/Moscow",
    "region": "RU-KZN",
    "services": ["internet"],
    "channel_preferences": ["telegram", "sms"],
}
NEEDLES = [
    s.encode() for s in (CUSTOMER_ID, PHONE, PHONE[1:], EMAIL, TELEGRAM, NAME, NAME.split()[0])
]


async def live_a_little(client: httpx.AsyncClient) -> None:
    """Leave traces of the customer in every part of the store."""
    assert (await client.put(f"/v1/customers/{CUSTOMER_ID}", json=PERSON)).status_code == 201
    events = [
        event("x1", "login", customer_id=CUSTOMER_ID, at=NOW - 3600),
        event("x2", "order_placed", customer_id=CUSTOMER_ID, order_id="Z-1", amount=990.0),
    ]
    assert (await client.post("/v1/events", json={"events": events})).status_code == 200
    call = {"channel": "ivr", "call_id": "erase-call", "caller": PHONE, "utterance": "где заказ"}
    assert (await client.post("/v1/inbound", json=call)).status_code == 200
    await asyncio.sleep(0.05)  # the call record is kept after the answer
    outcome = {"actual_reason": "order_delayed", "resolved": True}
    reply = await client.post("/v1/inbound/erase-call/outcome", json=outcome)
    assert reply.status_code == 200, reply.text
    incident = {
        "id": "INC-ERASE",
        "title": "Авария у вас дома",
        "kind": "outage",
        "severity": "major",
        "scope": {"customer_ids": [CUSTOMER_ID, "someone-else"]},
        "starts_at": "2026-11-18T10:00:00Z",
        "eta": "2026-11-18T15:00:00Z",
    }
    assert (await client.post("/v1/incidents", json=incident)).status_code == 201
    assert (await client.put(f"/v1/customers/{CUSTOMER_ID}/stops/sms")).status_code == 200


async def test_erasure_leaves_no_byte_of_the_person(
    client: httpx.AsyncClient, store_url: str
) -> None:
    await live_a_little(client)
    assert leftovers(store_url), "the traces to look for were not written at all"
    assert (await client.delete(f"/v1/customers/{CUSTOMER_ID}")).status_code == 204
    assert leftovers(store_url) == []
    # The incident stays, without the person in its scope.
    scope = (await client.get("/v1/incidents/INC-ERASE")).json()["scope"]
    assert scope["customer_ids"] == ["someone-else"]


def leftovers(store_url: str) -> list[str]:
    """Where a needle is found: a file name, or a Redis key (and which needle)."""
    found = []
    for where, blob in raw_contents(store_url):
        found += [f"{where}: {needle.decode()}" for needle in NEEDLES if needle in blob]
    return found


def raw_contents(store_url: str) -> Iterator[tuple[str, bytes]]:
    if not store_url.startswith("redis"):
        directory = Path(store_url.removeprefix("sqlite:///")).parent
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                yield path.name, path.read_bytes()
        return
    client: Any = redis.Redis.from_url(store_url)  # replies are bytes (no decoding)
    for key in client.scan_iter(count=1000):
        name = repr(key)
        yield name, key
        kind = client.type(key)
        if kind == b"string":
            yield name, client.get(key) or b""
        elif kind == b"hash":
            for field, value in client.hgetall(key).items():
                yield name, field + b"\0" + value
        elif kind == b"set":
            yield name, b"\0".join(client.smembers(key))
        elif kind == b"zset":
            yield name, b"\0".join(client.zrange(key, 0, -1))
        elif kind == b"list":
            yield name, b"\0".join(client.lrange(key, 0, -1))
        elif kind == b"stream":
            for entry_id, fields in client.xrange(key):
                yield name, entry_id + b"\0" + b"\0".join(k + b"\0" + v for k, v in fields.items())
        else:
            assert kind == b"none", f"add a reader for {kind!r} keys"
