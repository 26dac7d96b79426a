"""Two decisions on one message at once: exactly one passes, the message goes out once
(issue 15, item 7). The rules are proactive/approvals.py; each decision is a
compare-and-swap on the stored record, on SQLite and on Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from core.clock import FixedClock
from tests.api.test_followups import channels, customer
from tests.api.test_incidents import until
from tests.conftest import event
from tests.fakes.receiver import Receiver


async def waiting(client: httpx.AsyncClient, n: int) -> str:
    """Put customer d<n> in the approval queue (a maturing deposit); the approval id."""
    await client.put(f"/v1/customers/d{n}", json=customer(n))
    maturing = event(
        f"m{n}", "deposit_maturing", f"d{n}", deposit_id=f"D{n}", matures_on="2026-12-01"
    )
    assert (await client.post("/v1/events", json={"events": [maturing]})).status_code == 200
    [pending] = [
        p for p in (await client.get("/v1/approvals")).json() if p["customer_id"] == f"d{n}"
    ]
    return str(pending["id"])


async def decide(client: httpx.AsyncClient, approval_id: str, **body: Any) -> httpx.Response:
    return await client.post("/v1/approvals/decide", json={"ids": [approval_id], **body})


async def test_two_concurrent_decisions_on_one_message_let_one_pass(
    app_factory: Callable[..., Any], clock: FixedClock
) -> None:
    with Receiver() as receiver:
        async with app_factory(channels=channels(receiver)) as client:
            edited, contested = await waiting(client, 5), await waiting(client, 6)
            texts = ["Вклад можно продлить в приложении.", "Позвоните нам о вкладе."]
            answers = await asyncio.gather(
                *(
                    decide(client, edited, decision="approve", edits={edited: {"text": t}})
                    for t in texts
                )
            )
            assert sorted(a.status_code for a in answers) == [200, 422], [a.text for a in answers]
            loser = next(a for a in answers if a.status_code == 422)
            assert "already approved" in loser.text and "ids[0]" in loser.text
            won = texts[[a.status_code for a in answers].index(200)]
            shown = (await client.get(f"/v1/approvals/{edited}")).json()
            assert shown["status"] == "approved" and shown["text"] == won

            # An approval and a rejection at once: one of them, and the message follows it.
            rejection, approval = await asyncio.gather(
                decide(client, contested, decision="reject"),
                decide(client, contested, decision="approve"),
            )
            codes = sorted([rejection.status_code, approval.status_code])
            assert codes == [200, 422], [rejection.text, approval.text]
            approved = approval.status_code == 200
            status = (await client.get(f"/v1/approvals/{contested}")).json()["status"]
            assert status == ("approved" if approved else "rejected")

            clock.advance(2 * 3600)  # 16:06 in Moscow: inside the window that deferred them
            await until(lambda: receiver.delivered == 1 + approved, "the approved messages")
            await asyncio.sleep(0.3)  # a second send of either would have come by now
            assert receiver.by_key[edited] == 1
            assert won in str(receiver.bodies[edited]) and texts[texts.index(won) - 1] not in str(
                receiver.bodies[edited]
            )
            assert receiver.by_key[contested] == (1 if approved else 0)
            audit = (await client.get("/v1/approvals/audit")).json()
            assert sorted(a["id"] for a in audit) == sorted([edited, contested])
