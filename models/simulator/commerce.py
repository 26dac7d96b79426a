"""Buying things: shopping carts that become orders (or are abandoned), order delivery
(sometimes late), online applications for financial products (sometimes stuck), and
deposits coming to maturity.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from models.simulator import catalog
from models.simulator.population import DAY, Bools, Floats, Ints, Population
from models.simulator.stream import EventStream, Moments, in_daytime, poisson_moments, within

MINUTE = 60
HOUR = 3600
CONVERTS = 0.5  # carts that end in an order
LATE = 0.10  # orders delivered late


def shopping(rng: np.random.Generator, pop: Population, stream: EventStream) -> dict[str, Moments]:
    cust, t0 = poisson_moments(rng, pop, pop.cart_rate, "shop")
    n = len(cust)
    b2b = pop.b2b[cust]
    updates = 1 + rng.binomial(2, 0.4, size=n)
    unit = np.where(b2b, rng.lognormal(np.log(3000), 0.8, n), rng.lognormal(np.log(1500), 0.9, n))
    items = np.zeros(n, dtype=np.int64)
    t = t0.copy()
    for step in range(int(updates.max(initial=0))):
        live = updates > step
        items = items + live * np.where(b2b, rng.integers(2, 11, n), rng.integers(1, 3, n))
        if step:
            t = t + live * rng.uniform(1, 10, n) * MINUTE
        ok = live & within(pop.horizon, t)
        worth = np.round(items * unit)
        stream.columns("cart_updated", cust[ok], t[ok], items=items[ok], value=worth[ok])
    value = np.round(items * unit).astype(np.float64)
    converts = rng.random(n) < CONVERTS
    placed = t + rng.uniform(1, 20, n) * MINUTE
    ordered = converts & within(pop.horizon, placed)
    abandoned_t = t + rng.uniform(1, 24, n) * HOUR
    declared = ~converts & (rng.random(n) < 0.8) & within(pop.horizon, abandoned_t)
    stream.columns("cart_abandoned", cust[declared], abandoned_t[declared], value=value[declared])
    left = ~converts & within(pop.horizon, t + 3 * HOUR)
    delayed = _orders(
        rng, pop, stream, cust[ordered], placed[ordered], value[ordered], items[ordered]
    )
    return {
        "cart_abandoned": (cust[left], np.where(declared, abandoned_t, t + 3 * HOUR)[left]),
        "order_delayed": delayed,
    }


def _orders(
    rng: np.random.Generator,
    pop: Population,
    stream: EventStream,
    cust: Ints,
    placed: Floats,
    amount: Floats,
    items: Ints,
) -> Moments:
    n = len(cust)
    first = stream.size
    order_id = np.array([f"o{first + k + 1:08d}" for k in range(n)], dtype=object)
    stream.columns("order_placed", cust, placed, order_id=order_id, amount=amount, items=items)

    def status(mask: Bools, at: Floats, name: str) -> None:
        ok = mask & within(pop.horizon, at)
        stream.columns(
            "order_status_changed",
            cust[ok],
            at[ok],
            order_id=order_id[ok],
            status=np.full(int(ok.sum()), name),
        )

    b2b = pop.b2b[cust]
    cancelled = rng.random(n) < 0.03
    status(cancelled, placed + rng.uniform(1, 24, n) * HOUR, "cancelled")
    going = ~cancelled
    # Businesses pay invoices; consumers pay by card when they order.
    paid_t = placed + rng.uniform(0.5, 3, n) * DAY
    status(going & b2b, paid_t, "paid")
    shipped_t = np.where(b2b, paid_t, placed) + rng.uniform(0.3, 2, n) * DAY
    status(going, shipped_t, "shipped")
    late = going & (rng.random(n) < LATE)
    due_t = shipped_t + rng.uniform(2, 4, n) * DAY
    status(late, due_t, "delayed")
    delivered_t = np.where(
        late, due_t + rng.uniform(2, 7, n) * DAY, shipped_t + rng.uniform(1.5, 4, n) * DAY
    )
    ok = going & within(pop.horizon, delivered_t)
    stream.columns("order_delivered", cust[ok], delivered_t[ok], order_id=order_id[ok])
    status(ok & (rng.random(n) < 0.03), delivered_t + rng.uniform(2, 14, n) * DAY, "returned")
    reported = late & within(pop.horizon, due_t)
    return cust[reported], due_t[reported]


def applications(
    rng: np.random.Generator, pop: Population, stream: EventStream
) -> tuple[dict[str, Moments], Bools]:
    """Online applications; returns the stuck ones and the products they switched on."""
    applying = rng.random(pop.n) < np.where(pop.b2b, 0.12, 0.2)
    cust = np.flatnonzero(applying).astype(np.int64)
    held = pop.products[cust][:, [catalog.PRODUCTS.index(p) for p in catalog.APPLICABLE]]
    # Pick a product the customer does not have yet (random among those).
    wanted = np.argmax(rng.random(held.shape) * ~held, axis=1)
    fresh = ~held[np.arange(len(cust)), wanted]
    cust, wanted = cust[fresh], wanted[fresh]
    n = len(cust)
    product = np.array(catalog.APPLICABLE)[wanted]
    t = np.floor(in_daytime(rng, pop, cust, rng.uniform(0, pop.horizon, n)))
    ok = within(pop.horizon, t)
    cust, product, t, n = cust[ok], product[ok], t[ok], int(ok.sum())
    first = stream.size
    app_id = np.array([f"a{first + k + 1:08d}" for k in range(n)], dtype=object)
    stream.columns("application_started", cust, t, application_id=app_id, product=product)

    steps = len(catalog.APPLICATION_STEPS)
    submitted = rng.random(n) < 0.6
    reached = np.where(submitted, steps, rng.integers(1, steps, n))
    last = t.copy()
    for step in range(1, steps + 1):
        live = reached >= step
        last = np.where(live, last + rng.uniform(1, 15, n) * MINUTE, last)
        ok = live & within(pop.horizon, last)
        stream.columns(
            "application_step",
            cust[ok],
            last[ok],
            application_id=app_id[ok],
            step=np.full(int(ok.sum()), step),
            step_name=np.full(int(ok.sum()), catalog.APPLICATION_STEPS[step - 1]),
        )
    sub_t = last + rng.uniform(1, 10, n) * MINUTE
    ok = submitted & within(pop.horizon, sub_t)
    stream.columns("application_submitted", cust[ok], sub_t[ok], application_id=app_id[ok])
    on_t = sub_t + rng.uniform(0.5, 3, n) * DAY
    approved = ok & (rng.random(n) < 0.85) & within(pop.horizon, on_t)
    stream.columns("product_activated", cust[approved], on_t[approved], product=product[approved])
    new_deposit = approved & (product == "deposit")
    amount = np.round(rng.lognormal(np.log(200_000), 0.8, n), -3)
    stream.columns(
        "deposit_opened",
        cust[new_deposit],
        on_t[new_deposit] + 1,
        deposit_id=[f"d{a[1:]}" for a in app_id[new_deposit]],
        amount=amount[new_deposit],
    )
    activated = np.zeros_like(pop.products)
    index = np.array([catalog.PRODUCTS.index(p) for p in product[approved]], dtype=np.int64)
    activated[cust[approved], index] = True
    stuck = ~submitted & within(pop.horizon, last)
    return {"application_stuck": (cust[stuck], last[stuck])}, activated


def deposits(
    rng: np.random.Generator, pop: Population, stream: EventStream, start: date
) -> dict[str, Moments]:
    """Deposits held since before the span: the maturity notice, and reinvestment."""
    cust = np.flatnonzero(pop.has_product("deposit")).astype(np.int64)
    n = len(cust)
    days = pop.horizon // DAY
    matures = rng.integers(-20, days + 90, n)  # day of maturity, from the span's start
    due = np.asarray((matures - rng.uniform(7, 14, n)) * DAY, dtype=np.float64)
    notice = np.floor(in_daytime(rng, pop, cust, due))
    ok = within(pop.horizon, notice)
    deposit_id = np.array([f"d{c:06d}x{k}" for k, c in enumerate(cust.tolist())], dtype=object)
    matures_on = [(start + timedelta(days=int(d))).isoformat() for d in matures[ok]]
    stream.columns(
        "deposit_maturing", cust[ok], notice[ok], deposit_id=deposit_id[ok], matures_on=matures_on
    )
    amount = np.round(rng.lognormal(np.log(300_000), 0.8, n) * np.where(pop.b2b[cust], 5, 1), -3)
    again_t = np.floor(in_daytime(rng, pop, cust, (matures * DAY).astype(np.float64)))
    again = (rng.random(n) < 0.5) & within(pop.horizon, again_t) & (matures >= 0)
    stream.columns(
        "deposit_opened",
        cust[again],
        again_t[again],
        deposit_id=[f"{d}r" for d in deposit_id[again]],
        amount=np.round(amount[again] * 1.04, -3),
    )
    return {"deposit_maturing": (cust[ok], notice[ok])}
