"""The dispatcher's narrower windows, on both stores: a claim that outlived its lease is
not sent twice, a poison message ends in the dead letters, finished messages are purged."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import httpx

from connectors.channels.base import CallbackEvent, Channel, OutboundMessage, SendResult
from connectors.outbox import Outbox
from core.clock import FixedClock
from core.messages import Message, Status
from proactive.dispatcher import Block, Dispatcher, DispatchSettings, open_gate
from tests.fakes.receiver import Receiver
from tests.proactive.test_dispatcher import NOW, channel, drain, message


def worker(
    outbox: Outbox,
    channels: Mapping[str, Channel],
    clock: FixedClock,
    name: str = "w1",
    gate: object = open_gate,
    **settings: float,
) -> Dispatcher:
    return Dispatcher(
        outbox,
        channels,
        clock,
        worker_id=name,
        gate=gate,  # type: ignore[arg-type]
        settings=DispatchSettings(lease_seconds=30.0, **settings),  # type: ignore[arg-type]
    )


async def test_a_claim_taken_over_while_it_waited_is_not_sent_twice(
    outbox: Outbox, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    clock = FixedClock(NOW)
    hook = {"hook": channel("hook", receiver.url, client)}
    held = asyncio.Event()
    waiting = asyncio.Event()

    async def slow_gate(m: Message) -> Block | None:
        waiting.set()
        await held.wait()  # a slow policy check or rate limit, past the lease
        return None

    await outbox.enqueue([message(1)], NOW)
    first = asyncio.create_task(worker(outbox, hook, clock, "w1", slow_gate).run_once())
    await waiting.wait()
    clock.advance(31)  # w1's lease ran out while it waited
    assert await worker(outbox, hook, clock, "w2").run_once() == 1
    held.set()
    await first
    assert receiver.requests == 1 and receiver.by_key == {"m1": 1}
    sent = await outbox.get("m1")
    assert sent is not None and sent.status is Status.sent


class Crashing:
    """A channel whose code fails on one message the way a bug would (no ProviderError),
    leaving the claim unanswered every time."""

    name = "hook"

    def __init__(self) -> None:
        self.calls = 0

    async def send(self, message: OutboundMessage) -> SendResult:
        self.calls += 1
        if message.id == "m1":
            raise RuntimeError("a bug that kills the handling of this one message")
        return SendResult(f"ok-{message.id}")

    async def send_many(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        raise NotImplementedError

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> list[CallbackEvent]:
        return []

    async def aclose(self) -> None:
        return None


async def test_a_poison_message_goes_to_the_dead_letters(outbox: Outbox) -> None:
    clock = FixedClock(NOW)
    crashing = Crashing()
    await outbox.enqueue([message(1), message(2)], NOW)
    d = worker(outbox, {"hook": crashing}, clock, max_claims=3)
    for _ in range(6):
        await drain(d)
        clock.advance(31)  # the failed claim expires
    [dead] = await outbox.dead_letters(10)
    assert dead.id == "m1" and dead.error is not None
    assert "claimed 3 times without an answer" in dead.error
    assert crashing.calls == 4  # three tries of m1, one of m2, then no more
    other = await outbox.get("m2")
    assert other is not None and other.status is Status.sent


async def test_finished_messages_are_purged_on_a_timer(
    outbox: Outbox, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    clock = FixedClock(NOW)
    hook = {"hook": channel("hook", receiver.url, client)}
    await outbox.enqueue([message(1), message(2, "nowhere")], NOW)
    d = worker(outbox, hook, clock, retention_seconds=3600.0, purge_every=600.0)
    await drain(d)  # m1 sent; m2 failed: no such channel
    await outbox.enqueue([message(3)], NOW + 3000)  # still pending at the purge
    clock.advance(3601)
    stop = asyncio.Event()
    running = asyncio.create_task(d.run(stop))
    for _ in range(200):
        if await outbox.get("m1") is None:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await running
    assert await outbox.get("m1") is None and await outbox.get("m2") is None
    assert (await outbox.counts("test")).get("sent") == 2  # m3 sent since; m1 counted still
    kept = await outbox.get("m3")
    assert kept is not None and kept.status is Status.sent
