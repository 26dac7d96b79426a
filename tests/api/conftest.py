"""The app served for real: one uvicorn process per store on a free local port, shared by
the tests that need a real server (body limits, the schemathesis run)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from bench.servers import uvicorn_server
from tests.conftest import REDIS_URL, _redis_or_fail

LIMIT = 1024 * 1024  # any route
BATCH_LIMIT = 4 * 1024 * 1024  # /v1/events
BUDGET_MS = 500.0


@pytest.fixture(scope="session", params=["sqlite", "redis"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The base URL of the app under uvicorn (admin key: bench.servers.BENCH_KEY)."""
    if request.param == "redis":
        _redis_or_fail()
        redis.Redis.from_url(REDIS_URL).flushdb()
        store = REDIS_URL
    else:
        store = f"sqlite:///{tmp_path_factory.mktemp('served')}/forecall.db"
    env = {
        "FORECALL_STORE": store,
        "FORECALL_DISPATCHER__EMBEDDED": "false",
        "FORECALL_LIMITS__BODY_BYTES": str(LIMIT),
        "FORECALL_LIMITS__BATCH_BODY_BYTES": str(BATCH_LIMIT),
        "FORECALL_INBOUND_BUDGET_MS": str(BUDGET_MS),
    }
    with uvicorn_server("api.app:create_app_from_env", env) as url:
        yield url
