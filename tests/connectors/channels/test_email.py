"""The SMTP connector against a real SMTP server on localhost."""

from __future__ import annotations

import httpx
import orjson
import pytest

from connectors.channels import Channel, open_channel
from connectors.channels.base import CallbackRejected
from core.errors import ProviderError
from tests.connectors.channels.conftest import outbound
from tests.fakes.smtp import FakeSmtp

SECRET = "email-callback-secret-0123"


def email(port: int) -> Channel:
    config = {
        "kind": "smtp",
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": "support@example.ru",
        "sender_name": "Служба поддержки",
        "list_unsubscribe": "mailto:unsubscribe@example.ru",
        "callback_secret": SECRET,
    }
    return open_channel("email", config, httpx.AsyncClient())


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
