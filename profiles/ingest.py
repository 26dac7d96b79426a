"""Ingest: validated events folded into profiles, atomically per customer."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from connectors.store import CustomerStore
from core.events import Catalogue, Event
from predictors import profile, profile_codec


@dataclass(frozen=True, slots=True)
class IngestResult:
    received: int
    applied: int

    @property
    def duplicates(self) -> int:
        return self.received - self.applied


async def ingest(
    store: CustomerStore, events: list[Event], catalogue: Catalogue, now: float
) -> IngestResult:
    by_customer: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_customer[event.customer_id].append(event)
    # Oldest first, so that "since" fields see the beginning of a run before its end.
    for batch in by_customer.values():
        batch.sort(key=lambda e: e.ts)

    def fold(customer_id: str, blob: bytes | None) -> tuple[bytes, int]:
        state, seen = profile_codec.decode(blob)
        applied = profile.apply(state, seen, by_customer[customer_id], catalogue, now)
        return profile_codec.encode(state, seen), applied

    applied = await store.update_profiles(list(by_customer), fold)
    return IngestResult(received=len(events), applied=applied)
