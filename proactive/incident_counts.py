"""An incident's counts as a manager reads them: each affected customer once, and why
those not told were not told.

The first notice is one message per customer (outbox group `incident:<id>`), so its
statuses count customers; updates and closing notices are counted apart
(`incident:<id>:later`). Customers left out at fan-out are counted once, by reason, when
they come into scope; those stopped at send time (a stop-list or a consent withdrawn after
the fan-out) are the rest of `suppressed`.
"""

from __future__ import annotations

from typing import Any

from connectors.outbox import Outbox
from connectors.store import Store
from core.messages import Status
from proactive.incidents import group, later_group

_TOLD = (Status.sent, Status.delivered, Status.read)

# Why a customer was not told, in the words of the manager reading the console.
SUPPRESSION_TITLES: dict[str, dict[str, str]] = {
    "channel_not_configured": {"ru": "нет настроенного канала", "en": "no channel configured"},
    "no_address": {"ru": "нет адреса для канала", "en": "no address for the channel"},
    "stop_list": {"ru": "стоп-лист", "en": "stop list"},
    "consent_withdrawn": {"ru": "согласие отозвано", "en": "consent withdrawn"},
    "no_marketing_consent": {"ru": "нет согласия", "en": "no consent"},
    "unknown_customer": {"ru": "клиент не найден или удалён", "en": "customer not found"},
    "no_channel": {"ru": "нет доступного канала", "en": "no channel available"},
    "at_send": {
        "ru": "остановлено при отправке (стоп-лист или отзыв согласия)",
        "en": "stopped at send time (stop list or consent withdrawn)",
    },
}


def _statuses(by_status: dict[str, int]) -> dict[str, int]:
    return {
        "notified": sum(by_status.get(s.value, 0) for s in _TOLD),
        "pending": by_status.get("pending", 0) + by_status.get("sending", 0),
        "failed": by_status.get("failed", 0) + by_status.get("dead", 0),
        "suppressed": by_status.get("suppressed", 0),
        "cancelled": by_status.get("cancelled", 0),
    }


async def counts(store: Store, outbox: Outbox, incident_id: str) -> dict[str, Any]:
    first = await outbox.counts(group(incident_id))
    later = await outbox.counts(later_group(incident_id))
    counters = await store.incident_counts(incident_id)
    excluded = {k.split(":", 1)[1]: v for k, v in counters.items() if k.startswith("excluded:")}
    customers = _statuses(first)
    at_send = customers["suppressed"]
    reasons = {**excluded, **({"at_send": at_send} if at_send else {})}
    return {
        "affected": len(await store.audience_of(incident_id)),
        **customers,
        "suppressed": at_send + sum(excluded.values()),
        # reason -> customers, largest first; the words for each reason beside.
        "suppressed_by_reason": dict(sorted(reasons.items(), key=lambda item: -item[1])),
        "suppression_titles": {r: SUPPRESSION_TITLES.get(r, {"ru": r, "en": r}) for r in reasons},
        "by_status": first,
        "excluded": excluded,
        "updates": {**_statuses(later), "by_status": later},
        "calls_before_notice": counters.get("calls_before", 0),
        "calls_after_notice": counters.get("calls_after", 0),
    }
