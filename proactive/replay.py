"""Replay: run follow-up scenarios over past events and report what WOULD have happened.

    forecall replay --customers customers.jsonl --events events.jsonl [--followups FILE]

Customers and events (the files `python -m models.simulator` writes, or your own export
in the same shape) go into a scratch embedded store; time is replayed hour by hour through
the real scheduling, the real contact policy and the real outbox, with a sink in place of
the providers. Nothing reaches a customer. The report gives, per scenario: triggers,
holdout, messages that would be sent, blocked and deferred (by reason), cancelled.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from connectors.channels.base import CallbackEvent, OutboundMessage, SendResult
from connectors.outbox import open_outbox
from connectors.store import open_store
from core.clock import FixedClock
from core.customers import CustomerIn
from core.events import Catalogue, Event, parse_ts
from core.messages import Message
from predictors.scenarios import Scenarios
from proactive.dispatcher import Block, Dispatcher, SendGate
from proactive.followups import APPROVALS, Followups, stats_id
from proactive.gate import StopListGate
from proactive.policy_gate import ContactPolicy
from profiles import directory
from profiles.ingest import ingest

STEP = 3600.0
TAIL = 14 * 86400.0  # after the last event: let the scheduled touches come due


class Sink:
    """A channel that accepts everything and keeps nothing but a count."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent = 0

    async def send(self, message: OutboundMessage) -> SendResult:
        self.sent += 1
        return SendResult(None)

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> list[CallbackEvent]:
        return []

    async def aclose(self) -> None:
        return None


@dataclass
class ScenarioReplay:
    triggered: int = 0
    holdout: int = 0
    sent: int = 0
    cancelled: int = 0
    pending: int = 0
    approval: int = 0  # would have waited for a manager
    blocked: Counter[str] = field(default_factory=Counter)
    deferred: Counter[str] = field(default_factory=Counter)  # messages deferred, by reason
    _seen: set[tuple[str, str]] = field(default_factory=set)


def read_jsonl(path: Path) -> Iterable[dict[str, Any]]:
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                yield orjson.loads(line)


async def replay(
    customers: Path,
    events: Path,
    scenarios: Scenarios,
    catalogue: Catalogue,
    channels: Iterable[str] = ("telegram", "sms", "email"),
    default_zone: str = "Europe/Moscow",
) -> dict[str, ScenarioReplay]:
    rows = sorted(read_jsonl(events), key=lambda e: str(e["ts"]))
    parsed = [_event(row, catalogue) for row in rows]
    if not parsed:
        return {}
    scratch = tempfile.mkdtemp(prefix="forecall-replay-")
    url = f"sqlite:///{scratch}/replay.db?synchronous=normal"
    store, outbox = open_store(url), open_outbox(url)
    clock = FixedClock(parsed[0].ts)
    sinks = {name: Sink(name) for name in channels}
    followups = Followups(store, outbox, scenarios, catalogue, set(sinks))
    tally: dict[str, ScenarioReplay] = {s.name: ScenarioReplay() for s in scenarios.items}
    policy = ContactPolicy(
        store, StopListGate(store, outbox), scenarios.policy, default_zone, clock
    )
    dispatcher = Dispatcher(outbox, sinks, clock, worker_id="replay", gate=_counting(policy, tally))
    try:
        for raw in read_jsonl(customers):
            body = CustomerIn.model_validate({k: v for k, v in raw.items() if k != "id"})
            await directory.put_customer(store, str(raw["id"]), body, "RU", parsed[0].ts)
        at, end = parsed[0].ts, parsed[-1].ts + TAIL
        index = 0
        while at <= end:
            clock.set(at)
            batch = []
            while index < len(parsed) and parsed[index].ts <= at:
                batch.append(parsed[index])
                index += 1
            if batch:
                await ingest(store, batch, catalogue, at)
                await followups.on_events(batch, at)
            while await dispatcher.run_once():
                pass
            at += STEP
        for scenario in scenarios.items:
            counts = await outbox.counts(scenario.group)
            counters = await store.incident_counts(stats_id(scenario.name))
            row = tally[scenario.name]
            row.triggered = counters.get("treated", 0) + counters.get("holdout", 0)
            row.holdout = counters.get("holdout", 0)
            row.sent = counts.get("sent", 0)
            row.cancelled = counts.get("cancelled", 0)
            row.pending = counts.get("pending", 0)
            row.approval = sum(
                orjson.loads(doc)["scenario"] == scenario.name
                for doc in await store.docs(APPROVALS)
            )
            for key, value in counters.items():
                if key.startswith("blocked:"):
                    row.blocked[key.split(":", 1)[1]] += value
    finally:
        await outbox.close()
        await store.close()
    return tally


def _counting(gate: SendGate, tally: dict[str, ScenarioReplay]) -> SendGate:
    async def counted(message: Message) -> Block | None:
        block = await gate(message)
        name = message.meta.get("scenario")
        if block is not None and name in tally:
            row = tally[name]
            if block.defer_until is None:
                row.blocked[block.reason] += 1
            elif (message.id, block.reason) not in row._seen:  # once a message, not an hour
                row._seen.add((message.id, block.reason))
                row.deferred[block.reason] += 1
        return block

    return counted


def _event(row: dict[str, Any], catalogue: Catalogue) -> Event:
    data = catalogue.check(0, row["type"], row.get("data") or {})
    return Event(str(row["id"]), row["type"], str(row["customer_id"]), parse_ts(0, row["ts"]), data)


def render(tally: dict[str, ScenarioReplay]) -> str:
    lines = [
        f"{'scenario':<26}{'triggers':>9}{'holdout':>9}{'would send':>11}{'approval':>9}"
        f"{'cancelled':>10}  blocked / deferred (why)"
    ]
    for name, row in tally.items():
        why = ", ".join(
            [f"blocked {k} {v}" for k, v in row.blocked.most_common()]
            + [f"deferred {k} {v}" for k, v in row.deferred.most_common()]
        )
        lines.append(
            f"{name:<26}{row.triggered:>9}{row.holdout:>9}{row.sent:>11}{row.approval:>9}"
            f"{row.cancelled:>10}"
            f"  {why or '-'}"
        )
    return "\n".join(lines)
