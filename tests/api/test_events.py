"""Event ingest through the HTTP API, on both stores."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import NOW, event

DAY = 86400.0


async def test_batch_builds_the_profile(client: httpx.AsyncClient) -> None:
    events = [
        event("l1", "login", at=NOW - 20 * DAY),
        event("o1", "order_placed", at=NOW - 40 * DAY, order_id="o1", amount=1000),
        event("o2", "order_placed", at=NOW - 35 * DAY, order_id="o2", amount=500),
        event("o3", "order_placed", at=NOW - 3 * DAY, order_id="o3", amount=700),
        event("s3", "order_status_changed", at=NOW - 1 * DAY, order_id="o3", status="delayed"),
        event("pf", "payment_failed", at=NOW - 2 * DAY, amount=700, reason="insufficient_funds"),
        event(
            "ct", "contact", at=NOW - 3600, channel="ivr", reason="order_delayed", resolved=False
        ),
    ]
    response = await client.post("/v1/events", json={"events": events})
    assert response.json() == {
        "received": 7,
        "applied": 7,
        "duplicates": 0,
        "stale": 0,
        "stale_reason": None,
    }
    profile = (await client.get("/v1/customers/c1/profile")).json()
    assert profile["known"] is False  # events may come before the CRM record
    assert profile["days_inactive"] == 20.0
    orders = profile["windows"]["order_placed"]
    assert (orders["30d"], orders["prev_30d"], orders["change_30d"]) == (1, 2, -0.5)
    assert profile["last_order"]["status"] == "delayed"
    assert profile["payments"]["failed_7d"] == 1
    assert profile["last_contact"]["reason"] == "order_delayed"


async def test_resending_changes_nothing(client: httpx.AsyncClient) -> None:
    batch = {"events": [event("e1", "login"), event("e2", "login", at=NOW - DAY)]}
    await client.post("/v1/events", json=batch)
    before = (await client.get("/v1/customers/c1/profile")).json()
    again = await client.post("/v1/events", json=batch)
    assert again.json() == {
        "received": 2,
        "applied": 0,
        "duplicates": 2,
        "stale": 0,
        "stale_reason": None,
    }
    assert (await client.get("/v1/customers/c1/profile")).json() == before


async def test_an_event_past_the_dedupe_window_is_reported_stale(
    client: httpx.AsyncClient,
) -> None:
    # The README tour's cart, sent again ten days later: too old to be remembered, so it
    # is applied idempotently, and the answer says that it changed nothing and why.
    cart = event("e1", "cart_updated", at=NOW - 10 * DAY, items=2, value=2490)
    first = (await client.post("/v1/events", json={"events": [cart]})).json()
    assert (first["applied"], first["stale"]) == (1, 0)
    before = (await client.get("/v1/customers/c1/profile")).json()
    again = (await client.post("/v1/events", json={"events": [cart]})).json()
    assert (again["received"], again["applied"], again["duplicates"], again["stale"]) == (
        1,
        0,
        0,
        1,
    )
    assert "de-duplication window" in again["stale_reason"]
    assert (await client.get("/v1/customers/c1/profile")).json() == before
    # An old event that does change something (a login older than any known) is applied.
    login = event("l1", "login", at=NOW - 20 * DAY)
    assert (await client.post("/v1/events", json={"events": [login]})).json()["applied"] == 1


async def test_out_of_order_batches_give_the_same_profile(
    app_factory: Callable[..., Any], client: httpx.AsyncClient
) -> None:
    events = [event(f"l{i}", "login", at=NOW - i * DAY) for i in range(10)]
    events += [
        event("cu", "cart_updated", at=NOW - 3600, items=1, value=5.0),
        event("op", "order_placed", at=NOW - 60, order_id="o", amount=5.0),
    ]
    for e in events:
        e["customer_id"] = "in_order"
    await client.post("/v1/events", json={"events": events})
    for e in events:
        e["customer_id"], e["id"] = "reversed", "r" + e["id"]
    for e in reversed(events):
        await client.post("/v1/events", json={"events": [e]})
    a = (await client.get("/v1/customers/in_order/profile")).json()
    b = (await client.get("/v1/customers/reversed/profile")).json()
    a.pop("customer_id"), b.pop("customer_id")
    assert a == b
    assert a["cart"]["open"] is False


async def test_unknown_type_lists_the_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/events", json={"events": [event("e", "teleported")]})
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "events[0].type"
    assert "order_placed" in body["reason"] and "cart_abandoned" in body["reason"]


async def test_one_bad_event_rejects_the_batch_whole(client: httpx.AsyncClient) -> None:
    batch = [
        event("ok1", "login"),
        event("bad", "order_placed", order_id="o1"),
        event("ok2", "login", customer_id="c2"),
    ]
    response = await client.post("/v1/events", json={"events": batch})
    assert response.status_code == 422
    assert response.json()["field"] == "events[1].data.amount"
    assert (await client.get("/v1/customers/c1/profile")).status_code == 404
    assert (await client.get("/v1/customers/c2/profile")).status_code == 404


async def test_bad_envelopes_are_named(client: httpx.AsyncClient) -> None:
    cases = [
        ({**event("e", "login"), "ts": "2026-11-18T10:00:00"}, "events[0].ts"),
        ({**event("e", "login"), "ts": "yesterday"}, "events[0].ts"),
        (event("e", "login", at=NOW + 3 * DAY), "events[0].ts"),
        ({**event("e", "login"), "customer_id": ""}, "events[0].customer_id"),
        ({**event("e", "login"), "colour": "red"}, "events[0].colour"),
        (event("e", "payment_failed", amount="lots"), "events[0].data.amount"),
        (event("e", "contact", channel="fax", reason="x", resolved=True), "events[0].data.channel"),
        (event("e", "login", mood="happy"), "events[0].data.mood"),
        (
            event("e", "deposit_maturing", deposit_id="d", matures_on="soon"),
            "events[0].data.matures_on",
        ),
    ]
    for raw, field in cases:
        response = await client.post("/v1/events", json={"events": [raw]})
        assert response.status_code == 422, (raw, response.text)
        assert response.json()["field"] == field, response.json()
    not_json = await client.post("/v1/events", content=b"{nope")
    assert not_json.status_code == 422 and not_json.json()["field"] == "body"


async def test_oversized_batch_is_413(client: httpx.AsyncClient) -> None:
    batch = [event(f"e{i}", "login") for i in range(1001)]
    response = await client.post("/v1/events", json={"events": batch})
    assert response.status_code == 413
    assert response.json()["field"] == "events"
    assert (await client.get("/v1/customers/c1/profile")).status_code == 404


async def test_event_types_extend_by_configuration(app_factory: Callable[..., Any]) -> None:
    config = {
        "insurance_claim": {
            "fields": {"claim_id": "text", "amount": "number"},
            "amount_field": "amount",
        }
    }
    async with app_factory(event_types=config) as client:
        batch = [event("c", "insurance_claim", claim_id="k1", amount=15000)]
        assert (await client.post("/v1/events", json={"events": batch})).status_code == 200
        profile = (await client.get("/v1/customers/c1/profile")).json()
        assert profile["windows"]["insurance_claim"]["sum"]["7d"] == 15000.0
        assert "insurance_claim" in (await client.get("/v1/event-types")).json()
