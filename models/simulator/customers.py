"""Customer records as the CRM holds them: names, identities, where they live, how they
like to be reached and what they agreed to. The body of `PUT /v1/customers/{id}`.

Phones, e-mail addresses and messenger ids are unique across the population, so every
identity finds exactly one customer. Choices are drawn as arrays for everyone at once;
the per-customer loop only assembles them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from models.simulator import catalog, names
from models.simulator.behaviour import Channels
from models.simulator.population import DAY, Bools, Ints, Population
from models.simulator.stream import iso

# Weights for the order of channel preferences (MESSAGE_CHANNELS order):
# sms, telegram, whatsapp, viber, email, push, voice. Messengers and the app come first.
_CHANNEL_WEIGHT = np.array([3.0, 5.0, 4.0, 2.0, 3.0, 4.0, 1.0])
_VOICE = catalog.MESSAGE_CHANNELS.index("voice")
_MARKETING_SOURCES = ("web-form", "app", "call-center", "contract")
_B2B_MAILBOXES = ("info", "office", "buh", "zakaz", "director")
MARKETING_GRANTED = 0.45  # per preferred channel; a further 15% refused it explicitly
MARKETING_REFUSED = 0.15


@dataclass(frozen=True)
class People:
    """The parts of each record that do not change during the span."""

    head: list[dict[str, Any]]  # id, name, locale, identities
    preferences: list[list[str]]
    consents: list[list[dict[str, Any]]]
    nodes: list[list[str]]
    birthdays: list[str | None]
    channels: Channels


def customer_ids(n: int) -> list[str]:
    width = max(6, len(str(n)))
    return [f"c{k + 1:0{width}d}" for k in range(n)]


def people(rng: np.random.Generator, pop: Population, end: datetime) -> People:
    n = pop.n
    shape = (n, len(catalog.MESSAGE_CHANNELS))
    ids = customer_ids(n)
    phones = _phones(rng, n)
    telegram_ids = (1_000_000_000 + rng.choice(6_000_000_000, size=n, replace=False)).tolist()
    available = np.column_stack(
        [
            np.ones(n, dtype=np.bool_),  # sms
            rng.random(n) < np.where(pop.b2b, 0.3, 0.45),  # telegram
            rng.random(n) < 0.3,  # whatsapp
            rng.random(n) < 0.12,  # viber
            rng.random(n) < np.where(pop.b2b, 1.0, 0.75),  # email
            pop.app_user,  # push
            np.ones(n, dtype=np.bool_),  # voice
        ]
    )
    # Weighted order without replacement (Efraimidis-Spirakis keys), 2-4 channels.
    keys = np.where(available, -np.log(rng.random(shape)) / _CHANNEL_WEIGHT, np.inf)
    ranked = np.argsort(keys, axis=1, kind="stable").tolist()
    kept = np.minimum(rng.integers(2, 5, n), available.sum(axis=1)).tolist()

    end_epoch = int(end.timestamp())
    signed = end_epoch - np.floor(rng.uniform(130, 3000, n) * DAY).astype(np.int64)
    signed_at = iso(signed)
    decision = rng.random(shape).tolist()
    since = signed[:, None] + rng.random(shape) * (end_epoch - 125 * DAY - signed)[:, None]
    decided_at = np.array(iso(since.astype(np.int64).ravel())).reshape(shape).tolist()
    source = rng.integers(len(_MARKETING_SOURCES), size=shape).tolist()

    female = rng.random(n) < 0.52
    persons = names.people(rng, female, pop.english)
    firms = iter(names.companies(rng, int(pop.b2b.sum())))
    pattern = rng.integers(5, size=n).tolist()
    number = rng.integers(1, 100, size=n).tolist()
    mailbox = rng.integers(len(_B2B_MAILBOXES), size=n).tolist()
    dot_com = (pop.english | (rng.random(n) < 0.3)).tolist()
    born = np.datetime64(end.date()) - rng.integers(18 * 365, 81 * 365, size=n)
    birthdays = np.datetime_as_string(born).tolist()
    nodes = _nodes(rng, pop)

    service = np.zeros(n, dtype=np.int64)
    marketing = np.full(n, -1, dtype=np.int64)
    taken: set[str] = set()
    head: list[dict[str, Any]] = []
    preferences: list[list[str]] = []
    consents: list[list[dict[str, Any]]] = []
    for i, (b2b, english, has) in enumerate(
        zip(pop.b2b.tolist(), pop.english.tolist(), available.tolist(), strict=True)
    ):
        if b2b:
            name, slug = next(firms)
            local = f"{slug}.{_B2B_MAILBOXES[mailbox[i]]}"
            birthdays[i] = None
        else:
            first, last = persons[i]
            name = f"{first} {last}"
            local = _mailbox(pattern[i], number[i], names.latin(first), names.latin(last))
        identities = [{"kind": "phone", "value": phones[i]}]
        if has[4]:
            address = f"{local}@{'example.com' if dot_com[i] else 'example.ru'}"
            if address in taken:  # no mailbox pattern ends in .digits, so this one is free
                address = address.replace("@", f".{i + 1}@")
            taken.add(address)
            identities.append({"kind": "email", "value": address})
        if has[1]:
            identities.append({"kind": "telegram", "value": str(telegram_ids[i])})
        if has[2]:
            identities.append({"kind": "whatsapp", "value": phones[i]})
        if has[3]:
            identities.append({"kind": "viber", "value": phones[i]})
        head.append({"id": ids[i], "name": name, "locale": "en" if english else "ru",
                     "identities": identities})  # fmt: skip

        chosen = ranked[i][: kept[i]]
        preferences.append([catalog.MESSAGE_CHANNELS[k] for k in chosen])
        given = [_consent("service", k, True, "contract", signed_at[i]) for k in chosen]
        messaging = [k for k in chosen if k != _VOICE]
        service[i] = messaging[0] if messaging else 0
        for k in messaging:
            if decision[i][k] < MARKETING_GRANTED:
                at = decided_at[i][k]
                given.append(_consent("marketing", k, True, _MARKETING_SOURCES[source[i][k]], at))
                if marketing[i] < 0:
                    marketing[i] = k
            elif decision[i][k] < MARKETING_GRANTED + MARKETING_REFUSED:
                given.append(_consent("marketing", k, False, "call-center", decided_at[i][k]))
        consents.append(given)
    return People(head, preferences, consents, nodes, birthdays, Channels(service, marketing))


def records(pop: Population, folk: People, products: Bools, tariff: Ints) -> list[dict[str, Any]]:
    """The full records as of the end of the span."""
    regions = pop.region.tolist()
    service_rows = pop.services.tolist()
    product_rows = products.tolist()
    tariffs = tariff.tolist()
    revenue = pop.revenue.tolist()
    b2b = pop.b2b.tolist()
    out = []
    for i, head in enumerate(folk.head):
        code, zone = catalog.REGIONS[regions[i]][:2]
        out.append(
            {
                **head,
                "time_zone": zone,
                "region": code,
                "services": [
                    s for s, on in zip(catalog.SERVICES, service_rows[i], strict=True) if on
                ],
                "network_nodes": folk.nodes[i],
                "segment": "b2b" if b2b[i] else "b2c",
                "products": [
                    p for p, on in zip(catalog.PRODUCTS, product_rows[i], strict=True) if on
                ],
                "tariff": catalog.TARIFF_NAMES[tariffs[i]],
                "birthday": folk.birthdays[i],
                "monthly_revenue": revenue[i],
                "channel_preferences": folk.preferences[i],
                "consents": folk.consents[i],
            }
        )
    return out


def _phones(rng: np.random.Generator, n: int) -> list[str]:
    block = 10**7
    picks = rng.choice(len(catalog.PHONE_PREFIXES) * block, size=n, replace=False)
    prefixes = np.array(catalog.PHONE_PREFIXES)[picks // block].tolist()
    return [f"+7{p}{r:07d}" for p, r in zip(prefixes, (picks % block).tolist(), strict=True)]


def _mailbox(pattern: int, number: int, first: str, last: str) -> str:
    if pattern == 0:
        return f"{first}.{last}"
    if pattern == 1:
        return f"{first[0]}.{last}"
    if pattern == 2:
        return f"{last}.{first}"
    if pattern == 3:
        return f"{first}{last}{number}"
    return f"{last}{number}"


def _consent(purpose: str, channel: int, granted: bool, source: str, at: str) -> dict[str, Any]:
    return {
        "purpose": purpose,
        "channel": catalog.MESSAGE_CHANNELS[channel],
        "granted": granted,
        "source": source,
        "at": at,
    }


def _nodes(rng: np.random.Generator, pop: Population) -> list[list[str]]:
    """A fixed-line customer hangs off one node of their region; some businesses two."""
    columns = [catalog.SERVICES.index(s) for s in sorted(catalog.FIXED_SERVICES)]
    has_line: list[bool] = np.any(pop.services[:, columns], axis=1).tolist()
    count = np.array([r[4] for r in catalog.REGIONS])[pop.region]
    first = np.floor(rng.random(pop.n) * count).astype(np.int64)
    second = (first + 1 + np.floor(rng.random(pop.n) * (count - 1)).astype(np.int64)) % count
    two = pop.b2b & (rng.random(pop.n) < 0.3)
    out: list[list[str]] = []
    for region, line, a, b, both in zip(
        pop.region.tolist(),
        has_line,
        first.tolist(),
        second.tolist(),
        two.tolist(),
        strict=True,
    ):
        prefix = catalog.REGIONS[region][2]
        picked = sorted({a, b}) if both else [a]
        out.append([f"{prefix}-N{k + 1:03d}" for k in picked] if line else [])
    return out
