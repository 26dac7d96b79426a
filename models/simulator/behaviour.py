"""Everyday behaviour: sign-ins and app use, monthly bills and their payments, our
messages and how customers engage with them, tariff moves and switched-off products.

Each function draws one kind of activity for all customers at once, adds it to the
stream, and returns the moments that can later make a customer call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.simulator import catalog
from models.simulator.population import DAY, Bools, Floats, Ints, Population
from models.simulator.stream import EventStream, Moments, in_daytime, poisson_moments, within

PROMOS = ("promo_offer", "cashback_news", "tariff_upgrade")
BILL_SPIKE = 0.04  # bills with roaming or one-off charges on top of the tariff
RETRY_SUCCEEDS = 0.75


@dataclass(frozen=True)
class Channels:
    """Where our messages go: the first preferred channel, and the first one with
    marketing consent (-1 when there is none). Indexes into MESSAGE_CHANNELS."""

    service: Ints
    marketing: Ints


def sign_ins(rng: np.random.Generator, pop: Population, stream: EventStream) -> None:
    cust, t = poisson_moments(rng, pop, pop.login_rate, "login")
    in_app = pop.app_user[cust] & (rng.random(len(cust)) < 0.85)
    stream.columns("login", cust, t, channel=np.where(in_app, "app", "web"))
    # About half of the sessions do something beyond looking at the balance.
    used = rng.random(len(cust)) < 0.45
    cust, t = cust[used], t[used] + rng.uniform(20, 900, size=int(used.sum()))
    feature = np.array(catalog.APP_FEATURES)[
        rng.choice(len(catalog.APP_FEATURES), size=len(cust), p=catalog.APP_FEATURE_SHARE)
    ]
    has_card = pop.has_product("card_debit") | pop.has_product("card_credit")
    has_eshop = pop.has_product("eshop")
    irrelevant = (
        ((feature == "cards") & ~has_card[cust])
        | ((feature == "orders_tracking") & ~has_eshop[cust])
        | ((feature == "speed_test") & ~pop.has_service("internet")[cust])
    )
    feature = np.where(irrelevant, "balance", feature)
    keep = within(pop.horizon, t)
    stream.columns("app_feature_used", cust[keep], t[keep], feature=feature[keep])


def bills(
    rng: np.random.Generator, pop: Population, stream: EventStream, channels: Channels
) -> dict[str, Moments]:
    """Monthly bills (and loan instalments), the bill-ready notice, payments and declines."""
    cust, t = _monthly(rng, pop, np.ones(pop.n, dtype=np.bool_))
    amount = pop.revenue[cust] * rng.normal(1.0, 0.04, size=len(cust))
    spike = rng.random(len(cust)) < BILL_SPIKE
    amount = np.where(spike, amount * rng.uniform(1.6, 3.0, size=len(cust)), amount)
    seen = t >= 2 * DAY
    notice_cust, notice_t = cust[seen], t[seen] - 2 * DAY
    channel = np.array(catalog.MESSAGE_CHANNELS)[channels.service[notice_cust]]
    scenario = np.full(len(notice_cust), "bill_ready")
    stream.columns("message_delivered", notice_cust, notice_t, channel=channel, scenario=scenario)
    _engagement(rng, pop, stream, notice_cust, notice_t, channel)
    loan_cust, loan_t = _monthly(rng, pop, pop.has_product("loan"))
    loan_amount = rng.lognormal(np.log(12000), 0.5, size=pop.n)[loan_cust]
    cust = np.concatenate([cust, loan_cust])
    t = np.concatenate([t, loan_t])
    amount = np.round(np.concatenate([amount, loan_amount]))
    spike = np.concatenate([spike, np.zeros(len(loan_cust), dtype=np.bool_)])

    # Churners who have given up pay less reliably.
    fail_p = np.where(t >= pop.onset[cust], np.maximum(pop.fail_p[cust], 0.2), pop.fail_p[cust])
    failed = rng.random(len(cust)) < fail_p
    reason = np.array(catalog.PAYMENT_FAILURES)[
        rng.choice(
            len(catalog.PAYMENT_FAILURES), size=int(failed.sum()), p=catalog.PAYMENT_FAILURE_SHARE
        )
    ]
    stream.columns("payment_failed", cust[failed], t[failed], amount=amount[failed], reason=reason)
    retry = failed & (rng.random(len(cust)) < RETRY_SUCCEEDS)
    paid_t = np.where(retry, t + rng.uniform(1, 4, size=len(t)) * DAY, t)
    paid = (~failed | retry) & within(pop.horizon, paid_t)
    first = stream.size
    stream.columns(
        "payment_succeeded",
        cust[paid],
        paid_t[paid],
        amount=amount[paid],
        payment_id=[f"p{first + k + 1:08d}" for k in range(int(paid.sum()))],
    )
    return {
        "payment_failed": (cust[failed], t[failed]),
        "bill_spike": (cust[spike], t[spike]),
    }


def _monthly(rng: np.random.Generator, pop: Population, who: Bools) -> Moments:
    """One moment every 30 days per selected customer, from a random billing day."""
    cust = np.flatnonzero(who).astype(np.int64)
    phase = rng.uniform(0, 30 * DAY, size=len(cust))
    months = pop.horizon // (30 * DAY) + 1
    t = (phase[:, None] + np.arange(months)[None, :] * 30 * DAY).ravel()
    cust = np.repeat(cust, months)
    t = np.floor(in_daytime(rng, pop, cust, t))
    inside = within(pop.horizon, t)
    return cust[inside], t[inside]


def messages(
    rng: np.random.Generator, pop: Population, stream: EventStream, channels: Channels
) -> None:
    """Marketing messages to those who agreed, and what customers do with e-mails."""
    rate = np.where(channels.marketing >= 0, np.where(pop.b2b, 0.04, 0.06), 0.0)
    counts = rng.poisson(rate * pop.horizon / DAY)
    cust = np.repeat(np.arange(pop.n, dtype=np.int64), counts)
    t = np.floor(in_daytime(rng, pop, cust, rng.uniform(0, pop.horizon, size=len(cust))))
    keep = within(pop.horizon, t)
    cust, t = cust[keep], t[keep]
    channel = np.array(catalog.MESSAGE_CHANNELS)[channels.marketing[cust]]
    scenario = np.array(PROMOS)[rng.integers(len(PROMOS), size=len(cust))]
    stream.columns("message_delivered", cust, t, channel=channel, scenario=scenario)
    _engagement(rng, pop, stream, cust, t, channel)


def _engagement(
    rng: np.random.Generator,
    pop: Population,
    stream: EventStream,
    cust: Ints,
    t: Floats,
    channel: np.ndarray,
) -> None:
    engaged = pop.activity(cust, t, "engage")
    email = channel == "email"
    opened = email & (rng.random(len(cust)) < pop.open_p[cust] * engaged)
    open_t = t + rng.exponential(5 * 3600, size=len(t))
    opened &= within(pop.horizon, open_t)
    stream.columns("email_opened", cust[opened], open_t[opened])
    clicked = opened & (rng.random(len(cust)) < 0.25)
    click_t = open_t + rng.uniform(10, 300, size=len(t))
    clicked &= within(pop.horizon, click_t)
    stream.columns("email_clicked", cust[clicked], click_t[clicked])
    messenger = np.isin(channel, list(catalog.MESSENGERS))
    replied = messenger & (rng.random(len(cust)) < 0.04 * engaged)
    reply_t = t + rng.exponential(1800, size=len(t))
    replied &= within(pop.horizon, reply_t)
    stream.columns("message_replied", cust[replied], reply_t[replied], channel=channel[replied])


def tariff_moves(
    rng: np.random.Generator, pop: Population, stream: EventStream
) -> tuple[Ints, Moments]:
    """Some customers move to another tariff of their family; returns the final tariffs."""
    moves = rng.random(pop.n) < np.where(pop.b2b, 0.04, 0.06)
    cust = np.flatnonzero(moves).astype(np.int64)
    t = np.floor(in_daytime(rng, pop, cust, rng.uniform(0, pop.horizon, size=len(cust))))
    keep = within(pop.horizon, t)
    cust, t = cust[keep], t[keep]
    family_of = {name: fam for fam, names in catalog.TARIFF_FAMILIES.items() for name in names}
    tariff = pop.tariff.copy()
    for c in cust.tolist():
        current = catalog.TARIFF_NAMES[tariff[c]]
        siblings = [n for n in catalog.TARIFF_FAMILIES[family_of[current]] if n != current]
        tariff[c] = catalog.TARIFF_NAMES.index(siblings[int(rng.integers(len(siblings)))])
    names = np.array(catalog.TARIFF_NAMES)[tariff[cust]]
    stream.columns("tariff_changed", cust, t, tariff=names)
    return tariff, (cust, t)


def switch_offs(rng: np.random.Generator, pop: Population, stream: EventStream) -> Bools:
    """Churners wind down a product before leaving; a few others drop one too.
    Returns the (customer, product) matrix of what was switched off."""
    leaving = np.isfinite(pop.onset) & (rng.random(pop.n) < 0.35)
    other = ~leaving & (rng.random(pop.n) < 0.02)
    since = np.where(leaving, np.clip(pop.onset, 0, pop.horizon), 0.0)
    t = since + rng.random(pop.n) * (pop.horizon - since)
    product = np.argmax(rng.random(pop.products.shape) * pop.products, axis=1)
    cust = np.flatnonzero((leaving | other) & pop.products.any(axis=1)).astype(np.int64)
    t = np.floor(in_daytime(rng, pop, cust, t[cust]))
    keep = within(pop.horizon, t)
    cust, product, t = cust[keep], product[cust[keep]], t[keep]
    stream.columns("product_deactivated", cust, t, product=np.array(catalog.PRODUCTS)[product])
    off = np.zeros_like(pop.products)
    off[cust, product] = True
    return off
