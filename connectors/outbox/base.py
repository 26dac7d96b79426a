"""The outbox contract: a durable queue of messages with schedules, leases and dead letters.

Two implementations, chosen with the store URL: `sqlite.py` (a table) and `redis.py`
(a stream with a consumer group, a sorted set for schedules, a dead-letter stream).
Delivery is at least once: a worker that dies mid-send leaves its claim to expire, and
another worker takes the message again with the same id (the provider's idempotency key).
Only a message marked in flight (`start`) when its worker died can reach the provider
twice; every answer (finish, retry, bury, a provider's word) clears the mark and the
count of unanswered claims.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from core.messages import Message, Status


class Outbox(Protocol):
    async def enqueue(self, messages: Sequence[Message], now: float) -> int:
        """Add messages; an id already known is ignored. Returns how many were new."""
        ...

    async def claim(
        self, worker: str, limit: int, now: float, lease: float, max_claims: int = 0
    ) -> list[Message]:
        """Up to `limit` messages due by `now`, marked `sending` for `worker` for `lease`
        seconds; includes messages whose previous claim expired (a crashed worker's),
        with `claims` (claims in a row without an answer) and `in_flight` (the last
        worker had started a provider request) as they stand. At most one message whose
        claim expired twice or more in a row comes per call. A message whose claim
        expired `max_claims` times in a row goes to the dead letters instead, its error
        saying so (a poison message); 0 sets no limit."""
        ...

    async def start(
        self, message_ids: Sequence[str], worker: str, now: float, lease: float
    ) -> set[str]:
        """Mark claimed messages as in flight, just before their provider request, and
        renew their lease from `now`. Returns the ids `worker` still holds: one whose
        lease ran out and went to another worker, or that was erased, must not be sent."""
        ...

    async def purge(self, before: float, limit: int) -> int:
        """Remove up to `limit` finished messages (final statuses, dead letters included)
        whose due time and last change are both before `before`; group counts keep them.
        Returns how many went: call again while it returns `limit`."""
        ...

    async def finish(self, message: Message, now: float) -> None:
        """Record a final status (`message.status` in FINAL, not dead) and drop the claim."""
        ...

    async def retry(self, message: Message, due_at: float, now: float) -> None:
        """Put a claimed message back, due at `due_at`, with its updated step, attempts
        and error; status becomes pending."""
        ...

    async def bury(self, message: Message, now: float) -> None:
        """Move a claimed message to the dead-letter queue (status dead)."""
        ...

    async def get(self, message_id: str) -> Message | None: ...

    async def set_status(
        self, message_id: str, status: Status, now: float, error: str | None = None
    ) -> Message | None:
        """A provider's later word (delivered, read, failed) on a message; None if unknown.
        Never moves a message backwards (read stays read when `delivered` arrives late)."""
        ...

    async def by_provider_id(self, channel: str, provider_message_id: str) -> str | None:
        """Our message id for a provider's id (callbacks that do not echo ours)."""
        ...

    async def dead_letters(self, limit: int) -> list[Message]: ...

    async def revive(self, message_id: str, now: float) -> bool:
        """Move a dead letter back to the queue (attempts reset); False if not dead."""
        ...

    async def cancel(self, group: str, customer_id: str | None, now: float) -> int:
        """Cancel pending messages of a group (for one customer, or all); the count."""
        ...

    async def counts(self, group: str) -> dict[str, int]:
        """Messages of a group by status, kept current on every transition."""
        ...

    async def backlog(self, now: float) -> int:
        """Messages pending or sending."""
        ...

    async def erase_customer(self, customer_id: str) -> int:
        """Remove every message of the customer, queued or not; how many."""
        ...

    async def close(self) -> None: ...
