"""Helpers for connector tests: one shared HTTP client, messages to send."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from connectors.channels.base import OutboundMessage


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def outbound(
    id: str = "inc:INC-7:start:c1", address: str = "+79161234567", text: str = "Авария на сети"
) -> OutboundMessage:
    return OutboundMessage(id=id, customer_id="c1", channel="x", address=address, text=text)
