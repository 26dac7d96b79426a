"""Fixtures: real stores (SQLite in a temp dir, a real Redis server), apps built per test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from connectors.store import Store, open_store
from core.clock import FixedClock
from core.settings import Settings

REDIS_URL = os.environ.get("FORECALL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ADMIN = "fc_test_admin_key"
NOW = 1_795_000_000.0  # 2026-11-18T11:06:40Z, a Wednesday


def _redis_or_fail() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(
            f"Redis is required at FORECALL_TEST_REDIS_URL={REDIS_URL} ({exc}); "
            "start redis-server or point the variable at one",
            pytrace=False,
        )


@pytest.fixture
def redis_url() -> str:
    _redis_or_fail()
    redis.Redis.from_url(REDIS_URL).flushdb()
    return REDIS_URL


@pytest.fixture
def cluster_url() -> str:
    """The test Redis Cluster, emptied; fails (never skips) when there is none."""
    from tests.cluster import cluster_url_or_fail, flush

    url = cluster_url_or_fail()
    flush(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/forecall.db"


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return any_store_url(request, tmp_path)


def any_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store named by the test's parameter: sqlite, redis or cluster. Test files
    whose contract must hold on a Redis Cluster too parametrize over all three."""
    if request.param in ("redis", "cluster"):
        return str(request.getfixturevalue(f"{request.param}_url"))
    return f"sqlite:///{tmp_path}/forecall.db"


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = open_store(store_url)
    yield opened
    await opened.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def make_settings(store_url: str, **overrides: Any) -> Settings:
    return Settings(store=store_url, admin_key=ADMIN, **overrides)


@pytest.fixture
def app_factory(store_url: str, clock: FixedClock) -> Callable[..., Any]:
    """Build an app on the test's store; use as `async with app_factory(**settings) as c`."""

    def build(**overrides: Any) -> Any:
        from api.app import create_app  # here, so store-only tests need no app

        return _Client(create_app(make_settings(store_url, **overrides), clock=clock))

    return build


class _Client:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __aenter__(self) -> httpx.AsyncClient:
        self._lifespan = self.app.router.lifespan_context(self.app)
        await self._lifespan.__aenter__()
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://forecall.test",
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        return self._client

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()
        await self._lifespan.__aexit__(*exc)


@pytest.fixture
async def client(app_factory: Callable[..., Any]) -> AsyncIterator[httpx.AsyncClient]:
    async with app_factory() as c:
        yield c


def event(
    id: str, type: str, customer_id: str = "c1", at: float = NOW, **data: Any
) -> dict[str, Any]:
    from core.clock import utc_iso

    return {"id": id, "type": type, "customer_id": customer_id, "ts": utc_iso(at), "data": data}


CUSTOMER: dict[str, Any] = {
    "name": "Иван Петров",
    "identities": [
        {"kind": "phone", "value": "8 (916) 123-45-67"},
        {"kind": "email", "value": "Ivan.Petrov@Example.ru"},
        {"kind": "telegram", "value": "5512345678"},
    ],
    "time_zone": "Europe/Moscow",
    "region": "RU-MOW",
    "services": ["internet", "mobile"],
    "segment": "b2c",
    "products": ["card_debit"],
    "tariff": "home-300",
    "birthday": "1990-05-01",
    "channel_preferences": ["telegram", "sms"],
    "consents": [
        {
            "purpose": "marketing",
            "channel": "sms",
            "granted": True,
            "source": "web-form",
            "at": "2026-03-01T10:00:00Z",
        }
    ],
}
