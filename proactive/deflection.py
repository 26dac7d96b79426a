"""Deflection: did telling affected customers about an outage save their calls?

Every call or chat from a customer in an open incident's audience is counted as before
or after that customer's notice went out, per incident and in Prometheus.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter

from connectors.outbox import Outbox
from connectors.store import IncidentStore
from core.incidents import Incident
from core.messages import Status

CALLS_TOTAL = Counter(
    "forecall_incident_calls_total",
    "Calls and chats from customers affected by an open incident, by whether they had "
    "been notified.",
    ["notified"],
)
_TOLD = frozenset({Status.sent, Status.delivered, Status.read})


async def count_contacts(
    store: IncidentStore,
    outbox: Outbox,
    open_incidents: list[Incident],
    customer_ids: Iterable[str],
) -> None:
    if not open_incidents:
        return
    callers = set(customer_ids)
    for incident in open_incidents:
        audience = await store.audience_of(incident.id) & callers
        for customer_id in audience:
            notice = await outbox.get(f"inc:{incident.id}:start:{customer_id}")
            told = notice is not None and notice.status in _TOLD
            await store.count_incident(incident.id, "calls_after" if told else "calls_before")
            CALLS_TOTAL.labels("yes" if told else "no").inc()
