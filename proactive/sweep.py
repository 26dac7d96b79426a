"""The daily sweep: what no event announces. Inactive customers (once per spell of
inactivity) and birthdays (once a year, on the day in the customer's time zone) become
`customer_inactive` and `birthday` events for the follow-up scenarios.

The events' ids are derived from the spell or the year, so running the sweep twice a day
(or on two replicas) schedules nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from connectors.store import CustomerStore
from core.customers import Customer
from core.events import Catalogue, Event
from predictors import attributes, profile_codec
from proactive.followups import Followups

PAGE = 500
MIN_INACTIVE_DAYS = 7  # below this nobody is inactive; scenarios set their own thresholds


@dataclass
class SweepResult:
    customers: int = 0
    inactive: int = 0
    birthdays: int = 0


async def sweep(
    store: CustomerStore, followups: Followups, catalogue: Catalogue, now: float, default_zone: str
) -> SweepResult:
    result = SweepResult()
    cursor = ""
    seen: set[str] = set()  # Redis SCAN may return a key twice; count (and read) it once
    while True:
        ids, cursor = await store.customer_ids(cursor, PAGE)
        events: list[Event] = []
        for customer_id in ids:
            if customer_id in seen:
                continue
            seen.add(customer_id)
            record, blob = await store.get_profile(customer_id)
            if record is None:
                continue
            result.customers += 1
            customer = Customer.model_validate_json(record)
            zone = ZoneInfo(customer.time_zone or default_zone)
            derived = attributes.derive(profile_codec.decode_state(blob), catalogue, now)
            days = derived.get("days_inactive")
            if isinstance(days, int | float) and days >= MIN_INACTIVE_DAYS:
                since = int((now - days * 86400) // 86400)  # the spell's first day
                events.append(
                    Event(
                        f"sweep:inactive:{customer_id}:{since}",
                        "customer_inactive",
                        customer_id,
                        now,
                        {"days": int(days), "segment": customer.segment},
                    )
                )
                result.inactive += 1
            today = datetime.fromtimestamp(now, zone).date()
            born = customer.birthday
            if born is not None and (born.month, born.day) == (today.month, today.day):
                events.append(
                    Event(
                        f"sweep:birthday:{customer_id}:{today.year}",
                        "birthday",
                        customer_id,
                        now,
                        {"segment": customer.segment},
                    )
                )
                result.birthdays += 1
        if events:
            await followups.on_events(events, now)
        if not cursor:
            return result
