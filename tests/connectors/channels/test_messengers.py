"""WhatsApp Cloud API and Viber connectors against local servers speaking their APIs."""

from __future__ import annotations

import hashlib
import hmac

import httpx
import orjson
import pytest

from connectors.channels import Channel, open_channel
from connectors.channels.base import CallbackEvent, CallbackRejected, OutboundMessage
from core.errors import ProviderError
from tests.connectors.channels.conftest import outbound
from tests.fakes.providers import FakeViber, FakeWhatsApp

WA_TOKEN, PHONE_ID, APP_SECRET = "EAAG-test-token", "106540352242922", "app-secret-0123"
VIBER_TOKEN = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9"


def whatsapp(fake: FakeWhatsApp, http: httpx.AsyncClient) -> Channel:
    config = {
        "kind": "whatsapp",
        "access_token": WA_TOKEN,
        "phone_number_id": PHONE_ID,
        "app_secret": APP_SECRET,
        "verify_token": "verify-me",
        "base_url": fake.url,
    }
    return open_channel("whatsapp", config, http)


async def test_whatsapp_text_inside_the_window_template_outside(http: httpx.AsyncClient) -> None:
    with FakeWhatsApp(WA_TOKEN, PHONE_ID) as fake:
        wa = whatsapp(fake, http)
        fake.window_open.add("79161234567")
        sent = await wa.send(outbound(address="79161234567", text="Заказ A1 задерживается"))
        assert sent.provider_message_id == "wamid.1"
        assert fake.sent[0]["text"]["body"] == "Заказ A1 задерживается"
        with pytest.raises(ProviderError) as closed:
            await wa.send(outbound(address="79990000000"))
        assert closed.value.permanent and closed.value.provider_code == "131047"
        assert "24-hour window" in str(closed.value)
        templated = OutboundMessage(
            id="m2",
            customer_id="c1",
            channel="whatsapp",
            address="79990000000",
            text="",
            template="outage_notice",
            params={"title": "Авария", "eta": "18:00"},
        )
        await wa.send(templated)
        template = fake.sent[1]["template"]
        assert template["name"] == "outage_notice" and template["language"] == {"code": "ru"}
        assert [p["text"] for p in template["components"][0]["parameters"]] == ["Авария", "18:00"]


async def test_whatsapp_error_codes(http: httpx.AsyncClient) -> None:
    with FakeWhatsApp(WA_TOKEN, PHONE_ID) as fake:
        wa = whatsapp(fake, http)
        fake.window_open.add("79161234567")
        limit = {"error": {"message": "Rate limit hit", "code": 131056}}
        fake.fail_next(400, limit)
        with pytest.raises(ProviderError) as pair:
            await wa.send(outbound(address="79161234567"))
        assert not pair.value.permanent and pair.value.retry_after == 60.0
        fake.fail_next(500, {"error": {"message": "Service unavailable", "code": 131016}})
        with pytest.raises(ProviderError) as down:
            await wa.send(outbound(address="79161234567"))
        assert not down.value.permanent
        fake.fail_next(400, {"error": {"message": "Message undeliverable", "code": 131026}})
        with pytest.raises(ProviderError) as undeliverable:
            await wa.send(outbound(address="79161234567"))
        assert undeliverable.value.permanent
        expired = open_channel(
            "whatsapp",
            {
                "kind": "whatsapp",
                "access_token": "old",
                "phone_number_id": PHONE_ID,
                "base_url": fake.url,
            },
            http,
        )
        with pytest.raises(ProviderError) as token:
            await expired.send(outbound(address="79161234567"))
        assert token.value.permanent and token.value.provider_code == "190"


def signed(body: bytes) -> dict[str, str]:
    digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}"}


def test_whatsapp_webhooks_statuses_replies_and_handshake() -> None:
    wa = whatsapp(FakeWhatsApp(WA_TOKEN, PHONE_ID), httpx.AsyncClient())
    update = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "statuses": [
                                {"id": "wamid.1", "status": "delivered", "timestamp": "1795000000"},
                                {"id": "wamid.2", "status": "sent", "timestamp": "1795000000"},
                                {
                                    "id": "wamid.3",
                                    "status": "failed",
                                    "timestamp": "1795000001",
                                    "errors": [{"code": 131026, "title": "Message undeliverable"}],
                                },
                            ],
                            "messages": [
                                {
                                    "from": "79161234567",
                                    "id": "wamid.in",
                                    "timestamp": "1795000002",
                                    "type": "text",
                                    "text": {"body": "Стоп"},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    body = orjson.dumps(update)
    delivered, failed, reply = wa.parse_callback(signed(body), body)
    assert (delivered.kind, delivered.provider_message_id) == ("delivered", "wamid.1")
    assert failed.kind == "failed" and failed.permanent
    assert (reply.kind, reply.address, reply.text) == ("reply", "79161234567", "Стоп")
    with pytest.raises(CallbackRejected):
        wa.parse_callback({"X-Hub-Signature-256": "sha256=00"}, body)
    verify = getattr(wa, "verify_subscription")  # noqa: B009 -- not every channel has it
    ok = {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"}
    assert verify(ok) == "1158201444"
    assert verify({**ok, "hub.verify_token": "guess"}) is None


def viber(fake: FakeViber, http: httpx.AsyncClient) -> Channel:
    config = {
        "kind": "viber",
        "auth_token": VIBER_TOKEN,
        "sender_name": "Forecall",
        "base_url": fake.url,
    }
    return open_channel("viber", config, http)


async def test_viber_sends_and_classifies_statuses(http: httpx.AsyncClient) -> None:
    with FakeViber(VIBER_TOKEN) as fake:
        vb = viber(fake, http)
        sent = await vb.send(outbound(address="01234567890A=", text="Авария до 18:00"))
        assert sent.provider_message_id == "5001"
        assert (
            fake.sent[0]["sender"] == {"name": "Forecall"}
            and fake.sent[0]["text"] == "Авария до 18:00"
        )
        fake.unsubscribed.add("gone=")
        with pytest.raises(ProviderError) as gone:
            await vb.send(outbound(address="gone="))
        assert gone.value.permanent and gone.value.provider_code == "6"
        fake.fail_next(200, {"status": 12, "status_message": "tooManyRequests"})
        with pytest.raises(ProviderError) as busy:
            await vb.send(outbound(address="01234567890A="))
        assert not busy.value.permanent and busy.value.retry_after == 60.0
        fake.fail_next(503, {})
        with pytest.raises(ProviderError) as down:
            await vb.send(outbound(address="01234567890A="))
        assert not down.value.permanent


def test_viber_callbacks_are_signed_with_the_token() -> None:
    vb = viber(FakeViber(VIBER_TOKEN), httpx.AsyncClient())

    def call(payload: dict[str, object]) -> list[CallbackEvent]:
        body = orjson.dumps(payload)
        sign = hmac.new(VIBER_TOKEN.encode(), body, hashlib.sha256).hexdigest()
        return vb.parse_callback({"X-Viber-Content-Signature": sign}, body)

    [seen] = call(
        {"event": "seen", "timestamp": 1795000000000, "message_token": 5001, "user_id": "u="}
    )
    assert (seen.kind, seen.provider_message_id, seen.at) == ("read", "5001", 1795000000.0)
    [stop] = call({"event": "unsubscribed", "timestamp": 1795000000000, "user_id": "u="})
    assert (stop.kind, stop.address, stop.text) == ("reply", "u=", "stop")
    [answer] = call(
        {
            "event": "message",
            "timestamp": 1795000000000,
            "message_token": 77,
            "sender": {"id": "u=", "name": "Иван"},
            "message": {"type": "text", "text": "спасибо"},
        }
    )
    assert answer.text == "спасибо"
    with pytest.raises(CallbackRejected):
        vb.parse_callback({"X-Viber-Content-Signature": "bad"}, b"{}")
