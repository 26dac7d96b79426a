"""amoCRM end to end against a local account: contacts and leads in through webhooks,
notes and tasks out through the outbox, OAuth tokens rotated once across workers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import pytest

from connectors.channels import open_channel
from connectors.channels.base import OutboundMessage
from connectors.channels.telegram import SECRET_HEADER
from connectors.crm.amocrm import AmoCrm
from connectors.store import Store
from core.clock import FixedClock
from core.errors import ProviderError
from tests.api.test_channels import HOOK_SECRET, telegram_update
from tests.api.test_channels import TOKEN as BOT_TOKEN
from tests.api.test_crm import at_risk_history
from tests.api.test_incidents import incident, until, until_retried
from tests.fakes.amocrm import CLIENT_ID, CLIENT_SECRET, FakeAmoCrm
from tests.fakes.providers import FakeTelegram

HOOK = "amo-hook-secret-0123456789abcdef"
REDIRECT = "https://forecall.example.ru/v1/crm/amocrm/oauth"


def amo_config(amo: FakeAmoCrm, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "amocrm",
        "base_url": amo.url,
        "subdomain": "shop",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": REDIRECT,
        "webhook_secret": HOOK,
        **extra,
    }


async def hook(
    client: httpx.AsyncClient, fields: dict[str, str], secret: str = HOOK, account: str = "shop"
) -> httpx.Response:
    form = {**fields, "account[subdomain]": account, "account[id]": "29961234"}
    return await client.post(
        f"/v1/crm/amocrm/events/{secret}",
        content=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": ""},
    )


def contact(contact_id: int, name: str, phone: str, email: str | None = None) -> dict[str, Any]:
    fields: list[dict[str, Any]] = [
        {
            "field_id": 1187,
            "field_name": "Телефон",
            "field_code": "PHONE",
            "field_type": "multitext",
            "values": [{"value": phone, "enum_id": 3, "enum_code": "WORK"}],
        }
    ]
    if email is not None:
        fields.append(
            {
                "field_id": 1189,
                "field_name": "Email",
                "field_code": "EMAIL",
                "field_type": "multitext",
                "values": [{"value": email, "enum_id": 5, "enum_code": "WORK"}],
            }
        )
    first, last = name.split()
    return {
        "id": contact_id,
        "name": name,
        "first_name": first,
        "last_name": last,
        "responsible_user_id": 504141,
        "custom_fields_values": fields,
        "account_id": 29961234,
    }


async def test_contacts_and_leads_come_in_from_webhooks(app_factory: Callable[..., Any]) -> None:
    with FakeAmoCrm() as amo:
        code = amo.issue_code()
        amo.contacts[42] = contact(42, "Анна Смирнова", "+7 916 555-12-34", "Anna@Example.ru")
        amo.contacts[43] = contact(43, "Олег Ким", "8 903 111 22 33")
        channels = {"amo": amo_config(amo, authorization_code=code)}
        async with app_factory(channels=channels) as client:
            add = {"contacts[add][0][id]": "42"}
            assert (await hook(client, add, secret="x" * 32)).status_code == 401
            assert (await hook(client, add, account="rival")).status_code == 401
            assert (await client.get("/v1/customers/amo-42")).status_code == 404

            added = await hook(client, add)
            assert added.status_code == 200
            assert added.json()["handled"] == [
                {"entity": "contacts", "id": "42", "customer_id": "amo-42"}
            ]
            shown = (await client.get("/v1/customers/amo-42")).json()
            assert shown["name"] == "Анна Смирнова"
            assert {(i["kind"], i["value"]) for i in shown["identities"]} == {
                ("amocrm", "42"),
                ("phone", "+79165551234"),
                ("email", "anna@example.ru"),
            }
            assert amo.exchanges == ["authorization_code"]  # the code, once

            # A lead of a contact we have not seen: the contact comes in with it.
            amo.leads[7] = {
                "id": 7,
                "name": "Заказ с сайта",
                "price": 4990,
                "status_id": 55503,
                "pipeline_id": 7001,
                "contacts": [{"id": 43, "is_main": True}],
            }
            lead = await hook(client, {"leads[add][0][id]": "7", "leads[add][0][price]": "4990"})
            assert lead.json()["events"] == 1
            assert (await client.get("/v1/customers/amo-43")).json()["name"] == "Олег Ким"
            leads_read = [r for r in amo.requests if r["path"] == "/api/v4/leads/7"]
            assert leads_read[0]["query"] == "with=contacts"

            amo.leads[7] = {**amo.leads[7], "status_id": 142}  # won
            status = {"leads[status][0][id]": "7", "leads[status][0][status_id]": "142"}
            assert (await hook(client, status)).json()["events"] == 2
            assert (await hook(client, status)).status_code == 200  # delivered twice
            profile = (await client.get("/v1/customers/amo-43/profile")).json()
            assert profile["last_order"] == {**profile["last_order"], "id": "A7"}
            assert profile["last_order"]["status"] == "delivered"

            deleted = await hook(client, {"contacts[delete][0][id]": "42"})
            assert deleted.json()["handled"][0]["applied"] is False
            assert (await client.get("/v1/customers/amo-42")).status_code == 200

            # amoCRM retries a webhook that fails: an API that does not answer is a 503.
            amo.fail_next(503, {"title": "Service Unavailable", "status": 503})
            assert (await hook(client, {"contacts[update][0][id]": "42"})).status_code == 503
            amo.contacts[42] = contact(42, "Анна Иванова", "+7 916 555-12-34")
            assert (await hook(client, {"contacts[update][0][id]": "42"})).status_code == 200
            assert (await client.get("/v1/customers/amo-42")).json()["name"] == "Анна Иванова"


async def test_notes_and_tasks_reach_the_contact(
    app_factory: Callable[..., Any], clock: FixedClock
) -> None:
    with FakeAmoCrm() as amo, FakeTelegram(BOT_TOKEN) as bot:
        amo.contacts[42] = contact(42, "Анна Смирнова", "+7 916 555-12-34")
        channels = {
            "amo": {**amo_config(amo, authorization_code=amo.issue_code()), "task_hours": 2},
            "telegram": {
                "kind": "telegram",
                "token": BOT_TOKEN,
                "base_url": bot.url,
                "webhook_secret": HOOK_SECRET,
            },
        }
        async with app_factory(channels=channels) as client:
            await hook(client, {"contacts[add][0][id]": "42"})
            shown = (await client.get("/v1/customers/amo-42")).json()
            await client.put(
                "/v1/customers/amo-42",
                json={
                    "name": shown["name"],
                    "identities": [*shown["identities"], {"kind": "telegram", "value": "77001"}],
                    "region": "RU-MOW",
                    "services": ["internet"],
                    "channel_preferences": ["telegram"],
                },
            )
            amo.fail_next(429, {"title": "Too Many Requests", "status": 429}, {"Retry-After": "2"})
            assert (await client.post("/v1/incidents", json=incident())).status_code == 201
            await until(lambda: len(bot.sent) == 1, "the Telegram notice")
            await until(lambda: any(r.get("refused") == 429 for r in amo.requests), "the 429")
            await until_retried(clock, lambda: len(amo.notes) == 1, "the note, retried")
            note = amo.notes[0]
            assert note["contact_id"] == 42 and note["note_type"] == "common"
            assert "уведомление об аварии INC-7" in note["params"]["text"]
            assert "Telegram" in note["params"]["text"]

            # A caller at high risk of leaving: a note, and a task to call back. The access
            # token has been revoked meanwhile: refreshed once, and the calls go through.
            history = at_risk_history("amo-42", clock.now())
            assert (await client.post("/v1/events", json={"events": history})).status_code == 200
            amo.revoke_access()
            answer = await client.post(
                "/v1/inbound",
                json={"channel": "ivr", "call_id": "call-9", "caller": "+79165551234"},
            )
            assert answer.json()["churn"]["band"] == "high"
            await until(lambda: len(amo.tasks) == 1 and len(amo.notes) == 2, "note and task")
            assert amo.notes[1]["params"]["text"].startswith("Forecall: входящий звонок call-9")
            [task] = amo.tasks
            assert task["entity_type"] == "contacts" and task["entity_id"] == 42
            assert task["complete_till"] == round(clock.now() + 2 * 3600)
            assert "высокий риск оттока" in task["text"] and task["task_type_id"] == 1
            assert amo.exchanges == ["authorization_code", "refresh_token"]

            # The customer writes back: someone must answer. A stop word is not a task.
            for text in ("А когда починят?", "СТОП"):
                reply = await client.post(
                    "/v1/channels/telegram/callback",
                    content=telegram_update("77001", text),
                    headers={SECRET_HEADER: HOOK_SECRET, "Authorization": ""},
                )
                assert reply.status_code == 200
            await until(lambda: len(amo.tasks) == 2, "the reply's task")
            assert "«А когда починят?»" in amo.tasks[1]["text"]
            await asyncio.sleep(0.3)
            assert len(amo.tasks) == 2


async def test_tokens_rotate_once_across_workers_and_stay_sealed(
    store: Store, clock: FixedClock
) -> None:
    with FakeAmoCrm() as amo:
        code = amo.issue_code()
        async with httpx.AsyncClient() as http:

            def worker(**extra: Any) -> AmoCrm:
                config = {**amo_config(amo, authorization_code=code), **extra}
                channel = open_channel("amo", config, http)
                assert isinstance(channel, AmoCrm)
                channel.bind(store, clock)
                return channel

            amo.contacts[42] = contact(42, "Анна Смирнова", "+7 916 555-12-34")
            first, second = worker(), worker()  # two processes sharing the store
            reads = [w.get("/api/v4/contacts/42") for w in (first, second) for _ in range(10)]
            assert all(c["id"] == 42 for c in await asyncio.gather(*reads))
            assert amo.exchanges == ["authorization_code"]

            raw = await store.get_doc("oauth", "amo")
            assert raw is not None
            assert not any(t.encode() in raw for t in amo.access_tokens | amo.refresh_tokens)

            # Within the hour before expiry: refreshed once, before anything is refused.
            clock.advance(86400 - 1800)
            reads = [w.get("/api/v4/contacts/42") for w in (first, second) for _ in range(10)]
            await asyncio.gather(*reads)
            assert amo.exchanges == ["authorization_code", "refresh_token"]
            assert not any(r.get("refused") for r in amo.requests)

            # A restart reads the stored pair; an idle worker's keep-alive refreshes ahead.
            restarted = worker()
            await restarted.get("/api/v4/contacts/42")
            assert len(amo.exchanges) == 2
            clock.advance(86400 - 600)
            await restarted.keep_alive()
            assert amo.exchanges[-1] == "refresh_token" and len(amo.exchanges) == 3

            # The integration was uninstalled: a clear, retryable error; nothing is lost.
            amo.refresh_tokens.clear()
            amo.revoke_access()
            with pytest.raises(ProviderError) as refused:
                await first.send(OutboundMessage("n1", "amo-42", "amo", "42", "Forecall: заметка"))
            assert refused.value.permanent is False
            assert "authorize the integration again" in refused.value.message
            doc = orjson.loads(await store.get_doc("oauth", "amo") or b"{}")
            assert doc["lease_until"] == 0.0  # the lease was given back

            # Re-authorized: a new code in the settings replaces the dead pair.
            renewed = worker(authorization_code=amo.issue_code("def50200new"))
            sent = await renewed.send(OutboundMessage("n2", "amo-42", "amo", "42", "заметка"))
            assert sent.provider_message_id is not None
            assert amo.notes[-1]["params"]["text"] == "заметка"
            # A changed client secret cannot open the stored pair: it asks for a new grant.
            with pytest.raises(ProviderError, match="not authorized"):
                other = worker(
                    authorization_code="def50200new", client_secret="another-secret-0123456789"
                )
                await other.get("/api/v4/contacts/42")


async def test_api_refusals_are_classified(store: Store, clock: FixedClock) -> None:
    with FakeAmoCrm() as amo:
        async with httpx.AsyncClient() as http:
            config = {
                "kind": "amocrm",
                "base_url": amo.url,
                "long_lived_token": "eyJ0eXAiOiJKV1QiLCJhbGci",
                "webhook_secret": HOOK,
            }
            channel = open_channel("amo", config, http)
            assert isinstance(channel, AmoCrm)
            channel.bind(store, clock)
            amo.access_tokens.add("eyJ0eXAiOiJKV1QiLCJhbGci")
            message = OutboundMessage("n1", "c1", "amo", "42", "заметка")
            cases = [
                (429, {"Retry-After": "7"}, False, 7.0),
                (502, {}, False, 1.0),
                (402, {}, True, None),  # the account is not paid for
                (403, {}, True, None),  # the account is blocked
            ]
            for status, headers, permanent, retry in cases:
                amo.fail_next(status, {"title": "x", "status": status, "detail": "d"}, headers)
                with pytest.raises(ProviderError) as refused:
                    await channel.send(message)
                assert (refused.value.permanent, refused.value.retry_after) == (permanent, retry)
            with pytest.raises(ProviderError) as missing:  # a contact deleted in the CRM
                await channel.send(message)
            assert missing.value.permanent and "404" in missing.value.message
            amo.contacts[42] = contact(42, "Анна Смирнова", "+7 916 555-12-34")
            task = OutboundMessage(
                "t1", "c1", "amo", "42", "", metadata={"kind": "crm_task", "due_at": "1795000000"}
            )
            with pytest.raises(ProviderError) as invalid:
                await channel.send(task)
            assert invalid.value.permanent and "0.text" in invalid.value.message
            with pytest.raises(ProviderError) as gone:
                await channel.get("/api/v4/contacts/99")
            assert gone.value.permanent and "not found" in gone.value.message


def test_settings_name_what_is_missing() -> None:
    base = {"kind": "amocrm", "base_url": "https://shop.amocrm.ru", "webhook_secret": HOOK}
    client = httpx.AsyncClient()
    cases = [
        ({"client_id": CLIENT_ID}, "amo: missing client_secret, redirect_uri"),
        ({"long_lived_token": "t" * 40, "client_id": CLIENT_ID}, "not both"),
        ({"long_lived_token": "t" * 40, "webhook_secret": "short"}, "amo.webhook_secret"),
    ]
    for extra, message in cases:
        with pytest.raises(ValueError, match=message):
            open_channel("amo", {**base, **extra}, client)


async def test_a_crm_that_is_not_configured_is_named(client: httpx.AsyncClient) -> None:
    amo = await hook(client, {"contacts[add][0][id]": "42"})
    assert amo.status_code == 404 and "{kind: amocrm}" in amo.text
    b24 = await client.post("/v1/crm/bitrix24/events", content=b"event=ONCRMCONTACTADD")
    assert b24.status_code == 404 and "{kind: bitrix24}" in b24.text
