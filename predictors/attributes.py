"""Profile attributes as of a moment: what `GET /v1/customers/{id}/profile` returns.

Derived at read time from the stored state (see `predictors.profile`), because
anything that depends on "now" would be stale the moment it was stored.
Definitions of every attribute: docs/profile.md.
"""

from __future__ import annotations

from typing import Any

from core.clock import utc_iso
from core.events import Catalogue
from predictors.profile import bucket_stride, known_reason
from predictors.profile_codec import day_of
from predictors.windows import bitmap_totals, bucket_totals

DAY = 86400.0


def change(current: float, previous: float) -> float | None:
    """Relative change against the previous window; None when there is nothing to compare."""
    return round((current - previous) / previous, 3) if previous else None


def derive(state: dict[str, Any], catalogue: Catalogue, now: float) -> dict[str, Any]:
    today = day_of(now)
    last: dict[str, int] = state.get("l", {})
    windows: dict[str, dict[str, Any]] = {}
    for type_, flat in state.get("d", {}).items():
        spec = catalogue.specs.get(type_)
        if spec is None:
            continue
        stride = bucket_stride(spec)
        counts, sums = bucket_totals(flat, stride, today)
        entry: dict[str, Any] = _labelled(counts)
        entry["change_30d"] = change(counts[2], counts[3])
        if stride == 3:
            entry["sum"] = _labelled([round(s, 2) for s in sums])
        windows[type_] = entry
    for type_, (anchor, hex_mask) in state.get("dm", {}).items():
        days = bitmap_totals(anchor, hex_mask, today)
        windows[type_] = {**_labelled(days), "change_30d": change(days[2], days[3])}

    def count(type_: str, slot: int) -> int:
        return int(windows.get(type_, {}).get(_LABELS[slot], 0))

    activity = {
        type_: {"last_at": utc_iso(ts), "days_since": round((now - ts) / DAY, 2)}
        for type_, ts in sorted(last.items())
    }
    active_ts = max((last.get(t, 0) for t in ("login", "app_feature_used")), default=0)
    delivered_90, delivered_30, delivered_p30 = (
        count("message_delivered", 4),
        count("message_delivered", 2),
        count("message_delivered", 3),
    )
    return {
        "as_of": utc_iso(now),
        "activity": activity,
        "days_inactive": round((now - active_ts) / DAY, 2) if active_ts else None,
        "windows": windows,
        "cart": _cart(state, now),
        "application": _application(state, now),
        "last_order": _last_order(state, now),
        "payments": {
            "failed_7d": count("payment_failed", 0),
            "failed_30d": count("payment_failed", 2),
            "succeeded_30d": count("payment_succeeded", 2),
            "failed_since_last_success": last.get("payment_failed", 0)
            > last.get("payment_succeeded", 0),
        },
        "last_contact": _last_contact(state, now),
        "contacts_30d": count("contact", 2),
        "engagement": {
            "delivered_90d": delivered_90,
            "open_rate_90d": _rate(count("email_opened", 4), delivered_90),
            "click_rate_90d": _rate(count("email_clicked", 4), delivered_90),
            "reply_rate_90d": _rate(count("message_replied", 4), delivered_90),
            "open_rate_30d": _rate(count("email_opened", 2), delivered_30),
            "open_rate_prev_30d": _rate(count("email_opened", 3), delivered_p30),
        },
        "products": sorted(p for p, (on, off) in state.get("prod", {}).items() if on > off),
        "products_deactivated": sorted(
            p for p, (on, off) in state.get("prod", {}).items() if off >= on
        ),
        "deposits": _deposits(state, now),
        "tariff": {"name": state["tar"][0], "since": utc_iso(state["tar"][1])}
        if "tar" in state
        else None,
    }


_LABELS = ("7d", "prev_7d", "30d", "prev_30d", "90d", "prev_90d")


def _labelled(values: list[Any]) -> dict[str, Any]:
    return dict(zip(_LABELS, values, strict=True))


def _rate(part: int, whole: int) -> float | None:
    return round(min(part / whole, 1.0), 3) if whole else None


def _cart(state: dict[str, Any], now: float) -> dict[str, Any] | None:
    cart = state.get("cart")
    if cart is None:
        return None
    is_open = cart["i"] > 0 and cart["u"] > state.get("l", {}).get("order_placed", 0)
    return {
        "open": is_open,
        "items": cart["i"],
        "value": cart["v"],
        "since": utc_iso(cart["s"]),
        "updated_at": utc_iso(cart["u"]),
        "hours_since_update": round((now - cart["u"]) / 3600, 2),
        "abandoned": is_open and state.get("cab", 0) >= cart["s"],
    }


def _application(state: dict[str, Any], now: float) -> dict[str, Any] | None:
    app = state.get("app")
    if app is None:
        return None
    started = app.get("s", 0)
    moved = max(started, app.get("sa", 0))
    return {
        "id": app["id"],
        "product": app.get("p"),
        "open": not app.get("sub"),
        "step": app.get("st", 0),
        "started_at": utc_iso(started),
        "hours_since_progress": round((now - moved) / 3600, 2),
        "submitted_at": utc_iso(app["sub"]) if app.get("sub") else None,
    }


def _last_order(state: dict[str, Any], now: float) -> dict[str, Any] | None:
    orders = state.get("ord")
    if not orders:
        return None
    order_id, placed, amount, status, status_at = orders[0]
    return {
        "id": order_id,
        "status": status,
        "amount": amount,
        "placed_at": utc_iso(placed) if placed else None,
        "status_at": utc_iso(status_at),
        "days_since_status": round((now - status_at) / DAY, 2),
    }


def _last_contact(state: dict[str, Any], now: float) -> dict[str, Any] | None:
    if "ct" not in state:
        return None
    ts, reason, resolved, channel = state["ct"]
    return {
        "at": utc_iso(ts),
        "days_since": round((now - ts) / DAY, 2),
        "reason": reason,
        "resolved": resolved,
        "channel": channel,
        "known_reason": known_reason(state),  # the latest one somebody learned
    }


def _deposits(state: dict[str, Any], now: float) -> list[dict[str, Any]]:
    out = []
    for deposit_id, (opened, amount, matures_on) in sorted(state.get("dep", {}).items()):
        out.append(
            {
                "id": deposit_id,
                "opened_at": utc_iso(opened) if opened else None,
                "amount": amount,
                "matures_on": matures_on,
            }
        )
    return out
