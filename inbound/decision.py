"""The inbound decision: who is calling, why, how likely to leave, and what to do.

One store round trip (record and profile together), a precomputed feature vector, two
small models, the open incidents from memory, and arbitration. inbound/calls.py runs it
under the deadline: past it, or on any failure, the caller gets the safe default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import orjson
from prometheus_client import Counter

from connectors.store import CustomerStore
from core.errors import InvalidInput
from core.identity import IdentityKind, normalize
from core.incidents import Incident
from predictors import features, profile_codec
from predictors.churn import ChurnPrediction
from predictors.decision import Context
from predictors.notices import format_eta
from predictors.reason import ReasonPrediction
from predictors.registry import ModelRegistry
from proactive.incident_cache import OpenIncidents

DEGRADED_TOTAL = Counter(
    "forecall_inbound_degraded_total",
    "Inbound contacts answered with the safe default, by why.",
    ["why"],
)


@dataclass(slots=True)
class Facts:
    """Everything known about the contact once the predictors have run."""

    call_id: str
    channel: str
    customer_id: str | None
    record: dict[str, Any] | None
    row: npt.NDArray[np.float32]
    reasons: ReasonPrediction
    churn: ChurnPrediction
    incidents: list[Incident]
    utterance: str | None
    ivr_node: str | None
    now: float
    extra: dict[str, Any] = field(default_factory=dict)


async def identify(
    store: CustomerStore, channel: str, caller: str | None, kind: str | None, region: str
) -> str | None:
    if not caller:
        return None
    identity = (
        IdentityKind(kind)
        if kind
        else (IdentityKind.phone if channel == "ivr" else IdentityKind.chat)
    )
    value = _normalized(identity, caller, region)
    if value is None:
        return None  # a withheld or malformed number is an anonymous caller, not an error
    return await store.find_customer(identity.value, value)


@lru_cache(maxsize=65536)
def _normalized(identity: IdentityKind, caller: str, region: str) -> str | None:
    # Parsing and validating a phone number is a tenth of a decision's CPU, and the same
    # numbers call again and again; a pure function, so remembering it is safe.
    try:
        return normalize(identity, caller, region, "caller")
    except InvalidInput:
        return None


async def facts(
    store: CustomerStore,
    models: ModelRegistry,
    incidents: OpenIncidents,
    *,
    call_id: str,
    channel: str,
    caller: str | None,
    caller_kind: str | None,
    utterance: str | None,
    ivr_node: str | None,
    region: str,
    now: float,
) -> Facts:
    customer_id = await identify(store, channel, caller, caller_kind, region)
    record: dict[str, Any] | None = None
    state: dict[str, Any] = {}
    if customer_id is not None:
        raw, blob = await store.get_profile(customer_id)
        record = orjson.loads(raw) if raw else None
        state = profile_codec.decode_state(blob)
    touching = incidents.touching(customer_id, record) if customer_id else []
    row = features.fill(features.new_row(), state, record, now, bool(touching))
    orders, cart = state.get("ord"), state.get("cart")
    extra = {
        "order_id": orders[0][0] if orders else "",
        "cart_value": cart["v"] if cart and row[0, features.INDEX["cart_open"]] else 0.0,
    }
    return Facts(
        call_id=call_id,
        channel=channel,
        customer_id=customer_id,
        record=record,
        row=row,
        reasons=models.reasons.predict(row, utterance),
        churn=models.churn.predict(
            row,
            features.evidence(state, now) if customer_id else features.NOTHING,
            (record or {}).get("locale", "ru"),
        ),
        incidents=touching,
        utterance=utterance,
        ivr_node=ivr_node,
        now=now,
        extra=extra,
    )


def summary(found: Facts) -> dict[str, Any]:
    """What the IVR and the desk need of the customer: no more personal data than that."""
    record = found.record or {}
    name = (record.get("name") or "").split()
    zone = ZoneInfo(record.get("time_zone") or "Europe/Moscow")
    b2b = record.get("segment") == "b2b"
    return {
        "id": found.customer_id,
        "known": found.customer_id is not None,
        "first_name": name[0] if name and not b2b else None,
        # What a person sees on the card: the company for a business, the first name for a
        # person (no surname); None when neither is known.
        "display_name": (record["name"].strip() if b2b else name[0]) if name else None,
        "segment": record.get("segment", "b2c"),  # defaults are not stored
        "locale": record.get("locale", "ru"),
        "region": record.get("region"),
        "local_time": datetime.fromtimestamp(found.now, zone).strftime("%H:%M"),
        "time_zone": zone.key,  # the desk shows an incident's ETA in it, as the script says it
        "marketing_consent": marketing_consent(record),
    }


def marketing_consent(record: dict[str, Any]) -> bool:
    """True when the latest marketing statement on some channel grants consent."""
    latest: dict[str, tuple[str, bool]] = {}
    for consent in record.get("consents", []):
        if consent.get("purpose") != "marketing":
            continue
        seen = latest.get(consent["channel"])
        if seen is None or consent["at"] > seen[0]:
            latest[consent["channel"]] = (consent["at"], bool(consent["granted"]))
    return any(granted for _, granted in latest.values())


def context(found: Facts) -> Context:
    """The facts as the action catalogue's expressions see them."""
    record = found.record or {}
    zone = ZoneInfo(record.get("time_zone") or "Europe/Moscow")
    locale = record.get("locale", "ru")
    incident = found.incidents[0] if found.incidents else None
    eta = (
        format_eta(incident.eta.timestamp(), zone, found.now, locale)
        if (incident and incident.eta)
        else None
    )
    reason, confidence = found.reasons.reason  # "unknown" after an abstain: ask, not assert
    name = (record.get("name") or "").split()
    return Context(
        found.row,
        channel=found.channel,
        known=found.customer_id is not None,
        segment=record.get("segment", "b2c"),
        locale=locale,
        reason=reason,
        reason_confidence=confidence,
        reasons=[r for r, _ in found.reasons.top],
        churn=found.churn.score,
        churn_band=found.churn.band,
        incident_active=incident is not None,
        incident_title=incident.title if incident else "",
        incident_eta=eta or "",
        marketing_consent=marketing_consent(record),
        monthly_revenue=record.get("monthly_revenue") or 0.0,
        ivr_node=found.ivr_node or "",
        utterance_given=bool(found.utterance),
        hour_local=datetime.fromtimestamp(found.now, zone).hour,
        customer_name=name[0] if name and record.get("segment") != "b2b" else "",
        order_id=str(found.extra.get("order_id", "")),
        cart_value=float(found.extra.get("cart_value", 0.0)),
    )
