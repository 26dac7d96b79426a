"""Bitrix24 end to end against a local portal: contacts and deals in through outbound
webhooks, timeline comments out through the outbox for notices and inbound calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx

from core.clock import FixedClock, utc_iso
from tests.api.test_incidents import incident, until, until_retried
from tests.conftest import event
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
            await until_retried(clock, lambda: len(portal.comments) == 1, "the comment, retried")
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


async def call_ended(
    client: httpx.AsyncClient, call_id: str, token: str = TOKEN, **data: str
) -> httpx.Response:
    """ONVOXIMPLANTCALLEND as the portal posts it: the call is in the form itself."""
    fields = {
        "CALL_ID": call_id,
        "CALL_TYPE": "2",
        "PHONE_NUMBER": "+79165551234",
        "PORTAL_NUMBER": "reg1",
        "CALL_DURATION": "95",
        "CALL_START_DATE": "2026-11-18T13:58:02+03:00",
        "CALL_FAILED_CODE": "200",
        "CRM_ACTIVITY_ID": "7953",
        **data,
    }
    form = {
        "event": "ONVOXIMPLANTCALLEND",
        **{f"data[{k}]": v for k, v in fields.items()},
        "ts": "1795000000",
        "auth[domain]": "shop.bitrix24.ru",
        "auth[application_token]": token,
    }
    return await client.post(
        "/v1/crm/bitrix24/events",
        content=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": ""},
    )


async def test_registered_calls_come_in_as_contacts(app_factory: Callable[..., Any]) -> None:
    with FakeBitrix24() as portal:
        portal.contacts[42] = CONTACT
        async with app_factory(**settings(portal)) as client:
            await hook(client, "ONCRMCONTACTADD", 42)
            reads = len(portal.requests)

            async def profile() -> dict[str, Any]:
                shown: dict[str, Any] = (await client.get("/v1/customers/b24-42/profile")).json()
                return shown

            forged = await call_ended(client, "c1", token="guess", CRM_ENTITY_TYPE="CONTACT")
            assert forged.status_code == 401 and (await profile())["contacts_30d"] == 0

            by_contact = {"CRM_ENTITY_TYPE": "CONTACT", "CRM_ENTITY_ID": "42"}
            answered = await call_ended(client, "c1", PHONE_NUMBER="", **by_contact)
            assert answered.status_code == 200
            assert answered.json() == {
                "event": "ONVOXIMPLANTCALLEND",
                "handled": True,
                "customer_id": "b24-42",
                "events": 1,
            }
            shown = await profile()
            assert shown["contacts_30d"] == 1
            assert shown["last_contact"] == {
                "at": "2026-11-18T10:58:02Z",
                "days_since": 0.01,
                "reason": "unknown",
                "resolved": False,
                "channel": "ivr",
                "known_reason": None,
            }
            again = await call_ended(client, "c1", PHONE_NUMBER="", **by_contact)
            assert again.status_code == 200 and again.json()["handled"] is True
            assert (await profile())["contacts_30d"] == 1  # delivered twice: counted once

            # Found by the number as the portal writes it; a missed call still counts.
            missed = await call_ended(
                client,
                "c2",
                PHONE_NUMBER="79165551234",
                CALL_TYPE="3",
                CALL_DURATION="0",
                CALL_FAILED_CODE="304",
                CALL_START_DATE="2026-11-18T14:01:00+03:00",
            )
            assert missed.json()["customer_id"] == "b24-42"
            shown = await profile()
            assert shown["contacts_30d"] == 2 and shown["last_contact"]["resolved"] is False

            outgoing = await call_ended(
                client, "c3", CALL_TYPE="1", CALL_START_DATE="2026-11-18T14:02:00+03:00"
            )
            assert outgoing.json()["handled"] is True
            shown = await profile()
            assert shown["contacts_30d"] == 3 and shown["last_contact"]["channel"] == "desk"

            not_reached = await call_ended(client, "c4", CALL_TYPE="1", CALL_FAILED_CODE="486")
            robot = await call_ended(client, "c5", CALL_TYPE="5")
            stranger = await call_ended(client, "c6", PHONE_NUMBER="+74957654321")
            hidden = await call_ended(client, "c7", PHONE_NUMBER="anonymous")
            for ignored in (not_reached, robot, stranger, hidden):
                assert ignored.status_code == 200 and ignored.json()["handled"] is False
            assert stranger.json()["why"] == "no customer has this contact or phone number"
            assert (await profile())["contacts_30d"] == 3
            assert len(portal.requests) == reads  # a call needs no REST read


def at_risk_history(customer_id: str, now: float) -> list[dict[str, Any]]:
    """Three unresolved calls about cancelling and two failed payments: churn band high."""
    calls = [
        event(
            f"c{i}",
            "contact",
            customer_id,
            now - 3600 * (i + 1),
            channel="ivr",
            reason="cancel_intent",
            resolved=False,
        )
        for i in range(3)
    ]
    payments = [
        event(f"p{i}", "payment_failed", customer_id, now - 60 * (i + 1), amount=500)
        for i in range(2)
    ]
    return calls + payments


async def test_a_caller_at_risk_becomes_a_todo_on_the_contact(
    app_factory: Callable[..., Any], clock: FixedClock
) -> None:
    with FakeBitrix24() as portal:
        portal.contacts[42] = CONTACT
        async with app_factory(**settings(portal)) as client:
            await hook(client, "ONCRMCONTACTADD", 42)
            history = at_risk_history("b24-42", clock.now())
            assert (await client.post("/v1/events", json={"events": history})).status_code == 200
            answer = await client.post(
                "/v1/inbound",
                json={"channel": "ivr", "call_id": "call-5", "caller": "+79165551234"},
            )
            assert answer.json()["churn"]["band"] == "high"
            await until(lambda: len(portal.todos) == 1, "the to-do")
            [todo] = portal.todos
            assert todo["ownerTypeId"] == 3 and todo["ownerId"] == 42
            assert todo["deadline"] == utc_iso(clock.now() + 4 * 3600).replace("Z", "+00:00")
            assert "высокий риск оттока" in todo["description"]
            await until(lambda: len(portal.comments) == 1, "the call's comment")
            # A caller at no particular risk leaves a comment and no to-do.
            portal.contacts[43] = {"ID": "43", "NAME": "Олег", "PHONE": [{"VALUE": "+79035550000"}]}
            assert (await hook(client, "ONCRMCONTACTADD", 43)).status_code == 200
            await client.post(
                "/v1/inbound",
                json={"channel": "ivr", "call_id": "call-6", "caller": "+79035550000"},
            )
            clock.advance(5)  # Bitrix24's 2 requests a second: the bucket refills
            await until(lambda: len(portal.comments) == 2, "the second call's comment")
            assert len(portal.todos) == 1
