"""The last look before a message leaves: the policy as it stands at send time.

The stop-list holds at once: a message queued before the customer said "стоп" is
suppressed on that channel (and tries the next one). A closing notice goes only to
those who were told of the incident in the first place.
"""

from __future__ import annotations

from connectors.outbox import Outbox
from connectors.store import CustomerStore
from core.messages import Message, Status
from proactive.dispatcher import Block

_TOLD = frozenset({Status.sent, Status.delivered, Status.read})


class StopListGate:
    def __init__(self, store: CustomerStore, outbox: Outbox) -> None:
        self.store = store
        self.outbox = outbox

    async def __call__(self, message: Message) -> Block | None:
        if message.route.channel in await self.store.stops(message.customer_id):
            return Block("stop_list", channel_only=True)
        if message.meta.get("kind") == "resolved":
            start = await self.outbox.get(
                f"inc:{message.meta['incident']}:start:{message.customer_id}"
            )
            if start is None or start.status not in _TOLD:
                return Block("never_told", channel_only=False)
        return None
