"""Play past events through the real outbound machinery, in time order, so that a demo
starts with weeks of follow-ups behind it: the events are ingested hour by hour, the
scenarios schedule their touches, the contact policy and the dispatcher send them on the
configured channels (the demo's sandbox), and the customers' answers are simulated.

Like `replay`, but on the service's own store and outbox: the console's scenario report,
approval queue and sandbox inbox show the result.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from connectors.channels.base import Channel, StoreBound
from connectors.outbox import Outbox
from connectors.store import Store
from core.clock import Clock, FixedClock
from core.events import Catalogue, Event
from core.messages import Message, Status
from proactive.dispatcher import Dispatcher
from proactive.followups import Followups
from proactive.gate import StopListGate
from proactive.policy_gate import ContactPolicy
from proactive.sweep import sweep
from profiles.ingest import ingest

log = logging.getLogger("forecall.history")
STEP = 3600.0
DAY = 86400.0
SWEEP_HOUR = 6  # UTC: the sweep (inactivity, birthdays) on the played mornings...
SWEEP_EVERY = 4  # ...of every fourth day: a full pass over the population is not cheap


@dataclass(frozen=True, slots=True)
class Answers:
    """How simulated customers answer a message: shares of all messages sent."""

    delivered: float = 0.95
    read: float = 0.6
    replied: float = 0.08
    stopped: float = 0.005  # a reply of «стоп»


@dataclass
class Played:
    events: int = 0
    sent: int = 0
    replied: int = 0


def _share(message_id: str) -> float:
    """Where a message falls in [0, 1): the same message always answers the same way."""
    digest = hashlib.sha256(message_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


async def play(
    store: Store,
    outbox: Outbox,
    catalogue: Catalogue,
    followups: Followups,
    channels: Mapping[str, Channel],
    events: Sequence[Event],
    end: float,
    *,
    time_zone: str,
    app_clock: Clock,
    answers: Answers = Answers(),
) -> Played:
    """Step from the first event to `end`, an hour at a time; the channels are bound to
    the played clock meanwhile (a sandbox stamps messages with their historical time)."""
    played = Played(events=len(events))
    if not events:
        return played
    clock = FixedClock(events[0].ts)

    async def answered(message: Message, at: float) -> None:
        played.sent += 1
        share = _share(message.id)
        if share < answers.delivered:
            await outbox.set_status(message.id, Status.delivered, at + 30)
        if share < answers.read:
            await outbox.set_status(message.id, Status.read, at + 600)
        if share < answers.replied or share > 1 - answers.stopped:
            stop = share > 1 - answers.stopped
            if stop:
                await store.set_stop(message.customer_id, message.route.channel, True, at)
            await followups.on_reply(message.customer_id, stop, at + 900)
            played.replied += 1

    policy = followups.scenarios.policy
    gate = ContactPolicy(store, StopListGate(store, outbox), policy, time_zone, clock)
    dispatcher = Dispatcher(
        outbox, channels, clock, worker_id="history", gate=gate, on_sent=answered
    )
    bound = [c for c in channels.values() if isinstance(c, StoreBound)]
    for channel in bound:
        channel.bind(store, clock)
    try:
        at, index = events[0].ts - events[0].ts % STEP, 0
        while at <= end:
            clock.set(at)
            batch = []
            while index < len(events) and events[index].ts <= at:
                batch.append(events[index])
                index += 1
            if batch:
                await ingest(store, batch, catalogue, at)
                await followups.on_events(batch, at)
            if at % DAY // STEP == SWEEP_HOUR and at // DAY % SWEEP_EVERY == 0:
                await sweep(store, followups, catalogue, at, time_zone)
            while await dispatcher.run_once():
                pass
            at += STEP
    finally:
        for channel in bound:
            channel.bind(store, app_clock)
    log.info("history played", extra={"events": played.events, "sent": played.sent})
    return played
