"""The simulated world as a whole: configuration, the result, and `simulate()`.

Every random choice comes from `numpy.random.default_rng(seed)`: each stage draws from
its own child generator (`spawn`), so the same seed gives byte-identical output and a
change in one stage does not reshuffle the others.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import numpy as np

from models.simulator import (
    behaviour,
    catalog,
    commerce,
    customers,
    outages,
    scenarios,
    utterances,
)
from models.simulator.population import build as build_population
from models.simulator.stream import EventStream, EventTable, Moments, iso

DEFAULT_END = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SimulatorConfig:
    customers: int = 2000
    days: int = 120
    end: datetime = DEFAULT_END
    seed: int = 7
    noise_share: float = 0.2
    churn_prior: float = 0.15
    b2b_share: float = 0.15

    def __post_init__(self) -> None:
        if self.customers < 1 or self.days < 1:
            raise ValueError("customers and days must be at least 1")
        if self.end.tzinfo is None or self.end.utcoffset() != timedelta(0):
            raise ValueError("end must be a UTC datetime, e.g. 2026-11-01T00:00:00+00:00")
        for name in ("noise_share", "churn_prior", "b2b_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0 or (name == "noise_share" and value >= 1.0):
                raise ValueError(f"{name} must be a share between 0 and 1, not {value}")

    @property
    def start(self) -> datetime:
        return self.end - timedelta(days=self.days)


@dataclass(frozen=True, slots=True)
class ContactLabel:
    """What a contact was about, for training and evaluating the reason model.

    `has_precursor` is False for the noise share (a reason drawn independently of the
    customer); True when the customer's situation caused it. `utterance` is what the
    caller said first: the opening chat message or the IVR's speech transcript.
    """

    event_id: str
    customer_id: str
    ts: str
    reason: str
    affected_by_outage: bool
    has_precursor: bool
    utterance: str


@dataclass
class World:
    config: SimulatorConfig
    customers: list[dict[str, Any]]
    outages: list[dict[str, Any]]
    contacts: list[ContactLabel]
    churn: dict[str, bool]
    table: EventTable = field(repr=False)

    @cached_property
    def events(self) -> list[dict[str, Any]]:
        """Every event as the body element of `POST /v1/events`, sorted by `ts`."""
        return list(self.iter_events())

    def iter_events(self) -> Iterator[dict[str, Any]]:
        """The events one at a time, without keeping them all (for large worlds)."""
        ids = [c["id"] for c in self.customers]
        return self.table.iter_dicts(ids)


def simulate(config: SimulatorConfig) -> World:
    """Draw a whole world from `config`; the same config gives the same world."""
    with _collector_paused():
        return _simulate(config)


@contextmanager
def _collector_paused() -> Iterator[None]:
    # Millions of small dicts and no reference cycles: the cyclic collector would
    # rescan them over and over for nothing (about a third of the time at 100k customers).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _simulate(config: SimulatorConfig) -> World:
    rng = iter(np.random.default_rng(config.seed).spawn(16))
    start_epoch = int(config.start.timestamp())
    pop = build_population(
        next(rng), config.customers, config.days, config.end, config.b2b_share, config.churn_prior
    )
    folk = customers.people(next(rng), pop, config.end)
    stream = EventStream()
    situations: dict[str, Moments] = {}
    behaviour.sign_ins(next(rng), pop, stream)
    situations |= behaviour.bills(next(rng), pop, stream, folk.channels)
    behaviour.messages(next(rng), pop, stream, folk.channels)
    tariff, situations["tariff_changed"] = behaviour.tariff_moves(next(rng), pop, stream)
    switched_off = behaviour.switch_offs(next(rng), pop, stream)
    situations |= commerce.shopping(next(rng), pop, stream)
    stuck, activated = commerce.applications(next(rng), pop, stream)
    situations |= stuck
    situations |= commerce.deposits(next(rng), pop, stream, config.start.date())
    episodes = outages.draw(next(rng), pop.horizon)
    contacts = scenarios.draw(next(rng), pop, situations, episodes, config.noise_share)

    channel = scenarios.channels(next(rng), pop, contacts.cust)
    reasons = [catalog.CONTACT_REASONS[k] for k in contacts.reason.tolist()]
    data: list[dict[str, Any]] = []
    for k, (ch, reason, resolved) in enumerate(
        zip(channel, reasons, contacts.resolved.tolist(), strict=True)
    ):
        entry: dict[str, Any] = {"channel": ch, "reason": reason, "resolved": resolved}
        if ch == "ivr":
            entry["call_id"] = f"call{k + 1:08d}"
        data.append(entry)
    first = stream.add("contact", contacts.cust, contacts.t, data)
    table = stream.table(start_epoch)

    ids = customers.customer_ids(pop.n)
    position = table.rank[first : first + len(data)]
    order = np.argsort(position, kind="stable")
    stamps = iso(table.t[position[order]] + start_epoch)
    affected = episodes.affected(pop, contacts.cust, contacts.t)
    callers = utterances.callers(pop, table, contacts.cust, position, reasons, channel)
    said = utterances.draw(next(rng), callers).text
    labels = [
        ContactLabel(
            event_id=table.event_id(int(position[k])),
            customer_id=ids[int(contacts.cust[k])],
            ts=stamps[j],
            reason=reasons[k],
            affected_by_outage=bool(affected[k]),
            has_precursor=bool(contacts.caused[k]),
            utterance=said[k],
        )
        for j, k in enumerate(order.tolist())
    ]
    products = (pop.products & ~switched_off) | activated
    return World(
        config=config,
        customers=customers.records(pop, folk, products, tariff),
        outages=episodes.records(start_epoch),
        contacts=labels,
        churn=dict(zip(ids, pop.churned.tolist(), strict=True)),
        table=table,
    )
