"""SMSC.ru through the API: the notice goes out by send.php, SMSC's signed receipt marks
it delivered, and an inbound "СТОП" (SMSC writes the phone without "+") stops SMS so the
next notice goes by Telegram. The send/refusal/signature unit tests are in test_sms.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from connectors.channels.smsc import callback_signature
from tests.api.test_incidents import incident, until
from tests.fakes.providers import FakeSmsc, FakeTelegram

TOKEN = "123456:ABC-test-token"
PASSWORD = "smsc-password"
FORM = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": ""}


def customer() -> dict[str, Any]:
    return {
        "identities": [
            {"kind": "phone", "value": "+79161110003"},
            {"kind": "telegram", "value": "551003"},
        ],
        "region": "RU-MOW",
        "services": ["internet"],
        "time_zone": "Europe/Moscow",
        "channel_preferences": ["sms", "telegram"],
    }


def signed(fields: dict[str, str], names: list[str], password: str = PASSWORD) -> str:
    return urlencode({**fields, "md5": callback_signature(fields, names, password)})


async def test_smsc_notice_receipt_and_stop_reply(app_factory: Callable[..., Any]) -> None:
    with FakeSmsc("forecall", PASSWORD) as smsc, FakeTelegram(TOKEN) as bot:
        channels = {
            "sms": {
                "kind": "smsc",
                "login": "forecall",
                "password": PASSWORD,
                "base_url": smsc.url,
            },
            "telegram": {"kind": "telegram", "token": TOKEN, "base_url": bot.url},
        }
        async with app_factory(channels=channels) as client:
            assert (await client.put("/v1/customers/c3", json=customer())).status_code == 201
            assert (await client.post("/v1/incidents", json=incident())).status_code == 201
            await until(lambda: len(smsc.sent) == 1, "the SMS notice")
            [(smsc_id, sms)] = smsc.sent.items()
            assert sms["phones"] == "+79161110003" and "Нет интернета на Тверской" in sms["mes"]
            assert bot.sent == []

            receipt = {"id": smsc_id, "phone": "79161110003", "status": "1"}
            delivered = await client.post(
                "/v1/channels/sms/callback",
                content=signed(receipt, ["id", "phone", "status"]),
                headers=FORM,
            )
            assert delivered.status_code == 200 and delivered.json()["updated"] == 1
            shown = (await client.get("/v1/messages/inc:INC-7:start:c3")).json()
            assert shown["status"] == "delivered"

            # A reply signed with the wrong password is refused and stops nothing.
            reply = {"sms_id": "901", "phone": "79161110003", "mes": "СТОП"}
            forged = await client.post(
                "/v1/channels/sms/callback",
                content=signed(reply, ["sms_id", "phone", "mes"], "guess"),
                headers=FORM,
            )
            assert forged.status_code == 401
            assert (await client.get("/v1/customers/c3/stops")).json()["channels"] == []

            stop = await client.post(
                "/v1/channels/sms/callback",
                content=signed(reply, ["sms_id", "phone", "mes"]),
                headers=FORM,
            )
            assert stop.status_code == 200 and stop.json()["stopped"] == 1
            assert (await client.get("/v1/customers/c3/stops")).json()["channels"] == ["sms"]

            moved = await client.patch("/v1/incidents/INC-7", json={"eta": "2026-11-18T18:00:00Z"})
            assert moved.status_code == 200
            await until(lambda: len(bot.sent) == 1, "the Telegram update after СТОП")
            assert len(smsc.sent) == 1 and bot.sent[0]["chat_id"] == "551003"
