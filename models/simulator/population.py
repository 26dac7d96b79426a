"""The latent population: who the customers are and how they are inclined to behave.

Everything is a numpy array indexed by customer position, so behaviour can be drawn
for all customers at once. Times are seconds from the start of the span.

Churn is latent: a customer with churn intent (the prior) usually shows it — activity
declines from an onset 30-60 days before the end and then stops (B2C: the last 15-28
days are silent; B2B: the last 30-50) — but some leave without warning, a few leave
without intent, and some loyal customers go quiet too. That keeps the label learnable
without being a copy of the features.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from models.simulator import catalog

DAY = 86400
Bools = NDArray[np.bool_]
Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Activity = Literal["login", "shop", "engage"]

LEAVE_GIVEN_INTENT = 0.9
LEAVE_WITHOUT_INTENT = 0.012
SILENT_CHURNERS = 0.15  # churners whose behaviour does not change before they leave
QUIET_LOYALISTS = 0.07  # non-churners who stop being active before the end anyway
HOLIDAY_GAP = 0.12  # customers with a 10-25 day pause somewhere in the span
RARELY_ONLINE = 0.06  # customers who almost never sign in (they phone instead)


@dataclass(frozen=True)
class Population:
    n: int
    horizon: int  # length of the span, seconds
    b2b: Bools
    english: Bools
    region: Ints
    utc_offset: Ints  # seconds east of UTC, for local daytime
    services: Bools  # (n, len(SERVICES))
    products: Bools  # (n, len(PRODUCTS)) at the start of the span
    tariff: Ints  # index into TARIFF_NAMES at the start of the span
    revenue: Floats
    app_user: Bools
    login_rate: Floats  # sign-ins a day
    cart_rate: Floats  # shopping sessions a day (0 without the e-shop)
    open_p: Floats  # chance to open an e-mail
    fail_p: Floats  # chance a payment is declined
    intent: Bools
    churned: Bools
    onset: Floats  # when a churner's activity starts to decline; inf if never
    stop: Floats  # when it stops; inf if never
    decline: Floats  # activity multiplier between onset and stop
    gap_start: Floats  # a pause in activity, [gap_start, gap_end); inf if none
    gap_end: Floats

    def has_service(self, name: str) -> Bools:
        return self.services[:, catalog.SERVICES.index(name)]

    def has_product(self, name: str) -> Bools:
        return self.products[:, catalog.PRODUCTS.index(name)]

    def activity(self, cust: Ints, t: Floats | Ints, kind: Activity) -> Floats:
        """How active each customer is at each time, relative to their usual rate (0-1)."""
        factor = np.where(t >= self.onset[cust], self.decline[cust], 1.0)
        if kind == "engage":
            return factor**2  # interest in our messages fades faster than habits do
        paused = (t >= self.stop[cust]) | ((t >= self.gap_start[cust]) & (t < self.gap_end[cust]))
        return np.where(paused, 0.0, factor)


def build(
    rng: np.random.Generator,
    customers: int,
    days: int,
    end: datetime,
    b2b_share: float,
    churn_prior: float,
) -> Population:
    n = customers
    horizon = days * DAY
    b2b = rng.random(n) < b2b_share
    seg = b2b.astype(np.int64)
    english = ~b2b & (rng.random(n) < 0.05)
    weights = np.array([r[3] for r in catalog.REGIONS])
    region = rng.choice(len(catalog.REGIONS), size=n, p=weights / weights.sum())
    offsets = np.array([_offset(r[1], end) for r in catalog.REGIONS], dtype=np.int64)

    services = _holdings(rng, seg, [catalog.SERVICE_SHARE[s] for s in catalog.SERVICES])
    # TV here is delivered over the broadband line; a customer with no service gets mobile.
    services[:, 2] &= services[:, 0] | b2b
    services[~services.any(axis=1), 1] = True
    products = _holdings(rng, seg, [catalog.PRODUCT_SHARE[p] for p in catalog.PRODUCTS])
    tariff = _tariffs(rng, services, b2b)
    prices = np.array(list(catalog.TARIFFS.values()))
    revenue = (
        prices[tariff]
        + services[:, 2] * catalog.SERVICE_PRICE["tv"]
        + services[:, 3] * catalog.SERVICE_PRICE["landline"]
        + products[:, catalog.PRODUCTS.index("insurance")] * 199.0
    )

    login_rate = np.where(
        b2b, rng.lognormal(np.log(0.35), 0.6, n), rng.lognormal(np.log(0.14), 0.7, n)
    )
    login_rate = np.where(rng.random(n) < RARELY_ONLINE, 0.004, np.minimum(login_rate, 2.0))
    cart_rate = np.where(
        b2b, rng.lognormal(np.log(0.08), 0.5, n), rng.lognormal(np.log(0.04), 0.6, n)
    )
    cart_rate *= products[:, catalog.PRODUCTS.index("eshop")]
    fail_p = np.where(rng.random(n) < 0.15, 0.12, 0.012)

    intent = rng.random(n) < churn_prior
    churned = np.where(
        intent, rng.random(n) < LEAVE_GIVEN_INTENT, rng.random(n) < LEAVE_WITHOUT_INTENT
    )
    visible = intent & (rng.random(n) >= SILENT_CHURNERS)
    # B2C churners fall silent for the last 15-28 days; B2B ones for the last 30-50.
    stop_before = np.where(b2b, rng.uniform(30, 50, n), rng.uniform(15, 28, n))
    onset_before = np.where(b2b, stop_before + rng.uniform(10, 25, n), rng.uniform(30, 60, n))
    inf = np.full(n, np.inf)
    onset = np.where(visible, horizon - onset_before * DAY, inf)
    stop = np.where(visible, horizon - stop_before * DAY, inf)
    decline = np.where(visible, rng.uniform(0.15, 0.6, n), 1.0)

    quiet = ~intent & (rng.random(n) < QUIET_LOYALISTS)
    holiday = ~quiet & (rng.random(n) < HOLIDAY_GAP)
    quiet_before = np.where(b2b, rng.uniform(30, 60, n), rng.uniform(15, 50, n))
    holiday_start = rng.uniform(0, max(horizon - 20 * DAY, 1), n)
    gap_start = np.where(quiet, horizon - quiet_before * DAY, inf)
    gap_start = np.where(holiday, holiday_start, gap_start)
    gap_end = np.where(holiday, holiday_start + rng.uniform(10, 25, n) * DAY, inf)

    return Population(
        n=n,
        horizon=horizon,
        b2b=b2b,
        english=english,
        region=region.astype(np.int64),
        utc_offset=offsets[region],
        services=services,
        products=products,
        tariff=tariff,
        revenue=np.round(revenue),
        app_user=rng.random(n) < np.where(b2b, 0.5, 0.75),
        login_rate=login_rate,
        cart_rate=cart_rate,
        open_p=rng.beta(2.0, 3.0, n),
        fail_p=fail_p,
        intent=intent,
        churned=churned,
        onset=onset,
        stop=stop,
        decline=decline,
        gap_start=gap_start,
        gap_end=gap_end,
    )


def _offset(zone: str, when: datetime) -> int:
    delta = ZoneInfo(zone).utcoffset(when)
    return int(delta.total_seconds()) if delta is not None else 0


def _holdings(rng: np.random.Generator, seg: Ints, shares: list[tuple[float, float]]) -> Bools:
    table = np.array(shares).T  # (segment, item)
    return rng.random((len(seg), len(shares))) < table[seg]


def _tariffs(rng: np.random.Generator, services: Bools, b2b: Bools) -> Ints:
    internet, mobile = services[:, 0], services[:, 1]
    family = np.where(
        b2b, "biz", np.where(internet & mobile, "combo", np.where(mobile, "mobile", "home"))
    )
    out = np.empty(len(b2b), dtype=np.int64)
    for name, tariffs in catalog.TARIFF_FAMILIES.items():
        rows = np.flatnonzero(family == name)
        picks = rng.integers(len(tariffs), size=len(rows))
        out[rows] = np.array([catalog.TARIFF_NAMES.index(t) for t in tariffs])[picks]
    return out
