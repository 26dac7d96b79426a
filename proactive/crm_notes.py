"""Notes in the CRM: every proactive message sent and every inbound prediction leaves a
timeline comment on the customer's CRM contact, so managers see the whole picture.

Notes are outbox messages on the CRM's channel (`kind: bitrix24`), addressed to the
contact id: durable, retried, rate limited like any message, with ids derived from what
they describe (`crm:<message id>`, `crm:call:<call id>`) so that each is written once.
Customers without a CRM identity get none.
"""

from __future__ import annotations

import orjson

from connectors.outbox import Outbox
from connectors.store import Store
from core.messages import Message, Route

NOTE_KIND = "crm_note"
_CHANNEL_NAMES = {"sms": "SMS", "telegram": "Telegram", "email": "email", "whatsapp": "WhatsApp"}


class CrmNotes:
    def __init__(self, store: Store, outbox: Outbox, channel: str, identity: str) -> None:
        self.store = store
        self.outbox = outbox
        self.channel = channel  # the configured channel's name, e.g. "bitrix24"
        self.identity = identity  # the identity kind holding the contact id

    async def contact_of(self, customer_id: str) -> str | None:
        raw = await self.store.get_customer(customer_id)
        if raw is None:
            return None
        for identity in orjson.loads(raw).get("identities", []):
            if identity.get("kind") == self.identity:
                return str(identity["value"])
        return None

    async def on_sent(self, message: Message, now: float) -> None:
        """After a customer message went out: say so on the contact."""
        if message.meta.get("kind") == NOTE_KIND:
            return
        channel = message.route.channel
        what = (
            f"уведомление об аварии {message.meta['incident']}"
            if "incident" in message.meta
            else f"сообщение сценария {message.meta.get('scenario', message.group)}"
        )
        via = _CHANNEL_NAMES.get(channel, channel)
        text = f"Forecall: отправлено {what} по каналу {via}:\n{message.route.text}"
        await self._note(f"crm:{message.id}", message.customer_id, text, now)

    async def on_call(self, call_id: str, customer_id: str | None, text: str, now: float) -> None:
        if customer_id is not None:
            await self._note(f"crm:call:{call_id}", customer_id, text, now)

    async def _note(self, note_id: str, customer_id: str, text: str, now: float) -> None:
        contact = await self.contact_of(customer_id)
        if contact is None:
            return
        note = Message(
            id=note_id,
            customer_id=customer_id,
            group=f"crm:{self.channel}",
            category="service",
            routes=[Route(self.channel, contact, text[:4000])],
            due_at=now,
            created_at=now,
            meta={"kind": NOTE_KIND},
        )
        await self.outbox.enqueue([note], now)
