"""The event catalogue: which event types exist, what their `data` carries, and validation.

The catalogue is data. Built-in types are listed here; deployments add their own
through settings (`event_types`), which get generic treatment in the profile:
last-seen time, and windowed counts (and sums, if an amount field is named).

Validation is hand-written rather than one pydantic model per type: ingest runs at
tens of thousands of events a second, and the errors must name `events[i].data.field`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from core.errors import InvalidInput

MAX_TEXT = 256


class FieldKind(StrEnum):
    text = "text"
    number = "number"
    integer = "integer"
    boolean = "boolean"
    day = "date"


@dataclass(frozen=True, slots=True)
class EventSpec:
    name: str
    required: Mapping[str, FieldKind] = field(default_factory=dict)
    optional: Mapping[str, FieldKind] = field(default_factory=dict)
    choices: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Windowed events get 7/30/90-day counts and the previous window of each.
    windowed: bool = False
    # "events" counts every event exactly (daily buckets, fingerprinted against replays);
    # "days" counts the days with at least one (a bitmap: idempotent, and 23 bytes).
    counting: str = "events"
    amount_field: str | None = None
    description: str = ""


CONTACT_REASONS = (
    "outage",
    "payment_failed",
    "order_delayed",
    "billing_question",
    "technical_problem",
    "cancel_intent",
    "cart_help",
    "application_stuck",
    "card_question",
    "deposit_question",
    "other",
)

ORDER_STATUSES = frozenset({"paid", "shipped", "delayed", "delivered", "cancelled", "returned"})
TEXT, NUM, INT, BOOL, DATE = (
    FieldKind.text,
    FieldKind.number,
    FieldKind.integer,
    FieldKind.boolean,
    FieldKind.day,
)

BUILTIN_EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        "login",
        optional={"channel": TEXT},
        windowed=True,
        counting="days",
        description="The customer signed in to the app or the web account.",
    ),
    EventSpec(
        "app_feature_used",
        {"feature": TEXT},
        windowed=True,
        counting="days",
        description="A feature of the app was used (self-service activity).",
    ),
    EventSpec(
        "payment_succeeded",
        {"amount": NUM},
        {"payment_id": TEXT},
        windowed=True,
        amount_field="amount",
        description="A payment went through.",
    ),
    EventSpec(
        "payment_failed",
        {"amount": NUM},
        {"reason": TEXT},
        windowed=True,
        amount_field="amount",
        description="A payment was declined.",
    ),
    EventSpec(
        "order_placed",
        {"order_id": TEXT, "amount": NUM},
        {"items": INT},
        windowed=True,
        amount_field="amount",
        description="An order was placed (a purchase).",
    ),
    EventSpec(
        "order_status_changed",
        {"order_id": TEXT, "status": TEXT},
        choices={"status": ORDER_STATUSES},
        description="An order moved to a new status.",
    ),
    EventSpec("order_delivered", {"order_id": TEXT}, description="An order reached the customer."),
    EventSpec(
        "cart_updated",
        {"items": INT, "value": NUM},
        description="The cart now holds `items` items worth `value`.",
    ),
    EventSpec(
        "cart_abandoned",
        optional={"value": NUM},
        description="The shop declared the cart abandoned.",
    ),
    EventSpec(
        "application_started",
        {"application_id": TEXT, "product": TEXT},
        description="An application (loan, card, connection...) was started.",
    ),
    EventSpec(
        "application_step",
        {"application_id": TEXT, "step": INT},
        {"step_name": TEXT},
        description="An application reached step `step`.",
    ),
    EventSpec(
        "application_submitted",
        {"application_id": TEXT},
        description="An application was completed and submitted.",
    ),
    EventSpec(
        "contact",
        {"channel": TEXT, "reason": TEXT, "resolved": BOOL},
        {"call_id": TEXT, "next_step": TEXT, "next_step_due": DATE},
        choices={"channel": frozenset({"ivr", "chat", "messenger", "email", "desk"})},
        windowed=True,
        description="A call or chat took place, with its resolved reason.",
    ),
    EventSpec(
        "message_delivered",
        {"channel": TEXT},
        {"scenario": TEXT},
        windowed=True,
        description="One of our messages reached the customer.",
    ),
    EventSpec("email_opened", windowed=True, description="The customer opened our email."),
    EventSpec("email_clicked", windowed=True, description="The customer clicked in our email."),
    EventSpec(
        "message_replied",
        {"channel": TEXT},
        windowed=True,
        description="The customer replied to one of our messages.",
    ),
    EventSpec(
        "deposit_opened", {"deposit_id": TEXT, "amount": NUM}, description="A deposit was opened."
    ),
    EventSpec(
        "deposit_maturing",
        {"deposit_id": TEXT, "matures_on": DATE},
        description="A deposit will mature on `matures_on`.",
    ),
    EventSpec(
        "customer_inactive",
        {"days": INT, "segment": TEXT},
        description="Found by the daily sweep: no activity for `days` days (once a spell).",
    ),
    EventSpec(
        "birthday",
        {"segment": TEXT},
        description="Found by the daily sweep on the customer's birthday, in their time zone.",
    ),
    EventSpec("product_activated", {"product": TEXT}, description="A product became active."),
    EventSpec("product_deactivated", {"product": TEXT}, description="A product was switched off."),
    EventSpec("tariff_changed", {"tariff": TEXT}, description="The customer moved to a tariff."),
)


class Catalogue:
    """The accepted event types, built-in plus configured."""

    def __init__(self, specs: Iterable[EventSpec]) -> None:
        self.specs: dict[str, EventSpec] = {}
        for spec in specs:
            if spec.name in self.specs:
                raise ValueError(f"event type {spec.name!r} is defined twice")
            self.specs[spec.name] = spec
        self.windowed: tuple[str, ...] = tuple(s.name for s in self.specs.values() if s.windowed)
        self._accepted = ", ".join(sorted(self.specs))

    @classmethod
    def with_extensions(cls, extra: Iterable[EventSpec] = ()) -> Catalogue:
        return cls((*BUILTIN_EVENTS, *extra))

    def accepted(self) -> str:
        return self._accepted

    def check(self, index: int, type_: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """Validate one event's `data`; return it with values coerced to their kinds."""
        spec = self.specs.get(type_)
        if spec is None:
            raise InvalidInput(
                f"events[{index}].type",
                f"unknown event type {type_!r}; accepted types: {self._accepted}",
            )
        out: dict[str, Any] = {}
        for name, kind in spec.required.items():
            if data.get(name) is None:
                raise InvalidInput(f"events[{index}].data.{name}", f"required for {type_}")
            out[name] = _coerce(index, name, kind, data[name], spec)
        for name, value in data.items():
            if name in spec.required:
                continue
            optional_kind = spec.optional.get(name)
            if optional_kind is None:
                allowed = ", ".join([*spec.required, *spec.optional]) or "none"
                raise InvalidInput(
                    f"events[{index}].data.{name}",
                    f"not a field of {type_}; its fields: {allowed}",
                )
            if value is not None:
                out[name] = _coerce(index, name, optional_kind, value, spec)
        return out


def _coerce(index: int, name: str, kind: FieldKind, value: Any, spec: EventSpec) -> Any:
    where = f"events[{index}].data.{name}"
    if kind is FieldKind.text:
        if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
            raise InvalidInput(where, f"must be a non-empty string of at most {MAX_TEXT} chars")
        allowed = spec.choices.get(name)
        if allowed is not None and value not in allowed:
            raise InvalidInput(where, f"must be one of: {', '.join(sorted(allowed))}")
        return value
    if kind is FieldKind.boolean:
        if not isinstance(value, bool):
            raise InvalidInput(where, "must be true or false")
        return value
    if kind is FieldKind.integer:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
            raise InvalidInput(where, "must be a whole number from 0")
        return value
    if kind is FieldKind.number:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(where, "must be a number")
        if not 0 <= value < 1e12:
            raise InvalidInput(where, "must be a non-negative amount below 10^12")
        return float(value)
    try:
        return date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise InvalidInput(where, "must be a date as YYYY-MM-DD") from None


@dataclass(slots=True)
class Event:
    """An event that passed validation: what the profile fold consumes."""

    id: str
    type: str
    customer_id: str
    ts: float
    data: dict[str, Any]


def parse_ts(index: int, raw: Any) -> float:
    if not isinstance(raw, str):
        raise InvalidInput(f"events[{index}].ts", "must be an ISO-8601 date-time string")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"events[{index}].ts", "must be an ISO-8601 date-time") from None
    if moment.tzinfo is None:
        raise InvalidInput(f"events[{index}].ts", "must carry a time zone (Z or +03:00)")
    return moment.timestamp()
