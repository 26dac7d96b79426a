"""The contact policy at send time, for follow-ups: one set of rules for every scenario.

In order, for a message about to leave:
1. the stop-list holds at once (this channel only: the next one is tried);
2. marketing needs the customer's documented consent for the channel, as it is NOW
   (a consent withdrawn after scheduling wins);
3. no follow-up but transactional news while an open outage touches the customer, and no
   marketing while their last contact is unresolved (a week at most): deferred by an
   hour, then looked at again;
4. the category's local send windows (marketing: weekdays 10-12 and 15-19 by default):
   outside them the message waits for the next window, deferred, never dropped;
5. marketing caps, by the customer's calendar day and ISO week in their time zone
   (1 a day, 3 a week by default), counted when a message passes.
Every block and deferral carries its reason, and `forecall_policy_decisions_total` counts
it. Incident notices keep their own rules (`proactive.incidents`); the stop-list gate
still applies to them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from connectors.store import Store
from core.clock import Clock
from core.customers import Channel, Customer, Purpose
from core.incidents import Incident
from core.messages import Message
from predictors import profile_codec
from predictors.scenarios import PolicySpec, parse_window
from proactive.dispatcher import Block, SendGate
from proactive.metrics import POLICY_TOTAL

OPEN_CONTACT_DAYS = 7
RECHECK = 3600.0  # an outage or an open contact: look again in an hour


class ContactPolicy:
    def __init__(
        self, store: Store, inner: SendGate, policy: PolicySpec, default_zone: str, clock: Clock
    ) -> None:
        self.store = store
        self.clock = clock
        self.inner = inner  # the stop-list and incident-notice rules
        self.policy = policy
        self.default_zone = default_zone
        self.windows = {
            category: [parse_window(w) for w in windows]
            for category, windows in policy.windows.items()
        }

    async def __call__(self, message: Message) -> Block | None:
        block = await self.inner(message)
        if block is None and message.meta.get("kind") == "followup":
            block = await self._followup(message)
        if block is not None:
            decision = "deferred" if block.defer_until is not None else "blocked"
            POLICY_TOTAL.labels(message.category, decision, block.reason).inc()
        return block

    async def _followup(self, message: Message) -> Block | None:
        raw = await self.store.get_customer(message.customer_id)
        if raw is None:
            return Block("customer_erased")
        customer = Customer.model_validate_json(raw)
        now = self.clock.now()
        marketing = message.category == "marketing"
        if marketing:
            consent = customer.consent(Purpose.marketing, Channel(message.route.channel))
            if consent is None or not consent.granted:
                return Block("no_marketing_consent", channel_only=True)
        # An outage is the one thing to talk about: only transactional news (an order's
        # status) goes out beside it.
        if message.category != "transactional" and await self._outage(customer):
            return Block("outage_open", defer_until=now + RECHECK)
        if marketing:
            if await self._open_contact(customer.id, now):
                return Block("contact_open", defer_until=now + RECHECK)
        zone = ZoneInfo(customer.time_zone or self.default_zone)
        opens = self.next_window(message.category, now, zone)
        if opens > now:
            return Block("send_window", defer_until=opens)
        if marketing:
            return await self._caps(customer.id, now, zone)
        return None

    def next_window(self, category: str, now: float, zone: ZoneInfo) -> float:
        """`now` if the category may be sent now, else when its next window opens."""
        windows = self.windows.get(category)
        if not windows:
            return now
        local = datetime.fromtimestamp(now, zone)
        for days_ahead in range(8):
            day = (local + timedelta(days=days_ahead)).date()
            starts = []
            for weekdays, start, end in windows:
                if day.isoweekday() not in weekdays:
                    continue
                opening = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(
                    minutes=start
                )
                closing = opening + timedelta(minutes=end - start)
                if closing <= local:
                    continue
                starts.append(max(opening, local))
            if starts:
                return min(starts).timestamp()
        return now  # no window at all this week: the configuration would be void; send

    async def _caps(self, customer_id: str, now: float, zone: ZoneInfo) -> Block | None:
        local = datetime.fromtimestamp(now, zone)
        year, week, _ = local.isocalendar()
        day_key, week_key = f"md:{local.date().isoformat()}", f"mw:{year}-{week:02d}"
        # Take a place under both caps first, atomically, and give it back when over:
        # two messages sent at the same moment must not both see room for one.
        taken = await self.store.bump_marks(customer_id, {day_key: 1, week_key: 1})
        over_day = taken[day_key] > self.policy.marketing_per_day
        if over_day or taken[week_key] > self.policy.marketing_per_week:
            await self.store.bump_marks(customer_id, {day_key: -1, week_key: -1})
            midnight = datetime(local.year, local.month, local.day, tzinfo=zone)
            if over_day:
                return Block("daily_cap", defer_until=(midnight + timedelta(1)).timestamp())
            monday = midnight + timedelta(days=8 - local.isoweekday())
            return Block("weekly_cap", defer_until=monday.timestamp())
        marks = await self.store.marks(customer_id)
        stale = [k for k in marks if k[:3] in ("md:", "mw:") and k not in (day_key, week_key)]
        if stale:
            await self.store.set_marks(customer_id, dict.fromkeys(stale))
        return None

    async def _outage(self, customer: Customer) -> bool:
        # Read each time: an outage's end must release the offers it held, at once.
        incidents = [Incident.model_validate_json(r) for r in await self.store.open_incidents()]
        return any(
            i.scope.touches(customer.id, customer.region, customer.services, customer.network_nodes)
            for i in incidents
        )

    async def _open_contact(self, customer_id: str, now: float) -> bool:
        _record, blob = await self.store.get_profile(customer_id)
        contact = profile_codec.decode_state(blob).get("ct")
        if not contact:
            return False
        ts, _reason, resolved, _channel = contact
        return not resolved and now - ts < OPEN_CONTACT_DAYS * 86400
