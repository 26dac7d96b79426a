"""One outbox contract, both stores: SQLite and a real Redis server. Time is passed in."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis

from connectors.outbox import Outbox, open_outbox
from connectors.store import keys
from core.errors import StoreUnavailable
from core.messages import Message, Route, Status
from tests.cluster import raw_clients
from tests.conftest import NOW, any_store_url


# Every test here runs on SQLite, one Redis and a Redis Cluster (.ci/redis-cluster).
@pytest.fixture(params=["sqlite", "redis", "cluster"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return any_store_url(request, tmp_path)


INCIDENT = "incident:I-42"
CART = "scenario:abandoned_cart"


def message(
    message_id: str,
    customer_id: str = "c1",
    group: str = INCIDENT,
    due_at: float = NOW,
    phone: str = "+79161234567",
) -> Message:
    return Message(
        id=message_id,
        customer_id=customer_id,
        group=group,
        category="service",
        routes=[
            Route("telegram", "5512345678", "Авария в вашем районе"),
            Route("sms", phone, "Авария в вашем районе, восстановим к 18:00"),
        ],
        due_at=due_at,
        created_at=NOW - 5,
        meta={"incident": "I-42"},
    )


@pytest.fixture
async def outbox(store_url: str) -> AsyncIterator[Outbox]:
    opened = open_outbox(store_url)
    yield opened
    await opened.close()


async def claim_one(outbox: Outbox, now: float = NOW, worker: str = "w1") -> Message:
    [claimed] = await outbox.claim(worker, 1, now, 30.0)
    return claimed


async def test_enqueue_ignores_an_id_it_knows(outbox: Outbox) -> None:
    assert await outbox.enqueue([message("m1"), message("m2")], NOW) == 2
    again = replace(message("m1"), routes=[Route("sms", "+79160000000", "другой текст")])
    assert await outbox.enqueue([again, again], NOW + 1) == 0
    assert await outbox.enqueue([message("m2"), message("m3")], NOW + 1) == 1
    assert await outbox.counts(INCIDENT) == {"pending": 3}
    kept = await outbox.get("m1")
    assert kept is not None and kept.route.text == "Авария в вашем районе"
    assert kept.status is Status.pending and kept.meta == {"incident": "I-42"}
    assert await outbox.get("nope") is None
    assert await outbox.enqueue([], NOW) == 0


async def test_claim_waits_for_due_at(outbox: Outbox) -> None:
    await outbox.enqueue([message("now"), message("later", due_at=NOW + 60)], NOW)
    first = await outbox.claim("w1", 10, NOW, 300.0)
    assert [m.id for m in first] == ["now"]
    assert first[0].status is Status.sending and first[0].updated_at == NOW
    assert await outbox.claim("w1", 10, NOW + 59.9, 300.0) == []
    second = await outbox.claim("w1", 10, NOW + 60, 300.0)
    assert [m.id for m in second] == ["later"] and second[0].due_at == NOW + 60
    assert await outbox.claim("w1", 0, NOW + 60, 30.0) == []


async def test_concurrent_workers_never_get_the_same_message(store_url: str) -> None:
    first, second = open_outbox(store_url), open_outbox(store_url)
    try:
        ids = {f"m{i}" for i in range(120)}
        await first.enqueue([message(i, due_at=NOW - (n % 3)) for n, i in enumerate(ids)], NOW)

        async def drain(outbox: Outbox, worker: str) -> list[str]:
            got: list[str] = []
            while batch := await outbox.claim(worker, 7, NOW, 30.0):
                got += [m.id for m in batch]
                await asyncio.sleep(0)  # let the other worker in between batches
            return got

        a, b = await asyncio.gather(drain(first, "w1"), drain(second, "w2"))
        assert a and b, "both workers should have had a share"
        assert not set(a) & set(b)
        assert len(a) + len(b) == len(ids) and set(a) | set(b) == ids
        assert await first.counts(INCIDENT) == {"sending": 120}
    finally:
        await first.close()
        await second.close()


async def test_an_expired_lease_goes_to_another_worker(outbox: Outbox) -> None:
    await outbox.enqueue([message("m1")], NOW)
    taken = await outbox.claim("w1", 10, NOW, 30.0)  # w1 then dies without a word
    assert [m.id for m in taken] == ["m1"]
    assert await outbox.claim("w2", 10, NOW + 29.9, 30.0) == []
    again = await outbox.claim("w2", 10, NOW + 30, 30.0)
    assert [m.id for m in again] == ["m1"] and again[0].status is Status.sending
    assert await outbox.counts(INCIDENT) == {"sending": 1}
    # The new lease runs from the reclaim: nobody else takes it meanwhile.
    assert await outbox.claim("w3", 10, NOW + 59.9, 30.0) == []
    again[0].status, again[0].provider_message_id = Status.sent, "tg-1"
    await outbox.finish(again[0], NOW + 31)
    assert await outbox.claim("w3", 10, NOW + 1000, 30.0) == []
    assert await outbox.counts(INCIDENT) == {"sent": 1}


async def test_retry_keeps_step_attempts_and_error(outbox: Outbox) -> None:
    await outbox.enqueue([message("m1")], NOW)
    claimed = await claim_one(outbox)
    claimed.step, claimed.attempts, claimed.error = 1, 2, "telegram: 429 too many requests"
    await outbox.retry(claimed, NOW + 120, NOW + 1)
    back = await outbox.get("m1")
    assert back is not None
    assert (back.status, back.due_at, back.step, back.attempts) == (
        Status.pending,
        NOW + 120,
        1,
        2,
    )
    assert back.error == "telegram: 429 too many requests" and back.updated_at == NOW + 1
    assert await outbox.counts(INCIDENT) == {"pending": 1}
    assert await outbox.claim("w1", 10, NOW + 119, 30.0) == []
    again = await claim_one(outbox, NOW + 120)
    assert (again.step, again.attempts, again.route.channel) == (1, 2, "sms")
    # A retry of a message nobody holds any more changes nothing.
    again.status = Status.sent
    await outbox.finish(again, NOW + 121)
    await outbox.retry(replace(again, status=Status.sending), NOW + 500, NOW + 122)
    assert (await outbox.get("m1") or again).status is Status.sent


async def test_bury_then_revive(outbox: Outbox) -> None:
    await outbox.enqueue([message("m1"), message("m2")], NOW)
    [first, second] = sorted(await outbox.claim("w1", 10, NOW, 30.0), key=lambda m: m.id)
    first.attempts, first.error = 5, "sms: gateway down"
    await outbox.bury(first, NOW + 1)
    second.status = Status.sent
    await outbox.finish(second, NOW + 1)
    assert await outbox.counts(INCIDENT) == {"dead": 1, "sent": 1}
    [dead] = await outbox.dead_letters(10)
    assert (dead.id, dead.status, dead.attempts, dead.error) == (
        "m1",
        Status.dead,
        5,
        "sms: gateway down",
    )
    assert await outbox.claim("w1", 10, NOW + 1000, 30.0) == []
    assert await outbox.revive("m2", NOW + 2) is False  # sent, not dead
    assert await outbox.revive("nope", NOW + 2) is False
    assert await outbox.revive("m1", NOW + 2) is True
    assert await outbox.revive("m1", NOW + 2) is False
    assert await outbox.dead_letters(10) == []
    assert await outbox.counts(INCIDENT) == {"pending": 1, "sent": 1}
    revived = await claim_one(outbox, NOW + 2)
    assert (revived.id, revived.attempts, revived.error) == ("m1", 0, "sms: gateway down")


async def test_dead_letters_oldest_first_and_limited(outbox: Outbox) -> None:
    await outbox.enqueue([message(f"m{i}") for i in range(3)], NOW)
    for i, claimed in enumerate(sorted(await outbox.claim("w1", 10, NOW, 30.0), key=_id)):
        await outbox.bury(claimed, NOW + 1 + i)
    assert [m.id for m in await outbox.dead_letters(2)] == ["m0", "m1"]
    assert [m.id for m in await outbox.dead_letters(10)] == ["m0", "m1", "m2"]
    assert await outbox.dead_letters(0) == []


async def test_statuses_never_move_backwards(outbox: Outbox) -> None:
    await outbox.enqueue([message("m1")], NOW)
    claimed = await claim_one(outbox)
    claimed.status, claimed.provider_message_id = Status.sent, "tg-77"
    await outbox.finish(claimed, NOW + 1)
    delivered = await outbox.set_status("m1", Status.delivered, NOW + 2)
    assert delivered is not None and delivered.status is Status.delivered
    assert delivered.updated_at == NOW + 2 and delivered.provider_message_id == "tg-77"
    read = await outbox.set_status("m1", Status.read, NOW + 3)
    assert read is not None and read.status is Status.read
    late = await outbox.set_status("m1", Status.delivered, NOW + 4)
    assert late is not None and late.status is Status.read and late.updated_at == NOW + 3
    assert await outbox.set_status("m1", Status.failed, NOW + 5, "undeliverable") == late
    assert (await outbox.get("m1") or claimed).status is Status.read
    assert await outbox.counts(INCIDENT) == {"read": 1}
    assert await outbox.set_status("nope", Status.read, NOW) is None
    with pytest.raises(ValueError):
        await outbox.set_status("m1", Status.pending, NOW)


async def test_a_receipt_before_finish_is_not_undone(outbox: Outbox) -> None:
    await outbox.enqueue([message("m1")], NOW)
    claimed = await claim_one(outbox)
    # The provider's webhook outran the worker's own bookkeeping.
    failed = await outbox.set_status("m1", Status.failed, NOW + 1, "sms: unknown number")
    assert failed is not None and failed.error == "sms: unknown number"
    claimed.status, claimed.provider_message_id = Status.sent, "tg-5"
    await outbox.finish(claimed, NOW + 2)
    kept = await outbox.get("m1")
    assert kept is not None and kept.status is Status.failed
    assert kept.error == "sms: unknown number" and kept.updated_at == NOW + 1
    assert await outbox.by_provider_id("telegram", "tg-5") == "m1"
    assert await outbox.counts(INCIDENT) == {"failed": 1}
    assert await outbox.claim("w2", 10, NOW + 1000, 30.0) == []
    assert await outbox.backlog(NOW + 1000) == 0


async def test_finish_wants_a_final_status(outbox: Outbox) -> None:
    await outbox.enqueue([message("m1")], NOW)
    claimed = await claim_one(outbox)
    for status in (Status.sending, Status.pending, Status.dead):
        with pytest.raises(ValueError):
            await outbox.finish(replace(claimed, status=status), NOW)
    assert await outbox.counts(INCIDENT) == {"sending": 1}


async def test_by_provider_id_is_per_channel(outbox: Outbox) -> None:
    await outbox.enqueue([message("m1"), message("m2")], NOW)
    first, second = sorted(await outbox.claim("w1", 10, NOW, 30.0), key=_id)
    first.status, first.provider_message_id = Status.sent, "777"
    second.status, second.step, second.provider_message_id = Status.sent, 1, "777"
    await outbox.finish(first, NOW + 1)
    await outbox.finish(second, NOW + 1)
    assert await outbox.by_provider_id("telegram", "777") == "m1"
    assert await outbox.by_provider_id("sms", "777") == "m2"
    assert await outbox.by_provider_id("email", "777") is None
    assert (await outbox.get("m2") or first).provider_message_id == "777"


async def test_cancel_touches_only_pending_messages_of_the_group(outbox: Outbox) -> None:
    await outbox.enqueue(
        [
            message("held", "c1"),
            message("a1", "c1", due_at=NOW + 10),
            message("a2", "c1", due_at=NOW + 10),
            message("a3", "c2", due_at=NOW + 10),
            message("b1", "c1", CART, due_at=NOW + 10),
        ],
        NOW,
    )
    [held] = await outbox.claim("w1", 1, NOW, 300.0)
    assert held.id == "held"
    assert await outbox.cancel(INCIDENT, "c1", NOW + 1) == 2
    assert await outbox.counts(INCIDENT) == {"sending": 1, "pending": 1, "cancelled": 2}
    assert await outbox.counts(CART) == {"pending": 1}
    assert await outbox.cancel(INCIDENT, None, NOW + 2) == 1
    assert await outbox.cancel(INCIDENT, None, NOW + 2) == 0
    assert await outbox.counts(INCIDENT) == {"sending": 1, "cancelled": 3}
    cancelled = await outbox.get("a3")
    assert cancelled is not None and cancelled.status is Status.cancelled
    assert cancelled.updated_at == NOW + 2
    assert [m.id for m in await outbox.claim("w1", 10, NOW + 20, 300.0)] == ["b1"]
    assert await outbox.cancel("incident:none", None, NOW) == 0


async def test_counts_follow_every_transition(outbox: Outbox) -> None:
    async def step(expected: dict[str, int], backlog: int) -> None:
        assert await outbox.counts(INCIDENT) == expected
        assert await outbox.backlog(NOW) == backlog

    await step({}, 0)
    await outbox.enqueue([message(f"m{i}", due_at=NOW + i) for i in range(4)], NOW)
    await outbox.enqueue([message("x", group=CART, due_at=NOW + 1000)], NOW)
    await step({"pending": 4}, 5)
    m0, m1 = await outbox.claim("w1", 2, NOW + 1, 30.0)
    await step({"pending": 2, "sending": 2}, 5)
    m0.status = Status.sent
    await outbox.finish(m0, NOW + 2)
    await step({"pending": 2, "sending": 1, "sent": 1}, 4)
    await outbox.retry(m1, NOW + 5, NOW + 2)
    await step({"pending": 3, "sent": 1}, 4)
    await outbox.bury(await claim_one(outbox, NOW + 5, "w2"), NOW + 5)
    await step({"pending": 2, "sent": 1, "dead": 1}, 3)
    await outbox.set_status(m0.id, Status.delivered, NOW + 6)
    await step({"pending": 2, "delivered": 1, "dead": 1}, 3)
    [dead] = await outbox.dead_letters(1)
    await outbox.revive(dead.id, NOW + 7)
    await step({"pending": 3, "delivered": 1}, 4)
    suppressed = await claim_one(outbox, NOW + 7)
    await outbox.finish(replace(suppressed, status=Status.suppressed), NOW + 8)
    await step({"pending": 2, "delivered": 1, "suppressed": 1}, 3)
    await outbox.cancel(INCIDENT, None, NOW + 9)
    await step({"cancelled": 2, "delivered": 1, "suppressed": 1}, 1)
    assert await outbox.counts(CART) == {"pending": 1}
    await outbox.erase_customer("c1")
    await step({}, 0)
    assert await outbox.counts(CART) == {}


async def test_backlog_counts_pending_and_sending_of_every_group(outbox: Outbox) -> None:
    await outbox.enqueue([message("a"), message("b", due_at=NOW + 3600)], NOW)
    await outbox.enqueue([message("c", group=CART, due_at=NOW + 86400)], NOW)
    assert await outbox.backlog(NOW) == 3
    claimed = await claim_one(outbox)
    assert await outbox.backlog(NOW) == 3  # sending is still owed
    claimed.status = Status.sent
    await outbox.finish(claimed, NOW)
    assert await outbox.backlog(NOW) == 2
    await outbox.cancel(CART, None, NOW)
    assert await outbox.backlog(NOW) == 1


async def test_erase_removes_every_trace(outbox: Outbox, store_url: str) -> None:
    gone = "cust-7f3a"
    phone = "+79990001122"
    ids = [f"msg-{gone}-{i}" for i in range(6)]
    # Every state at once: sent, delivered, dead, sending, pending now, pending later.
    ours = [message(i, gone, phone=phone) for i in ids[:5]]
    ours.append(message(ids[5], gone, phone=phone, due_at=NOW + 10))
    theirs = [message("kept-1", "c2", due_at=NOW + 1), message("kept-2", "c2", CART, NOW + 1)]
    await outbox.enqueue(ours + theirs, NOW)
    sent, dead, delivered, _ = sorted(await outbox.claim("w1", 4, NOW, 30.0), key=_id)
    sent.status, sent.provider_message_id = Status.sent, "tg-sent"
    await outbox.finish(sent, NOW + 1)
    delivered.status, delivered.provider_message_id = Status.sent, "tg-delivered"
    await outbox.finish(delivered, NOW + 1)
    await outbox.set_status(delivered.id, Status.delivered, NOW + 2)
    await outbox.bury(dead, NOW + 1)

    assert await outbox.erase_customer(gone) == 6
    assert await outbox.erase_customer(gone) == 0
    for i in ids:
        assert await outbox.get(i) is None
    assert await outbox.by_provider_id("telegram", "tg-sent") is None
    assert await outbox.dead_letters(10) == []
    assert await outbox.counts(INCIDENT) == {"pending": 1}
    assert await outbox.backlog(NOW) == 2
    left = await outbox.claim("w2", 10, NOW + 100, 30.0)
    assert sorted(m.id for m in left) == ["kept-1", "kept-2"]
    await assert_no_trace(store_url, [gone, phone, *ids, "tg-sent", "tg-delivered"])


async def test_an_id_belongs_to_the_customer_who_enqueued_it_first(outbox: Outbox) -> None:
    assert await outbox.enqueue([message("shared", "c1")], NOW) == 1
    assert await outbox.enqueue([message("shared", "c2")], NOW) == 0
    assert await outbox.cancel(INCIDENT, "c2", NOW) == 0
    assert await outbox.erase_customer("c2") == 0
    kept = await outbox.get("shared")
    assert kept is not None and kept.customer_id == "c1" and kept.status is Status.pending
    assert await outbox.erase_customer("c1") == 1
    assert await outbox.enqueue([message("shared", "c2")], NOW) == 1  # forgotten, so new


async def assert_no_trace(store_url: str, needles: list[str]) -> None:
    """Look past the outbox's API, in every key, entry, table and cell."""
    wanted = [n.encode() for n in needles]

    def check(where: object, blob: bytes) -> None:
        for needle in wanted:
            assert needle not in blob, (where, needle)

    if store_url.startswith("redis"):
        for client in raw_clients(store_url):
            for key in client.scan_iter(count=1000):
                check(key, key)
                kind = client.type(key)
                if kind == b"hash":
                    for field, value in client.hgetall(key).items():
                        check(key, field + b"=" + value)
                elif kind == b"string":
                    check(key, client.get(key) or b"")
                elif kind == b"set":
                    for member in client.smembers(key):
                        check(key, member)
                elif kind == b"zset":
                    for member in client.zrange(key, 0, -1):
                        check(key, member)
                elif kind == b"stream":
                    for entry_id, fields in client.xrange(key):
                        check((key, entry_id), b"".join(k + v for k, v in fields.items()))
                else:
                    raise AssertionError(f"add a check for {kind!r} keys")
        return
    path = Path(store_url.removeprefix("sqlite:///"))
    db = sqlite3.connect(path)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f"SELECT * FROM {table}"):
                for cell in row:
                    check((table, row), cell if isinstance(cell, bytes) else str(cell).encode())
        # secure_delete: erased rows are zeroed in the file too, not only unlinked.
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        check(path, path.read_bytes())
    finally:
        db.close()


async def test_messages_survive_reopening(store_url: str) -> None:
    first = open_outbox(store_url)
    await first.enqueue([message("m1"), message("m2", due_at=NOW + 60)], NOW)
    claimed = await claim_one(first)
    claimed.status, claimed.provider_message_id = Status.sent, "tg-1"
    await first.finish(claimed, NOW + 1)
    await first.close()
    second = open_outbox(store_url)
    try:
        assert (await second.get("m1") or claimed).status is Status.sent
        assert await second.by_provider_id("telegram", "tg-1") == "m1"
        assert await second.counts(INCIDENT) == {"sent": 1, "pending": 1}
        assert [m.id for m in await second.claim("w2", 10, NOW + 60, 30.0)] == ["m2"]
    finally:
        await second.close()


async def test_redis_stream_keeps_only_unfinished_entries(redis_url: str) -> None:
    outbox = open_outbox(redis_url)
    client: Any = redis.Redis.from_url(redis_url)
    try:
        await outbox.enqueue([message(f"m{i}") for i in range(20)], NOW)
        assert client.xlen(keys.outbox_ready()) == 20
        claimed = await outbox.claim("w1", 20, NOW, 30.0)
        for m in claimed[:15]:
            await outbox.finish(replace(m, status=Status.sent), NOW + 1)
        for m in claimed[15:18]:
            await outbox.retry(m, NOW + 5, NOW + 1)
        for m in claimed[18:]:
            await outbox.bury(m, NOW + 1)
        assert client.xlen(keys.outbox_ready()) == 0
        group = keys.OUTBOX_CONSUMER_GROUP
        assert client.xpending(keys.outbox_ready(), group)["pending"] == 0
        assert client.zcard(keys.outbox_due()) == 3
        assert client.xlen(keys.outbox_dead()) == 2
        await outbox.revive("m18", NOW + 2)
        assert client.xlen(keys.outbox_dead()) == 1
        assert len(await outbox.claim("w1", 20, NOW + 5, 30.0)) == 4
        assert client.zcard(keys.outbox_due()) == 0
        assert client.xpending(keys.outbox_ready(), group)["pending"] == 4
        assert client.zcard(keys.outbox_leases()) == 4
    finally:
        client.close()
        await outbox.close()


async def test_redis_enqueue_survives_a_script_flush(redis_url: str) -> None:
    outbox = open_outbox(redis_url)
    client: Any = redis.Redis.from_url(redis_url)
    try:
        assert await outbox.enqueue([message("m1")], NOW) == 1
        client.script_flush()  # a restarted server forgets its scripts
        assert await outbox.enqueue([message("m1"), message("m2")], NOW) == 1
        client.script_flush()
        assert len(await outbox.claim("w1", 10, NOW, 30.0)) == 2
        assert await outbox.counts(INCIDENT) == {"sending": 2}
    finally:
        client.close()
        await outbox.close()


async def test_an_unreachable_redis_is_a_store_error() -> None:
    outbox = open_outbox("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(StoreUnavailable):
            await outbox.enqueue([message("m1")], NOW)
        with pytest.raises(StoreUnavailable):
            await outbox.claim("w1", 10, NOW, 30.0)
        with pytest.raises(StoreUnavailable):
            await outbox.counts(INCIDENT)
    finally:
        await outbox.close()


def _id(m: Message) -> str:
    return m.id
