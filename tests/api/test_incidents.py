"""Outage broadcasts through the HTTP API, on both stores, delivered by the embedded
dispatcher to a local provider: declare, widen, move the ETA, resolve, dead letters."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from core.clock import FixedClock
from tests.fakes.receiver import SECRET, Receiver

START = "2026-11-18T10:30:00Z"
ETA = "2026-11-18T15:00:00Z"


def channels(receiver: Receiver) -> dict[str, Any]:
    # The customers prefer "sms"; the deployment delivers it through a signed webhook.
    return {"sms": {"kind": "webhook", "url": receiver.url, "secret": SECRET}}


def customer(phone: str, region: str, services: list[str]) -> dict[str, Any]:
    return {
        "identities": [{"kind": "phone", "value": phone}],
        "region": region,
        "services": services,
        "time_zone": "Europe/Moscow",
        "channel_preferences": ["sms"],
    }


def incident(**fields: Any) -> dict[str, Any]:
    return {
        "id": "INC-7",
        "title": "Нет интернета на Тверской",
        "scope": {"regions": ["RU-MOW"], "services": ["internet"]},
        "starts_at": START,
        "eta": ETA,
        **fields,
    }


async def until(check: Callable[[], bool], what: str, seconds: float = 10.0) -> None:
    """Wait for the background dispatcher; the limit only catches a hang."""
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def until_retried(clock: FixedClock, check: Callable[[], bool], what: str) -> None:
    """Like `until`, moving the clock on at every look: a retry's backoff is reckoned from
    whenever the dispatcher got the refusal, which the test cannot see."""
    for _ in range(500):
        if check():
            return
        clock.advance(30)
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def texts(receiver: Receiver) -> list[str]:
    return [str(body.get("text", "")) for body in receiver.bodies.values()]


async def test_the_affected_hear_of_the_outage_its_eta_and_its_end(
    app_factory: Callable[..., Any],
) -> None:
    with Receiver() as receiver:
        async with app_factory(channels=channels(receiver)) as client:
            await client.put(
                "/v1/customers/a", json=customer("+79161110001", "RU-MOW", ["internet"])
            )
            await client.put("/v1/customers/b", json=customer("+79161110002", "RU-MOW", ["mobile"]))
            await client.put(
                "/v1/customers/c", json=customer("+79161110003", "RU-SPE", ["internet"])
            )

            declared = await client.post("/v1/incidents", json=incident())
            assert declared.status_code == 201, declared.text
            assert declared.json()["counts"]["affected"] == 1
            again = await client.post("/v1/incidents", json=incident())
            assert again.status_code == 200 and again.json()["counts"]["affected"] == 1

            await until(lambda: receiver.delivered == 1, "the first notice")
            # The dispatcher records the send just after the provider answered.
            for _ in range(250):
                shown = (await client.get("/v1/incidents/INC-7")).json()
                if shown["counts"]["notified"] == 1:
                    break
                await asyncio.sleep(0.02)
            assert shown["counts"]["notified"] == 1 and shown["counts"]["pending"] == 0

            # b comes into scope: b alone is told; a is not told twice.
            widened = await client.patch(
                "/v1/incidents/INC-7",
                json={"scope": {"regions": ["RU-MOW"], "services": ["internet", "mobile"]}},
            )
            assert widened.status_code == 200 and widened.json()["counts"]["affected"] == 2
            await until(lambda: receiver.delivered == 2, "the newcomer's notice")

            # A new ETA is an update for both; resolution is a closing notice for both.
            later = await client.patch("/v1/incidents/INC-7", json={"eta": "2026-11-18T18:00:00Z"})
            assert later.status_code == 200
            await until(lambda: receiver.delivered == 4, "the ETA updates")
            resolved = await client.post("/v1/incidents/INC-7/resolve")
            assert resolved.json()["status"] == "resolved"
            await until(lambda: receiver.delivered == 6, "the closing notices")

            assert max(receiver.by_key.values()) == 1, "the provider saw a duplicate"
            assert receiver.bad_signatures == 0
            assert all(b["address"] != "+79161110003" for b in receiver.bodies.values())
            assert sum("18:00" in t or "21:00" in t for t in texts(receiver)) >= 2
            assert (await client.get("/v1/incidents")).json() == []


async def test_counts_take_each_customer_once_and_say_why_some_were_not_told(
    app_factory: Callable[..., Any],
) -> None:
    with Receiver() as receiver:
        async with app_factory(channels=channels(receiver)) as client:
            await client.put(
                "/v1/customers/a", json=customer("+79161110001", "RU-MOW", ["internet"])
            )
            for name, phone in (("t1", "+79161110011"), ("t2", "+79161110012")):
                # They want Telegram, which this deployment has not configured.
                body = {
                    **customer(phone, "RU-MOW", ["internet"]),
                    "channel_preferences": ["telegram"],
                }
                body["identities"] = [
                    *body["identities"],
                    {"kind": "telegram", "value": phone[-7:]},
                ]
                await client.put(f"/v1/customers/{name}", json=body)
            declared = (await client.post("/v1/incidents", json=incident())).json()["counts"]
            assert declared["affected"] == 3 and declared["suppressed"] == 2
            assert declared["suppressed_by_reason"] == {"channel_not_configured": 2}
            assert declared["suppression_titles"] == {
                "channel_not_configured": {
                    "ru": "нет настроенного канала",
                    "en": "no channel configured",
                }
            }
            await until(lambda: receiver.delivered == 1, "the first notice")
            moved = await client.patch("/v1/incidents/INC-7", json={"eta": "2026-11-18T18:00:00Z"})
            assert moved.status_code == 200
            await until(lambda: receiver.delivered == 2, "the ETA update")
            resolved = await client.post("/v1/incidents/INC-7/resolve")
            await until(lambda: receiver.delivered == 3, "the closing notice")
            final = (await client.get("/v1/incidents/INC-7")).json()["counts"]
            # Told three times, counted once; left out three times, counted once.
            assert resolved.status_code == 200
            assert (final["affected"], final["notified"], final["suppressed"]) == (3, 1, 2)
            assert final["notified"] + final["suppressed"] <= final["affected"]
            assert final["suppressed_by_reason"] == {"channel_not_configured": 2}
            assert final["updates"]["notified"] == 2  # the ETA update and the closing notice


async def test_bad_declarations_name_the_field_and_change_nothing(
    app_factory: Callable[..., Any],
) -> None:
    async with app_factory() as client:
        cases: list[tuple[dict[str, Any], str]] = [
            (incident(starts_at="2026-11-18T10:30:00"), "starts_at"),
            (incident(scope={}), "scope"),
            (incident(scope={"regions": ["Moscow"]}), "regions"),
            (incident(severity="apocalyptic"), "severity"),
            (incident(id="no spaces please"), "id"),
            (incident(eta="2026-11-18T10:00:00Z"), "eta"),  # the clock says 11:06Z
        ]
        for body, field in cases:
            refused = await client.post("/v1/incidents", json=body)
            assert refused.status_code == 422, (field, refused.text)
            assert field in refused.text, (field, refused.text)
        assert (await client.get("/v1/incidents/INC-7")).status_code == 404
        assert (await client.get("/v1/incidents")).json() == []
        unknown = await client.patch("/v1/incidents/NOPE", json={"eta": ETA})
        assert unknown.status_code == 404


async def test_an_eta_already_past_is_refused_and_never_announced(
    app_factory: Callable[..., Any], clock: FixedClock
) -> None:
    async with app_factory() as client:
        past = await client.post("/v1/incidents", json=incident(eta="2026-11-18T11:00:00Z"))
        assert past.status_code == 422 and past.json()["field"] == "eta", past.text
        assert (await client.get("/v1/incidents/INC-7")).status_code == 404
        assert (await client.post("/v1/incidents", json=incident())).status_code == 201
        moved = await client.patch("/v1/incidents/INC-7", json={"eta": "2026-11-18T09:00:00Z"})
        assert moved.status_code == 422 and moved.json()["field"] == "eta", moved.text
        shown = (await client.get("/v1/incidents/INC-7")).json()
        assert shown["eta"] == "2026-11-18T15:00:00Z" and shown["update"] == 0
        # The repair runs late: the incident stays open, the IVR stops promising 18:00.
        await client.put("/v1/customers/a", json=customer("+79161110001", "RU-MOW", ["internet"]))
        clock.advance(5 * 3600)
        call = {"channel": "ivr", "call_id": "late-1", "caller": "+79161110001"}
        answer = (await client.post("/v1/inbound", json=call)).json()
        assert answer["action"]["id"] == "announce_outage"
        assert "Нет интернета на Тверской" in answer["ivr"]["say"]
        assert "18:00" not in answer["ivr"]["say"] and "восстановления" not in answer["ivr"]["say"]


async def test_incidents_need_the_incidents_scope(app_factory: Callable[..., Any]) -> None:
    async with app_factory() as client:
        made = await client.post("/v1/keys", json={"name": "crm", "scopes": ["ingest"]})
        assert made.status_code == 201, made.text
        other = {"Authorization": f"Bearer {made.json()['key']}"}
        assert (
            await client.post("/v1/incidents", json=incident(), headers=other)
        ).status_code == 403
        assert (
            await client.post(
                "/v1/incidents", json=incident(), headers={"Authorization": "Bearer fc_unknown"}
            )
        ).status_code == 401


async def test_a_failing_provider_ends_in_dead_letters_that_can_be_revived(
    app_factory: Callable[..., Any], clock: FixedClock
) -> None:
    with Receiver() as receiver:
        receiver.fail_next(3, 503)
        settings = {
            "channels": channels(receiver),
            "dispatcher": {"max_attempts": 3, "base_delay": 0.01},
        }
        async with app_factory(**settings) as client:
            await client.put(
                "/v1/customers/a", json=customer("+79161110001", "RU-MOW", ["internet"])
            )
            assert (await client.post("/v1/incidents", json=incident())).status_code == 201

            async def dead() -> list[dict[str, Any]]:
                return list((await client.get("/v1/outbox/dead")).json())

            letters: list[dict[str, Any]] = []
            for _ in range(500):
                clock.advance(timedelta(minutes=5).total_seconds())
                letters = await dead()
                if letters:
                    break
                await asyncio.sleep(0.02)
            assert len(letters) == 1 and receiver.requests == 3 and receiver.delivered == 0
            message_id = letters[0]["id"]
            assert letters[0]["attempts"] == 3 and "503" in str(letters[0]["error"])

            revived = await client.post(f"/v1/outbox/dead/{message_id}/revive")
            assert revived.status_code == 200, revived.text
            await until(lambda: receiver.delivered == 1, "the revived notice")
            assert (await dead()) == []
            for _ in range(100):
                status = (await client.get(f"/v1/messages/{message_id}")).json()["status"]
                if status == "sent":
                    break
                await asyncio.sleep(0.02)
            assert status == "sent"


async def test_nothing_is_sent_twice_when_the_api_is_asked_twice_concurrently(
    app_factory: Callable[..., Any],
) -> None:
    with Receiver() as receiver:
        async with app_factory(channels=channels(receiver)) as client:
            for i in range(20):
                phone = f"+7916111{i:04d}"
                await client.put(
                    f"/v1/customers/k{i}", json=customer(phone, "RU-MOW", ["internet"])
                )
            replies = await asyncio.gather(
                *(client.post("/v1/incidents", json=incident()) for _ in range(5))
            )
            assert sorted(r.status_code for r in replies) == [200, 200, 200, 200, 201]
            await until(lambda: receiver.delivered == 20, "twenty notices")
            await asyncio.sleep(0.2)  # give a duplicate, if any, the time to arrive
            assert receiver.requests == 20 and max(receiver.by_key.values()) == 1


async def test_a_notice_held_by_quiet_hours_says_why(
    app_factory: Callable[..., Any], clock: FixedClock
) -> None:
    clock.advance(9.5 * 3600)  # 23:36 in Moscow
    with Receiver() as receiver:
        async with app_factory(channels=channels(receiver)) as client:
            await client.put(
                "/v1/customers/a", json=customer("+79161110001", "RU-MOW", ["internet"])
            )
            # Declared at night with a morning ETA (a past one would be refused).
            declared = await client.post("/v1/incidents", json=incident(eta="2026-11-19T06:00:00Z"))
            assert declared.status_code == 201, declared.text
            shown = (await client.get("/v1/messages/inc:INC-7:start:a")).json()
            assert shown["status"] == "pending" and shown["error"] == "deferred: quiet_hours"
            assert shown["due_at"] > clock.now()
            assert receiver.requests == 0
