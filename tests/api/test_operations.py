"""Health, readiness, metrics, and logs free of personal data."""

from __future__ import annotations

import logging

import httpx
import pytest

from api.app import create_app
from api.logs import JsonFormatter
from tests.conftest import ADMIN, CUSTOMER, event, make_settings


async def test_health_and_metrics_need_no_key(client: httpx.AsyncClient) -> None:
    anonymous = {"Authorization": ""}
    assert (await client.get("/healthz", headers=anonymous)).json() == {"status": "ok"}
    ready = await client.get("/readyz", headers=anonymous)
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    await client.post("/v1/events", json={"events": [event("e1", "login")]})
    metrics = (await client.get("/metrics", headers=anonymous)).text
    counted = 'forecall_http_request_duration_seconds_count{method="POST",route="/v1/events"'
    assert counted + ',status="200"}' in metrics
    assert 'forecall_events_ingested_total{outcome="applied"}' in metrics


async def test_a_store_that_is_down_gives_503_not_a_hang() -> None:
    # Nothing listens on port 1: every store call fails fast after its bounded retries.
    app = create_app(make_settings("redis://127.0.0.1:1/0"))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://forecall.test",
            headers={"Authorization": f"Bearer {ADMIN}"},
        ) as client,
    ):
        ready = await client.get("/readyz")
        assert ready.status_code == 503 and "store" in ready.json()["problems"]
        down = await client.post("/v1/events", json={"events": [event("e1", "login")]})
        assert down.status_code == 503 and down.json()["error"] == "store_unavailable"
        assert (await client.get("/v1/customers/c1")).status_code == 503
        metrics = (await client.get("/metrics")).text
        assert 'forecall_store_errors_total{route="/v1/events"}' in metrics


async def test_logs_never_carry_personal_data(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await client.put("/v1/customers/c1", json=CUSTOMER)
    await client.get("/v1/identify", params={"phone": "+79161234567"})
    await client.get("/v1/identify", params={"email": "ivan.petrov@example.ru"})
    await client.put("/v1/customers/c2", json={**CUSTOMER, "time_zone": "Nowhere/Else"})
    await client.post("/v1/identify", json={"kind": "phone", "value": "+7 999 000-00-00x"})
    formatter = JsonFormatter()
    # httpx logs the test client's own URLs: only the service's loggers are ours.
    ours = [r for r in caplog.records if not r.name.startswith("httpx")]
    lines = "\n".join(formatter.format(record) for record in ours)
    assert "request" in lines  # the access log did run
    for secret in ("9161234567", "ivan.petrov", "Иван", "Петров", "example.ru"):
        assert secret not in lines
