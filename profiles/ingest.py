"""Ingest: validated events folded into profiles, atomically per customer."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from connectors.store import CustomerStore
from core.events import Catalogue, Event
from predictors import profile, profile_codec

STALE_REASON = (
    f"older than the {profile.DEDUPE_DAYS}-day de-duplication window and changed nothing: "
    "a re-send, or news the profile already has from a later event"
)


@dataclass(frozen=True, slots=True)
class IngestResult:
    received: int
    applied: int
    stale: int = 0  # past the de-duplication window, changed nothing (see STALE_REASON)

    @property
    def duplicates(self) -> int:
        return self.received - self.applied - self.stale


async def ingest(
    store: CustomerStore, events: list[Event], catalogue: Catalogue, now: float
) -> IngestResult:
    by_customer: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_customer[event.customer_id].append(event)
    # Oldest first, so that "since" fields see the beginning of a run before its end.
    for batch in by_customer.values():
        batch.sort(key=lambda e: e.ts)

    # Per customer, set (not added to) on every fold: a store may fold a customer again
    # when its compare-and-swap loses a race.
    stale: dict[str, int] = {}

    def fold(customer_id: str, blob: bytes | None) -> tuple[bytes, int]:
        state, seen = profile_codec.decode(blob)
        folded = profile.fold(state, seen, by_customer[customer_id], catalogue, now)
        stale[customer_id] = folded.stale
        return profile_codec.encode(state, seen), folded.applied

    applied = await store.update_profiles(list(by_customer), fold)
    return IngestResult(received=len(events), applied=applied, stale=sum(stale.values()))
