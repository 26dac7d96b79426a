"""Bitrix24 end to end against a local portal: contacts and deals in through outbound
webhooks, timeline comments out through the outbox for notices and inbound calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx

from core.clock import FixedClock
from tests.api.test_incidents import incident, until
from tests.fakes.providers import FakeBitrix24
from tests.fakes.receiver import SECRET, Receiver

TOKEN = "51856fefc120afa4b628cc82d3935cce"


def settings(portal: FakeBitrix24, receiver: Receiver | None = None) -> dict[str, Any]:
    channels: dict[str, Any] = {
        "bitrix24": {
            "kind": "bitrix24",
            "webhook_url": portal.webhook_url,
            "application_token": TOKEN,
            "rate_per_second": 2,
            "burst": 2,
        }
    }
    if receiver is not None:
        channels["sms"] = {"kind": "webhook", "url": receiver.url, "secret": SECRET}
    return {"channels": channels}


async def hook(
    client: httpx.AsyncClient, event: str, entity: int, token: str = TOKEN
) -> httpx.Response:
    form = {
        "event": event,
        "data[FIELDS][ID]": str(entity),
        "ts": "1795000000",
        "auth[domain]": "shop.bitrix24.ru",
        "auth[member_id]": "a223c6b3710f85df22e9377d6c4f7553",
        "auth[application_token]": token,
    }
    return await client.post(
        "/v1/crm/bitrix24/events",
        content=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": ""},
    )


CONTACT = {
    "ID": "42",
    "NAME": "Анна",
    "LAST_NAME": "Смирнова",
    "PHONE": [{"ID": "1", "VALUE": "8 (916) 555-12-34", "VALUE_TYPE": "WORK"}],
    "EMAIL": [{"ID": "2", "VALUE": "anna@example.ru", "VALUE_TYPE": "WORK"}],
}


async def test_contacts_and_deals_come_in_from_webhooks(app_factory: Callable[..., Any]) -> None:
    with FakeBitrix24() as portal:
        portal.contacts[42] = CONTACT
        async with app_factory(**settings(portal)) as client:
            forged = await hook(client, "ONCRMCONTACTADD", 42, token="guess")
            assert forged.status_code == 401
            assert (await client.get("/v1/customers/b24-42")).status_code == 404

            added = await hook(client, "ONCRMCONTACTADD", 42)
            assert added.status_code == 200 and added.json()["customer_id"] == "b24-42"
            shown = (await client.get("/v1/customers/b24-42")).json()
            assert shown["name"] == "Анна Смирнова"
            assert {(i["kind"], i["value"]) for i in shown["identities"]} == {
                ("bitrix24", "42"),
                ("phone", "+79165551234"),
                ("email", "anna@example.ru"),
            }
            # Ours stays ours: consents and preferences survive the CRM's update.
            await client.put(
                "/v1/customers/b24-42",
                json={
                    **{k: shown[k] for k in ("name", "identities")},
                    "channel_preferences": ["sms"],
                },
            )
            portal.contacts[42] = {**CONTACT, "LAST_NAME": "Иванова"}
            assert (await hook(client, "ONCRMCONTACTUPDATE", 42)).status_code == 200
            shown = (await client.get("/v1/customers/b24-42")).json()
            assert shown["name"] == "Анна Иванова" and shown["channel_preferences"] == ["sms"]

            portal.deals[7] = {
                "ID": "7",
                "CONTACT_ID": "42",
                "STAGE_ID": "NEW",
                "OPPORTUNITY": "4990.00",
            }
            deal = await hook(client, "ONCRMDEALADD", 7)
            assert deal.json()["events"] == 1
            portal.deals[7] = {**portal.deals[7], "STAGE_ID": "WON"}
            won = await hook(client, "ONCRMDEALUPDATE", 7)
            assert won.json()["events"] == 2
            again = await hook(client, "ONCRMDEALUPDATE", 7)  # delivered twice: no change
            assert again.status_code == 200
            profile = (await client.get("/v1/customers/b24-42/profile")).json()
            assert (
                profile["last_order"]["id"] == "D7"
                and profile["last_order"]["status"] == "delivered"
            )
            assert (await hook(client, "ONCRMDEALUPDATE", 99)).status_code == 503  # unknown deal
            assert (await hook(client, "ONTASKADD", 5)).json()["handled"] is False


async def test_notices_and_calls_leave_timeline_comments_once(
    app_factory: Callable[..., Any], clock: FixedClock
) -> None:
    with FakeBitrix24() as portal, Receiver() as receiver:
        portal.contacts[42] = CONTACT
        async with app_factory(**settings(portal, receiver)) as client:
            await hook(client, "ONCRMCONTACTADD", 42)
            shown = (await client.get("/v1/customers/b24-42")).json()
            await client.put(
                "/v1/customers/b24-42",
                json={
                    "name": shown["name"],
                    "identities": shown["identities"],
                    "region": "RU-MOW",
                    "services": ["internet"],
                    "channel_preferences": ["sms"],
                },
            )
            portal.fail_next(
                503, {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
            )
            assert (await client.post("/v1/incidents", json=incident())).status_code == 201
            await until(lambda: receiver.delivered == 1, "the SMS notice")
            await until(
                lambda: any(r.get("refused") for r in portal.requests), "the refused comment"
            )
            clock.advance(120)  # past the retry's backoff
            await until(lambda: len(portal.comments) == 1, "the comment, retried")
            [comment] = portal.comments
            assert comment["ENTITY_ID"] == 42 and comment["ENTITY_TYPE"] == "contact"
            assert (
                "уведомление об аварии INC-7" in comment["COMMENT"] and "SMS" in comment["COMMENT"]
            )

            answer = await client.post(
                "/v1/inbound",
                json={"channel": "ivr", "call_id": "call-9", "caller": "+79165551234"},
            )
            assert answer.status_code == 200
            await until(lambda: len(portal.comments) == 2, "the call's comment")
            assert portal.comments[1]["COMMENT"].startswith("Forecall: входящий звонок call-9")
            assert len(portal.comments) == 2
