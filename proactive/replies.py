"""Customers writing back: a reply of "стоп" stops the channel at once; any reply tells
the follow-ups (the scenario's counters, the rest of its touches) and, if a CRM is
connected, becomes a note or a to-do on the contact."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.channels.base import CallbackEvent, is_stop_word
from connectors.store import CustomerStore
from core.clock import Clock
from core.errors import InvalidInput
from core.identity import IdentityKind, normalize
from predictors.policy import ADDRESS_KIND
from proactive.crm_notes import CrmNotes
from proactive.followups import Followups


class Replies:
    def __init__(
        self,
        store: CustomerStore,
        followups: Followups,
        clock: Clock,
        default_region: str,
        crm: CrmNotes | None = None,
    ) -> None:
        self.store = store
        self.followups = followups
        self.clock = clock
        self.default_region = default_region
        self.crm = crm

    async def apply(self, channel: str, events: Sequence[CallbackEvent]) -> int:
        """Handle the replies among `events`; how many stopped the channel."""
        now = self.clock.now()
        stopped = 0
        for event in events:
            if event.kind != "reply":
                continue
            replier = await self.replier(channel, event.address)
            if replier is None:
                continue
            stop = bool(event.text and is_stop_word(event.text))
            if stop:
                await self.store.set_stop(replier, channel, True, now)
                stopped += 1
            await self.followups.on_reply(replier, stop, now)
            if not stop and event.text and self.crm is not None:
                await self.crm.on_reply(replier, channel, event.text, now)
        return stopped

    async def replier(self, channel: str, address: str | None) -> str | None:
        """The customer who wrote from `address`. Providers write addresses their own way
        (SMSC sends "79161234567", mail hooks keep the sender's case), so it is normalized
        like a stored identity first; an address that cannot be one matches nobody."""
        if not address:
            return None
        kind = ADDRESS_KIND.get(channel, channel)
        if kind in IdentityKind.__members__:
            try:
                address = normalize(IdentityKind(kind), address, self.default_region, kind)
            except InvalidInput:
                return None
        return await self.store.find_customer(kind, address)
