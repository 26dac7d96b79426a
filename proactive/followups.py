"""Follow-ups from events: schedule each scenario's touches, cancel them, count outcomes.

On ingest, each event may
- trigger scenarios: the touches become outbox messages due at trigger time + delay, with
  ids derived from the trigger event (`sc:<scenario>:<customer>:<event id>:<touch>`), so a
  re-sent event schedules nothing new; a held-out customer gets nothing but is counted;
  a scenario that needs approval puts its messages in the approval queue instead;
- cancel scenarios (order_placed cancels the cart's pending touches);
- convert: attributed to the scenario's latest exposure within its window, for the
  treated and the held-out alike (the uplift compares the two).

The rest of the contact policy (consent at send time, caps, send windows, outages, open
contacts) is applied when each message is about to leave: `proactive.policy_gate`.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import orjson

from connectors.outbox import Outbox
from connectors.store import Store
from core.customers import Customer
from core.events import Catalogue, Event
from core.messages import Message, Route
from predictors.policy import choose_channels
from predictors.scenarios import Scenario, Scenarios, seconds
from proactive.metrics import FOLLOWUPS_TOTAL

log = logging.getLogger("forecall.followups")
APPROVALS = "approvals"
APPROVAL_TTL = 48 * 3600


def stats_id(scenario: str) -> str:
    """The counters of a scenario (kept with the store's incident counters)."""
    return f"scenario:{scenario}"


def held_out(customer_id: str, scenario: Scenario) -> bool:
    """Deterministic: the same customer is always in or out of a scenario's holdout."""
    if scenario.spec.holdout <= 0:
        return False
    digest = hashlib.sha256(f"{scenario.name}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < scenario.spec.holdout


class Followups:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        scenarios: Scenarios,
        catalogue: Catalogue,
        channels: set[str],
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.scenarios = scenarios
        self.catalogue = catalogue
        self.channels = channels

    async def on_events(self, events: list[Event], now: float) -> None:
        for event in sorted(events, key=lambda e: e.ts):
            for scenario in self.scenarios.cancelled_by(event.type):
                cancelled = await self.outbox.cancel(scenario.group, event.customer_id, now)
                if cancelled:
                    FOLLOWUPS_TOTAL.labels(scenario.name, "cancelled").inc(cancelled)
            for scenario in self.scenarios.converted_by(event.type):
                await self._convert(scenario, event)
            for scenario in self.scenarios.triggered_by(event.type):
                await self._trigger(scenario, event, now)

    def values(self, scenario: Scenario, event: Event, customer: Customer | None) -> dict[str, Any]:
        """What the scenario's templates may use: the trigger's fields, the first name."""
        spec = self.catalogue.specs[event.type]
        values: dict[str, Any] = {name: None for name in (*spec.required, *spec.optional)}
        values.update(event.data)
        name = (customer.name or "").split() if customer else []
        b2c = customer is None or customer.segment != "b2b"
        values["first_name"] = name[0] if name and b2c else ""
        values["scenario"] = scenario.name
        return values

    async def _trigger(self, scenario: Scenario, event: Event, now: float) -> None:
        if not scenario.condition(event.data):
            return
        raw = await self.store.get_customer(event.customer_id)
        if raw is None:
            FOLLOWUPS_TOTAL.labels(scenario.name, "unknown_customer").inc()
            return
        customer = Customer.model_validate_json(raw)
        counters = stats_id(scenario.name)
        if held_out(customer.id, scenario):
            await self._expose(customer.id, scenario, event, holdout=True)
            FOLLOWUPS_TOTAL.labels(scenario.name, "holdout").inc()
            return
        stops = await self.store.stops(customer.id)
        allowed = self.channels & set(scenario.spec.channels)
        choice = choose_channels(customer, scenario.spec.category, stops, allowed)
        if not choice.routes:
            reason = next(iter(choice.excluded.values()), "no_channel")
            await self.store.count_incident(counters, f"blocked:{reason}")
            FOLLOWUPS_TOTAL.labels(scenario.name, f"blocked:{reason}").inc()
            return
        values = self.values(scenario, event, customer)
        messages = []
        for touch, delay in enumerate(scenario.delays):
            values["touch"] = touch + 1
            text = scenario.text(touch, customer.locale, values)
            routes = [
                Route(
                    channel,
                    address,
                    text,
                    subject=scenario.spec.subject,
                    template=scenario.spec.provider_template,
                    params={"text": text} if scenario.spec.provider_template else {},
                )
                for channel, address in choice.routes
            ]
            messages.append(
                Message(
                    id=f"sc:{scenario.name}:{customer.id}:{event.id}:{touch + 1}",
                    customer_id=customer.id,
                    group=scenario.group,
                    category=scenario.spec.category,
                    routes=routes,
                    due_at=max(now, event.ts + delay),
                    created_at=now,
                    meta={"kind": "followup", "scenario": scenario.name},
                )
            )
        if scenario.spec.approval or scenario.needs_approval(event.data):
            await self._hold(scenario, messages, now)
        else:
            await self.outbox.enqueue(messages, now)
        await self._expose(customer.id, scenario, event, holdout=False)
        FOLLOWUPS_TOTAL.labels(scenario.name, "scheduled").inc(len(messages))

    async def _hold(self, scenario: Scenario, messages: list[Message], now: float) -> None:
        """Critical scenarios wait for a manager: one approval per message."""
        for message in messages:
            if await self.store.get_doc(APPROVALS, message.id) is not None:
                continue  # the trigger was sent again
            record = {
                "id": message.id,
                "customer_id": message.customer_id,
                "scenario": scenario.name,
                "channel": message.routes[0].channel,
                "text": message.routes[0].text,
                "subject": message.routes[0].subject,
                "created_at": now,
                "expires_at": now + APPROVAL_TTL,
                "status": "pending",
                "message": orjson.loads(message.dumps()),
            }
            await self.store.put_doc(
                APPROVALS, message.id, message.customer_id, orjson.dumps(record)
            )

    async def _expose(
        self, customer_id: str, scenario: Scenario, event: Event, holdout: bool
    ) -> None:
        """Remember the latest exposure, once per trigger event, for attribution."""
        marks = await self.store.marks(customer_id)
        if marks.get(f"x:{scenario.name}") == event.ts:
            return
        await self.store.set_marks(
            customer_id, {f"x:{scenario.name}": event.ts, f"h:{scenario.name}": float(holdout)}
        )
        arm = "holdout" if holdout else "treated"
        await self.store.count_incident(stats_id(scenario.name), arm)

    async def _convert(self, scenario: Scenario, event: Event) -> None:
        assert scenario.spec.conversion is not None
        marks = await self.store.marks(event.customer_id)
        exposed = marks.get(f"x:{scenario.name}")
        window = scenario.spec.conversion.within
        if exposed is None or not 0 <= event.ts - exposed <= seconds(window):
            return
        if marks.get(f"c:{scenario.name}") == exposed:
            return  # this exposure already converted
        await self.store.set_marks(event.customer_id, {f"c:{scenario.name}": exposed})
        arm = "holdout" if marks.get(f"h:{scenario.name}") else "treated"
        counters = stats_id(scenario.name)
        await self.store.count_incident(counters, f"converted_{arm}")
        amount = event.data.get("amount")
        if arm == "treated" and isinstance(amount, int | float):
            await self.store.count_incident(counters, "revenue", int(round(amount)))
        FOLLOWUPS_TOTAL.labels(scenario.name, f"converted_{arm}").inc()

    async def on_reply(self, customer_id: str, stopped: bool, at: float) -> None:
        """A reply (or an unsubscribe) counts for the scenario that last wrote to them."""
        marks = await self.store.marks(customer_id)
        latest = [
            (ts, key[2:])
            for key, ts in marks.items()
            if key.startswith("x:") and not marks.get(f"h:{key[2:]}") and 0 <= at - ts <= 7 * 86400
        ]
        if not latest:
            return
        _, name = max(latest)
        counters = stats_id(name)
        await self.store.count_incident(counters, "replied")
        if stopped:
            await self.store.count_incident(counters, "unsubscribed")
