"""Open incidents in memory, refreshed in the background: the IVR path reads them on
every call and must not pay a store round trip for it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from connectors.store import IncidentStore
from core.errors import StoreUnavailable
from core.incidents import Incident

log = logging.getLogger("forecall.incidents")


class OpenIncidents:
    def __init__(self, store: IncidentStore, every: float = 1.0) -> None:
        self.store = store
        self.every = every
        self.current: list[Incident] = []

    async def refresh(self) -> None:
        self.current = [Incident.model_validate_json(r) for r in await self.store.open_incidents()]

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.refresh()
            except StoreUnavailable as exc:
                log.warning("open incidents not refreshed", extra={"detail": exc.message})
            try:
                await asyncio.wait_for(stop.wait(), self.every)
            except TimeoutError:
                pass

    def touching(self, customer_id: str, record: dict[str, Any] | None) -> list[Incident]:
        if not self.current:
            return []
        record = record or {}
        region, services = record.get("region"), record.get("services") or []
        nodes = record.get("network_nodes") or []
        return [i for i in self.current if i.scope.touches(customer_id, region, services, nodes)]
