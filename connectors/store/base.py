"""The store contract: a few Protocols of one concern each, and `Store`, all of them.

Each concern is implemented once per backend (`sqlite_<concern>.py`, `redis_<concern>.py`);
`sqlite.py` and `redis.py` put them together. A use case that needs one concern takes
that Protocol, so that what it touches is in its signature.

Records travel as bytes (the customer as JSON, the profile as its packed blob) so that
the hot path decodes only what it uses, and the store never interprets them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from core.apikeys import ApiKey

# Given a customer id and its current profile blob (None for a new one), return the
# new blob and how many events it absorbed. May be called again if a write raced.
ProfileUpdate = Callable[[str, bytes | None], tuple[bytes, int]]


class CustomerStore(Protocol):
    """Customers: the record, its identities and audience terms, the profile, the stop-list."""

    async def put_customer(
        self, customer_id: str, record: bytes, identities: Sequence[tuple[str, str]]
    ) -> bool:
        """Replace the customer record and its identity index; True if it is new.

        Raises Conflict, changing nothing, if an identity belongs to another customer.
        """
        ...

    async def get_customer(self, customer_id: str) -> bytes | None: ...

    async def get_customers(self, customer_ids: Sequence[str]) -> list[bytes | None]:
        """Records in the order asked, None where there is none (batched)."""
        ...

    async def audience(self, dimensions: Sequence[Sequence[str]]) -> set[str]:
        """Customers indexed under at least one term of every dimension.

        `[["r:RU-MOW", "r:RU-SPE"], ["s:internet"]]` is (Moscow or St Petersburg) and
        internet. The record's region, services and network nodes are its terms.
        """
        ...

    async def find_customer(self, kind: str, value: str) -> str | None:
        """The id of the customer holding this normalized identity."""
        ...

    async def customer_ids(self, cursor: str, limit: int) -> tuple[list[str], str]:
        """A page of customer ids for sweeps; pass the returned cursor back, "" starts
        and "" as the returned cursor means done. Every customer comes at least once."""
        ...

    async def get_profile(self, customer_id: str) -> tuple[bytes | None, bytes | None]:
        """The record and the profile blob in one round trip."""
        ...

    async def update_profiles(self, customer_ids: Sequence[str], update: ProfileUpdate) -> int:
        """Apply `update` to each profile atomically per customer; the sum of its counts."""
        ...

    async def set_stop(self, customer_id: str, channel: str, stopped: bool, now: float) -> None:
        """Put a channel on the customer's stop-list, or take it off."""
        ...

    async def stops(self, customer_id: str) -> set[str]:
        """The channels the customer has stopped."""
        ...

    async def stops_many(self, customer_ids: Sequence[str]) -> list[set[str]]: ...


class IncidentStore(Protocol):
    """Incidents: records, which are open, the ledger of who was told, counters."""

    async def put_incident(self, incident_id: str, record: bytes, is_open: bool) -> None: ...

    async def create_incident(self, incident_id: str, record: bytes) -> bool:
        """Store a new open incident unless one with that id exists; True when created.
        Atomic, so that two declarations racing each other fan out once."""
        ...

    async def get_incident(self, incident_id: str) -> bytes | None: ...

    async def open_incidents(self) -> list[bytes]: ...

    async def add_to_audience(self, incident_id: str, customer_ids: Sequence[str]) -> None:
        """Record customers as told of the incident (its ledger)."""
        ...

    async def audience_of(self, incident_id: str) -> set[str]: ...

    async def count_incident(self, incident_id: str, counter: str, by: int = 1) -> None: ...

    async def incident_counts(self, incident_id: str) -> dict[str, int]: ...


class DocumentStore(Protocol):
    """Small documents by collection and a customer's named marks."""

    async def bump_marks(self, customer_id: str, by: dict[str, float]) -> dict[str, float]:
        """Add to the customer's named counters (contact-policy caps, exposures); the new
        values. Erased with the customer."""
        ...

    async def set_marks(self, customer_id: str, values: dict[str, float | None]) -> None:
        """Set the customer's named values; None deletes one."""
        ...

    async def marks(self, customer_id: str) -> dict[str, float]: ...

    async def put_doc(
        self, collection: str, doc_id: str, customer_id: str | None, record: bytes
    ) -> None:
        """Keep a small document (an approval waiting, an audit entry); a customer's are
        erased with the customer."""
        ...

    async def get_doc(self, collection: str, doc_id: str) -> bytes | None: ...

    async def swap_doc(
        self, collection: str, doc_id: str, expected: bytes | None, record: bytes
    ) -> bool:
        """Replace a document only if it is still `expected` (None: absent); False when
        another writer got there first. A lease, a rotating secret or a decision that two
        workers must not both take rests on this. A document created here has no owner;
        one replaced keeps the customer `put_doc` gave it (so erasure still finds it)."""
        ...

    async def docs(self, collection: str) -> list[bytes]:
        """Every document of a collection, in the order of their ids."""
        ...


class KeyStore(Protocol):
    """API keys, by the hash of their secret."""

    async def put_api_key(self, key: ApiKey) -> None: ...

    async def get_api_key(self, key_hash: str) -> ApiKey | None: ...

    async def list_api_keys(self) -> list[ApiKey]: ...

    async def revoke_api_key(self, key_id: str) -> bool: ...


class CallStore(Protocol):
    """Inbound calls (kept a week) and the labelled examples their outcomes leave."""

    async def put_call(self, call_id: str, customer_id: str | None, record: bytes) -> None:
        """Keep an inbound contact's decision for a week (the card, the outcome)."""
        ...

    async def get_call(self, call_id: str) -> bytes | None: ...

    async def put_calls(self, calls: Sequence[tuple[str, str | None, bytes]]) -> None:
        """`put_call` for many (call id, customer id, record) at once: one round trip."""
        ...

    async def get_calls(self, call_ids: Sequence[str]) -> list[bytes | None]:
        """`get_call` for many at once, in their order: one round trip."""
        ...

    async def put_example(self, customer_id: str, call_id: str, record: bytes) -> None:
        """A labelled example for retraining; one per call, the latest outcome wins."""
        ...

    async def examples(self) -> list[bytes]:
        """Every labelled example (for `forecall` training exports)."""
        ...


class Store(CustomerStore, IncidentStore, DocumentStore, KeyStore, CallStore, Protocol):
    """Every concern on one backend, as `open_store(url)` returns it."""

    async def ping(self) -> None:
        """Raise StoreUnavailable unless the store answers."""
        ...

    async def close(self) -> None: ...

    async def erase_customer(self, customer_id: str) -> bool:
        """Remove every trace of the customer; False if there was nothing."""
        ...


@runtime_checkable
class LimitStore(Protocol):
    """Limits shared by every dispatcher worker of a deployment (Redis only: an embedded
    SQLite store has one process, whose own limits are the shared ones)."""

    async def reserve_tokens(self, name: str, rate: float, burst: float, tokens: int) -> float:
        """Take `tokens` from the named token bucket; the seconds to wait before using
        them. Reservations queue: the caller must wait, not ask again."""
        ...

    async def breaker_state(self, name: str) -> tuple[int, float | None]:
        """The named breaker's failures in a row and when it last opened (None: never)."""
        ...

    async def breaker_failed(self, name: str, now: float, threshold: int, cooldown: float) -> None:
        """One more failure: open the breaker at `now` if that makes `threshold` in a row
        or if it was half-open (opened at least `cooldown` ago)."""
        ...

    async def breaker_closed(self, name: str) -> None:
        """A success: the breaker closes and forgets its failures."""
        ...
