"""An outbound message as the outbox carries it, from enqueue to its final status."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson


class Status(StrEnum):
    pending = "pending"  # waiting in the queue or its schedule
    sending = "sending"  # claimed by a worker; outcome not yet known
    sent = "sent"  # the provider accepted it
    delivered = "delivered"  # the provider says it reached the customer
    read = "read"
    failed = "failed"  # every channel refused it permanently
    dead = "dead"  # retries exhausted: in the dead-letter queue
    suppressed = "suppressed"  # the contact policy stopped it at send time
    cancelled = "cancelled"  # its reason went away (incident resolved, order placed)


FINAL = frozenset(
    {
        Status.sent,
        Status.delivered,
        Status.read,
        Status.failed,
        Status.dead,
        Status.suppressed,
        Status.cancelled,
    }
)


@dataclass(frozen=True, slots=True)
class Route:
    """One channel to try: where to, and what to say there."""

    channel: str
    address: str
    text: str
    subject: str | None = None
    template: str | None = None
    params: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Message:
    id: str  # the idempotency key: the same id is enqueued and delivered once
    customer_id: str
    group: str  # what it counts towards: "incident:I-42", "scenario:abandoned_cart"
    category: str  # service | transactional | marketing
    routes: list[Route]  # channels in the customer's order of preference
    due_at: float
    created_at: float
    critical: bool = False  # critical notices pass quiet hours
    step: int = 0  # index of the route being tried
    attempts: int = 0  # attempts on the current route
    status: Status = Status.pending
    provider_message_id: str | None = None
    error: str | None = None
    updated_at: float = 0.0
    meta: dict[str, str] = field(default_factory=dict)
    # Kept by the outbox, not by callers: claims in a row that got no answer (a worker
    # died or failed on the message), and whether a provider request was under way when
    # its last worker went silent (a resend may then reach the customer twice).
    claims: int = 0
    in_flight: bool = False

    @property
    def route(self) -> Route:
        return self.routes[self.step]

    def dumps(self) -> bytes:
        return orjson.dumps(self)  # orjson reads dataclasses natively, 10x asdict

    @classmethod
    def loads(cls, raw: bytes | str) -> Message:
        data: dict[str, Any] = orjson.loads(raw)
        data["routes"] = [Route(**r) for r in data["routes"]]
        data["status"] = Status(data["status"])
        return cls(**data)
