"""Profile attributes precomputed at ingest: the fold of events into a customer's state.

Every change is safe to replay and to receive out of order:
- last-seen times, carts, applications, orders and contacts keep the value with the
  latest timestamp, so applying an event twice or late gives the same state;
- exact counts and sums live in daily buckets, and the events that fed them are
  remembered by fingerprint for as long as their day can be inside a window
  (`HORIZON_DAYS`), so a re-sent event never counts twice;
- "days with a login" and the like are bitmaps of days: setting a bit twice is harmless.
Time-dependent attributes (days inactive, counts "in the last 7 days") are not stored;
`predictors.attributes` derives them at read time from the buckets and timestamps.

State keys (short, because a Redis-resident profile must stay under 1 KB):
    l    {event type: last ts}
    d    {counted type: flat [day, count, (sum,) day, count, (sum,) ...]}
    dm   {day-counted type: [anchor day, hex bitmap; bit i is anchor - i]}
    pd   the day the state was last pruned
    cart {i: items, v: value, s: since, u: updated at}
    cab  when the shop last declared a cart abandoned
    app  {id, p: product, s: started, st: step, sa: step at, sub: submitted at}
    ord  [[order id, placed at, amount, status, status at], ...] newest first, at most 3
    ct   [ts, reason, resolved, channel]
    prod {product: [activated at, deactivated at]}
    dep  {deposit id: [opened at, amount, matures on]}
    tar  [tariff, ts]
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from copy import deepcopy
from typing import Any, NamedTuple

from core.events import Catalogue, Event, EventSpec
from predictors.profile_codec import Seen, day_of, fingerprint

HORIZON_DAYS = 180  # twice the longest window: the previous 90-day window needs it
DEDUPE_DAYS = 7  # how long a re-sent event that feeds no count is still reported as such
MAX_ORDERS = 3
UNKNOWN_REASON = "unknown"  # a contact whose reason nobody told us
MAX_DEPOSITS = 5
_FULL_MASK = (1 << HORIZON_DAYS) - 1


class Folded(NamedTuple):
    applied: int  # events that changed the profile (or were new to it)
    stale: int  # events past the de-duplication window that changed nothing


def apply(
    state: dict[str, Any], seen: Seen, events: Iterable[Event], catalogue: Catalogue, now: float
) -> int:
    """Fold events into `state` and `seen` in place; return how many were new."""
    return fold(state, seen, events, catalogue, now).applied


def fold(
    state: dict[str, Any], seen: Seen, events: Iterable[Event], catalogue: Catalogue, now: float
) -> Folded:
    """Fold events into `state` and `seen` in place; count what they did.

    Events that feed exact counts are remembered for the whole horizon, so a re-sent
    one never counts twice. Every other effect is idempotent by construction; those
    events are remembered for a week only, to report re-sends as duplicates. An event
    older than what is remembered cannot be told from a re-send: it is applied, and
    reported `stale` when that changed nothing (a re-send, or news already superseded).
    """
    today = day_of(now)
    counted_from = today - HORIZON_DAYS
    recent_from = today - DEDUPE_DAYS
    new = stale = 0
    for event in events:
        spec = catalogue.specs[event.type]
        day = day_of(event.ts)
        counted = spec.windowed and spec.counting == "events"
        remembered = day > (counted_from if counted else recent_from)
        before = None if remembered else deepcopy(state)
        if remembered:
            fp = fingerprint(event.id)
            if fp in seen:
                continue
            seen.add(fp, day, short_lived=not counted)
        if counted:
            if remembered:
                amount = event.data.get(spec.amount_field) if spec.amount_field else None
                _count(state.setdefault("d", {}), event.type, day, amount, bucket_stride(spec))
        elif spec.windowed and day > counted_from:
            _mark_day(state.setdefault("dm", {}), event.type, day)
        last = state.setdefault("l", {})
        ts = int(event.ts)
        if ts > last.get(event.type, 0):
            last[event.type] = ts
        handler = _HANDLERS.get(event.type)
        if handler is not None:
            handler(state, event, ts)
        if before is not None and before == state:
            stale += 1
        else:
            new += 1
    if state.get("pd", 0) < today:  # pruning once a day is enough to bound the size
        _prune(state, seen, today, catalogue)
        state["pd"] = today
    return Folded(new, stale)


def _count(buckets: dict[str, list[Any]], type_: str, day: int, amount: Any, stride: int) -> None:
    flat = buckets.setdefault(type_, [])
    days = flat[::stride]
    at = bisect_left(days, day)
    if at < len(days) and days[at] == day:
        flat[at * stride + 1] += 1
        if stride == 3:
            flat[at * stride + 2] = round(flat[at * stride + 2] + (amount or 0.0), 2)
    else:
        entry = [day, 1, round(amount or 0.0, 2)] if stride == 3 else [day, 1]
        flat[at * stride : at * stride] = entry


def _mark_day(bitmaps: dict[str, list[Any]], type_: str, day: int) -> None:
    """Set the bit of `day` in the type's bitmap: bit i is `anchor - i` days."""
    entry = bitmaps.get(type_)
    if entry is None:
        bitmaps[type_] = [day, "1"]
        return
    anchor, mask = entry[0], int(entry[1], 16)
    if day > anchor:
        mask, anchor = (mask << (day - anchor)) | 1, day
    elif anchor - day < HORIZON_DAYS:
        mask |= 1 << (anchor - day)
    bitmaps[type_] = [anchor, format(mask & _FULL_MASK, "x")]


def _prune(state: dict[str, Any], seen: Seen, today: int, catalogue: Catalogue) -> None:
    oldest_day = today - HORIZON_DAYS
    for type_, flat in list(state.get("d", {}).items()):
        spec = catalogue.specs.get(type_)
        if spec is None or not spec.windowed:
            del state["d"][type_]  # the type was removed from the configuration
            continue
        stride = bucket_stride(spec)
        keep = 0
        while keep < len(flat) and flat[keep] <= oldest_day:
            keep += stride
        if keep:
            del flat[:keep]
        if not flat:
            del state["d"][type_]
    for type_, (anchor, hex_mask) in list(state.get("dm", {}).items()):
        live_bits = HORIZON_DAYS - (today - anchor)
        if live_bits <= 0 or type_ not in catalogue.specs:
            del state["dm"][type_]
        else:
            mask = int(hex_mask, 16) & ((1 << live_bits) - 1)
            state["dm"][type_] = [anchor, format(mask, "x")]
    seen.prune(oldest_day + 1, today - DEDUPE_DAYS + 1)


def bucket_stride(spec: EventSpec) -> int:
    """Slots per day in a flat bucket list: day and count, plus the sum if there is one."""
    return 3 if spec.amount_field else 2


def _cart_updated(state: dict[str, Any], event: Event, ts: int) -> None:
    cart = state.get("cart")
    last_order = state.get("l", {}).get("order_placed", 0)
    if cart is None or (cart["u"] <= last_order and ts > last_order):
        state["cart"] = {"i": event.data["items"], "v": event.data["value"], "s": ts, "u": ts}
    elif ts >= cart["u"]:
        cart.update(i=event.data["items"], v=event.data["value"], u=ts)
    elif ts > last_order:
        cart["s"] = min(cart["s"], ts)  # a late update of this same cart: it began earlier


def _cart_abandoned(state: dict[str, Any], event: Event, ts: int) -> None:
    # Kept apart from the cart's contents so that it may arrive before them.
    state["cab"] = max(state.get("cab", 0), ts)


def _application(state: dict[str, Any], event: Event, ts: int) -> None:
    app = state.get("app")
    app_id = event.data["application_id"]
    if app is None or (app["id"] != app_id and ts > _app_latest(app)):
        app = state["app"] = {"id": app_id}
    elif app["id"] != app_id:
        return  # an older application's late event: the newer one is what matters
    if event.type == "application_started":
        app["p"] = event.data["product"]
        app["s"] = min(app.get("s", ts), ts)
    elif event.type == "application_step":
        if ts >= app.get("sa", 0):
            app["st"], app["sa"] = event.data["step"], ts
        app.setdefault("s", ts)
    else:
        app["sub"] = max(app.get("sub", 0), ts)
        app.setdefault("s", ts)


def _app_latest(app: dict[str, Any]) -> int:
    return int(max(app.get("s", 0), app.get("sa", 0), app.get("sub", 0)))


def _order(state: dict[str, Any], event: Event, ts: int) -> None:
    orders: list[list[Any]] = state.setdefault("ord", [])
    order_id = event.data["order_id"]
    entry = next((o for o in orders if o[0] == order_id), None)
    if entry is None:
        entry = [order_id, None, None, "placed", 0]
        orders.append(entry)
    if event.type == "order_placed":
        entry[1], entry[2] = ts, event.data["amount"]
        if entry[4] == 0:
            entry[4] = ts
    else:
        status = "delivered" if event.type == "order_delivered" else event.data["status"]
        if ts >= entry[4]:
            entry[3], entry[4] = status, ts
    orders.sort(key=lambda o: o[1] or o[4], reverse=True)
    del orders[MAX_ORDERS:]


def _contact(state: dict[str, Any], event: Event, ts: int) -> None:
    data = event.data
    if ts >= state.get("ct", [0])[0]:
        state["ct"] = [ts, data["reason"], data["resolved"], data["channel"]]
    # A contact of unknown reason (a call the CRM registered) must not hide the last
    # reason we did learn: kept apart, so the order events arrive in does not matter.
    if data["reason"] != UNKNOWN_REASON and ts >= state.get("ctr", [0])[0]:
        state["ctr"] = [ts, data["reason"]]


def known_reason(state: dict[str, Any]) -> str | None:
    """The reason of the latest contact whose reason is known."""
    known = state.get("ctr")
    if known is None and "ct" in state and state["ct"][1] != UNKNOWN_REASON:
        return str(state["ct"][1])  # a profile written before "ctr" existed
    return str(known[1]) if known is not None else None


def _product(state: dict[str, Any], event: Event, ts: int) -> None:
    entry = state.setdefault("prod", {}).setdefault(event.data["product"], [0, 0])
    slot = 0 if event.type == "product_activated" else 1
    entry[slot] = max(entry[slot], ts)


def _deposit(state: dict[str, Any], event: Event, ts: int) -> None:
    deposits = state.setdefault("dep", {})
    entry = deposits.setdefault(event.data["deposit_id"], [None, None, None])
    if event.type == "deposit_opened":
        entry[0], entry[1] = ts, event.data["amount"]
    else:
        entry[2] = event.data["matures_on"]
    if len(deposits) > MAX_DEPOSITS:
        oldest = min(deposits, key=lambda k: deposits[k][0] or 0)
        del deposits[oldest]


def _tariff(state: dict[str, Any], event: Event, ts: int) -> None:
    if ts >= state.get("tar", [None, 0])[1]:
        state["tar"] = [event.data["tariff"], ts]


_HANDLERS = {
    "cart_updated": _cart_updated,
    "cart_abandoned": _cart_abandoned,
    "application_started": _application,
    "application_step": _application,
    "application_submitted": _application,
    "order_placed": _order,
    "order_status_changed": _order,
    "order_delivered": _order,
    "contact": _contact,
    "product_activated": _product,
    "product_deactivated": _product,
    "deposit_opened": _deposit,
    "deposit_maturing": _deposit,
    "tariff_changed": _tariff,
}
