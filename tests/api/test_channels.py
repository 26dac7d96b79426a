"""Real channels through the API: an outage notice reaches Telegram; the customer answers
"СТОП"; the next notice falls back to SMS (SMSC.ru); SMSC's receipt marks it delivered;
an email bounce is recorded. Every provider is a local server speaking its API."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from connectors.channels.smsc import callback_signature
from connectors.channels.telegram import SECRET_HEADER
from tests.api.test_incidents import incident, until
from tests.fakes.providers import FakeSmsc, FakeTelegram
from tests.fakes.smtp import FakeSmtp

TOKEN = "123456:ABC-test-token"
HOOK_SECRET = "tg-hook-secret"
SMSC_PASSWORD = "smsc-password"
EMAIL_SECRET = "email-callback-secret-0123"


def settings(bot: FakeTelegram, smsc: FakeSmsc, smtp: FakeSmtp) -> dict[str, Any]:
    return {
        "telegram": {
            "kind": "telegram",
            "token": TOKEN,
            "base_url": bot.url,
            "webhook_secret": HOOK_SECRET,
        },
        "sms": {
            "kind": "smsc",
            "login": "forecall",
            "password": SMSC_PASSWORD,
            "base_url": smsc.url,
        },
        "email": {
            "kind": "smtp",
            "host": "127.0.0.1",
            "port": smtp.port,
            "security": "none",
            "sender": "support@example.ru",
            "callback_secret": EMAIL_SECRET,
        },
    }


def customer(n: int, preferences: list[str]) -> dict[str, Any]:
    return {
        "identities": [
            {"kind": "phone", "value": f"+7916111000{n}"},
            {"kind": "telegram", "value": f"55100{n}"},
            {"kind": "email", "value": f"client{n}@example.ru"},
        ],
        "region": "RU-MOW",
        "services": ["internet"],
        "time_zone": "Europe/Moscow",
        "channel_preferences": preferences,
    }


async def until_counted(client: httpx.AsyncClient, status: str, n: int) -> None:
    """Until INC-7's messages in `status` number `n` (the dispatcher records a send just
    after the provider answered)."""
    for _ in range(500):
        counts = (await client.get("/v1/incidents/INC-7")).json()["counts"]
        # First notices and later ones (ETA updates, closing) are counted apart.
        later = counts["updates"]["by_status"]
        if counts["by_status"].get(status, 0) + later.get(status, 0) == n:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {n} {status}")


async def until_status(client: httpx.AsyncClient, message_id: str, status: str) -> Any:
    """The message once the dispatcher has recorded `status` for it."""
    for _ in range(500):
        shown = (await client.get(f"/v1/messages/{message_id}")).json()
        if shown.get("status") == status:
            return shown
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {message_id} to be {status}")


def telegram_update(chat: str, text: str) -> bytes:
    return orjson.dumps(
        {
            "update_id": 10,
            "message": {
                "message_id": 5,
                "date": 1795000100,
                "chat": {"id": int(chat), "type": "private"},
                "text": text,
            },
        }
    )


async def test_stop_on_telegram_moves_the_next_notice_to_sms(
    app_factory: Callable[..., Any],
) -> None:
    with (
        FakeTelegram(TOKEN) as bot,
        FakeSmsc("forecall", SMSC_PASSWORD) as smsc,
        FakeSmtp() as smtp,
    ):
        async with app_factory(channels=settings(bot, smsc, smtp)) as client:
            await client.put("/v1/customers/c1", json=customer(1, ["telegram", "sms"]))
            assert (await client.post("/v1/incidents", json=incident())).status_code == 201
            await until(lambda: len(bot.sent) == 1, "the Telegram notice")
            assert bot.sent[0]["chat_id"] == "551001" and "Тверской" in bot.sent[0]["text"]

            # A wrong secret is refused and changes nothing.
            forged = await client.post(
                "/v1/channels/telegram/callback",
                content=telegram_update("551001", "СТОП"),
                headers={SECRET_HEADER: "guess", "Authorization": ""},
            )
            assert forged.status_code == 401
            assert (await client.get("/v1/customers/c1/stops")).json()["channels"] == []

            stop = await client.post(
                "/v1/channels/telegram/callback",
                content=telegram_update("551001", "СТОП"),
                headers={SECRET_HEADER: HOOK_SECRET, "Authorization": ""},
            )
            assert stop.status_code == 200 and stop.json()["stopped"] == 1
            stops = (await client.get("/v1/customers/c1/stops")).json()
            assert stops["channels"] == ["telegram"]

            # The ETA moves: the update goes by SMS now, not Telegram.
            moved = await client.patch("/v1/incidents/INC-7", json={"eta": "2026-11-18T18:00:00Z"})
            assert moved.status_code == 200
            await until(lambda: len(smsc.sent) == 1, "the SMS update")
            assert len(bot.sent) == 1
            [(smsc_id, sms)] = smsc.sent.items()
            assert sms["phones"] == "+79161110001" and "21:00" in sms["mes"]
            # SMSC answered; the receipt is matched by the id the dispatcher records next.
            await until_counted(client, "sent", 2)

            # SMSC's delivery receipt, hashed with the password, marks it delivered.
            receipt = {"id": smsc_id, "phone": "79161110001", "status": "1", "time": "1795000200"}
            receipt["md5"] = callback_signature(receipt, ["id", "phone", "status"], SMSC_PASSWORD)
            delivered = await client.post(
                "/v1/channels/sms/callback",
                content=urlencode(receipt),
                headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": ""},
            )
            assert delivered.status_code == 200 and delivered.json()["updated"] == 1
            counts = (await client.get("/v1/incidents/INC-7")).json()["counts"]
            assert counts["by_status"] == {"sent": 1}  # the first notice, by Telegram
            assert counts["updates"]["by_status"] == {"delivered": 1}  # the update, by SMS

            # An operator takes the customer off the stop-list, and records an SMS opt-out.
            resumed = await client.delete("/v1/customers/c1/stops/telegram")
            assert resumed.status_code == 200
            assert (await client.put("/v1/customers/c1/stops/sms")).status_code == 200
            stops = (await client.get("/v1/customers/c1/stops")).json()
            assert stops["channels"] == ["sms"]
            bad = await client.put("/v1/customers/c1/stops/pigeon")
            assert bad.status_code == 422 and "channel" in bad.text
            assert (await client.put("/v1/customers/nobody/stops/sms")).status_code == 404


async def test_a_blocked_bot_falls_back_and_a_bounce_is_recorded(
    app_factory: Callable[..., Any],
) -> None:
    with (
        FakeTelegram(TOKEN) as bot,
        FakeSmsc("forecall", SMSC_PASSWORD) as smsc,
        FakeSmtp() as smtp,
    ):
        bot.blocked.add("551002")
        async with app_factory(channels=settings(bot, smsc, smtp)) as client:
            await client.put("/v1/customers/c2", json=customer(2, ["telegram", "email"]))
            assert (await client.post("/v1/incidents", json=incident())).status_code == 201
            await until(lambda: len(smtp.mail) == 1, "the email after Telegram refused")
            assert bot.sent == [] and smsc.sent == {}
            [mail] = smtp.mail
            assert mail["To"] == "client2@example.ru" and "Тверской" in mail.get_content()
            message_id = "inc:INC-7:start:c2"
            shown = await until_status(client, message_id, "sent")
            assert shown["channel"] == "email"

            bounce = [{"message_id": message_id, "status": "bounced", "permanent": True}]
            reply = await client.post(
                "/v1/channels/email/callback",
                content=orjson.dumps(bounce),
                headers={"X-Forecall-Token": EMAIL_SECRET, "Authorization": ""},
            )
            assert reply.status_code == 200 and reply.json()["updated"] == 1
            shown = (await client.get(f"/v1/messages/{message_id}")).json()
            assert shown["status"] == "failed"


async def test_whatsapp_and_viber_through_the_api(app_factory: Callable[..., Any]) -> None:
    import hashlib
    import hmac

    from tests.fakes.providers import FakeViber, FakeWhatsApp

    wa_token, phone_id, app_secret = "EAAG-token", "106540352242922", "app-secret-0123"
    viber_token = "445da6az1s345z78-dazcczb2542zv51a"
    with FakeWhatsApp(wa_token, phone_id) as wa, FakeViber(viber_token) as vb:
        configured = {
            "whatsapp": {
                "kind": "whatsapp",
                "access_token": wa_token,
                "phone_number_id": phone_id,
                "app_secret": app_secret,
                "verify_token": "verify-me",
                "base_url": wa.url,
            },
            "viber": {
                "kind": "viber",
                "auth_token": viber_token,
                "sender_name": "Forecall",
                "base_url": vb.url,
            },
        }
        async with app_factory(channels=configured) as client:
            both = {
                **customer(5, ["whatsapp", "viber"]),
                "identities": [
                    {"kind": "whatsapp", "value": "79161110005"},
                    {"kind": "viber", "value": "01234567890A="},
                ],
            }
            await client.put("/v1/customers/c5", json=both)
            handshake = await client.get(
                "/v1/channels/whatsapp/callback",
                params={
                    "hub.mode": "subscribe",
                    "hub.verify_token": "verify-me",
                    "hub.challenge": "42",
                },
                headers={"Authorization": ""},
            )
            assert handshake.status_code == 200 and handshake.text == "42"
            wrong = await client.get(
                "/v1/channels/whatsapp/callback",
                params={
                    "hub.mode": "subscribe",
                    "hub.verify_token": "guess",
                    "hub.challenge": "42",
                },
            )
            assert wrong.status_code == 401
            # The WhatsApp window is closed and the notice is free text: Viber takes it.
            assert (await client.post("/v1/incidents", json=incident())).status_code == 201
            await until(lambda: len(vb.sent) == 1, "the Viber notice after WhatsApp refused")
            assert wa.sent == [] and vb.sent[0]["receiver"] == "01234567890A="
            shown = await until_status(client, "inc:INC-7:start:c5", "sent")
            assert shown["channel"] == "viber"

            seen = orjson.dumps(
                {"event": "seen", "timestamp": 1795000000000, "message_token": 5001, "user_id": "u"}
            )
            signature = hmac.new(viber_token.encode(), seen, hashlib.sha256).hexdigest()
            receipt = await client.post(
                "/v1/channels/viber/callback",
                content=seen,
                headers={"X-Viber-Content-Signature": signature, "Authorization": ""},
            )
            assert receipt.status_code == 200 and receipt.json()["updated"] == 1
            shown = (await client.get("/v1/messages/inc:INC-7:start:c5")).json()
            assert shown["status"] == "read"

            gone = orjson.dumps(
                {"event": "unsubscribed", "timestamp": 1795000000000, "user_id": "01234567890A="}
            )
            signature = hmac.new(viber_token.encode(), gone, hashlib.sha256).hexdigest()
            stop = await client.post(
                "/v1/channels/viber/callback",
                content=gone,
                headers={"X-Viber-Content-Signature": signature, "Authorization": ""},
            )
            assert stop.json()["stopped"] == 1
            assert (await client.get("/v1/customers/c5/stops")).json()["channels"] == ["viber"]

            wa_status = orjson.dumps(
                {
                    "entry": [
                        {
                            "changes": [
                                {"value": {"statuses": [{"id": "wamid.9", "status": "read"}]}}
                            ]
                        }
                    ]
                }
            )
            digest = hmac.new(app_secret.encode(), wa_status, hashlib.sha256).hexdigest()
            checked = await client.post(
                "/v1/channels/whatsapp/callback",
                content=wa_status,
                headers={"X-Hub-Signature-256": f"sha256={digest}", "Authorization": ""},
            )
            assert checked.status_code == 200 and checked.json()["events"] == 1


async def test_a_receipt_that_beats_the_dispatcher_is_not_lost(
    app_factory: Callable[..., Any],
) -> None:
    import hashlib
    import hmac

    from tests.fakes.providers import FakeViber

    token = "445da6az1s345z78-dazcczb2542zv51a"
    with FakeViber(token) as vb:
        configured = {
            "viber": {
                "kind": "viber",
                "auth_token": token,
                "sender_name": "Forecall",
                "base_url": vb.url,
            }
        }
        async with app_factory(channels=configured) as client:
            viber_only = {
                **customer(6, ["viber"]),
                "identities": [{"kind": "viber", "value": "01234567890B="}],
            }
            await client.put("/v1/customers/c6", json=viber_only)
            # Viber has the message but answers late: its "delivered" comes first.
            vb.delay = 0.5
            assert (await client.post("/v1/incidents", json=incident())).status_code == 201
            await until(lambda: len(vb.sent) == 1, "Viber holding the notice")
            delivered = orjson.dumps(
                {"event": "delivered", "timestamp": 1795000000000, "message_token": 5001}
            )
            receipt = await client.post(
                "/v1/channels/viber/callback",
                content=delivered,
                headers={
                    "X-Viber-Content-Signature": hmac.new(
                        token.encode(), delivered, hashlib.sha256
                    ).hexdigest(),
                    "Authorization": "",
                },
            )
            assert receipt.status_code == 200 and receipt.json()["updated"] == 1
            shown = (await client.get("/v1/messages/inc:INC-7:start:c6")).json()
            assert shown["status"] == "delivered"
