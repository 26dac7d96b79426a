"""The feature vector the reason and churn models see, read straight from the stored state.

One function fills a preallocated float32 row in a fixed order (`FEATURES`); training
(`models/dataset.py`) and the runtime use the same function, so they cannot drift apart.
No intermediate dictionaries: the call path runs on every inbound contact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from math import log1p
from typing import Any

import numpy as np
import numpy.typing as npt

from core.events import CONTACT_REASONS
from predictors.profile import known_reason
from predictors.profile_codec import day_of
from predictors.windows import bitmap_totals

CAP_DAYS = 180.0
DAY = 86400.0
_STATUSES = ("placed", "paid", "shipped", "delayed", "delivered", "cancelled", "returned")
_SERVICES = ("internet", "mobile", "tv", "landline")
_PRODUCTS = ("card_debit", "card_credit", "deposit", "loan", "insurance", "eshop")

FEATURES: tuple[str, ...] = (
    "days_since_login",
    "days_since_app",
    "days_inactive",
    "login_days_7d",
    "login_days_30d",
    "login_days_prev_30d",
    "login_days_change_30d",
    "app_days_7d",
    "app_days_30d",
    "orders_30d",
    "orders_prev_30d",
    "orders_change_30d",
    "orders_90d",
    "order_sum_30d_log",
    "payments_ok_30d",
    "payments_failed_7d",
    "payments_failed_30d",
    "failed_since_success",
    "days_since_payment_failed",
    "cart_open",
    "cart_value_log",
    "cart_hours",
    "cart_abandoned",
    "application_open",
    "application_step",
    "application_hours_idle",
    *(f"order_{s}" for s in _STATUSES),
    "days_since_order_status",
    "contacts_7d",
    "contacts_30d",
    "days_since_contact",
    "last_contact_unresolved",
    *(f"last_reason_{r}" for r in CONTACT_REASONS),
    "delivered_90d",
    "open_rate_90d",
    "open_rate_30d",
    "open_rate_prev_30d",
    "open_rate_change",
    "reply_rate_90d",
    "deposit_days_to_maturity",
    "deposit_maturing_30d",
    "days_since_tariff_change",
    "segment_b2b",
    "monthly_revenue_log",
    *(f"service_{s}" for s in _SERVICES),
    *(f"product_{p}" for p in _PRODUCTS),
    "payments_30d_to_revenue",
    "affected_by_outage",
)
INDEX = {name: i for i, name in enumerate(FEATURES)}
WIDTH = len(FEATURES)
_STATUS_AT = INDEX["order_placed"]
_REASON_AT = INDEX[f"last_reason_{CONTACT_REASONS[0]}"]
_REASON_INDEX = {r: i for i, r in enumerate(CONTACT_REASONS)}
_SERVICE_AT = INDEX["service_internet"]
_PRODUCT_AT = INDEX["product_card_debit"]


@dataclass(frozen=True, slots=True)
class Evidence:
    """Which histories a profile actually holds. A zero or a 180-day cap in the row may
    mean "nothing recorded"; what people are told must not read it as a fact."""

    activity: bool  # a login or app use was ever recorded
    messages: bool  # messages were delivered both in the last 30 days and the 30 before


TRUSTED = Evidence(True, True)  # a row built by hand (tests, training): take it as it is
NOTHING = Evidence(False, False)  # an unknown caller: no profile at all


def evidence(state: dict[str, Any], now: float) -> Evidence:
    last = state.get("l", {})
    d = state.get("d", {})
    _, delivered30, delivered_prev30, _, _ = _windows(d.get("message_delivered"), 2, day_of(now))
    return Evidence(
        bool(last.get("login") or last.get("app_feature_used")),
        delivered30 > 0 and delivered_prev30 > 0,
    )


def new_row() -> npt.NDArray[np.float32]:
    return np.zeros((1, WIDTH), dtype=np.float32)


def _windows(flat: list[Any] | None, stride: int, today: int) -> tuple[int, int, int, int, float]:
    """(7d, 30d, prev 30d, 90d, sum 30d) from a flat day-bucket list."""
    w7 = w30 = p30 = w90 = 0
    s30 = 0.0
    if flat:
        for at in range(0, len(flat), stride):
            age = today - flat[at]
            n = flat[at + 1]
            if age < 90:
                w90 += n
                if age < 30:
                    w30 += n
                    if stride == 3:
                        s30 += flat[at + 2]
                    if age < 7:
                        w7 += n
                elif age < 60:
                    p30 += n
    return w7, w30, p30, w90, s30


def _days_active(entry: list[Any] | None, today: int) -> list[int]:
    return bitmap_totals(entry[0], entry[1], today) if entry else _NO_DAYS


_NO_DAYS = [0] * 6


def _days(now: float, ts: int | None) -> float:
    return CAP_DAYS if not ts else min((now - ts) / DAY, CAP_DAYS)


def _change(current: int, previous: int) -> float:
    return (current - previous) / previous if previous else 0.0


def fill(
    row: npt.NDArray[np.float32],
    state: dict[str, Any],
    customer: dict[str, Any] | None,
    now: float,
    affected_by_outage: bool = False,
) -> npt.NDArray[np.float32]:
    """Write the features of one customer into `row` (shape (1, WIDTH) or (WIDTH,))."""
    v = row.reshape(-1)
    v[:] = 0.0
    today = day_of(now)
    last = state.get("l", {})
    d = state.get("d", {})
    dm = state.get("dm", {})

    v[0] = _days(now, last.get("login"))
    v[1] = _days(now, last.get("app_feature_used"))
    v[2] = min(v[0], v[1])
    l7, _, l30, lp30, _, _ = _days_active(dm.get("login"), today)
    v[3], v[4], v[5], v[6] = l7, l30, lp30, _change(l30, lp30)
    a7, _, a30, _, _, _ = _days_active(dm.get("app_feature_used"), today)
    v[7], v[8] = a7, a30
    _, o30, op30, o90, osum = _windows(d.get("order_placed"), 3, today)
    v[9], v[10], v[11], v[12], v[13] = o30, op30, _change(o30, op30), o90, log1p(osum)
    _, ok30, _, _, paid30 = _windows(d.get("payment_succeeded"), 3, today)
    f7, f30, _, _, failed30 = _windows(d.get("payment_failed"), 3, today)
    v[14], v[15], v[16] = ok30, f7, f30
    v[17] = last.get("payment_failed", 0) > last.get("payment_succeeded", 0)
    v[18] = _days(now, last.get("payment_failed"))

    cart = state.get("cart")
    if cart is not None and cart["i"] > 0 and cart["u"] > last.get("order_placed", 0):
        v[19], v[20] = 1.0, log1p(cart["v"])
        v[21] = min((now - cart["u"]) / 3600.0, 24.0 * CAP_DAYS)
        v[22] = state.get("cab", 0) >= cart["s"]
    app = state.get("app")
    if app is not None and not app.get("sub"):
        v[23], v[24] = 1.0, app.get("st", 0)
        v[25] = min((now - max(app.get("s", 0), app.get("sa", 0))) / 3600.0, 24.0 * CAP_DAYS)
    orders = state.get("ord")
    if orders:
        status, status_at = orders[0][3], orders[0][4]
        slot = _STATUSES.index(status) if status in _STATUSES else 0
        v[_STATUS_AT + slot] = 1.0
        v[_STATUS_AT + len(_STATUSES)] = _days(now, status_at)
    else:
        v[_STATUS_AT + len(_STATUSES)] = CAP_DAYS

    at = _STATUS_AT + len(_STATUSES) + 1
    c7, c30, _, _, _ = _windows(d.get("contact"), 2, today)
    v[at], v[at + 1] = c7, c30
    contact = state.get("ct")
    v[at + 2] = _days(now, contact[0] if contact else None)
    if contact:
        v[at + 3] = not contact[2]
        reason = known_reason(state) or contact[1]
        v[_REASON_AT + _REASON_INDEX.get(reason, len(CONTACT_REASONS) - 1)] = 1.0

    at = _REASON_AT + len(CONTACT_REASONS)
    _, dl30, dlp30, dl90, _ = _windows(d.get("message_delivered"), 2, today)
    _, op30_, opp30, op90, _ = _windows(d.get("email_opened"), 2, today)
    _, _, _, rp90, _ = _windows(d.get("message_replied"), 2, today)
    rate90 = op90 / dl90 if dl90 else 0.0
    rate30 = op30_ / dl30 if dl30 else 0.0
    ratep30 = opp30 / dlp30 if dlp30 else 0.0
    v[at], v[at + 1], v[at + 2], v[at + 3] = dl90, min(rate90, 1.0), min(rate30, 1.0), ratep30
    v[at + 4] = rate30 - ratep30
    v[at + 5] = min(rp90 / dl90, 1.0) if dl90 else 0.0

    at += 6
    nearest = CAP_DAYS
    for _, _, matures_on in state.get("dep", {}).values():
        if matures_on:
            days = _iso_day(matures_on) - today
            if -7 <= days < nearest:  # a deposit that matured last week still prompts calls
                nearest = float(days)
    v[at], v[at + 1] = nearest, -7 <= nearest <= 30
    tariff = state.get("tar")
    v[at + 2] = _days(now, tariff[1] if tariff else None)

    at += 3
    if customer is not None:
        v[at] = customer.get("segment") == "b2b"
        v[at + 1] = log1p(customer.get("monthly_revenue") or 0.0)
        for service in customer.get("services", ()):
            if service in _SERVICES:
                v[_SERVICE_AT + _SERVICES.index(service)] = 1.0
        for product in customer.get("products", ()):
            if product in _PRODUCTS:
                v[_PRODUCT_AT + _PRODUCTS.index(product)] = 1.0
    revenue = (customer or {}).get("monthly_revenue") or 0.0
    # A bill far above the usual is what makes people call about billing.
    v[WIDTH - 2] = min((paid30 + failed30) / revenue, 10.0) if revenue > 0 else 0.0
    v[WIDTH - 1] = affected_by_outage
    return row


_EPOCH_ORDINAL = 737425  # date(2020, 1, 1).toordinal(): day_of() counts from there


def _iso_day(text: str) -> int:
    return date.fromisoformat(text).toordinal() - _EPOCH_ORDINAL
