"""The SMTP connector against a real SMTP server on localhost."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from connectors.channels import Channel, open_channel
from connectors.channels.base import CallbackRejected
from core.errors import ProviderError
from tests.api.test_incidents import incident, until
from tests.connectors.channels.conftest import outbound
from tests.fakes.providers import FakeSmsGateway
from tests.fakes.smtp import FakeSmtp

SECRET = "email-callback-secret-0123"


def settings(port: int, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "smtp",
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": "support@example.ru",
        "sender_name": "Служба поддержки",
        "list_unsubscribe": "mailto:unsubscribe@example.ru",
        "callback_secret": SECRET,
        **extra,
    }


def email(port: int, **extra: Any) -> Channel:
    return open_channel("email", settings(port, **extra), httpx.AsyncClient())


async def test_sends_utf8_text_with_our_message_id() -> None:
    with FakeSmtp() as smtp:
        channel = email(smtp.port)
        message = outbound(address="ivan.petrov@example.ru", text="Авария на сети, до 18:00")
        result = await channel.send(message)
        [mail] = smtp.mail
        assert mail["To"] == "ivan.petrov@example.ru"
        assert mail["From"] == "Служба поддержки <support@example.ru>"
        assert mail["Subject"] == "Сообщение от службы поддержки"
        assert mail.get_content().strip() == "Авария на сети, до 18:00"
        assert (
            mail["Message-ID"]
            == result.provider_message_id
            == "<inc_INC-7_start_c1@forecall.local>"
        )
        assert mail["List-Unsubscribe"] == "<mailto:unsubscribe@example.ru>"


async def test_refusals_are_classified() -> None:
    with FakeSmtp() as smtp:
        channel = email(smtp.port)
        smtp.refuse["nobody@example.ru"] = "550 5.1.1 <nobody@example.ru>: no such user"
        with pytest.raises(ProviderError) as unknown:
            await channel.send(outbound(address="nobody@example.ru"))
        assert unknown.value.permanent and unknown.value.provider_code == "550"
        assert "nobody@example.ru" not in str(unknown.value)  # no addresses in errors
        smtp.refuse["busy@example.ru"] = "451 4.3.0 try again later"
        with pytest.raises(ProviderError) as later:
            await channel.send(outbound(address="busy@example.ru"))
        assert not later.value.permanent
        smtp.refuse_data = "554 5.7.1 rejected as spam"
        with pytest.raises(ProviderError) as spam:
            await channel.send(outbound(address="ivan@example.ru"))
        assert spam.value.permanent
    # The server is gone: retried.
    with pytest.raises(ProviderError) as down:
        await channel.send(outbound(address="ivan@example.ru"))
    assert not down.value.permanent


async def test_every_documented_rcpt_reply_is_classified() -> None:
    replies = {
        "550 5.1.1 no such user": True,
        "553 5.1.3 bad destination mailbox address syntax": True,
        "421 4.7.0 too many connections, closing": False,
        "450 4.2.1 mailbox busy": False,
        "452 4.5.3 too many recipients": False,
    }
    with FakeSmtp() as smtp:
        channel = email(smtp.port)
        for reply, permanent in replies.items():
            smtp.refuse["someone@example.ru"] = reply
            with pytest.raises(ProviderError) as refused:
                await channel.send(outbound(address="someone@example.ru"))
            assert refused.value.permanent is permanent, reply
            assert refused.value.provider_code == reply[:3]
        assert smtp.mail == []


async def test_the_account_logs_in_and_a_wrong_password_is_retried_not_blamed_on_the_customer() -> (
    None
):
    with FakeSmtp(login=("notices", "right-password")) as smtp:
        good = email(smtp.port, username="notices", password="right-password")
        await good.send(outbound(address="ivan@example.ru", text="Работы завершены"))
        assert smtp.logins == ["notices"] and len(smtp.mail) == 1
        wrong = email(smtp.port, username="notices", password="wrong-password")
        with pytest.raises(ProviderError) as denied:
            await wrong.send(outbound(address="ivan@example.ru"))
        # 535 is our account's fault: the message waits (then dead letters, revived once
        # the password is fixed) instead of moving the customer to another channel.
        assert not denied.value.permanent and denied.value.provider_code == "535"
        assert denied.value.retry_after == 300
        assert "wrong-password" not in str(denied.value) and len(smtp.mail) == 1


async def test_a_server_that_never_greets_is_retried() -> None:
    with socket.socket() as silent:  # the kernel accepts; nobody ever says 220
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        channel = email(silent.getsockname()[1], timeout=0.2)
        with pytest.raises(ProviderError) as hung:
            await channel.send(outbound(address="ivan@example.ru"))
        assert not hung.value.permanent and "Timeout" in str(hung.value)


def test_bounce_and_reply_reports_need_the_secret() -> None:
    channel = email(25)
    reports = [
        {"message_id": "m1", "status": "bounced", "permanent": True, "error": "550 no such user"},
        {"status": "reply", "from": "Ivan.Petrov@Example.ru", "text": "Отписаться"},
    ]
    bounce, reply = channel.parse_callback({"X-Forecall-Token": SECRET}, orjson.dumps(reports))
    assert (bounce.kind, bounce.message_id, bounce.permanent) == ("failed", "m1", True)
    assert (reply.kind, reply.address, reply.text) == (
        "reply",
        "ivan.petrov@example.ru",
        "Отписаться",
    )
    with pytest.raises(CallbackRejected):
        channel.parse_callback({"X-Forecall-Token": "wrong"}, orjson.dumps(reports))
    with pytest.raises(CallbackRejected):
        channel.parse_callback({"X-Forecall-Token": SECRET}, b'{"status": "exploded"}')


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match=r"^email\.sender: "):
        open_channel("email", {"kind": "smtp", "host": "mx", "sender": "nope"}, httpx.AsyncClient())
    with pytest.raises(ValueError, match=r"^email\.host: Field required"):
        open_channel("email", {"kind": "smtp", "sender": "a@b.ru"}, httpx.AsyncClient())


def person(preferences: list[str]) -> dict[str, Any]:
    return {
        "identities": [
            {"kind": "email", "value": "Client4@Example.ru"},
            {"kind": "phone", "value": "+79161110004"},
        ],
        "region": "RU-MOW",
        "services": ["internet"],
        "time_zone": "Europe/Moscow",
        "channel_preferences": preferences,
    }


async def test_email_notice_and_an_unsubscribe_reply_through_the_api(
    app_factory: Callable[..., Any],
) -> None:
    with FakeSmtp() as smtp, FakeSmsGateway() as gateway:
        channels = {
            "email": settings(smtp.port),
            "sms": {
                "kind": "http_sms",
                "url": f"{gateway.url}/send",
                "headers": {"Authorization": "Bearer gateway-key"},
            },
        }
        async with app_factory(channels=channels) as client:
            put = await client.put("/v1/customers/c4", json=person(["email", "sms"]))
            assert put.status_code == 201
            assert (await client.post("/v1/incidents", json=incident())).status_code == 201
            await until(lambda: len(smtp.mail) == 1, "the email notice")
            [mail] = smtp.mail
            assert mail["To"] == "client4@example.ru"
            assert "Нет интернета на Тверской" in mail.get_content()
            assert mail["Message-ID"] == "<inc_INC-7_start_c4@forecall.local>"
            assert gateway.sent == {}

            reply = {"status": "reply", "from": "CLIENT4@example.ru", "text": "Отписаться"}
            forged = await client.post(
                "/v1/channels/email/callback",
                content=orjson.dumps(reply),
                headers={"X-Forecall-Token": "guess", "Authorization": ""},
            )
            assert forged.status_code == 401
            assert (await client.get("/v1/customers/c4/stops")).json()["channels"] == []
            stop = await client.post(
                "/v1/channels/email/callback",
                content=orjson.dumps(reply),
                headers={"X-Forecall-Token": SECRET, "Authorization": ""},
            )
            assert stop.status_code == 200 and stop.json()["stopped"] == 1
            assert (await client.get("/v1/customers/c4/stops")).json()["channels"] == ["email"]

            moved = await client.patch("/v1/incidents/INC-7", json={"eta": "2026-11-18T18:00:00Z"})
            assert moved.status_code == 200
            await until(lambda: len(gateway.sent) == 1, "the SMS update after the unsubscribe")
            assert len(smtp.mail) == 1
            [sms] = gateway.sent.values()
            assert sms["phone"] == "+79161110004" and "21:00" in sms["text"]
