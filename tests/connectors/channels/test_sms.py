"""The generic HTTP SMS gateway and its SMSC.ru profile, against local servers that speak
their APIs: sends, documented error codes, signed callbacks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import pytest

from connectors.channels import open_channel
from connectors.channels.base import CallbackRejected
from connectors.channels.smsc import callback_signature, smsc_id
from core.errors import ProviderError
from tests.api.test_incidents import incident, until
from tests.connectors.channels.conftest import outbound
from tests.fakes.providers import FakeSmsc, FakeSmsGateway, FakeTelegram

CALLBACK_SECRET = "callback-secret-0123456789"


def gateway(fake: FakeSmsGateway) -> dict[str, Any]:
    return {
        "kind": "http_sms",
        "url": f"{fake.url}/send",
        "sender": "Forecall",
        "headers": {"Authorization": "Bearer gateway-key"},
        "permanent_codes": ["invalid_number"],
        "callback": {"secret": CALLBACK_SECRET},
    }


async def test_gateway_sends_a_form_with_our_id(http: httpx.AsyncClient) -> None:
    with FakeSmsGateway() as fake:
        sms = open_channel("sms", gateway(fake), http)
        result = await sms.send(outbound(text="Нет интернета до 18:00"))
        assert result.provider_message_id == "gw-inc:INC-7:start:c1"
        assert fake.sent["inc:INC-7:start:c1"] == {
            "phone": "+79161234567",
            "text": "Нет интернета до 18:00",
            "sender": "Forecall",
            "client_id": "inc:INC-7:start:c1",
        }


async def test_gateway_refusals_are_classified(http: httpx.AsyncClient) -> None:
    with FakeSmsGateway() as fake:
        sms = open_channel("sms", gateway(fake), http)
        fake.invalid.add("+79160000000")
        with pytest.raises(ProviderError) as invalid:
            await sms.send(outbound(address="+79160000000"))
        assert invalid.value.permanent and invalid.value.provider_code == "invalid_number"
        fake.fail_next(429, {"error_code": "throttled"}, {"Retry-After": "30"})
        with pytest.raises(ProviderError) as limited:
            await sms.send(outbound())
        assert not limited.value.permanent and limited.value.retry_after == 30
        fake.fail_next(503, {})
        with pytest.raises(ProviderError) as down:
            await sms.send(outbound())
        assert not down.value.permanent
        assert "+7916" not in str(invalid.value)  # no phone numbers in errors


def test_gateway_callbacks_need_the_secret() -> None:
    sms = open_channel("sms", gateway(FakeSmsGateway()), httpx.AsyncClient())
    status = orjson.dumps({"id": "m1", "status": "delivered", "phone": "+79161234567"})
    [delivered] = sms.parse_callback({"X-Callback-Token": CALLBACK_SECRET}, status)
    assert (delivered.kind, delivered.message_id) == ("delivered", "m1")
    reply = urlencode({"phone": "+79161234567", "text": "Стоп"}).encode()
    [answer] = sms.parse_callback(
        {"X-Callback-Token": CALLBACK_SECRET, "Content-Type": "application/x-www-form-urlencoded"},
        reply,
    )
    assert (answer.kind, answer.address, answer.text) == ("reply", "+79161234567", "Стоп")
    with pytest.raises(CallbackRejected):
        sms.parse_callback({"X-Callback-Token": "wrong"}, status)


def smsc(fake: FakeSmsc) -> dict[str, Any]:
    return {
        "kind": "smsc",
        "login": "forecall",
        "password": "smsc-password",
        "sender": "Forecall",
        "base_url": fake.url,
    }


async def test_smsc_sends_through_send_php(http: httpx.AsyncClient) -> None:
    with FakeSmsc("forecall", "smsc-password") as fake:
        channel = open_channel("sms", smsc(fake), http)
        result = await channel.send(outbound(id="m-1", text="Авария: восстановим к 18:00"))
        assert result.provider_message_id == "m-1"
        sent = fake.sent["m-1"]
        assert sent["phones"] == "+79161234567" and sent["mes"] == "Авария: восстановим к 18:00"
        assert sent["charset"] == "utf-8" and sent["fmt"] == "3" and sent["sender"] == "Forecall"
        # An id SMSC cannot carry goes as a stable hash: the same on every retry.
        long_id = "inc:INC-7:start:" + "c" * 60
        await channel.send(outbound(id=long_id))
        assert smsc_id(long_id) in fake.sent and smsc_id(long_id) == smsc_id(long_id)
        # The same request again within a minute, as a resend (our first try's answer was
        # lost): SMSC says 9, it has the first; that is success, and nothing goes twice.
        first = outbound(id="m-1", text="Авария: восстановим к 18:00")
        again = await channel.send(replace(first, resend=True))
        assert again.provider_message_id == "m-1" and fake.delivered == ["m-1", smsc_id(long_id)]
        # Error 9 on a first request is SMSC's limit of requests at once: nothing was
        # sent, so it is retried, not taken for success.
        fake.fail_next(200, {"error": "duplicate request, wait a minute", "error_code": 9})
        with pytest.raises(ProviderError) as busy:
            await channel.send(outbound(id="m-9"))
        assert not busy.value.permanent and busy.value.retry_after == 60
        assert "m-9" not in fake.sent


async def test_smsc_dedupes_only_within_a_minute(http: httpx.AsyncClient) -> None:
    with FakeSmsc("forecall", "smsc-password") as fake:
        channel = open_channel("sms", smsc(fake), http)
        first = outbound(id="m-1")
        await channel.send(first)
        fake.duplicate_window = 0.0  # a minute later: SMSC's id is no idempotency key
        await channel.send(replace(first, resend=True))
        assert fake.delivered == ["m-1", "m-1"]


async def test_smsc_error_codes(http: httpx.AsyncClient) -> None:
    with FakeSmsc("forecall", "smsc-password") as fake:
        channel = open_channel("sms", smsc(fake), http)
        with pytest.raises(ProviderError) as invalid:
            await channel.send(outbound(id="m-2", address="+7916"))
        assert invalid.value.permanent and invalid.value.provider_code == "7"
        fake.balance_empty = True
        with pytest.raises(ProviderError) as broke:
            await channel.send(outbound(id="m-3"))
        assert not broke.value.permanent and broke.value.retry_after == 300
        fake.balance_empty = False
        wrong = open_channel("sms", {**smsc(fake), "password": "nope"}, http)
        with pytest.raises(ProviderError) as denied:
            await wrong.send(outbound(id="m-4"))
        assert denied.value.permanent and denied.value.provider_code == "2"
        fake.fail_next(502, {})
        with pytest.raises(ProviderError) as down:
            await channel.send(outbound(id="m-5"))
        assert not down.value.permanent
        assert all("smsc-password" not in str(e.value) for e in (invalid, broke, denied, down))


def test_smsc_callbacks_are_checked_by_their_hash() -> None:
    channel = open_channel("sms", smsc(FakeSmsc("forecall", "smsc-password")), httpx.AsyncClient())
    status = {"id": "m-1", "phone": "79161234567", "status": "1", "time": "1795000000"}
    status["md5"] = callback_signature(status, ["id", "phone", "status"], "smsc-password")
    [delivered] = channel.parse_callback({}, urlencode(status).encode())
    assert (delivered.kind, delivered.message_id) == ("delivered", "m-1")
    failed = {"id": "m-2", "phone": "79161234567", "status": "22", "err": "1"}
    failed["md5"] = callback_signature(failed, ["id", "phone", "status"], "smsc-password")
    [bounce] = channel.parse_callback({}, urlencode(failed).encode())
    assert bounce.kind == "failed" and bounce.permanent
    reply = {"sms_id": "901", "phone": "79161234567", "mes": "СТОП"}
    reply["md5"] = callback_signature(reply, ["sms_id", "phone", "mes"], "smsc-password")
    [answer] = channel.parse_callback({}, urlencode(reply).encode())
    assert (answer.kind, answer.text) == ("reply", "СТОП")
    forged = {**status, "status": "3"}
    with pytest.raises(CallbackRejected):
        channel.parse_callback({}, urlencode(forged).encode())


def test_smsc_needs_credentials() -> None:
    with pytest.raises(ValueError, match="give login and password, or api_key"):
        open_channel("sms", {"kind": "smsc", "login": "x"}, httpx.AsyncClient())


async def test_gateway_notice_receipt_and_stop_reply_through_the_api(
    app_factory: Callable[..., Any],
) -> None:
    token = "123456:ABC-test-token"
    with FakeSmsGateway() as fake, FakeTelegram(token) as bot:
        channels = {
            "sms": gateway(fake),
            "telegram": {"kind": "telegram", "token": token, "base_url": bot.url},
        }
        person = {
            "identities": [
                {"kind": "phone", "value": "8 (916) 111-00-06"},
                {"kind": "telegram", "value": "551006"},
            ],
            "region": "RU-MOW",
            "services": ["internet"],
            "time_zone": "Europe/Moscow",
            "channel_preferences": ["sms", "telegram"],
        }
        async with app_factory(channels=channels) as client:
            assert (await client.put("/v1/customers/c6", json=person)).status_code == 201
            assert (await client.post("/v1/incidents", json=incident())).status_code == 201
            await until(lambda: len(fake.sent) == 1, "the SMS notice")
            sent = fake.sent["inc:INC-7:start:c6"]
            assert sent["phone"] == "+79161110006" and "Нет интернета на Тверской" in sent["text"]

            token_header = {"X-Callback-Token": CALLBACK_SECRET, "Authorization": ""}
            receipt = orjson.dumps({"id": "inc:INC-7:start:c6", "status": "delivered"})
            delivered = await client.post(
                "/v1/channels/sms/callback", content=receipt, headers=token_header
            )
            assert delivered.status_code == 200 and delivered.json()["updated"] == 1
            shown = (await client.get("/v1/messages/inc:INC-7:start:c6")).json()
            assert shown["status"] == "delivered"

            # The gateway writes the sender its own way ("79161110006"); still the customer.
            reply = urlencode({"phone": "79161110006", "text": "стоп"})
            form = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": ""}
            forged = await client.post(
                "/v1/channels/sms/callback",
                content=reply,
                headers={**form, "X-Callback-Token": "guess"},
            )
            assert forged.status_code == 401
            assert (await client.get("/v1/customers/c6/stops")).json()["channels"] == []
            stop = await client.post(
                "/v1/channels/sms/callback",
                content=reply,
                headers={**form, "X-Callback-Token": CALLBACK_SECRET},
            )
            assert stop.status_code == 200 and stop.json()["stopped"] == 1
            assert (await client.get("/v1/customers/c6/stops")).json()["channels"] == ["sms"]

            moved = await client.patch("/v1/incidents/INC-7", json={"eta": "2026-11-18T18:00:00Z"})
            assert moved.status_code == 200
            await until(lambda: len(bot.sent) == 1, "the Telegram update after стоп")
            assert len(fake.sent) == 1 and bot.sent[0]["chat_id"] == "551006"
