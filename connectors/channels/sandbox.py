"""A channel that delivers to a local inbox kept in the store, for the demo and for trying
scenarios out: every message is accepted at once, and the console's «Песочница» panel
shows what was "sent" (`recent`). Nothing leaves the machine.

    channels:
      sms: {kind: sandbox}

The inbox is a store collection, so messages of an erased customer are erased with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import httpx
import orjson
from pydantic import BaseModel, ConfigDict

from connectors.channels.base import CallbackEvent, OutboundMessage, SendResult
from connectors.store import Store
from core.clock import Clock
from core.errors import ProviderError

INBOX = "sandbox"


class SandboxConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["sandbox"] = "sandbox"


class SandboxChannel:
    """Delivers into the store's `sandbox` collection; bound to the store at start-up."""

    def __init__(self, name: str, config: SandboxConfig, client: httpx.AsyncClient) -> None:
        self.name = name
        self.config = config
        self._store: Store | None = None
        self._clock: Clock | None = None

    def bind(self, store: Store, clock: Clock) -> None:
        self._store, self._clock = store, clock

    async def keep_alive(self) -> None:
        return None

    async def send(self, message: OutboundMessage) -> SendResult:
        if self._store is None or self._clock is None:
            raise ProviderError(self.name, "the sandbox is not bound to a store", permanent=True)
        at = self._clock.now()
        record = {
            "id": message.id,
            "at": at,
            "channel": self.name,
            "customer_id": message.customer_id,
            "address": message.address,
            "subject": message.subject,
            "text": message.text,
            "locale": message.locale,
            "metadata": dict(message.metadata),
        }
        # Ids sort by time, so the newest are the last of the collection.
        doc_id = f"{at:017.6f}:{message.id}"
        await self._store.put_doc(INBOX, doc_id, message.customer_id, orjson.dumps(record))
        return SendResult(f"sandbox:{message.id}")

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> list[CallbackEvent]:
        return []  # nothing outside calls back

    async def aclose(self) -> None:
        return None


async def recent(store: Store, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` messages of the inbox, newest first."""
    docs = await store.docs(INBOX)
    return [orjson.loads(doc) for doc in reversed(docs[-limit:])]
