"""Notes and tasks in the CRM, so managers see the whole picture in the contact's card:

- a note for every proactive message sent and every inbound prediction;
- a task when someone must act: a caller at high risk of leaving, a customer who wrote
  back to one of our messages (due `task_hours` later).

Both are outbox messages on the CRM's channel (`kind: bitrix24` or `amocrm`), addressed
to the contact id, tasks marked `kind: crm_task` in their metadata: durable, retried,
rate limited like any message, with ids derived from what they describe
(`crm:<message id>`, `crm:call:<call id>`, `crm:task:call:<call id>`) so that each is
written once. Customers without a CRM identity get none.
"""

from __future__ import annotations

import hashlib

import orjson

from connectors.outbox import Outbox
from connectors.store import CustomerStore
from core.messages import Message, Route

NOTE_KIND = "crm_note"
TASK_KIND = "crm_task"
_CHANNEL_NAMES = {"sms": "SMS", "telegram": "Telegram", "email": "email", "whatsapp": "WhatsApp"}


class CrmNotes:
    def __init__(
        self,
        store: CustomerStore,
        outbox: Outbox,
        channel: str,
        identity: str,
        task_hours: float = 4.0,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.channel = channel  # the configured channel's name, e.g. "bitrix24"
        self.identity = identity  # the identity kind holding the contact id
        self.task_hours = task_hours

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
        if message.meta.get("kind") in (NOTE_KIND, TASK_KIND):
            return
        channel = message.route.channel
        what = (
            f"уведомление об аварии {message.meta['incident']}"
            if "incident" in message.meta
            else f"сообщение сценария {message.meta.get('scenario', message.group)}"
        )
        via = _CHANNEL_NAMES.get(channel, channel)
        text = f"Forecall: отправлено {what} по каналу {via}:\n{message.route.text}"
        await self._write(f"crm:{message.id}", message.customer_id, text, now)

    async def on_call(
        self, call_id: str, customer_id: str | None, text: str, now: float, task: str | None = None
    ) -> None:
        """The prediction as a note; `task` when a manager should call back."""
        if customer_id is None:
            return
        await self._write(f"crm:call:{call_id}", customer_id, text, now)
        if task is not None:
            await self._write(f"crm:task:call:{call_id}", customer_id, task, now, task=True)

    async def on_reply(self, customer_id: str, channel: str, text: str, now: float) -> None:
        """A customer wrote back to one of our messages: someone should answer."""
        # Once per text per hour: a reply delivered twice is one task, a later "да" another.
        key = f"{customer_id}|{channel}|{text}|{int(now // 3600)}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        via = _CHANNEL_NAMES.get(channel, channel)
        task = f"Клиент ответил на сообщение Forecall ({via}): «{text[:1000]}». Ответьте клиенту."
        await self._write(f"crm:task:reply:{digest}", customer_id, task, now, task=True)

    async def _write(
        self, note_id: str, customer_id: str, text: str, now: float, task: bool = False
    ) -> None:
        contact = await self.contact_of(customer_id)
        if contact is None:
            return
        meta = {"kind": NOTE_KIND}
        if task:
            meta = {"kind": TASK_KIND, "due_at": str(round(now + self.task_hours * 3600))}
        note = Message(
            id=note_id,
            customer_id=customer_id,
            group=f"crm:{self.channel}",
            category="service",
            routes=[Route(self.channel, contact, text[:4000])],
            due_at=now,
            created_at=now,
            meta=meta,
        )
        await self.outbox.enqueue([note], now)
