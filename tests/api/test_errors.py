"""One error shape on every route, through the HTTP API on both stores: unknown routes,
wrong methods, unparsable bodies, bodies over the limit and unexpected failures all answer
`{"error", "message"}` (with `field` and `reason` where a field is to blame)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN

JSON = {"content-type": "application/json"}
NESTED = b"[" * 100_000 + b"]" * 100_000
NESTED_OBJECT = b'{"a":' * 5000 + b"1" + b"}" * 5000


def shaped(answer: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    assert body["error"] == error and body["message"], body
    assert "detail" not in body
    return body


async def test_unknown_routes_and_wrong_methods(client: httpx.AsyncClient) -> None:
    missing = shaped(await client.get("/v1/nothing-here"), 404, "not_found")
    assert "/v1/nothing-here" in missing["message"]
    wrong = await client.delete("/v1/inbound")
    assert "POST" in shaped(wrong, 405, "method_not_allowed")["message"]
    assert wrong.headers["allow"] == "POST"
    # Every method of the path, not only those of the first route the router tried.
    assert (await client.post("/v1/customers/x")).headers["allow"] == "DELETE, GET, PUT"


@pytest.mark.parametrize(
    ("method", "path", "content"),
    [
        ("POST", "/v1/inbound", b"{'channel': 'ivr', 'call_id': 'c1'}"),
        ("POST", "/v1/inbound", NESTED),
        ("PUT", "/v1/customers/c1", NESTED_OBJECT),
        ("POST", "/v1/incidents", NESTED),
        ("POST", "/v1/incidents", b'{"id": "I1", '),
        ("POST", "/v1/inbound", b'{"channel": "\xff\xfe"}'),
        ("POST", "/v1/events", b"{'events': []}"),
    ],
)
async def test_unparsable_bodies_name_the_body(
    client: httpx.AsyncClient, method: str, path: str, content: bytes
) -> None:
    answer = await client.request(method, path, content=content, headers=JSON)
    body = shaped(answer, 422, "invalid_input")
    assert body["field"] == "body" and body["message"].startswith("body: ")
    assert body["reason"] and body["reason"] != "JSON decode error"


async def test_a_body_over_the_limit_is_413_in_the_same_shape(
    app_factory: Callable[..., Any],
) -> None:
    async with app_factory(limits={"body_bytes": 2048, "batch_body_bytes": 4096}) as client:
        big = b'{"channel": "ivr", "call_id": "c1", "utterance": "' + b"a" * 3000 + b'"}'
        body = shaped(
            await client.post("/v1/inbound", content=big, headers=JSON), 413, "payload_too_large"
        )
        assert body["field"] == "body" and "2048" in body["reason"]
        # A batch has its own, larger limit: 3000 bytes pass it and fail as JSON instead.
        batch = await client.post("/v1/events", content=b"x" * 3000, headers=JSON)
        assert batch.status_code == 422
        batch = await client.post("/v1/events", content=b"x" * 5000, headers=JSON)
        assert "4096" in shaped(batch, 413, "payload_too_large")["reason"]


async def test_an_unexpected_failure_is_500_in_the_same_shape(
    app_factory: Callable[..., Any],
) -> None:
    built = app_factory()

    async def broken() -> None:
        raise RuntimeError("something nobody expected, with a phone +79161234567")

    built.app.add_api_route("/v1/broken", broken)
    async with built:
        transport = httpx.ASGITransport(app=built.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://forecall.test",
            headers={"Authorization": f"Bearer {ADMIN}"},
        ) as client:
            body = shaped(await client.get("/v1/broken"), 500, "internal_error")
            assert "+7916" not in body["message"]
