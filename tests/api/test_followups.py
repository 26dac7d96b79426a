"""Follow-ups through the API on both stores: scheduling and cancelling touches, the one
contact policy at send time (consent, send windows, caps, outages), approvals with their
audit, holdout and the report. The embedded dispatcher delivers to a local receiver."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from core.clock import FixedClock
from core.events import Catalogue
from predictors.scenarios import builtin
from proactive.followups import held_out
from tests.api.test_incidents import incident, until
from tests.conftest import NOW, event
from tests.fakes.receiver import SECRET, Receiver

HOUR = 3600.0
_CART = builtin(Catalogue.with_extensions()).get("abandoned_cart")
assert _CART is not None
CART = _CART


def channels(receiver: Receiver) -> dict[str, Any]:
    return {"sms": {"kind": "webhook", "url": receiver.url, "secret": SECRET}}


def customer(n: int, marketing: bool = True) -> dict[str, Any]:
    consent = {
        "purpose": "marketing",
        "channel": "sms",
        "granted": True,
        "source": "web-form",
        "at": "2026-03-01T10:00:00Z",
    }
    return {
        "name": f"Иван Петров{n}",
        "identities": [{"kind": "phone", "value": f"+7916222{n:04d}"}],
        "time_zone": "Europe/Moscow",
        "region": "RU-MOW",
        "services": ["internet"],
        "channel_preferences": ["sms"],
        "consents": [consent] if marketing else [],
    }


def treated(prefix: str) -> str:
    """A customer id outside the abandoned cart's 10% holdout."""
    return next(f"{prefix}{i}" for i in range(100) if not held_out(f"{prefix}{i}", CART))


async def when_error(client: httpx.AsyncClient, message_id: str, error: str) -> dict[str, Any]:
    """Wait until the dispatcher has looked at the message and left `error` on it."""
    for _ in range(500):
        shown = await message(client, message_id)
        if shown["error"] == error:
            return shown
        await asyncio.sleep(0.02)
    raise AssertionError(f"{message_id}: {shown}")


async def message(client: httpx.AsyncClient, message_id: str) -> dict[str, Any]:
    reply = await client.get(f"/v1/messages/{message_id}")
    assert reply.status_code == 200, reply.text
    found: dict[str, Any] = reply.json()
    return found


async def test_cart_touches_are_scheduled_sent_in_window_and_cancelled_by_an_order(
    app_factory: Callable[..., Any], clock: FixedClock
) -> None:
    cid = treated("cart")
    with Receiver() as receiver:
        async with app_factory(channels=channels(receiver)) as client:
            await client.put(f"/v1/customers/{cid}", json=customer(1))
            abandoned = event("e1", "cart_abandoned", cid, at=NOW, value=2490)
            assert (
                await client.post("/v1/events", json={"events": [abandoned]})
            ).status_code == 200
            again = await client.post("/v1/events", json={"events": [abandoned]})
            assert again.status_code == 200  # re-sent: nothing new is scheduled
            ids = [f"sc:abandoned_cart:{cid}:e1:{n}" for n in (1, 2, 3)]
            for message_id in ids:
                assert (await message(client, message_id))["status"] == "pending"
            # 2 h later it is 16:06 in Moscow on a Wednesday: inside a marketing window.
            clock.advance(2 * HOUR)
            await until(lambda: receiver.delivered == 1, "the first touch")
            [body] = receiver.bodies.values()
            assert "в корзине остались товары на 2490 ₽" in body["text"]
            assert body["text"].startswith("Иван,")
            # An order cancels the rest.
            order = event("o1", "order_placed", cid, at=NOW + 3 * HOUR, order_id="A1", amount=2490)
            assert (await client.post("/v1/events", json={"events": [order]})).status_code == 200
            assert (await message(client, ids[1]))["status"] == "cancelled"
            assert (await message(client, ids[2]))["status"] == "cancelled"
            clock.advance(80 * HOUR)
            report = {r["scenario"]: r for r in (await client.get("/v1/scenarios/report")).json()}
            cart = report["abandoned_cart"]
            assert cart["sent"] == 1 and cart["cancelled"] == 2
            assert cart["treated"] == {"customers": 1, "converted": 1, "rate": 1.0}
            assert cart["revenue"] == 2490
            assert receiver.delivered == 1


async def test_marketing_without_consent_is_blocked_with_its_reason(
    app_factory: Callable[..., Any],
) -> None:
    cid = treated("noconsent")
    async with app_factory(
        channels={"sms": {"kind": "webhook", "url": "http://127.0.0.1:9/x", "secret": SECRET}}
    ) as c:
        await c.put(f"/v1/customers/{cid}", json=customer(2, marketing=False))
        abandoned = event("e2", "cart_abandoned", cid, value=100)
        assert (await c.post("/v1/events", json={"events": [abandoned]})).status_code == 200
        assert (await c.get(f"/v1/messages/sc:abandoned_cart:{cid}:e2:1")).status_code == 404
        report = {r["scenario"]: r for r in (await c.get("/v1/scenarios/report")).json()}
        cart = report["abandoned_cart"]
        assert cart["blocked"] == {"no_marketing_consent": 1}
        # The id stays an id; people read the title, in Russian or in English.
        assert cart["title"] == "Помощь с брошенной корзиной"
        assert cart["title_en"] == "Help with an abandoned cart"
        metrics = (await c.get("/metrics")).text
        assert 'outcome="blocked:no_marketing_consent",scenario="abandoned_cart"' in metrics


def immediate(tmp_path: Path, names: list[str]) -> Path:
    """Marketing scenarios with one touch due at once, triggered by `cart_updated`."""
    blocks = "".join(
        f"""
  - name: {name}
    trigger: cart_updated
    category: marketing
    channels: [sms]
    touches: [{{delay: 0m}}]
    text: {{ru: "{name}: {{{{ items }}}} шт."}}
"""
        for name in names
    )
    path = tmp_path / "followups.yaml"
    path.write_text("version: 1\nscenarios:" + blocks, encoding="utf-8")
    return path


async def test_send_windows_defer_and_caps_hold_across_scenarios(
    app_factory: Callable[..., Any], clock: FixedClock, tmp_path: Path
) -> None:
    with Receiver() as receiver:
        settings = {
            "channels": channels(receiver),
            "followups_file": immediate(tmp_path, ["a", "b"]),
        }
        async with app_factory(**settings) as client:
            await client.put("/v1/customers/w1", json=customer(3))
            # 14:06 in Moscow: between the 10-12 and 15-19 windows: both wait, not dropped.
            updated = event("u1", "cart_updated", "w1", items=2, value=10)
            assert (await client.post("/v1/events", json={"events": [updated]})).status_code == 200
            for name in ("a", "b"):
                shown = await when_error(client, f"sc:{name}:w1:u1:1", "deferred: send_window")
                assert shown["status"] == "pending"
            assert receiver.delivered == 0
            # 15:00: one goes, the other meets the daily cap and waits for tomorrow.
            clock.set(NOW + 54 * 60)
            await until(lambda: receiver.delivered == 1, "the first marketing message")
            [sent_id] = receiver.by_key
            other = "sc:b:w1:u1:1" if sent_id == "sc:a:w1:u1:1" else "sc:a:w1:u1:1"
            shown = await when_error(client, other, "deferred: daily_cap")
            assert shown["status"] == "pending"
            clock.set(NOW + 24 * HOUR + 54 * 60)  # Thursday 15:00
            await until(lambda: receiver.delivered == 2, "the second, a day later")
            metrics = (await client.get("/metrics")).text
            assert 'decision="deferred",reason="daily_cap"' in metrics


async def test_no_marketing_while_an_outage_touches_the_customer(
    app_factory: Callable[..., Any], clock: FixedClock, tmp_path: Path
) -> None:
    with Receiver() as receiver:
        settings = {"channels": channels(receiver), "followups_file": immediate(tmp_path, ["a"])}
        async with app_factory(**settings) as client:
            await client.put("/v1/customers/o1", json=customer(4))
            assert (await client.post("/v1/incidents", json=incident())).status_code == 201
            await until(lambda: receiver.delivered == 1, "the outage notice")
            clock.set(NOW + 54 * 60)  # 15:00, inside the marketing window
            updated = event("u2", "cart_updated", "o1", at=NOW + 54 * 60, items=1, value=5)
            assert (await client.post("/v1/events", json={"events": [updated]})).status_code == 200
            await when_error(client, "sc:a:o1:u2:1", "deferred: outage_open")
            assert receiver.delivered == 1
            assert (await client.post("/v1/incidents/INC-7/resolve")).status_code == 200
            await until(lambda: receiver.delivered == 2, "the closing notice")
            clock.advance(HOUR + 1)
            await until(lambda: receiver.delivered == 3, "the offer, after the outage")


async def test_approval_queue_with_edits_rejections_expiry_and_audit(
    app_factory: Callable[..., Any], clock: FixedClock
) -> None:
    with Receiver() as receiver:
        async with app_factory(channels=channels(receiver)) as client:
            for n in (5, 6, 7):
                await client.put(f"/v1/customers/d{n}", json=customer(n))
                maturing = event(
                    f"m{n}",
                    "deposit_maturing",
                    f"d{n}",
                    deposit_id=f"D{n}",
                    matures_on="2026-12-01",
                )
                assert (
                    await client.post("/v1/events", json={"events": [maturing]})
                ).status_code == 200
            pending = (await client.get("/v1/approvals")).json()
            assert [p["customer_id"] for p in pending] == ["d5", "d6", "d7"]
            first, second, third = (p["id"] for p in pending)
            shown = (await client.get(f"/v1/approvals/{first}")).json()
            assert "2026-12-01" in shown["text"] and shown["routes"] == ["sms"]
            assert shown["scenario_title"] == "Вклад заканчивается: продление в один шаг"
            assert pending[0]["scenario_title_en"] == "A maturing deposit, extended in one step"

            bad = await client.post(
                "/v1/approvals/decide",
                json={"ids": [first, "nope"], "decision": "approve"},
            )
            assert bad.status_code == 422 and "ids[1]" in bad.text
            assert len((await client.get("/v1/approvals")).json()) == 3  # nothing changed

            approved = await client.post(
                "/v1/approvals/decide",
                json={
                    "ids": [first],
                    "decision": "approve",
                    "edits": {first: {"text": "Вклад D5 можно продлить в приложении."}},
                },
            )
            assert approved.json() == {"decided": 1, "enqueued": 1}
            rejected = await client.post(
                "/v1/approvals/decide",
                json={"ids": [second], "decision": "reject", "reason": "не тот сегмент"},
            )
            assert rejected.json() == {"decided": 1, "enqueued": 0}
            twice = await client.post(
                "/v1/approvals/decide", json={"ids": [first], "decision": "reject"}
            )
            assert twice.status_code == 422 and "already approved" in twice.text

            assert (await message(client, first))["status"] in ("pending", "sending", "sent")
            assert (await client.get(f"/v1/messages/{second}")).status_code == 404
            clock.advance(49 * HOUR)
            assert (await client.get(f"/v1/approvals/{third}")).json()["status"] == "expired"
            assert (await client.get("/v1/approvals")).json() == []

            audit = (await client.get("/v1/approvals/audit")).json()
            assert [(a["decision"], a["id"], a["edited"]) for a in audit] == [
                ("reject", second, False),
                ("approve", first, True),
            ]
            assert audit[0]["who"] == "bootstrap admin" and audit[0]["reason"] == "не тот сегмент"
            desk = await client.post("/v1/keys", json={"name": "desk", "scopes": ["desk"]})
            secret = desk.json()["key"]
            refused = await client.get(
                "/v1/approvals", headers={"Authorization": f"Bearer {secret}"}
            )
            assert refused.status_code == 403


async def test_holdout_is_deterministic_and_the_report_compares_the_arms(
    app_factory: Callable[..., Any], clock: FixedClock
) -> None:
    ids = [f"h{i}" for i in range(60)]
    out = [c for c in ids if held_out(c, CART)]
    assert out == [c for c in ids if held_out(c, CART)] and 0 < len(out) < 20
    async with app_factory(
        channels={"sms": {"kind": "webhook", "url": "http://127.0.0.1:9/x", "secret": SECRET}}
    ) as c:
        for n, cid in enumerate(ids):
            await c.put(f"/v1/customers/{cid}", json=customer(100 + n))
        carts = [event(f"c-{cid}", "cart_abandoned", cid, value=100) for cid in ids]
        assert (await c.post("/v1/events", json={"events": carts})).status_code == 200
        for cid in out:
            assert (
                await c.get(f"/v1/messages/sc:abandoned_cart:{cid}:c-{cid}:1")
            ).status_code == 404
        buyers = ids[::2]
        orders = [
            event(f"o-{cid}", "order_placed", cid, at=NOW + HOUR, order_id=cid, amount=1000)
            for cid in buyers
        ]
        assert (await c.post("/v1/events", json={"events": orders})).status_code == 200
        cart = next(
            r
            for r in (await c.get("/v1/scenarios/report")).json()
            if r["scenario"] == "abandoned_cart"
        )
        assert cart["treated"]["customers"] == len(ids) - len(out)
        assert cart["holdout"]["customers"] == len(out)
        assert cart["treated"]["converted"] == len([b for b in buyers if b not in out])
        assert cart["holdout"]["converted"] == len([b for b in buyers if b in out])
        uplift = cart["uplift"]
        assert uplift["low"] <= uplift["value"] <= uplift["high"]
        expected = cart["treated"]["rate"] - cart["holdout"]["rate"]
        assert abs(uplift["value"] - expected) < 1e-3


async def test_preview_renders_a_touch_and_names_what_is_missing(
    app_factory: Callable[..., Any],
) -> None:
    async with app_factory() as client:
        await client.put("/v1/customers/p1", json=customer(9))
        shown = await client.post(
            "/v1/scenarios/abandoned_cart/preview",
            json={"customer_id": "p1", "data": {"value": 990}, "touch": 2},
        )
        assert shown.status_code == 200, shown.text
        assert shown.json()["text"].startswith("Иван, в корзине остались товары на 990 ₽")
        assert shown.json()["delay_seconds"] == 24 * HOUR
        english = await client.post(
            "/v1/scenarios/abandoned_cart/preview", json={"locale": "en", "data": {}}
        )
        assert english.json()["text"].startswith("Your cart is still waiting")
        assert (await client.post("/v1/scenarios/nope/preview", json={})).status_code == 404
        many = await client.post("/v1/scenarios/abandoned_cart/preview", json={"touch": 9})
        assert many.status_code == 422 and "touch" in many.text
        listed = (await client.get("/v1/scenarios")).json()
        assert {s["name"] for s in listed["scenarios"]} >= {"abandoned_cart", "order_status"}
        assert listed["policy"]["marketing_per_day"] == 1


async def test_the_daily_sweep_finds_the_inactive_and_birthdays_once(
    app_factory: Callable[..., Any],
) -> None:
    scenarios = builtin(Catalogue.with_extensions())
    inactivity, birthday = scenarios.get("inactivity"), scenarios.get("birthday")
    assert inactivity is not None and birthday is not None
    quiet = next(f"q{i}" for i in range(100) if not held_out(f"q{i}", inactivity))
    born = next(f"b{i}" for i in range(100) if not held_out(f"b{i}", birthday))
    async with app_factory(
        channels={"sms": {"kind": "webhook", "url": "http://127.0.0.1:9/x", "secret": SECRET}}
    ) as c:
        await c.put(f"/v1/customers/{quiet}", json=customer(20))
        await c.put("/v1/customers/busy", json=customer(21))
        await c.put(f"/v1/customers/{born}", json={**customer(22), "birthday": "1990-11-18"})
        logins = [
            event("l1", "login", quiet, at=NOW - 20 * 86400),
            event("l2", "login", "busy", at=NOW - 86400),
            event("l3", "login", born, at=NOW - 86400),
        ]
        assert (await c.post("/v1/events", json={"events": logins})).status_code == 200
        swept = await c.post("/v1/scenarios/sweep")
        assert swept.status_code == 200, swept.text
        assert swept.json() == {"customers": 3, "inactive": 1, "birthdays": 1}
        since = int((NOW - 20 * 86400) // 86400)
        inactive_id = f"sc:inactivity:{quiet}:sweep:inactive:{quiet}:{since}:1"
        # Due now: the embedded dispatcher may have claimed it already (its provider is down).
        assert (await message(c, inactive_id))["status"] in ("pending", "sending")
        greeting = await message(c, f"sc:birthday:{born}:sweep:birthday:{born}:2026:1")
        assert greeting["status"] in ("pending", "sending")
        again = await c.post("/v1/scenarios/sweep")
        assert again.json()["inactive"] == 1  # found again, scheduled once
        report = {r["scenario"]: r for r in (await c.get("/v1/scenarios/report")).json()}
        assert report["inactivity"]["treated"]["customers"] == 1
        assert report["birthday"]["treated"]["customers"] == 1


async def test_a_big_cart_waits_for_a_manager_a_small_one_does_not(
    app_factory: Callable[..., Any],
) -> None:
    big, small = treated("big"), treated("small")
    url = {"kind": "webhook", "url": "http://127.0.0.1:9/x", "secret": SECRET}
    async with app_factory(channels={"sms": url}) as c:
        await c.put(f"/v1/customers/{big}", json=customer(30))
        await c.put(f"/v1/customers/{small}", json=customer(31))
        carts = [
            event("big-cart", "cart_abandoned", big, value=150_000),
            event("small-cart", "cart_abandoned", small, value=900),
        ]
        assert (await c.post("/v1/events", json={"events": carts})).status_code == 200
        waiting = (await c.get("/v1/approvals")).json()
        assert {w["customer_id"] for w in waiting} == {big} and len(waiting) == 3
        assert (await c.get(f"/v1/messages/sc:abandoned_cart:{big}:big-cart:1")).status_code == 404
        assert (await message(c, f"sc:abandoned_cart:{small}:small-cart:1"))["status"] == "pending"
