"""Validation of an event batch as a whole: all or nothing."""

from __future__ import annotations

import re
from typing import Any

from core.errors import InvalidInput, PayloadTooLarge
from core.events import Catalogue, Event, parse_ts

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")
# Events dated further ahead than this are clock bugs upstream; they would poison windows.
MAX_FUTURE_SECONDS = 24 * 3600
_ENVELOPE = frozenset({"id", "type", "customer_id", "ts", "data"})


def check_id(field: str, value: Any) -> str:
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise InvalidInput(
            field, "must be 1-128 characters: letters, digits and . _ : @ - (not first)"
        )
    return value


def validate_batch(body: Any, catalogue: Catalogue, max_events: int, now: float) -> list[Event]:
    """Turn a decoded `{"events": [...]}` body into events, or raise naming the first fault."""
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise InvalidInput("events", "the body must be an object with an `events` array")
    raw_events: list[Any] = body["events"]
    if len(raw_events) > max_events:
        raise PayloadTooLarge(
            "events", f"a batch holds at most {max_events} events, this one {len(raw_events)}"
        )
    if not raw_events:
        raise InvalidInput("events", "the batch is empty")
    events: list[Event] = []
    for i, raw in enumerate(raw_events):
        if not isinstance(raw, dict):
            raise InvalidInput(f"events[{i}]", "must be an object")
        unknown = raw.keys() - _ENVELOPE
        if unknown:
            raise InvalidInput(f"events[{i}].{sorted(unknown)[0]}", "is not an event field")
        event_id = check_id(f"events[{i}].id", raw.get("id"))
        customer_id = check_id(f"events[{i}].customer_id", raw.get("customer_id"))
        type_ = raw.get("type")
        if not isinstance(type_, str):
            raise InvalidInput(
                f"events[{i}].type", f"required; accepted types: {catalogue.accepted()}"
            )
        ts = parse_ts(i, raw.get("ts"))
        if ts > now + MAX_FUTURE_SECONDS:
            raise InvalidInput(f"events[{i}].ts", "is more than 24 hours in the future")
        data = raw.get("data") or {}
        if not isinstance(data, dict):
            raise InvalidInput(f"events[{i}].data", "must be an object")
        events.append(Event(event_id, type_, customer_id, ts, catalogue.check(i, type_, data)))
    return events
