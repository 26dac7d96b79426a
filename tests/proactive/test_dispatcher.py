"""The dispatcher against a real local receiver, on both stores, with a clock we move."""

from __future__ import annotations

import httpx
import pytest

from connectors.channels.webhook import WebhookChannel, WebhookConfig
from connectors.outbox import Outbox
from connectors.store import Store
from core.clock import FixedClock
from core.messages import Message, Route, Status
from proactive.dispatcher import Dispatcher, DispatchSettings, SendGate, open_gate
from proactive.gate import StopListGate
from proactive.ratelimit import TokenBucket
from tests.fakes.receiver import SECRET, Receiver

NOW = 1_795_000_000.0


def channel(name: str, url: str, client: httpx.AsyncClient) -> WebhookChannel:
    return WebhookChannel(name, WebhookConfig(url=url, secret=SECRET), client)


def bulk_channel(
    name: str, receiver: Receiver, client: httpx.AsyncClient, size: int = 10
) -> WebhookChannel:
    config = WebhookConfig(
        url=receiver.url, secret=SECRET, batch_size=size, batch_url=receiver.batch_url
    )
    return WebhookChannel(name, config, client)


def message(i: int, *channels: str) -> Message:
    routes = [Route(c, f"addr-{i}", f"text {i}") for c in channels or ("hook",)]
    return Message(
        id=f"m{i}",
        customer_id=f"c{i}",
        group="test",
        category="service",
        routes=routes,
        due_at=NOW,
        created_at=NOW,
    )


def dispatcher(
    outbox: Outbox,
    channels: dict[str, WebhookChannel],
    clock: FixedClock,
    store: Store | None = None,
    **settings: float,
) -> Dispatcher:
    gate: SendGate = StopListGate(store, outbox) if store is not None else open_gate
    return Dispatcher(
        outbox,
        channels,
        clock,
        worker_id="w1",
        settings=DispatchSettings(**settings),  # type: ignore[arg-type]
        gate=gate,
    )


async def drain(d: Dispatcher) -> None:
    while await d.run_once():
        pass


async def test_every_message_reaches_the_provider_once(
    outbox: Outbox, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    clock = FixedClock(NOW)
    await outbox.enqueue([message(i) for i in range(30)], NOW)
    await outbox.enqueue([message(i) for i in range(30)], NOW)  # a second fan-out: no-op
    await drain(dispatcher(outbox, {"hook": channel("hook", receiver.url, client)}, clock))
    assert receiver.delivered == 30 and max(receiver.by_key.values()) == 1
    sent = await outbox.get("m7")
    assert sent is not None and sent.status is Status.sent
    assert sent.provider_message_id == "p-m7"
    assert (await outbox.counts("test")).get("sent") == 30


async def test_429_waits_as_long_as_the_provider_asks(
    outbox: Outbox, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    clock = FixedClock(NOW)
    receiver.fail_next(1, 429, retry_after=30)
    await outbox.enqueue([message(1)], NOW)
    d = dispatcher(outbox, {"hook": channel("hook", receiver.url, client)}, clock)
    await drain(d)
    assert receiver.delivered == 0
    clock.advance(29)
    assert await d.run_once() == 0  # not before Retry-After
    clock.advance(2)
    await drain(d)
    assert receiver.delivered == 1
    done = await outbox.get("m1")
    assert done is not None and done.status is Status.sent and done.attempts == 1


async def test_server_errors_back_off_then_go_to_dead_letters(
    outbox: Outbox, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    clock = FixedClock(NOW)
    receiver.fail_next(10, 500)
    await outbox.enqueue([message(1)], NOW)
    d = dispatcher(
        outbox,
        {"hook": channel("hook", receiver.url, client)},
        clock,
        max_attempts=3,
        base_delay=1.0,
    )
    for _ in range(10):
        await drain(d)
        clock.advance(60)
    dead = await outbox.dead_letters(10)
    assert [m.id for m in dead] == ["m1"] and dead[0].attempts == 3
    assert receiver.requests == 3 and receiver.delivered == 0


async def test_a_permanent_refusal_falls_back_to_the_next_channel(
    outbox: Outbox, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    clock = FixedClock(NOW)
    with Receiver() as second:
        receiver.fail_next(1, 400)
        await outbox.enqueue([message(1, "first", "second"), message(2, "first")], NOW)
        receiver.fail_next(1, 400)
        channels = {
            "first": channel("first", receiver.url, client),
            "second": channel("second", second.url, client),
        }
        await drain(dispatcher(outbox, channels, clock))
        assert second.delivered == 1 and receiver.delivered == 0
    rerouted, failed = await outbox.get("m1"), await outbox.get("m2")
    assert rerouted is not None and rerouted.status is Status.sent and rerouted.step == 1
    assert failed is not None and failed.status is Status.failed


async def test_the_stop_list_holds_at_send_time(
    store: Store, outbox: Outbox, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    clock = FixedClock(NOW)
    await outbox.enqueue([message(1, "hook")], NOW)
    await store.set_stop("c1", "hook", True, NOW)  # after queueing, before sending
    await drain(
        dispatcher(outbox, {"hook": channel("hook", receiver.url, client)}, clock, store=store)
    )
    assert receiver.requests == 0
    stopped = await outbox.get("m1")
    assert stopped is not None and stopped.status is Status.suppressed
    assert stopped.error == "stop_list"


async def test_the_breaker_stops_hammering_a_failing_provider(
    outbox: Outbox, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    clock = FixedClock(NOW)
    receiver.fail_next(5, 503)
    await outbox.enqueue([message(i) for i in range(20)], NOW)
    d = dispatcher(outbox, {"hook": channel("hook", receiver.url, client)}, clock, concurrency=1)
    await drain(d)
    assert receiver.requests == 5  # then open: the other 15 wait without a request
    assert await d.breakers["hook"].admit() is not None  # open
    waiting = await outbox.get("m19")
    assert waiting is not None and waiting.status is Status.pending
    assert waiting.error == "deferred: hook circuit open"
    clock.advance(3600)
    for _ in range(5):
        await drain(d)
        clock.advance(3600)
    assert receiver.delivered == 20


async def test_a_crashed_workers_claim_is_taken_over(
    outbox: Outbox, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    clock = FixedClock(NOW)
    await outbox.enqueue([message(1)], NOW)
    assert len(await outbox.claim("dead-worker", 10, NOW, 60)) == 1  # then it dies
    d = dispatcher(outbox, {"hook": channel("hook", receiver.url, client)}, clock)
    assert await d.run_once() == 0  # its lease still holds
    clock.advance(61)
    await drain(d)
    assert receiver.delivered == 1


async def test_a_bulk_endpoint_gets_chunks_and_each_message_once(
    outbox: Outbox, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    clock = FixedClock(NOW)
    await outbox.enqueue([message(i) for i in range(25)], NOW)
    await drain(dispatcher(outbox, {"hook": bulk_channel("hook", receiver, client)}, clock))
    assert receiver.requests == 3  # 10 + 10 + 5
    assert receiver.delivered == 25 and max(receiver.by_key.values()) == 1
    assert receiver.bad_signatures == 0
    sent = await outbox.get("m7")
    assert sent is not None and sent.status is Status.sent and sent.provider_message_id == "p-m7"


async def test_bulk_refusals_are_per_message_or_per_request(
    outbox: Outbox, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    clock = FixedClock(NOW)
    channels = {
        "hook": bulk_channel("hook", receiver, client),
        "sms": channel("sms", receiver.url, client),
    }
    await outbox.enqueue([message(i, "hook", "sms") for i in range(5)], NOW)
    receiver.refuse("m1", "no such recipient", permanent=True)
    receiver.refuse("m2", "busy, later", permanent=False)
    d = dispatcher(outbox, channels, clock, base_delay=1.0)
    await drain(d)
    # m1 moved on to its next channel at once; m2 waits for a retry on the same one.
    assert sorted(receiver.by_key) == ["m0", "m1", "m3", "m4"]
    assert receiver.bodies["m1"]["channel"] == "sms"
    waiting = await outbox.get("m2")
    assert waiting is not None and waiting.status is Status.pending and waiting.attempts == 1
    assert await d.breakers["hook"].admit() is None  # one refused message is not a sick provider

    await outbox.enqueue([message(i) for i in range(10, 14)], NOW)
    receiver.fail_next(1, 503, retry_after=5)
    clock.advance(2)
    await drain(d)
    for i in range(10, 14):  # the whole request was refused: all wait for Retry-After
        later = await outbox.get(f"m{i}")
        assert later is not None and later.status is Status.pending and later.attempts == 1
    clock.advance(10)
    await drain(d)
    assert len(receiver.by_key) == 9 and max(receiver.by_key.values()) == 1


async def test_the_stop_list_holds_in_bulk(
    store: Store, outbox: Outbox, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    clock = FixedClock(NOW)
    await store.set_stop("c3", "hook", True, NOW)
    await outbox.enqueue([message(i) for i in range(5)], NOW)
    channels = {"hook": bulk_channel("hook", receiver, client)}
    await drain(dispatcher(outbox, channels, clock, store=store))
    assert sorted(receiver.by_key) == ["m0", "m1", "m2", "m4"]
    held = await outbox.get("m3")
    assert held is not None and held.status is Status.suppressed


async def test_a_bulk_request_never_takes_more_than_the_bucket_holds() -> None:
    bucket = TokenBucket(100, burst=10)
    await bucket.acquire(10)
    with pytest.raises(ValueError, match="cannot take 11 tokens"):
        await bucket.acquire(11)
