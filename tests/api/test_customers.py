"""Customers through the HTTP API, on both stores."""

from __future__ import annotations

import copy
from typing import Any

import httpx

from tests.conftest import CUSTOMER, event
from tests.connectors.test_store_contract import assert_no_trace


async def test_put_normalizes_and_get_returns_it(client: httpx.AsyncClient) -> None:
    created = await client.put("/v1/customers/c1", json=CUSTOMER)
    assert created.status_code == 201, created.text
    body = created.json()
    assert {"kind": "phone", "value": "+79161234567"} in body["identities"]
    assert {"kind": "email", "value": "ivan.petrov@example.ru"} in body["identities"]
    assert (await client.put("/v1/customers/c1", json=CUSTOMER)).status_code == 200
    got = (await client.get("/v1/customers/c1")).json()
    assert got["name"] == "Иван Петров"
    assert got["consents"][0]["source"] == "web-form"
    assert got["region"] == "RU-MOW" and got["services"] == ["internet", "mobile"]


async def test_identify_by_any_identity_and_spelling(client: httpx.AsyncClient) -> None:
    await client.put("/v1/customers/c1", json=CUSTOMER)
    for params in (
        {"phone": "+7 916 123 45 67"},
        {"phone": "89161234567"},
        {"email": "IVAN.PETROV@example.ru"},
        {"telegram": "5512345678"},
    ):
        found = await client.get("/v1/identify", params=params)
        assert found.status_code == 200, (params, found.text)
        assert found.json() == {"customer_id": "c1"}
    posted = await client.post("/v1/identify", json={"kind": "phone", "value": "9161234567"})
    assert posted.json() == {"customer_id": "c1"}
    assert (await client.get("/v1/identify", params={"phone": "+79160000000"})).status_code == 404


async def test_bad_fields_are_named(client: httpx.AsyncClient) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"identities": [{"kind": "phone", "value": "12"}]}, "identities[0].value"),
        ({"identities": [{"kind": "pager", "value": "1"}]}, "identities.0.kind"),
        ({"region": "moscow"}, "region"),
        ({"favourite_colour": "red"}, "favourite_colour"),
        (
            {
                "consents": [
                    {
                        "purpose": "marketing",
                        "channel": "sms",
                        "granted": True,
                        "source": "x",
                        "at": "2026-01-01T10:00:00",
                    }
                ]
            },
            "consents.0.at",
        ),
    ]
    for patch, field in cases:
        response = await client.put("/v1/customers/c9", json={**CUSTOMER, **patch})
        assert response.status_code == 422, (patch, response.text)
        assert response.json()["field"] == field, response.json()
    assert (await client.get("/v1/customers/c9")).status_code == 404
    bad_id = await client.put("/v1/customers/has space", json=CUSTOMER)
    assert bad_id.status_code == 422 and bad_id.json()["field"] == "customer_id"


async def test_identity_conflict_is_409_and_changes_nothing(client: httpx.AsyncClient) -> None:
    await client.put("/v1/customers/c1", json=CUSTOMER)
    other = copy.deepcopy(CUSTOMER)
    other["identities"] = [
        {"kind": "email", "value": "other@example.ru"},
        {"kind": "phone", "value": "+79161234567"},
    ]
    response = await client.put("/v1/customers/c2", json=other)
    assert response.status_code == 409
    assert (await client.get("/v1/customers/c2")).status_code == 404
    missing = await client.get("/v1/identify", params={"email": "other@example.ru"})
    assert missing.status_code == 404


async def test_delete_erases_everything(client: httpx.AsyncClient, store_url: str) -> None:
    await client.put("/v1/customers/c1", json=CUSTOMER)
    await client.put(
        "/v1/customers/c2", json={"identities": [{"kind": "phone", "value": "+79031112233"}]}
    )
    events = [
        event("e1", "login"),
        event("e2", "order_placed", order_id="o1", amount=10.0),
        event("e3", "login", customer_id="c2"),
    ]
    assert (await client.post("/v1/events", json={"events": events})).status_code == 200
    assert (await client.delete("/v1/customers/c1")).status_code == 204
    assert (await client.get("/v1/customers/c1")).status_code == 404
    assert (await client.get("/v1/customers/c1/profile")).status_code == 404
    assert (await client.get("/v1/identify", params={"phone": "+79161234567"})).status_code == 404
    assert (await client.delete("/v1/customers/c1")).status_code == 404
    assert (await client.get("/v1/customers/c2/profile")).status_code == 200
    await assert_no_trace(
        store_url, "c1", ["+79161234567", "ivan.petrov@example.ru", "5512345678", "Иван"]
    )


async def test_keys_and_scopes(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/customers/c1", headers={"Authorization": ""})).status_code == 401
    made = await client.post("/v1/keys", json={"name": "ivr", "scopes": ["ivr"]})
    assert made.status_code == 201
    secret = made.json()["key"]
    as_ivr = {"Authorization": f"Bearer {secret}"}
    denied = await client.put("/v1/customers/c1", json=CUSTOMER, headers=as_ivr)
    assert denied.status_code == 403 and "ingest" in denied.json()["message"]
    ingest = (await client.post("/v1/keys", json={"name": "crm", "scopes": ["ingest"]})).json()
    allowed = await client.put(
        "/v1/customers/c1", json=CUSTOMER, headers={"X-API-Key": ingest["key"]}
    )
    assert allowed.status_code == 201
    listed = (await client.get("/v1/keys")).json()
    assert {k["name"] for k in listed} == {"ivr", "crm"}
    assert secret not in str(listed)
    assert (await client.delete(f"/v1/keys/{made.json()['id']}")).status_code == 204
    assert (await client.get("/v1/customers/c1", headers=as_ivr)).status_code == 401
    bad = await client.post("/v1/keys", json={"name": "x", "scopes": ["root"]})
    assert bad.status_code == 422 and bad.json()["field"] == "scopes"
