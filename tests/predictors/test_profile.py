"""The fold: replays change nothing, arrival order does not matter, windows are exact."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from core.events import Catalogue, Event
from predictors import attributes, features, profile, profile_codec

CATALOGUE = Catalogue.with_extensions()
NOW = 1_795_000_000.0
DAY = 86400.0


def fold(events: list[Event], blob: bytes | None = None, now: float = NOW) -> tuple[bytes, int]:
    state, seen = profile_codec.decode(blob)
    new = profile.apply(state, seen, events, CATALOGUE, now)
    return profile_codec.encode(state, seen), new


def derived(blob: bytes, now: float = NOW) -> dict[str, Any]:
    return attributes.derive(profile_codec.decode_state(blob), CATALOGUE, now)


def ev(id: str, type: str, days_ago: float, **data: Any) -> Event:
    return Event(id, type, "c", NOW - days_ago * DAY, data)


def history() -> list[Event]:
    e = [ev(f"l{i}", "login", i * 2.5, channel="app") for i in range(40)]
    e += [
        ev(f"o{i}", "order_placed", 3 + i * 9, order_id=f"o{i}", amount=1000.0 + i)
        for i in range(8)
    ]
    hour = 1 / 24
    e += [
        ev("s1", "order_status_changed", 2, order_id="o0", status="shipped"),
        ev("s2", "order_status_changed", 1, order_id="o0", status="delayed"),
        ev("pf", "payment_failed", 3, amount=500.0),
        ev("ps", "payment_succeeded", 5, amount=500.0),
        ev("c1", "cart_updated", 5 * hour, items=1, value=990.0),
        ev("c2", "cart_updated", 4 * hour, items=2, value=2490.0),
        ev("ca", "cart_abandoned", 2 * hour),
        ev("a1", "application_started", 3, application_id="a", product="loan"),
        ev("a2", "application_step", 2, application_id="a", step=2),
        ev("a3", "application_step", 2.5, application_id="a", step=1),
        ev("ct", "contact", 6 * hour, channel="ivr", reason="order_delayed", resolved=False),
        ev("ct0", "contact", 20, channel="chat", reason="other", resolved=True),
        # A call the CRM registered later, reason unknown: it must not hide order_delayed.
        ev("cu", "contact", 3 * hour, channel="desk", reason="unknown", resolved=False),
        ev("pa", "product_activated", 50, product="deposit"),
        ev("pd", "product_deactivated", 10, product="insurance"),
        ev("pi", "product_activated", 60, product="insurance"),
    ]
    return e


def test_windows_and_records() -> None:
    blob, new = fold(history())
    assert new == len(history())
    d = derived(blob)
    logins = d["windows"]["login"]
    # Logins every 2.5 days: ages 0, 2.5, 5 -> 3 inside the 7 calendar days ending today.
    assert (logins["7d"], logins["30d"], logins["prev_30d"]) == (3, 12, 12)
    orders = d["windows"]["order_placed"]
    # Orders 3, 12, 21 days ago; then 30, 39, 48, 57 in the previous 30 days.
    assert (orders["30d"], orders["prev_30d"], orders["change_30d"]) == (3, 4, -0.25)
    assert orders["sum"]["30d"] == 1000.0 + 1001.0 + 1002.0
    assert d["last_order"]["id"] == "o0" and d["last_order"]["status"] == "delayed"
    assert d["cart"]["open"] and d["cart"]["items"] == 2 and d["cart"]["abandoned"]
    assert d["cart"]["since"] == "2026-11-18T06:06:40Z"
    assert d["application"]["open"] and d["application"]["step"] == 2
    assert d["payments"]["failed_since_last_success"] is True
    assert d["last_contact"]["reason"] == "unknown" and d["last_contact"]["channel"] == "desk"
    assert d["last_contact"]["known_reason"] == "order_delayed"
    assert d["contacts_30d"] == 3
    assert d["products"] == ["deposit"] and d["products_deactivated"] == ["insurance"]
    assert d["days_inactive"] == 0.0


def test_replaying_everything_changes_nothing() -> None:
    blob, _ = fold(history())
    again, new = fold(history(), blob)
    assert again == blob
    # Counted events are recognised for the whole horizon, the rest for a week; older
    # ones re-apply idempotently, change nothing, and are reported stale, not applied.
    assert new == 0
    state, seen = profile_codec.decode(blob)
    folded = profile.fold(state, seen, history(), CATALOGUE, NOW)
    old_uncounted = [
        e
        for e in history()
        if not (CATALOGUE.specs[e.type].windowed and CATALOGUE.specs[e.type].counting == "events")
        and e.ts < NOW - profile.DEDUPE_DAYS * DAY
    ]
    assert folded == (0, len(old_uncounted)) and len(old_uncounted) > 0


def test_an_order_after_the_cart_closes_it_even_when_it_arrives_first() -> None:
    cart = Event("c", "cart_updated", "c", NOW - 3600, {"items": 2, "value": 10.0})
    order = Event("o", "order_placed", "c", NOW - 60, {"order_id": "o", "amount": 10.0})
    in_order, _ = fold([cart, order])
    reversed_, _ = fold([order])
    reversed_, _ = fold([cart], reversed_)
    assert derived(in_order)["cart"]["open"] is False
    assert derived(reversed_)["cart"]["open"] is False


def test_time_dependent_attributes_move_with_the_clock() -> None:
    blob, _ = fold([Event("l", "login", "c", NOW, {})])
    assert derived(blob, NOW + 21 * DAY)["days_inactive"] == 21.0
    assert derived(blob, NOW + 8 * DAY)["windows"]["login"]["7d"] == 0
    assert derived(blob, NOW + 8 * DAY)["windows"]["login"]["prev_7d"] == 1


def test_events_past_the_horizon_are_forgotten() -> None:
    blob, _ = fold([Event("l", "login", "c", NOW, {})])
    later = NOW + (profile.HORIZON_DAYS + 1) * DAY
    blob, _ = fold([Event("l2", "login", "c", later, {})], blob, now=later)
    state, seen = profile_codec.decode(blob)
    assert len(seen) == 1
    assert state["dm"]["login"] == [profile_codec.day_of(later), "1"]
    assert state["l"]["login"] == int(later)


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(1, 6))
def test_arrival_order_and_batching_do_not_matter(rnd: random.Random, batches: int) -> None:
    events = history()
    expected, _ = fold(sorted(events, key=lambda e: e.ts))
    shuffled = events[:]
    rnd.shuffle(shuffled)
    duplicated = shuffled + rnd.sample(shuffled, 10)
    rnd.shuffle(duplicated)
    blob = None
    cut = sorted(rnd.sample(range(1, len(duplicated)), batches - 1)) if batches > 1 else []
    for start, end in zip([0, *cut], [*cut, len(duplicated)], strict=True):
        blob, _ = fold(duplicated[start:end], blob)
    assert blob is not None
    assert derived(blob) == derived(expected)


def test_a_call_of_unknown_reason_does_not_hide_a_cancel_intent_from_the_models() -> None:
    cancel = ev("a", "contact", 2, channel="ivr", reason="cancel_intent", resolved=False)
    call = ev("b", "contact", 1, channel="desk", reason="unknown", resolved=False)
    for order in ([cancel, call], [call, cancel]):
        blob, _ = fold(order)
        row = features.fill(features.new_row(), profile_codec.decode_state(blob), None, NOW)
        assert row.reshape(-1)[features.INDEX["last_reason_cancel_intent"]] == 1.0
        assert row.reshape(-1)[features.INDEX["last_reason_other"]] == 0.0
