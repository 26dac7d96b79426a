"""Fixtures the outbound tests share: a real outbox on the test's store, a local
provider that receives what the dispatcher sends, and an HTTP client for channels."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from connectors.outbox import Outbox, open_outbox
from tests.fakes.receiver import Receiver


@pytest.fixture
async def outbox(store_url: str) -> AsyncIterator[Outbox]:
    opened = open_outbox(store_url)
    yield opened
    await opened.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c
