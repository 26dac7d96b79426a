"""Why customers get in touch: each contact is caused either by the customer's situation
(something visible before the call, in events or in what they hold) or, for the noise
share, has a reason drawn with no regard to the customer at all.

Caused contacts, by origin:
- a precursor event: a declined payment, a late order, an abandoned cart, a stuck
  application, a maturing deposit, a tariff change or an unusually high bill;
- churn: customers about to leave ask to cancel, and many had complaints that stayed
  unresolved before their activity dropped;
- an outage touching the customer (visible to the runtime as an active incident);
- what they hold: broadband customers have technical problems, card holders card
  questions;
- an earlier unresolved contact: people call again, often about a technical fault.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.simulator import catalog
from models.simulator.outages import Outages
from models.simulator.outages import calls as outage_calls
from models.simulator.population import DAY, Bools, Floats, Ints, Population
from models.simulator.stream import Moments, in_daytime, not_at_night, within

HOUR = 3600
REASON = {name: k for k, name in enumerate(catalog.CONTACT_REASONS)}

# situation -> (reason, chance of a contact, minimum delay h, mean extra delay h)
RULES: dict[str, tuple[str, float, float, float]] = {
    "payment_failed": ("payment_failed", 0.35, 0.2, 20.0),
    "order_delayed": ("order_delayed", 0.40, 0.5, 24.0),
    "cart_abandoned": ("cart_help", 0.05, 0.2, 8.0),
    "application_stuck": ("application_stuck", 0.45, 48.0, 60.0),
    "deposit_maturing": ("deposit_question", 0.35, 12.0, 120.0),
    "tariff_changed": ("billing_question", 0.25, 24.0, 200.0),
    "bill_spike": ("billing_question", 0.35, 2.0, 30.0),
}
# Contacts a day from what customers hold, for those who hold it.
TECHNICAL_RATE = 1 / 700
CARD_RATE = 1 / 800
CANCEL_CALL = 0.45  # visible churners who ask to cancel
GRIEVANCE = 0.5  # visible churners with a complaint before their activity fell
CALL_AGAIN = 0.3  # unresolved contacts followed by another one
# Reasons of noise contacts: independent of who calls.
NOISE_MIX = (0.06, 0.06, 0.06, 0.08, 0.08, 0.04, 0.04, 0.04, 0.06, 0.04, 0.44)
RESOLVED = {"outage": 0.7, "technical_problem": 0.72, "cancel_intent": 0.65, "other": 0.92}
RESOLVED_DEFAULT = 0.85
CHURNER_RESOLVED = 0.75  # factor: customers about to leave get less out of their contacts


@dataclass(frozen=True)
class Contacts:
    cust: Ints
    t: Floats
    reason: Ints  # index into CONTACT_REASONS
    caused: Bools  # False for the noise share
    resolved: Bools


def draw(
    rng: np.random.Generator,
    pop: Population,
    situations: dict[str, Moments],
    outages: Outages,
    noise_share: float,
) -> Contacts:
    parts: list[tuple[Ints, Floats, Ints]] = []

    def add(cust: Ints, t: Floats, reason: str | Ints) -> None:
        t = not_at_night(rng, pop, cust, t)
        ok = within(pop.horizon, t)
        code = np.asarray(REASON[reason] if isinstance(reason, str) else reason, dtype=np.int64)
        parts.append((cust[ok], np.floor(t[ok]), np.broadcast_to(code, t.shape)[ok]))

    for situation, (reason, chance, min_h, mean_h) in RULES.items():
        cust, t = situations.get(situation, (np.zeros(0, dtype=np.int64), np.zeros(0)))
        calls = rng.random(len(cust)) < chance
        delay = (min_h + rng.exponential(mean_h, size=int(calls.sum()))) * HOUR
        add(cust[calls], t[calls] + delay, reason)

    cust, t = outage_calls(rng, pop, outages)
    parts.append((cust, t, np.full(len(cust), REASON["outage"], dtype=np.int64)))

    visible = np.isfinite(pop.onset)
    asks = np.flatnonzero(visible & (rng.random(pop.n) < CANCEL_CALL))
    # Most ask late in their decline, when the decision is made and the signs are plain.
    lead = np.sqrt(rng.random(len(asks))) * (pop.horizon - pop.onset[asks])
    add(asks, pop.onset[asks] + lead, "cancel_intent")
    aggrieved = np.flatnonzero(visible & (rng.random(pop.n) < GRIEVANCE))
    when = np.maximum(pop.onset[aggrieved] - rng.uniform(0, 20, len(aggrieved)) * DAY, 0)
    complaint = np.where(
        rng.random(len(aggrieved)) < 0.6, REASON["technical_problem"], REASON["billing_question"]
    )
    add(aggrieved, when, complaint)

    has_card = pop.has_product("card_debit") | pop.has_product("card_credit")
    for held, rate, reason in (
        (pop.has_service("internet"), TECHNICAL_RATE, "technical_problem"),
        (has_card, CARD_RATE, "card_question"),
    ):
        counts = rng.poisson(held * rate * pop.horizon / DAY)
        cust = np.repeat(np.arange(pop.n, dtype=np.int64), counts)
        add(cust, in_daytime(rng, pop, cust, rng.uniform(0, pop.horizon, len(cust))), reason)

    cust, t, code = (np.concatenate(column) for column in zip(*parts, strict=True))
    resolved = _resolve(rng, pop, cust, code)

    cust, t, code, resolved = _follow_ups(rng, pop, cust, t, code, resolved)
    noise = round(len(cust) * noise_share / (1 - noise_share))
    n_cust, n_t, n_code = _noise(rng, pop, noise)
    return Contacts(
        cust=np.concatenate([cust, n_cust]),
        t=np.concatenate([t, n_t]),
        reason=np.concatenate([code, n_code]),
        caused=np.concatenate([np.ones(len(cust), np.bool_), np.zeros(noise, np.bool_)]),
        resolved=np.concatenate([resolved, _resolve(rng, pop, n_cust, n_code)]),
    )


def _follow_ups(
    rng: np.random.Generator, pop: Population, cust: Ints, t: Floats, code: Ints, resolved: Bools
) -> tuple[Ints, Floats, Ints, Bools]:
    """Unresolved contacts bring the customer back, often with a technical fault."""
    again = ~resolved & (rng.random(len(cust)) < CALL_AGAIN)
    later = t[again] + (1 + rng.exponential(3, int(again.sum()))) * DAY
    repeat = np.where(rng.random(len(later)) < 0.5, REASON["technical_problem"], code[again])
    later = not_at_night(rng, pop, cust[again], later)
    ok = within(pop.horizon, later)
    more_cust, more_code = cust[again][ok], repeat[ok]
    return (
        np.concatenate([cust, more_cust]),
        np.concatenate([t, np.floor(later[ok])]),
        np.concatenate([code, more_code]),
        np.concatenate([resolved, _resolve(rng, pop, more_cust, more_code)]),
    )


def _noise(rng: np.random.Generator, pop: Population, count: int) -> tuple[Ints, Floats, Ints]:
    """Contacts whose customer, moment and reason are drawn independently of anyone's state."""
    cust = rng.integers(pop.n, size=count).astype(np.int64)
    raw = rng.uniform(0, pop.horizon, count)
    t = in_daytime(rng, pop, cust, raw)
    t = np.floor(np.where(within(pop.horizon, t), t, raw))
    reason = rng.choice(len(catalog.CONTACT_REASONS), size=count, p=NOISE_MIX).astype(np.int64)
    return cust, t, reason


def _resolve(rng: np.random.Generator, pop: Population, cust: Ints, reason: Ints) -> Bools:
    chance = np.array([RESOLVED.get(r, RESOLVED_DEFAULT) for r in catalog.CONTACT_REASONS])
    p = chance[reason] * np.where(pop.intent[cust], CHURNER_RESOLVED, 1.0)
    return rng.random(len(cust)) < p


def channels(rng: np.random.Generator, pop: Population, cust: Ints) -> list[str]:
    """The channel of each contact; businesses write e-mails more often."""
    share = np.array(catalog.CONTACT_CHANNEL_SHARE)[pop.b2b[cust].astype(np.int64)]
    pick = (rng.random(len(cust))[:, None] > np.cumsum(share, axis=1)).sum(axis=1)
    pick = np.minimum(pick, len(catalog.CONTACT_CHANNELS) - 1)
    return [catalog.CONTACT_CHANNELS[k] for k in pick.tolist()]
