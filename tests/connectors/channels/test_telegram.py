"""The Telegram connector against a local Bot API: sends, refusals, webhook updates."""

from __future__ import annotations

import httpx
import orjson
import pytest

from connectors.channels import open_channel
from connectors.channels.base import CallbackRejected
from connectors.channels.telegram import SECRET_HEADER
from core.errors import ProviderError
from tests.connectors.channels.conftest import outbound
from tests.fakes.providers import FakeTelegram

TOKEN = "123456:ABC-test-token"


async def test_sends_the_russian_text_to_the_chat(http: httpx.AsyncClient) -> None:
    with FakeTelegram(TOKEN) as bot:
        tg = open_channel(
            "telegram", {"kind": "telegram", "token": TOKEN, "base_url": bot.url}, http
        )
        result = await tg.send(outbound(address="5512345678", text="Авария на Тверской, до 18:00"))
        assert result.provider_message_id == "1"
        assert bot.sent == [{"chat_id": "5512345678", "text": "Авария на Тверской, до 18:00"}]


async def test_refusals_are_classified(http: httpx.AsyncClient) -> None:
    with FakeTelegram(TOKEN) as bot:
        tg = open_channel(
            "telegram", {"kind": "telegram", "token": TOKEN, "base_url": bot.url}, http
        )
        bot.blocked.add("42")
        with pytest.raises(ProviderError) as blocked:
            await tg.send(outbound(address="42"))
        assert blocked.value.permanent and blocked.value.provider_code == "403"
        with pytest.raises(ProviderError) as missing:
            await tg.send(outbound(address="no-such-chat"))
        assert missing.value.permanent and "chat not found" in str(missing.value)
        bot.fail_next(
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 7",
                "parameters": {"retry_after": 7},
            },
        )
        with pytest.raises(ProviderError) as limited:
            await tg.send(outbound(address="42"))
        assert not limited.value.permanent and limited.value.retry_after == 7
        bot.fail_next(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
        with pytest.raises(ProviderError) as down:
            await tg.send(outbound(address="42"))
        assert not down.value.permanent
        wrong = open_channel(
            "telegram", {"kind": "telegram", "token": "1:wrong", "base_url": bot.url}, http
        )
        with pytest.raises(ProviderError) as unauthorized:
            await wrong.send(outbound(address="5512345678"))
        assert unauthorized.value.permanent
        assert TOKEN not in str(unauthorized.value) and "1:wrong" not in str(unauthorized.value)


async def test_unreachable_bot_api_is_retried(http: httpx.AsyncClient) -> None:
    tg = open_channel(
        "telegram", {"kind": "telegram", "token": TOKEN, "base_url": "http://127.0.0.1:9"}, http
    )
    with pytest.raises(ProviderError) as down:
        await tg.send(outbound(address="5512345678"))
    assert not down.value.permanent


def test_webhook_updates_become_replies_only_with_the_secret() -> None:
    tg = open_channel(
        "telegram",
        {"kind": "telegram", "token": TOKEN, "webhook_secret": "s3cr3t"},
        httpx.AsyncClient(),
    )
    update = {
        "update_id": 1,
        "message": {
            "message_id": 77,
            "date": 1795000000,
            "chat": {"id": 5512345678, "type": "private"},
            "from": {"id": 5512345678, "is_bot": False, "first_name": "Иван"},
            "text": "СТОП",
        },
    }
    [event] = tg.parse_callback({SECRET_HEADER: "s3cr3t"}, orjson.dumps(update))
    assert (event.kind, event.address, event.text) == ("reply", "5512345678", "СТОП")
    with pytest.raises(CallbackRejected):
        tg.parse_callback({SECRET_HEADER: "guess"}, orjson.dumps(update))
    with pytest.raises(CallbackRejected):
        tg.parse_callback({}, orjson.dumps(update))
    assert (
        tg.parse_callback({SECRET_HEADER: "s3cr3t"}, b'{"update_id": 2, "edited_message": {}}')
        == []
    )


def test_missing_settings_name_the_field() -> None:
    with pytest.raises(ValueError, match=r"^telegram\.token: Field required"):
        open_channel("telegram", {"kind": "telegram"}, httpx.AsyncClient())
    with pytest.raises(ValueError, match=r"^tg\.kind: unknown channel kind 'pigeon'"):
        open_channel("tg", {"kind": "pigeon"}, httpx.AsyncClient())
