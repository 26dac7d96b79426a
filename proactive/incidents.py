"""Incidents over time: declare, change, resolve, and tell exactly the affected customers.

Every notice goes through the contact policy (channels the customer allows, quiet hours
unless critical) into the outbox, with an id made of the incident, the update and the
customer: the outbox keeps one message per id, so nobody hears the same update twice,
whoever triggers the fan-out and however often.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from connectors.outbox import Outbox
from connectors.store import Store
from core.clock import Clock
from core.customers import Customer
from core.errors import Conflict, InvalidInput, NotFound
from core.incidents import Incident, IncidentIn, IncidentPatch, Severity
from core.messages import Message, Route
from predictors.notices import check_notices, format_eta, notice_template, notice_text
from predictors.policy import PolicyConfig, choose_channels, local_zone, not_before
from predictors.templates import DEFAULT_MAX_BYTES

log = logging.getLogger("forecall.incidents")
CHUNK = 1000


@dataclass
class FanOut:
    targeted: int = 0
    enqueued: int = 0
    excluded: Counter[str] = field(default_factory=Counter)


class Incidents:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        clock: Clock,
        channels: set[str],
        policy: PolicyConfig | None = None,
        message_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.message_bytes = message_bytes
        self.store = store
        self.outbox = outbox
        self.clock = clock
        self.channels = channels
        self.policy = policy or PolicyConfig()

    async def get(self, incident_id: str) -> Incident:
        raw = await self.store.get_incident(incident_id)
        if raw is None:
            raise NotFound(f"no incident {incident_id!r}")
        return Incident.model_validate_json(raw)

    async def declare(self, body: IncidentIn) -> tuple[Incident, bool]:
        """Open the incident and tell the affected; the same declaration again is a no-op.
        Its own texts are checked first: one that fails refuses it and nothing is written."""
        check_notices(body.messages, self.message_bytes)
        raw = await self.store.get_incident(body.id)
        if raw is not None:
            existing = Incident.model_validate_json(raw)
            if (
                IncidentIn.model_validate(existing.model_dump(include=set(IncidentIn.model_fields)))
                != body
            ):
                raise Conflict(f"incident {body.id!r} exists with other values; PATCH it")
            return existing, False
        _eta_ahead(body.eta, self.clock.now())
        stamp = _moment(self.clock.now())
        incident = Incident(**body.model_dump(), created_at=stamp, updated_at=stamp)
        if not await self.store.create_incident(incident.id, incident.model_dump_json().encode()):
            return await self.declare(body)  # a concurrent declaration won: answer as a repeat
        await self.fan_out(incident, "start")
        return incident, True

    async def change(self, incident_id: str, patch: IncidentPatch) -> Incident:
        incident = await self.get(incident_id)
        if incident.status != "open":
            raise Conflict(f"incident {incident_id!r} is resolved")
        if "eta" in patch.model_fields_set:
            _eta_ahead(patch.eta, self.clock.now())
        changes = {name: getattr(patch, name) for name in patch.model_fields_set}
        eta_moved = "eta" in changes and patch.eta != incident.eta
        updated = incident.model_copy(
            update={
                **changes,
                "updated_at": _moment(self.clock.now()),
                "update": incident.update + (1 if eta_moved else 0),
            }
        )
        await self._save(updated)
        if eta_moved:
            await self.fan_out(updated, "update")
        if "scope" in changes:
            await self.fan_out(updated, "start")  # only those not told yet
        return updated

    async def resolve(self, incident_id: str) -> Incident:
        incident = await self.get(incident_id)
        if incident.status == "resolved":
            return incident
        now = _moment(self.clock.now())
        resolved = incident.model_copy(
            update={"status": "resolved", "resolved_at": now, "updated_at": now}
        )
        await self._save(resolved)
        # Those not yet told of the outage (deferred by quiet hours) need not hear of it.
        await self.outbox.cancel(group(incident_id), None, self.clock.now())
        await self.outbox.cancel(later_group(incident_id), None, self.clock.now())
        await self.fan_out(resolved, "resolved")
        return resolved

    async def _save(self, incident: Incident) -> None:
        await self.store.put_incident(
            incident.id, incident.model_dump_json().encode(), incident.status == "open"
        )

    async def affected(self, incident: Incident) -> set[str]:
        found = await self.store.audience(incident.scope.dimensions())
        return found | set(incident.scope.customer_ids)

    async def fan_out(self, incident: Incident, kind: str) -> FanOut:
        told = await self.store.audience_of(incident.id)
        if kind == "start":
            targets = sorted(await self.affected(incident) - told)
        else:
            targets = sorted(told)
        result = FanOut(targeted=len(targets))
        for start in range(0, len(targets), CHUNK):
            chunk = targets[start : start + CHUNK]
            messages = await self._messages(incident, kind, chunk, result)
            result.enqueued += await self.outbox.enqueue(messages, self.clock.now())
            if kind == "start":
                await self.store.add_to_audience(incident.id, chunk)
        # Each customer is counted once, when first told: an update or a closing notice
        # reaches the same people, so their exclusions would count them again.
        if kind == "start":
            for reason, n in result.excluded.items():
                await self.store.count_incident(incident.id, f"excluded:{reason}", n)
        log.info(
            "incident fan-out",
            extra={
                "incident": incident.id,
                "kind": kind,
                "targeted": result.targeted,
                "enqueued": result.enqueued,
            },
        )
        return result

    async def _messages(
        self, incident: Incident, kind: str, customer_ids: Sequence[str], result: FanOut
    ) -> list[Message]:
        records = await self.store.get_customers(customer_ids)
        stops = await self.store.stops_many(customer_ids)
        now = self.clock.now()
        critical = incident.severity is Severity.critical
        eta = incident.eta.timestamp() if incident.eta else None
        custom = next((text for k, text in incident.messages.items() if k == kind), None)
        tag = "start" if kind == "start" else f"{kind}{incident.update}"
        messages = []
        for customer_id, record, stopped in zip(customer_ids, records, stops, strict=True):
            if record is None:
                result.excluded["unknown_customer"] += 1
                continue
            customer = Customer.model_validate_json(record)
            choice = choose_channels(customer, "service", stopped, self.channels)
            if not choice.routes:
                reason = next(iter(choice.excluded.values()), "no_channel")
                result.excluded[reason] += 1
                continue
            zone = local_zone(customer, self.policy)
            local_eta = format_eta(eta, zone, now, customer.locale)
            routes = [
                Route(
                    channel,
                    address,
                    notice_text(
                        kind,
                        customer.locale,
                        incident.title,
                        local_eta,
                        custom,
                        channel,
                        self.message_bytes,
                    ),
                    template=notice_template(custom, channel),
                    params={"title": incident.title, "eta": local_eta or ""},
                )
                for channel, address in choice.routes
            ]
            due_at = not_before(now, zone, "service", critical, self.policy)
            messages.append(
                Message(
                    id=f"inc:{incident.id}:{tag}:{customer_id}",
                    customer_id=customer_id,
                    group=group(incident.id) if kind == "start" else later_group(incident.id),
                    category="service",
                    routes=routes,
                    due_at=due_at,
                    created_at=now,
                    critical=critical,
                    # Shown wherever the message is listed until it goes out.
                    error=f"deferred: {QUIET_HOURS}" if due_at > now else None,
                    meta={"incident": incident.id, "kind": kind},
                )
            )
        return messages


QUIET_HOURS = "quiet_hours"


def _eta_ahead(eta: datetime | None, now: float) -> None:
    """An ETA already past would be announced as a promise nobody can keep."""
    if eta is not None and eta.timestamp() <= now:
        raise InvalidInput(
            "eta",
            f"{eta.isoformat()} has already passed (now {_moment(now).isoformat()}); "
            "give a time in the future, or none",
        )


def group(incident_id: str) -> str:
    """The outbox group of the first notices: one message per customer, so its counts
    are counts of customers."""
    return f"incident:{incident_id}"


def later_group(incident_id: str) -> str:
    """The outbox group of ETA updates and closing notices."""
    return f"incident:{incident_id}:later"


def _moment(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
