"""Push through FCM HTTP v1 against a local token endpoint and FCM server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.channels import Channel, open_channel
from connectors.channels.base import CallbackRejected
from core.errors import ProviderError
from tests.connectors.channels.conftest import outbound
from tests.fakes.providers import FakeFcm

DEVICE = "fcm-device-token-" + "x" * 40
SECRET = "push-callback-secret-0123"


@pytest.fixture
def fcm() -> Iterator[tuple[FakeFcm, str]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with FakeFcm("forecall-test", public) as fake:
        account = {
            "type": "service_account",
            "client_email": "push@forecall-test.iam.gserviceaccount.com",
            "private_key": private,
            "token_uri": f"{fake.url}/token",
        }
        yield fake, orjson.dumps(account).decode()


def channel(fake: FakeFcm, account: str, http: httpx.AsyncClient) -> Channel:
    config = {
        "kind": "fcm",
        "project_id": "forecall-test",
        "service_account_json": account,
        "base_url": fake.url,
        "callback_secret": SECRET,
    }
    return open_channel("push", config, http)


async def test_push_with_a_cached_token_refreshed_once_on_401(
    fcm: tuple[FakeFcm, str], http: httpx.AsyncClient
) -> None:
    fake, account = fcm
    push = channel(fake, account, http)
    first = await push.send(outbound(address=DEVICE, text="Авария до 18:00"))
    await push.send(outbound(id="m2", address=DEVICE, text="Восстановлено"))
    assert first.provider_message_id == "projects/forecall-test/messages/1"
    assert fake.token_requests == 1  # cached between sends
    assert fake.sent[0]["notification"] == {"title": "Служба поддержки", "body": "Авария до 18:00"}
    assert fake.sent[0]["data"] == {"message_id": "inc:INC-7:start:c1"}
    fake.revoke_tokens()  # the token died early: one refresh, the send goes through
    await push.send(outbound(id="m3", address=DEVICE))
    assert fake.token_requests == 2 and len(fake.sent) == 3


async def test_fcm_errors_are_classified(fcm: tuple[FakeFcm, str], http: httpx.AsyncClient) -> None:
    fake, account = fcm
    push = channel(fake, account, http)
    fake.unregistered.add(DEVICE)
    with pytest.raises(ProviderError) as gone:
        await push.send(outbound(address=DEVICE))
    assert gone.value.permanent and gone.value.provider_code == "UNREGISTERED"
    quota = {
        "error": {
            "code": 429,
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"errorCode": "QUOTA_EXCEEDED"}],
        }
    }
    fake.fail_next(429, quota, {"Retry-After": "30"})
    with pytest.raises(ProviderError) as limited:
        await push.send(outbound(address="other-" + DEVICE))
    assert not limited.value.permanent and limited.value.retry_after == 30
    fake.fail_next(503, {"error": {"code": 503, "status": "UNAVAILABLE"}})
    with pytest.raises(ProviderError) as down:
        await push.send(outbound(address="other-" + DEVICE))
    assert not down.value.permanent


def test_settings_and_receipts(fcm: tuple[FakeFcm, str]) -> None:
    fake, account = fcm
    with pytest.raises(ValueError, match=r"^push: give service_account_file"):
        open_channel("push", {"kind": "fcm", "project_id": "forecall-test"}, httpx.AsyncClient())
    push = channel(fake, account, httpx.AsyncClient())
    [opened] = push.parse_callback(
        {"X-Forecall-Token": SECRET}, b'{"message_id": "m1", "status": "opened"}'
    )
    assert (opened.kind, opened.message_id) == ("read", "m1")
    with pytest.raises(CallbackRejected):
        push.parse_callback({"X-Forecall-Token": "nope"}, b'{"message_id": "m1"}')


async def test_a_resent_push_replaces_the_first_on_the_device(
    fcm: tuple[FakeFcm, str], http: httpx.AsyncClient
) -> None:
    fake, account = fcm
    push = channel(fake, account, http)
    notice = outbound(address=DEVICE, text="Авария до 18:00")
    await push.send(notice)
    await push.send(notice)  # our first answer was lost: FCM takes it again
    long_id = outbound(id="inc:" + "x" * 80, address=DEVICE, text="Другая авария")
    await push.send(long_id)
    await push.send(long_id)
    assert len(fake.sent) == 4 and len(fake.shown[DEVICE]) == 2
    sent = fake.sent[0]
    assert sent["android"]["notification"]["tag"] == notice.id
    assert sent["apns"]["headers"]["apns-collapse-id"] == notice.id
    assert sent["webpush"]["notification"]["tag"] == notice.id
    assert len(fake.sent[2]["apns"]["headers"]["apns-collapse-id"].encode()) <= 64
