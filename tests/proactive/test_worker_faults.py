"""`forecall worker` processes under faults: a worker SIGKILLed mid-delivery, and the Redis
server itself killed and restarted from its append-only file. No message is lost, and the
provider, deduplicating by our idempotency key, accepts each exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bench.servers import free_port
from connectors.outbox import open_outbox
from core.messages import Message, Route
from tests.fakes.receiver import SECRET, Receiver
from tests.fakes.redis_server import start_redis, wait_for

WORKER = [sys.executable, "-c", "from api.cli import main; raise SystemExit(main(['worker']))"]
N = 300


def messages(now: float) -> list[Message]:
    return [
        Message(
            id=f"fault-{i}",
            customer_id=f"c{i}",
            group="faults",
            category="service",
            routes=[Route("sms", f"+7916{i:07d}", f"Уведомление {i}")],
            due_at=now,
            created_at=now,
        )
        for i in range(N)
    ]


async def enqueue(url: str) -> None:
    outbox = open_outbox(url)
    try:
        assert await outbox.enqueue(messages(time.time()), time.time()) == N
    finally:
        await outbox.close()


async def sent(url: str) -> int:
    outbox = open_outbox(url)
    try:
        return (await outbox.counts("faults")).get("sent", 0)
    finally:
        await outbox.close()


def start_worker(tmp_path: Path, store_url: str, receiver: Receiver) -> subprocess.Popen[bytes]:
    config = tmp_path / "worker.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "store": store_url,
                "channels": {"sms": {"kind": "webhook", "url": receiver.url, "secret": SECRET}},
                # A short lease so that a killed worker's claims come back within a second.
                "dispatcher": {"batch": 20, "concurrency": 8, "lease_seconds": 1.0},
            }
        )
    )
    env = {**os.environ, "FORECALL_CONFIG": str(config), "FORECALL_LOG_LEVEL": "WARNING"}
    # A file, not a pipe: a worker logging tracebacks into a pipe nobody reads would block
    # on a full pipe and look like a hang.
    log = (tmp_path / f"worker-{time.monotonic_ns()}.log").open("wb")
    try:
        return subprocess.Popen(WORKER, env=env, stdout=subprocess.DEVNULL, stderr=log)
    finally:
        log.close()


def stop(worker: subprocess.Popen[bytes]) -> int:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
    try:
        return worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
        raise AssertionError("the worker ignored SIGTERM") from None


def assert_each_accepted_once(receiver: Receiver) -> None:
    # Resends after a crash carry the same idempotency key, so the provider, which keeps
    # one message per key, ends with each message exactly once.
    assert set(receiver.by_key) == {f"fault-{i}" for i in range(N)}, "a message was lost"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    # A slow provider, so that the kill lands while deliveries are in flight.
    with Receiver(delay=0.02) as r:
        yield r


async def test_a_killed_worker_loses_nothing(
    tmp_path: Path, redis_url: str, receiver: Receiver
) -> None:
    await enqueue(redis_url)
    first = start_worker(tmp_path, redis_url, receiver)
    try:
        wait_for(lambda: receiver.delivered >= 50 or first.poll() is not None, "deliveries")
        assert first.poll() is None, "the worker stopped on its own"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        halfway = receiver.delivered
        assert halfway < N, "the worker finished before it could be killed"
    finally:
        if first.poll() is None:
            first.kill()
        first.wait()

    second = start_worker(tmp_path, redis_url, receiver)
    try:
        wait_for(lambda: receiver.delivered == N, "the second worker to finish the work")
    finally:
        code = stop(second)
    assert code == 0, "the worker did not stop cleanly on SIGTERM"
    assert_each_accepted_once(receiver)
    # At most the requests in flight at the kill (concurrency 8) went out twice: claimed
    # messages not yet started are sent once, by the second worker.
    assert receiver.requests - N <= 8, receiver.requests
    assert await sent(redis_url) == N


async def test_redis_killed_and_restarted_from_its_log_loses_nothing(
    tmp_path: Path, receiver: Receiver
) -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    data = tmp_path / "redis"
    data.mkdir()
    server = start_redis(port, data)
    worker: subprocess.Popen[bytes] | None = None
    try:
        await enqueue(url)
        worker = start_worker(tmp_path, url, receiver)
        wait_for(lambda: receiver.delivered >= 50, "deliveries")
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        time.sleep(1.0)  # the worker meets a dead server for a while, and must survive it
        assert worker.poll() is None, "the worker died with its store"
        server = start_redis(port, data)
        wait_for(lambda: receiver.delivered == N, "delivery after the restart")
        assert stop(worker) == 0
        assert_each_accepted_once(receiver)
        assert await sent(url) == N
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
            worker.wait()
        server.kill()
        server.wait()
