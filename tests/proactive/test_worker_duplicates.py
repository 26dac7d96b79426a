"""Duplicates per kill, per provider kind: a `forecall worker` process SIGKILLed mid-broadcast
against each local fake provider, a second worker finishing the work.

Only messages in flight at the kill (marked by `Outbox.start`, at most `concurrency` of
them) are sent again. Where the provider dedupes (webhook Idempotency-Key, a gateway's
client id, SMSC's identical request within a minute, FCM's notification tag), the customer
still gets each message once; where it cannot (Telegram), the extra copies are bounded by
the in-flight window. The numbers each run measured are printed (`pytest -s`) and
summarised in docs/outbox.md."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.outbox import open_outbox
from core.messages import Message, Route
from tests.fakes.providers import FakeFcm, FakeSmsc, FakeSmsGateway, FakeTelegram
from tests.fakes.receiver import SECRET, Receiver
from tests.fakes.redis_server import wait_for

WORKER = [sys.executable, "-c", "from api.cli import main; raise SystemExit(main(['worker']))"]
N = 200
CONCURRENCY = 8  # the in-flight window: requests under way at once per worker
DELAY = 0.03  # each provider answers this late, so the kill lands mid-request


@dataclass
class Kind:
    """A provider under test: its channel settings, the address of customer i, and what
    reached customers: copies of each message as the customer sees them."""

    config: dict[str, Any]
    address: Callable[[int], str]
    copies: Callable[[], Counter[str]]
    requests: Callable[[], int]
    dedupes: bool


def _rsa() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture(params=["webhook", "http_sms", "smsc", "fcm", "telegram"])
def kind(request: pytest.FixtureRequest) -> Iterator[Kind]:
    name = request.param
    phone: Callable[[int], str] = lambda i: f"+7916{i:07d}"  # noqa: E731
    if name == "webhook":
        with Receiver(delay=DELAY) as hook:
            yield Kind(
                {"kind": "webhook", "url": hook.url, "secret": SECRET},
                phone,
                # The receiver keeps one message per Idempotency-Key, as it is asked to.
                lambda: Counter(dict.fromkeys(hook.by_key, 1)),
                lambda: hook.requests,
                dedupes=True,
            )
    elif name == "http_sms":
        with FakeSmsGateway() as gateway:
            gateway.delay = DELAY
            yield Kind(
                {
                    "kind": "http_sms",
                    "url": gateway.url,
                    "headers": {"Authorization": "Bearer gateway-key"},
                },
                phone,
                lambda: Counter(dict.fromkeys(gateway.sent, 1)),  # one SMS per client_id
                lambda: len(gateway.requests),
                dedupes=True,
            )
    elif name == "smsc":
        with FakeSmsc("forecall", "smsc-password") as smsc:
            smsc.delay = DELAY
            yield Kind(
                {
                    "kind": "smsc",
                    "login": "forecall",
                    "password": "smsc-password",
                    "base_url": smsc.url,
                },
                phone,
                lambda: Counter(smsc.delivered),
                lambda: len(smsc.requests),
                dedupes=True,  # the resend comes within SMSC's minute (a 1 s lease here)
            )
    elif name == "fcm":
        private, public = _rsa()
        with FakeFcm("forecall-test", public) as fcm:
            fcm.delay = DELAY
            account = {
                "type": "service_account",
                "client_email": "push@forecall-test.iam.gserviceaccount.com",
                "private_key": private,
                "token_uri": f"{fcm.url}/token",
            }
            yield Kind(
                {
                    "kind": "fcm",
                    "project_id": "forecall-test",
                    "service_account_json": orjson.dumps(account).decode(),
                    "base_url": fcm.url,
                },
                lambda i: f"device-{i:05d}",
                # What each device shows: a resend with the same tag replaces the first.
                lambda: Counter({t: len(shown) for t, shown in fcm.shown.items()}),
                lambda: len(fcm.sent),
                dedupes=True,
            )
    else:
        with FakeTelegram("123:token") as bot:
            bot.delay = DELAY
            yield Kind(
                {"kind": "telegram", "token": "123:token", "base_url": bot.url},
                lambda i: str(100000 + i),
                lambda: Counter(str(m["chat_id"]) for m in list(bot.sent)),
                lambda: len(bot.requests),
                dedupes=False,  # the Bot API has no idempotency key
            )


def start_worker(tmp_path: Path, store_url: str, channel: dict[str, Any]) -> Any:
    config = tmp_path / "worker.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "store": store_url,
                "channels": {"ch": channel},
                "dispatcher": {"batch": 20, "concurrency": CONCURRENCY, "lease_seconds": 1.0},
            }
        )
    )
    env = {**os.environ, "FORECALL_CONFIG": str(config), "FORECALL_LOG_LEVEL": "WARNING"}
    log = (tmp_path / f"worker-{time.monotonic_ns()}.log").open("wb")
    try:
        return subprocess.Popen(WORKER, env=env, stdout=subprocess.DEVNULL, stderr=log)
    finally:
        log.close()


async def test_duplicates_per_kill_stay_within_the_in_flight_window(
    tmp_path: Path, redis_url: str, kind: Kind
) -> None:
    outbox = open_outbox(redis_url)
    now = time.time()
    messages = [
        Message(
            id=f"dup-{i}",
            customer_id=f"c{i}",
            group="dups",
            category="service",
            routes=[Route("ch", kind.address(i), f"Уведомление {i}")],
            due_at=now,
            created_at=now,
        )
        for i in range(N)
    ]
    try:
        assert await outbox.enqueue(messages, now) == N
    finally:
        await outbox.close()

    first = start_worker(tmp_path, redis_url, kind.config)
    try:
        wait_for(lambda: len(kind.copies()) >= 50 or first.poll() is not None, "deliveries")
        assert first.poll() is None, "the worker stopped on its own"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        assert len(kind.copies()) < N, "the worker finished before it could be killed"
    finally:
        if first.poll() is None:
            first.kill()
        first.wait()
    second = start_worker(tmp_path, redis_url, kind.config)
    try:
        wait_for(lambda: len(kind.copies()) == N, "the second worker to finish the work")
        time.sleep(0.3)  # any late resend would show now
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=20)

    copies = kind.copies()
    extra_copies = sum(copies.values()) - N
    resent = kind.requests() - N
    print(f"\n{kind.config['kind']}: resent {resent}, extra copies {extra_copies} per kill")
    assert len(copies) == N, "a message was lost"
    assert 0 <= resent <= CONCURRENCY, "only requests under way at the kill go again"
    if kind.dedupes:
        assert max(copies.values()) == 1, "the provider let a resend through"
    else:
        assert extra_copies <= CONCURRENCY
