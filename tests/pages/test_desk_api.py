"""The desk's and the console's HTTP side without a browser: routing calls, sessions,
the CSRF header, scopes, the console's window onto the API, model cards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from tests.conftest import CUSTOMER

CSRF = {"X-Forecall": "1"}


@pytest.fixture
async def app(app_factory: Callable[..., Any]) -> AsyncIterator[httpx.AsyncClient]:
    async with app_factory() as client:
        assert (await client.put("/v1/customers/c1", json=CUSTOMER)).status_code == 201
        yield client


async def key(client: httpx.AsyncClient, *scopes: str) -> str:
    created = await client.post("/v1/keys", json={"name": "k", "scopes": list(scopes)})
    return str(created.json()["key"])


def browser(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Another client on the same app with no API key: a page with its own cookies."""
    return httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))


async def settled(client: httpx.AsyncClient) -> None:
    """Wait for the work the app does after answering (the call record, the card)."""
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    await transport.app.state.forecall.calls.settle()  # type: ignore[attr-defined]


async def inbound(client: httpx.AsyncClient, call_id: str, **context: str) -> None:
    answer = await client.post(
        "/v1/inbound",
        json={"channel": "ivr", "call_id": call_id, "caller": "+79161234567", "context": context},
    )
    assert answer.status_code == 200 and not answer.json()["degraded"]


async def test_route_names_the_bad_field_and_a_route_before_the_decision_waits_for_it(
    app: httpx.AsyncClient,
) -> None:
    empty = await app.post("/v1/calls/call-1/route", json={})
    assert empty.status_code == 422 and empty.json()["field"] == "operator_id"
    bad = await app.post("/v1/calls/call-1/route", json={"operator_id": "a b"})
    assert bad.status_code == 422 and bad.json()["field"] == "operator_id"
    extra = await app.post("/v1/calls/call-1/route", json={"queue": "q", "agent": "x"})
    assert extra.status_code == 422 and extra.json()["field"] == "agent"

    early = await app.post("/v1/calls/call-1/route", json={"queue": "billing"})
    assert early.status_code == 202 and early.json()["published"] is False
    desk_key = await key(app, "desk")
    async with browser(app) as page:
        login = await page.post(
            "/desk/api/session", json={"key": desk_key, "queues": ["billing"]}, headers=CSRF
        )
        assert login.status_code == 200, login.text
        assert (await page.get("/desk/api/cards/call-1")).status_code == 404
        await inbound(app, "call-1")
        await settled(app)
        card = (await page.get("/desk/api/cards/call-1")).json()
        assert card["route"] == {"queue": "billing"} and card["customer"]["id"] == "c1"
        assert card["consent"]["marketing_by_channel"] == {"sms": True}
        assert card["history"]["contacts_30d"] == 0 and card["next_steps"]
        assert {r["id"] for r in card["ranked"]} >= {"route_general"}
        again = await app.post("/v1/calls/call-1/route", json={"operator_id": "op-z"})
        assert again.status_code == 200 and again.json()["published"] is True
        # Now routed to one operator by name: the queue no longer sees it.
        assert (await page.get("/desk/api/cards/call-1")).status_code == 404


async def test_sessions_need_the_scope_and_changing_requests_need_the_header(
    app: httpx.AsyncClient,
) -> None:
    desk_key, manager_key = await key(app, "desk"), await key(app, "manager")
    async with browser(app) as page:
        assert (await page.get("/desk/api/session")).status_code == 401
        no_header = await page.post("/desk/api/session", json={"key": desk_key, "queues": ["q"]})
        assert no_header.status_code == 403 and "X-Forecall" in no_header.json()["message"]
        wrong = await page.post("/console/api/session", json={"key": desk_key}, headers=CSRF)
        assert wrong.status_code == 403 and "'manager'" in wrong.json()["message"]
        assert wrong.json()["scope"] == "manager"  # the page says it in its own words
        bad = await page.post(
            "/desk/api/session", json={"key": desk_key, "queues": ["no spaces"]}, headers=CSRF
        )
        assert bad.status_code == 422 and bad.json()["field"] == "queues.0"
        assert "forecall_desk" not in page.cookies

        ok = await page.post(
            "/desk/api/session", json={"key": desk_key, "operator_id": "op-a"}, headers=CSRF
        )
        assert ok.json() == {
            "operator_id": "op-a",
            "queues": [],
            "key_id": ok.json()["key_id"],
            "key_name": "k",
            "scopes": ["desk"],
            "time_zone": "Europe/Moscow",  # the service's default, for the page's times
        }
        await inbound(app, "call-2", operator_id="op-a")
        await settled(app)
        outcome = {"actual_reason": "billing_question", "resolved": True}
        blocked = await page.post("/desk/api/cards/call-2/outcome", json=outcome)
        assert blocked.status_code == 403
        recorded = await page.post("/desk/api/cards/call-2/outcome", json=outcome, headers=CSRF)
        assert recorded.status_code == 200 and recorded.json()["actual"] == "billing_question"
        wrong_reason = await page.post(
            "/desk/api/cards/call-2/outcome",
            json={"actual_reason": "weather", "resolved": True},
            headers=CSRF,
        )
        assert wrong_reason.status_code == 422 and wrong_reason.json()["field"] == "actual_reason"

        # Revoking the key ends the session (the key ring forgets at once in this process).
        [listed] = [k for k in (await app.get("/v1/keys")).json() if k["scopes"] == ["desk"]]
        assert (await app.delete(f"/v1/keys/{listed['id']}")).status_code == 204
        assert (await page.get("/desk/api/session")).status_code == 401

        console = await page.post("/console/api/session", json={"key": manager_key}, headers=CSRF)
        assert console.status_code == 200
        # The console's window shows only what the console shows, under the key's scopes.
        assert (await page.get("/console/api/v1/keys")).status_code == 404
        lacking = await page.get("/console/api/v1/incidents")
        assert lacking.status_code == 403 and "'incidents'" in lacking.json()["message"]
        models = (await page.get("/console/api/models")).json()
        assert {c["name"] for c in models["cards"]} == {"churn", "reasons", "reasons_text"}
        assert models["live"]["examples"] == 1
        assert models["live"]["by_reason"]["billing_question"]["examples"] == 1
        assert len(models["live"]["daily"]) == 14 and models["live"]["daily"][-1]["examples"] == 1
