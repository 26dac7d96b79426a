"""Delivery receipts: a provider's later word on a message (delivered, read, failed)
moves it in the outbox, found by our id or, when the provider does not echo it, by the
provider's own id."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from connectors.channels.base import CallbackEvent
from connectors.outbox import Outbox
from core.clock import Clock
from core.messages import Status

# How long a receipt for a provider id we do not know yet waits for the dispatcher; an id
# of a message that is not ours (or long erased) costs the provider this much once.
EARLY_RECEIPT_WAIT = 2.0
_STATUS = {"delivered": Status.delivered, "read": Status.read, "failed": Status.failed}


class Receipts:
    def __init__(self, outbox: Outbox, clock: Clock, wait: float = EARLY_RECEIPT_WAIT) -> None:
        self.outbox = outbox
        self.clock = clock
        self.wait = wait

    async def apply(self, channel: str, events: Sequence[CallbackEvent]) -> int:
        """Apply the receipts among `events` (replies are skipped); how many moved a
        message."""
        receipts = [e for e in events if e.kind != "reply"]
        unknown = {e.provider_message_id for e in receipts if e.message_id is None}
        ours = await self._our_ids(channel, {p for p in unknown if p})
        now = self.clock.now()
        updated = 0
        for event in receipts:
            message_id = event.message_id or ours.get(event.provider_message_id or "")
            if message_id is None:
                continue
            if await self.outbox.set_status(message_id, _STATUS[event.kind], now, event.error):
                updated += 1
        return updated

    async def _our_ids(self, channel: str, provider_ids: set[str]) -> dict[str, str]:
        """Our message ids for the provider's. A receipt can beat the dispatcher, which
        records the provider's id just after the provider answered (WhatsApp's "sent" comes
        within milliseconds): an id not known yet is looked up again for a moment."""
        found: dict[str, str] = {}
        deadline = time.monotonic() + self.wait
        while True:
            missing = [p for p in provider_ids if p not in found]
            looked = await asyncio.gather(
                *(self.outbox.by_provider_id(channel, p) for p in missing)
            )
            found.update({p: m for p, m in zip(missing, looked, strict=True) if m is not None})
            if len(found) == len(provider_ids) or time.monotonic() >= deadline:
                return found
            await asyncio.sleep(0.05)
