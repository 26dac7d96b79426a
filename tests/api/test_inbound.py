"""`POST /v1/inbound` and its formats end to end: identify, predict, decide, explain; the
VoiceXML and TwiML routes; the deadline with the store gone; the outcome afterwards."""

from __future__ import annotations

import asyncio
import base64
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

import httpx
import orjson
import pytest
from twilio.request_validator import RequestValidator

from api.app import create_app
from bench.servers import free_port
from core.clock import FixedClock
from tests.conftest import ADMIN, CUSTOMER, NOW, _Client, event, make_settings
from tests.fakes.redis_server import start_redis

BUILTIN = Path(__file__).resolve().parents[2] / "predictors" / "builtin" / "actions.yaml"
VXML = "{http://www.w3.org/2001/vxml}"
DELAYED_ORDER = [
    event("o1", "order_placed", order_id="A-1001", amount=5000, at=NOW - 5 * 86400),
    event("o2", "order_status_changed", order_id="A-1001", status="delayed", at=NOW - 3600),
]


async def ask(
    client: httpx.AsyncClient, call_id: str, *, explain: bool = True, **fields: Any
) -> dict[str, Any]:
    body = {"channel": "ivr", "call_id": call_id, "caller": "+79161234567", **fields}
    reply = await client.post("/v1/inbound", json=body, params={"explain": explain})
    assert reply.status_code == 200, reply.text
    answer: dict[str, Any] = reply.json()
    return answer


async def with_delayed_order(client: httpx.AsyncClient) -> None:
    assert (await client.put("/v1/customers/c1", json=CUSTOMER)).status_code in (200, 201)
    assert (await client.post("/v1/events", json={"events": DELAYED_ORDER})).status_code == 200


async def test_a_known_caller_with_a_delayed_order_is_asked_about_it(
    client: httpx.AsyncClient,
) -> None:
    await with_delayed_order(client)
    answer = await ask(client, "call-1", utterance="где мой заказ, он задерживается")
    assert answer["degraded"] is False
    assert answer["customer"] == {
        "id": "c1",
        "known": True,
        "first_name": "Иван",
        "display_name": "Иван",
        "segment": "b2c",
        "locale": "ru",
        "region": "RU-MOW",
        "local_time": "14:06",
        "time_zone": "Europe/Moscow",  # the desk shows an incident's ETA in it
        "marketing_consent": True,
    }
    assert "phone" not in str(answer["customer"]) and "Петров" not in str(answer)
    top = answer["reasons"]
    assert len(top) == 3 and top[0]["reason"] == "order_delayed" and top[0]["confidence"] > 0.8
    assert [r["confidence"] for r in top] == sorted((r["confidence"] for r in top), reverse=True)
    assert answer["action"]["id"] == "confirm_order_delayed"
    assert answer["ivr"]["say"] == "Вы звоните по поводу задержки заказа A-1001?"
    assert answer["churn"]["band"] in ("low", "medium", "high")
    # No login was ever recorded: that is no data, not "no logins for 180 days".
    assert answer["churn"]["reasons"] == []
    ranked = {r["id"]: r for r in answer["ranked"]}
    assert ranked["confirm_order_delayed"]["trace"].startswith("eligible:")
    assert ranked["confirm_order_delayed"]["why"].startswith("Подходит, приоритет")
    assert "incident_active=false" in ranked["announce_outage"]["trace"]
    assert answer["action"]["title"] == "Уточнить, не о задержке ли заказа звонок"
    assert top[0]["title"] == "Задержка заказа"
    assert answer["card_id"] == "call-1"


async def test_the_ivr_gets_a_lean_answer(client: httpx.AsyncClient) -> None:
    """What the IVR acts on, not the ranked list and its reasons (the desk's card has
    them, and `explain=true` asks for them)."""
    await with_delayed_order(client)
    lean = await ask(client, "call-lean", explain=False, utterance="где мой заказ")
    full = await ask(client, "call-full", utterance="где мой заказ")
    assert "ranked" not in lean and full["ranked"]
    assert lean["action"] == full["action"] and lean["ivr"] == full["ivr"]
    assert len(orjson.dumps(lean)) < 1500 < len(orjson.dumps(full))


async def test_an_unknown_caller_takes_the_anonymous_path(client: httpx.AsyncClient) -> None:
    answer = await ask(client, "call-2", caller="+79990000000")
    assert answer["degraded"] is False, answer
    assert answer["customer"]["known"] is False and answer["customer"]["id"] is None
    assert answer["ivr"]["queue"] == "general" and answer["ivr"]["final"] is True
    withheld = await ask(client, "call-3", caller=None)
    assert withheld["customer"]["known"] is False and withheld["ivr"]["final"] is True


async def test_an_affected_caller_hears_the_outage_and_its_eta_first(
    client: httpx.AsyncClient,
) -> None:
    await with_delayed_order(client)
    incident = {
        "id": "INC-7",
        "title": "Авария на сети в Москве",
        "kind": "outage",
        "severity": "major",
        "scope": {"regions": ["RU-MOW"]},
        "starts_at": "2026-11-18T10:00:00Z",
        "eta": "2026-11-18T15:00:00Z",
    }
    reply = await client.post("/v1/incidents", json=incident)
    assert reply.status_code in (200, 201), reply.text
    answer = await ask(client, "call-4")
    assert answer["action"]["id"] == "announce_outage"
    assert answer["incident"]["id"] == "INC-7"
    assert "Авария на сети в Москве" in answer["ivr"]["say"]
    assert "18:00" in answer["ivr"]["say"]  # 15:00Z is 18:00 in Moscow
    offers = [r for r in answer["ranked"] if r["kind"] == "offer"]
    assert all(not r["suitable"] for r in offers)


async def test_a_stranger_is_asked_about_a_topic_never_told_facts_about_an_account(
    client: httpx.AsyncClient,
) -> None:
    answer = await ask(client, "anon-1", caller="+79990000000", utterance="оплата не проходит")
    assert answer["customer"]["known"] is False
    assert answer["reasons"][0]["reason"] == "payment_failed"
    assert answer["action"]["id"] == "confirm_payment"
    assert answer["ivr"]["say"] == "Вы звоните по поводу оплаты?"
    assert answer["churn"]["reasons"] == []  # no profile, nothing to say about one
    for text in (answer["ivr"]["say"], answer["operator"]["script"]):
        assert "Мы видим" not in text and "платёж не прошёл" not in text
    colloquial = await ask(
        client, "anon-2", caller="+79990000000", utterance="инет не пашет второй день"
    )
    assert colloquial["reasons"][0]["reason"] in ("technical_problem", "outage")
    assert "платёж" not in colloquial["ivr"]["say"]
    # A known caller whose profile holds the failed payment is told, kindly.
    await client.put("/v1/customers/c1", json=CUSTOMER)
    failed = [event("p1", "payment_failed", amount=990, at=NOW - 3600)]
    assert (await client.post("/v1/events", json={"events": failed})).status_code == 200
    told = await ask(client, "known-1", utterance="оплата не проходит")
    assert told["action"]["id"] == "support_payment_trouble"
    assert told["ivr"]["say"].startswith("Мы видим, что последний платёж не прошёл")


async def test_a_business_is_shown_by_its_company_name(client: httpx.AsyncClient) -> None:
    company = {**CUSTOMER, "name": "ООО «Фортуна»", "segment": "b2b"}
    assert (await client.put("/v1/customers/c000002", json=company)).status_code in (200, 201)
    answer = await ask(client, "b2b-1")
    assert answer["customer"]["display_name"] == "ООО «Фортуна»"
    assert answer["customer"]["first_name"] is None  # nobody is greeted as «ООО»
    assert answer["action"]["id"] == "route_b2b"
    anonymous = await ask(client, "b2b-2", caller="+79990000000")
    assert anonymous["customer"]["display_name"] is None


async def test_churn_reasons_of_a_new_customer_invent_no_history(
    client: httpx.AsyncClient,
) -> None:
    await client.put("/v1/customers/c1", json=CUSTOMER)
    fresh = await ask(client, "new-1")
    assert fresh["churn"]["reasons"] == []
    away = [event("l1", "login", at=NOW - 40 * 86400)]
    assert (await client.post("/v1/events", json={"events": away})).status_code == 200
    back = await ask(client, "new-2")
    assert "нет входов в кабинет и приложение уже 40 дн. (порог 14)" in back["churn"]["reasons"]


async def test_no_marketing_offer_without_consent(
    app_factory: Callable[..., Any], tmp_path: Path
) -> None:
    # The built-in retention offer, made eligible for every known caller.
    catalogue = tmp_path / "actions.yaml"
    catalogue.write_text(
        BUILTIN.read_text(encoding="utf-8").replace(
            "when: known and churn >= 0.6 and not live_problem", "when: known"
        ),
        encoding="utf-8",
    )
    async with app_factory(scenario_file=catalogue) as client:
        await client.put("/v1/customers/c1", json=CUSTOMER)
        answer = await ask(client, "call-5")
        assert answer["action"]["id"] == "retention_offer"
        assert answer["operator"]["offer"]
        refused = {**CUSTOMER, "consents": []}
        await client.put("/v1/customers/c1", json=refused)
        answer = await ask(client, "call-6")
        assert answer["action"]["id"] != "retention_offer"
        offer = next(r for r in answer["ranked"] if r["id"] == "retention_offer")
        assert offer["eligible"] is True and offer["suitable"] is False
        assert "consent" in offer["trace"]
        assert offer["why"] == "Нельзя: нет согласия клиента на маркетинговые предложения"
        assert offer["title"] == "Предложение удержания клиенту с высоким риском ухода"


async def test_bad_input_names_the_field(client: httpx.AsyncClient) -> None:
    reply = await client.post("/v1/inbound", json={"channel": "fax", "call_id": "x"})
    assert reply.status_code == 422 and "channel" in reply.text
    reply = await client.post("/v1/inbound", json={"channel": "ivr", "call_id": "bad id!"})
    assert reply.status_code == 422 and "call_id" in reply.text
    reply = await client.post(
        "/v1/inbound", json={"channel": "ivr", "call_id": "c", "colour": "red"}
    )
    assert reply.status_code == 422 and "colour" in reply.text
    no_key = await client.post(
        "/v1/inbound",
        json={"channel": "ivr", "call_id": "c"},
        headers={"Authorization": "Bearer nope"},
    )
    assert no_key.status_code == 401


async def test_outcome_updates_the_profile_and_keeps_a_labelled_example(
    client: httpx.AsyncClient,
) -> None:
    await with_delayed_order(client)
    await ask(client, "call-7", utterance="где мой заказ")
    await asyncio.sleep(0.05)  # the call record is kept after the answer
    outcome = {"actual_reason": "order_delayed", "resolved": True, "offer_accepted": False}
    reply = await client.post("/v1/inbound/call-7/outcome", json=outcome)
    assert reply.status_code == 200, reply.text
    profile = (await client.get("/v1/customers/c1/profile")).json()
    last = profile["last_contact"]
    assert last["reason"] == "order_delayed" and last["resolved"] is True
    assert last["days_since"] == 0
    examples = await client.get("/v1/inbound/examples.csv")
    assert examples.status_code == 200
    rows = examples.text.splitlines()
    assert rows[0].split(",")[:1] and any("order_delayed" in row for row in rows[1:])
    assert any("где мой заказ" in row for row in rows[1:])
    metrics = (await client.get("/metrics")).text
    assert 'forecall_reason_outcomes_total{actionable="true",correct="true"}' in metrics
    assert 'forecall_reason_confusion_total{actual="order_delayed",predicted="order_delayed"}' in (
        metrics
    )
    missing = await client.post("/v1/inbound/nope/outcome", json=outcome)
    assert missing.status_code == 404
    bad = await client.post("/v1/inbound/call-7/outcome", json={"resolved": True})
    assert bad.status_code == 422 and "actual_reason" in bad.text


async def test_voicexml_document_for_a_vxml_browser(client: httpx.AsyncClient) -> None:
    await with_delayed_order(client)
    # A browser that can set no header: the key as HTTP Basic credentials.
    basic = base64.b64encode(f"ivr:{ADMIN}".encode()).decode()
    reply = await client.get(
        "/v1/inbound/vxml",
        params={"session_id": "vx-1", "ani": "+79161234567", "dnis": "8800", "vendor": "x"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("application/voicexml+xml")
    root = ElementTree.fromstring(reply.content)
    assert root.tag == f"{VXML}vxml" and root.get("version") == "2.1"
    names = {v.get("name"): v.get("expr") for v in root.iter(f"{VXML}var")}
    assert names["action_id"] == "'route_general'" and names["degraded"] == "false"
    prompt = next(root.iter(f"{VXML}prompt"))
    assert prompt.text and "Иван" in prompt.text
    posted = await client.post(
        "/v1/inbound/vxml?end=return",
        content=urlencode({"call_id": "vx-2", "caller": "+79161234567"}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert posted.status_code == 200
    assert next(ElementTree.fromstring(posted.content).iter(f"{VXML}return")) is not None
    anonymous = await client.get(
        "/v1/inbound/vxml", params={"call_id": "vx-3"}, headers={"Authorization": ""}
    )
    assert anonymous.status_code == 401
    wrong = await client.get(
        "/v1/inbound/vxml",
        params={"call_id": "vx-4"},
        headers={"Authorization": "Basic " + base64.b64encode(b"ivr:wrong").decode()},
    )
    assert wrong.status_code == 401
    bad = await client.get("/v1/inbound/vxml", params={"call_id": "vx 5"})
    assert bad.status_code == 422 and "call_id" in bad.text


async def test_twiml_for_twilio_with_its_signature_checked(
    app_factory: Callable[..., Any],
) -> None:
    token = "twilio-auth-token-0123456789abcdef"
    base = "https://forecall.example.ru"
    async with app_factory(twilio_auth_token=token, public_base_url=base) as client:
        await with_delayed_order(client)
        form = {
            "CallSid": "CA" + "0" * 32,
            "From": "+79161234567",
            "To": "+74950000000",
            "SpeechResult": "где мой заказ, он задерживается",
            "Confidence": "0.93",
        }
        url = f"{base}/v1/inbound/twilio"
        signature = RequestValidator(token).compute_signature(url, form)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
            "Authorization": "",
        }
        reply = await client.post("/v1/inbound/twilio", content=urlencode(form), headers=headers)
        assert reply.status_code == 200, reply.text
        root = ElementTree.fromstring(reply.content)
        assert root.tag == "Response"
        gather = root.find("Gather")
        assert gather is not None and gather.get("action") == url
        say = gather.find("Say")
        assert say is not None and say.text == "Вы звоните по поводу задержки заказа A-1001?"
        assert root.find("Enqueue") is not None and root.find("Enqueue").text == "orders"  # type: ignore[union-attr]
        forged = {**headers, "X-Twilio-Signature": signature[::-1]}
        refused = await client.post("/v1/inbound/twilio", content=urlencode(form), headers=forged)
        assert refused.status_code == 401
        changed = urlencode({**form, "From": "+79160000000"})
        assert (
            await client.post("/v1/inbound/twilio", content=changed, headers=headers)
        ).status_code == 401


async def test_twilio_route_is_closed_when_not_configured(client: httpx.AsyncClient) -> None:
    reply = await client.post(
        "/v1/inbound/twilio",
        content="CallSid=CA1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status_code == 401 and "not configured" in reply.text


@pytest.mark.parametrize("fault", ["stopped", "killed"])
async def test_every_call_is_answered_when_redis_goes_away_midway(
    tmp_path: Path, fault: str
) -> None:
    """The store hangs (SIGSTOP) or dies (SIGKILL) in the middle of a stream of calls:
    every call still gets an answer, the ones after the fault the safe default marked
    `degraded`; when the store is back, so are the real decisions."""
    port = free_port()
    data = tmp_path / "redis"
    data.mkdir()
    server = start_redis(port, data)
    url = f"redis://127.0.0.1:{port}/0"
    # A generous budget, so that a loaded test machine does not degrade the calls before
    # the fault; the hung store (socket timeout 2 s) still overruns it.
    settings = make_settings(url, dispatcher={"embedded": False}, inbound_budget_ms=1000)
    app = create_app(settings, clock=FixedClock(NOW))
    answers: list[dict[str, Any]] = []
    try:
        async with _Client(app) as client:
            await with_delayed_order(client)

            async def calls(prefix: str, n: int) -> None:
                for i in range(n):
                    # The limit only catches a hang; the answer's own deadline is 150 ms.
                    reply = await asyncio.wait_for(
                        client.post(
                            "/v1/inbound",
                            json={
                                "channel": "ivr",
                                "call_id": f"{prefix}-{i}",
                                "caller": "+79161234567",
                            },
                        ),
                        timeout=10,
                    )
                    assert reply.status_code == 200, reply.text
                    answers.append(reply.json())

            await calls("before", 20)
            server.send_signal(signal.SIGSTOP if fault == "stopped" else signal.SIGKILL)
            if fault == "killed":
                server.wait(timeout=10)
            await calls("during", 5)
            if fault == "stopped":
                server.send_signal(signal.SIGCONT)
            else:
                server = start_redis(port, data)
            for _ in range(200):  # the breaker's probe finds the store back on its own
                await calls("after", 1)
                if not answers[-1]["degraded"]:
                    break
                await asyncio.sleep(0.05)
    finally:
        server.send_signal(signal.SIGCONT)
        server.kill()
        server.wait()
    before, during = answers[:20], answers[20:25]
    assert all(not a["degraded"] for a in before)
    assert all(a["degraded"] for a in during)
    assert all(a["ivr"]["final"] and a["ivr"]["queue"] for a in during)
    reasons = {a["degraded_reason"] for a in during}
    assert reasons <= {"deadline", "store_unavailable", "internal_error"}, reasons
    if fault == "stopped":
        assert "deadline" in reasons
    assert answers[-1]["degraded"] is False
    assert answers[-1]["action"]["id"] == "route_general"
