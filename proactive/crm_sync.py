"""What a CRM tells us becomes ours: its contacts our customers, its deals our orders.

Shared by the Bitrix24 and amoCRM webhooks (api/routes/crm.py, api/routes/amocrm.py).
The CRM owns a contact's name and the identities it lists; consents, preferences,
services and everything else on the customer stay ours. Event ids are derived from the
CRM's ids and states, so a webhook delivered twice changes nothing.
"""

from __future__ import annotations

from typing import Any

import orjson

from connectors.store import CustomerStore
from core.clock import Clock
from core.customers import CustomerIn
from core.events import Catalogue, Event
from proactive.followups import Followups
from profiles import directory
from profiles.ingest import ingest


class CrmSync:
    """Writes what the CRM webhooks bring: customers, and events the follow-ups see."""

    def __init__(
        self,
        store: CustomerStore,
        catalogue: Catalogue,
        followups: Followups,
        clock: Clock,
        default_region: str,
    ) -> None:
        self.store = store
        self.catalogue = catalogue
        self.followups = followups
        self.clock = clock
        self.default_region = default_region

    async def upsert_contact(self, crm: tuple[str, str, str], fields: dict[str, Any]) -> str:
        """The customer holding the CRM contact; `crm` is (identity kind, contact id,
        prefix of a new customer's id). Returns the customer id."""
        kind, contact_id, prefix = crm
        customer_id = await self.store.find_customer(kind, contact_id) or f"{prefix}{contact_id}"
        current: dict[str, Any] = {}
        raw = await self.store.get_customer(customer_id)
        if raw is not None:
            current = {k: v for k, v in orjson.loads(raw).items() if k not in ("id", "updated_at")}
        listed = {f["kind"] for f in fields["identities"]}
        kept = [i for i in current.get("identities", []) if i["kind"] not in listed]
        body = {**current, "name": fields["name"], "identities": fields["identities"] + kept}
        await directory.put_customer(
            self.store,
            customer_id,
            CustomerIn.model_validate(body),
            self.default_region,
            self.clock.now(),
        )
        return customer_id

    async def apply(self, events: list[Event]) -> int:
        """Ingest the events and let the follow-ups react; how many there were."""
        if events:
            now = self.clock.now()
            await ingest(self.store, events, self.catalogue, now)
            await self.followups.on_events(events, now)
        return len(events)


def order_events(
    source: str,
    deal_id: str,
    order: str,
    customer_id: str,
    now: float,
    *,
    placed_amount: float | None,
    stage: str,
    status: str | None,
) -> list[Event]:
    """order_placed when the deal is new (`placed_amount` given); order_status_changed
    when its stage maps to one of our statuses (and order_delivered for a delivery).
    Ids are `<source>:deal:<deal id>:…`; `order` is our order id for the deal."""
    events: list[Event] = []
    if placed_amount is not None:
        events.append(
            Event(
                f"{source}:deal:{deal_id}:add",
                "order_placed",
                customer_id,
                now,
                {"order_id": order, "amount": placed_amount},
            )
        )
    if status is not None:
        events.append(
            Event(
                f"{source}:deal:{deal_id}:{stage}",
                "order_status_changed",
                customer_id,
                now,
                {"order_id": order, "status": status},
            )
        )
        if status == "delivered":
            events.append(
                Event(
                    f"{source}:deal:{deal_id}:delivered",
                    "order_delivered",
                    customer_id,
                    now,
                    {"order_id": order},
                )
            )
    return events
