"""The outbox contract, continued: in-flight marks, poison messages, retention. Both
stores (SQLite and a real Redis server); time is passed in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from connectors.outbox import Outbox, open_outbox
from core.messages import Status
from tests.conftest import NOW
from tests.connectors.test_outbox_contract import INCIDENT, claim_one, message


@pytest.fixture
async def outbox(store_url: str) -> AsyncIterator[Outbox]:
    opened = open_outbox(store_url)
    yield opened
    await opened.close()


async def test_start_marks_in_flight_and_renews_the_lease(outbox: Outbox) -> None:
    await outbox.enqueue([message("m1")], NOW)
    claimed = await claim_one(outbox)
    assert claimed.claims == 1 and not claimed.in_flight
    # Started 25 s into a 30 s lease: the lease now runs 30 s from the start.
    assert await outbox.start(["m1"], "w1", NOW + 25, 30.0) == {"m1"}
    assert await outbox.claim("w2", 10, NOW + 40, 30.0) == []
    # The worker died in flight: the next worker knows a request may have gone out.
    again = await claim_one(outbox, NOW + 55, "w2")
    assert again.id == "m1" and again.in_flight and again.claims == 2


async def test_start_refuses_a_claim_another_worker_took(outbox: Outbox) -> None:
    await outbox.enqueue([message("m1"), message("m2")], NOW)
    assert len(await outbox.claim("w1", 10, NOW, 30.0)) == 2
    # w1 waited past its lease (a slow rate limit); w2 took both meanwhile.
    assert len(await outbox.claim("w2", 10, NOW + 31, 30.0)) == 2
    assert await outbox.start(["m1", "m2"], "w1", NOW + 32, 30.0) == set()
    assert await outbox.start(["m1", "nope"], "w2", NOW + 32, 30.0) == {"m1"}
    assert await outbox.start([], "w2", NOW + 32, 30.0) == set()


async def test_an_answer_clears_the_marks(outbox: Outbox) -> None:
    await outbox.enqueue([message("m1")], NOW)
    first = await claim_one(outbox)
    await outbox.start(["m1"], "w1", NOW, 30.0)
    await outbox.retry(first, NOW + 1, NOW)
    stored = await outbox.get("m1")
    assert stored is not None and stored.claims == 0 and not stored.in_flight
    again = await claim_one(outbox, NOW + 1)
    assert again.claims == 1 and not again.in_flight


async def test_a_poison_message_goes_to_the_dead_letters(outbox: Outbox) -> None:
    await outbox.enqueue([message("poison")], NOW)
    now = NOW
    for n in range(1, 4):  # three workers die on it
        claimed = await outbox.claim(f"w{n}", 10, now, 30.0, max_claims=3)
        assert [m.id for m in claimed] == ["poison"] and claimed[0].claims == n
        now += 31
    assert await outbox.claim("w4", 10, now, 30.0, max_claims=3) == []
    [dead] = await outbox.dead_letters(10)
    assert dead.id == "poison" and dead.status is Status.dead
    assert dead.error is not None and "claimed 3 times without an answer" in dead.error
    assert await outbox.counts(INCIDENT) == {"dead": 1}
    assert await outbox.backlog(now) == 0
    # Revived, it starts again from nothing.
    assert await outbox.revive("poison", now)
    assert (await claim_one(outbox, now)).claims == 1


async def test_no_limit_without_max_claims(outbox: Outbox) -> None:
    await outbox.enqueue([message("m1")], NOW)
    for n in range(8):
        assert len(await outbox.claim("w1", 10, NOW + n * 31, 30.0)) == 1
    assert await outbox.dead_letters(10) == []


async def test_suspects_come_one_per_claim(outbox: Outbox) -> None:
    await outbox.enqueue([message(f"m{i}") for i in range(3)], NOW)
    assert len(await outbox.claim("w1", 10, NOW, 30.0)) == 3
    # The batch died once: all three come back together.
    assert len(await outbox.claim("w2", 10, NOW + 31, 30.0)) == 3
    # Twice in a row: one of them may be killing its workers, so they come alone.
    for n in range(3):
        alone = await outbox.claim("w3", 10, NOW + 62 + n, 30.0, max_claims=5)
        assert len(alone) == 1 and alone[0].claims == 3
    assert await outbox.claim("w3", 10, NOW + 65, 30.0) == []


async def test_purge_removes_finished_messages_and_keeps_counts(outbox: Outbox) -> None:
    await outbox.enqueue([message(f"m{i}", customer_id=f"c{i}") for i in range(4)], NOW)
    claimed = {m.id: m for m in await outbox.claim("w1", 10, NOW, 30.0)}
    sent = claimed["m0"]
    sent.status, sent.provider_message_id = Status.sent, "p-0"
    await outbox.finish(sent, NOW + 1)
    claimed["m1"].status = Status.dead
    await outbox.bury(claimed["m1"], NOW + 2)
    await outbox.retry(claimed["m2"], NOW + 100, NOW + 2)  # pending: never purged
    late = claimed["m3"]
    late.status = Status.sent
    await outbox.finish(late, NOW + 50)
    before = await outbox.counts(INCIDENT)

    assert await outbox.purge(NOW + 10, 1) == 1
    assert await outbox.purge(NOW + 10, 100) == 1
    assert await outbox.purge(NOW + 10, 100) == 0
    assert await outbox.get("m0") is None and await outbox.get("m1") is None
    assert await outbox.by_provider_id("sms", "p-0") is None
    assert await outbox.dead_letters(10) == []
    assert (await outbox.get("m2")) is not None and (await outbox.get("m3")) is not None
    assert await outbox.counts(INCIDENT) == before
    # Erasing the customer afterwards finds nothing left of the purged message.
    assert await outbox.erase_customer("c0") == 0
    assert await outbox.erase_customer("c3") == 1
