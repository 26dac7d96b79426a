"""After the contact: what it was really about, fed back into the profile, the live
accuracy metrics, and the training data."""

from __future__ import annotations

import csv
import io
from typing import Any, TypedDict

import orjson
from prometheus_client import Counter

from connectors.store import Store
from core.clock import utc_iso
from core.errors import InvalidInput, NotFound
from core.events import CONTACT_REASONS, Catalogue, Event
from predictors.features import FEATURES
from profiles.ingest import ingest

# The confidence at which the built-in catalogue lets the IVR act on a reason.
ACTIONABLE = 0.8
ANONYMOUS = "_anonymous"
OUTCOMES_TOTAL = Counter(
    "forecall_reason_outcomes_total",
    "Inbound contacts whose actual reason is known, by whether the top prediction was "
    "right and whether it was confident enough to act on.",
    ["correct", "actionable"],
)
CONFUSION_TOTAL = Counter(
    "forecall_reason_confusion_total", "Predicted against actual reason.", ["predicted", "actual"]
)
_CHANNEL = {"ivr": "ivr", "chat": "chat", "messenger": "messenger"}


class OutcomeFields(TypedDict):
    """What an operator or the API says of a call, as `record_outcome` takes it."""

    actual_reason: str
    resolved: bool
    offer_accepted: bool | None
    offer_id: str | None


async def record_outcome(
    store: Store,
    catalogue: Catalogue,
    now: float,
    call_id: str,
    *,
    actual_reason: str,
    resolved: bool,
    offer_accepted: bool | None,
    offer_id: str | None,
) -> dict[str, Any]:
    if actual_reason not in CONTACT_REASONS:
        raise InvalidInput(
            "actual_reason", f"unknown reason; reasons: {', '.join(CONTACT_REASONS)}"
        )
    raw = await store.get_call(call_id)
    if raw is None:
        raise NotFound(f"no call {call_id!r} in the last 7 days")
    call = orjson.loads(raw)
    predicted, confidence = call["reasons"][0] if call["reasons"] else ("other", 0.0)
    customer_id = call["customer_id"]
    if customer_id:
        data = {
            "channel": _CHANNEL.get(call["channel"], "desk"),
            "reason": actual_reason,
            "resolved": resolved,
            "call_id": call_id,
        }
        event = Event(f"call:{call_id}", "contact", customer_id, call["ts"], data)
        await ingest(store, [event], catalogue, now)
    example = {
        "features": call["features"],
        "utterance": call["utterance"] or "",
        "reason": actual_reason,
        "predicted": predicted,
        "confidence": confidence,
        "customer_id": customer_id or "",
        "ts": call["ts"],
        "resolved": resolved,
        "offer_accepted": offer_accepted,
        "offer_id": offer_id,
    }
    await store.put_example(customer_id or ANONYMOUS, call_id, orjson.dumps(example))
    correct, actionable = predicted == actual_reason, confidence >= ACTIONABLE
    OUTCOMES_TOTAL.labels(str(correct).lower(), str(actionable).lower()).inc()
    CONFUSION_TOTAL.labels(predicted, actual_reason).inc()
    return {
        "call_id": call_id,
        "predicted": predicted,
        "actual": actual_reason,
        "correct": correct,
        "confidence": confidence,
    }


def examples_csv(records: list[bytes]) -> bytes:
    """The same columns `python -m models.dataset` writes, so one trainer reads both."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*FEATURES, "utterance", "reason", "customer_id", "ts"])
    for raw in records:
        ex = orjson.loads(raw)
        if len(ex["features"]) != len(FEATURES):
            continue  # recorded before the feature set changed: it no longer fits
        writer.writerow(
            [*ex["features"], ex["utterance"], ex["reason"], ex["customer_id"], utc_iso(ex["ts"])]
        )
    return out.getvalue().encode()
