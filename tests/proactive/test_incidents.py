"""Incident fan-out on both stores: exactly the affected, once per update, by policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.outbox import Outbox
from connectors.store import Store
from core.clock import FixedClock
from core.customers import CustomerIn
from core.errors import Conflict
from core.incidents import IncidentIn, IncidentPatch, Scope
from core.messages import Status
from proactive.incidents import Incidents, group
from profiles import directory

NOON = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # 15:00 in Moscow


async def add(store: Store, cid: str, phone: str, **fields: Any) -> None:
    body = {
        "identities": [{"kind": "phone", "value": phone}],
        "region": "RU-MOW",
        "services": ["internet"],
        "time_zone": "Europe/Moscow",
        "channel_preferences": ["sms"],
        **fields,
    }
    await directory.put_customer(store, cid, CustomerIn.model_validate(body), "RU", 0.0)


def declared(**fields: Any) -> IncidentIn:
    body = {
        "id": "I-1",
        "title": "Нет интернета в Москве",
        "scope": {"regions": ["RU-MOW"], "services": ["internet"]},
        "starts_at": NOON.isoformat(),
        "eta": (NOON + timedelta(hours=3)).isoformat(),
        **fields,
    }
    return IncidentIn.model_validate(body)


async def messages(outbox: Outbox, now: float) -> dict[str, Any]:
    claimed = await outbox.claim("test", 1000, now, 60)
    return {m.id: m for m in claimed}


async def test_exactly_the_affected_are_told_once(store: Store, outbox: Outbox) -> None:
    clock = FixedClock(NOON)
    await add(store, "a", "+79161110001")
    await add(store, "b", "+79161110002", services=["mobile"])  # not affected: no internet
    await add(store, "c", "+79161110003", region="RU-SPE")  # not affected: elsewhere
    await add(store, "d", "+79161110004", channel_preferences=["telegram"])  # no address
    incidents = Incidents(store, outbox, clock, {"sms", "telegram"})
    incident, created = await incidents.declare(declared())
    assert created and incident.status == "open"
    again, created_again = await incidents.declare(declared())  # same declaration: no-op
    assert not created_again and again.id == "I-1"
    with pytest.raises(Conflict):
        await incidents.declare(declared(title="Другое"))
    found = await messages(outbox, clock.now())
    assert set(found) == {"inc:I-1:start:a"}
    notice = found["inc:I-1:start:a"]
    assert notice.routes[0].channel == "sms" and notice.routes[0].address == "+79161110001"
    assert "Нет интернета в Москве" in notice.routes[0].text and "18:00" in notice.routes[0].text
    assert notice.category == "service" and notice.group == group("I-1")
    counts = await store.incident_counts("I-1")
    assert counts == {"excluded:no_address": 1}
    assert await store.audience_of("I-1") == {"a", "d"}


async def test_stop_list_and_quiet_hours(store: Store, outbox: Outbox) -> None:
    late = datetime(2026, 11, 18, 20, 30, tzinfo=UTC)  # 23:30 in Moscow
    clock = FixedClock(late)
    await add(store, "a", "+79161110001")
    await add(store, "s", "+79161110005")
    await store.set_stop("s", "sms", True, 0.0)
    incidents = Incidents(store, outbox, clock, {"sms"})
    await incidents.declare(declared(eta=None))
    assert await messages(outbox, clock.now()) == {}  # deferred, not dropped
    morning = datetime(2026, 11, 19, 6, 0, tzinfo=UTC)  # 09:00 in Moscow
    assert set(await messages(outbox, morning.timestamp())) == {"inc:I-1:start:a"}
    assert (await store.incident_counts("I-1")) == {"excluded:stop_list": 1}


async def test_critical_notices_pass_quiet_hours(store: Store, outbox: Outbox) -> None:
    clock = FixedClock(datetime(2026, 11, 18, 20, 30, tzinfo=UTC))
    await add(store, "a", "+79161110001")
    await Incidents(store, outbox, clock, {"sms"}).declare(declared(severity="critical", eta=None))
    assert set(await messages(outbox, clock.now())) == {"inc:I-1:start:a"}


async def test_eta_change_scope_growth_and_resolution(store: Store, outbox: Outbox) -> None:
    clock = FixedClock(NOON)
    await add(store, "a", "+79161110001")
    await add(store, "b", "+79161110002", region="RU-SPE")
    incidents = Incidents(store, outbox, clock, {"sms"})
    await incidents.declare(declared())
    first = await messages(outbox, clock.now())
    for m in first.values():
        m.status = Status.sent
        await outbox.finish(m, clock.now())
    later = NOON + timedelta(hours=5)
    patched = await incidents.change("I-1", IncidentPatch(eta=later))
    assert patched.update == 1
    wider = Scope(regions=["RU-MOW", "RU-SPE"], services=["internet"])
    await incidents.change("I-1", IncidentPatch(scope=wider))
    second = await messages(outbox, clock.now())
    assert set(second) == {"inc:I-1:update1:a", "inc:I-1:start:b"}
    assert "20:00" in second["inc:I-1:update1:a"].routes[0].text
    # Re-running a fan-out changes nothing: the ids are already in the outbox.
    incident = await incidents.get("I-1")
    assert (await incidents.fan_out(incident, "start")).enqueued == 0
    resolved = await incidents.resolve("I-1")
    assert resolved.status == "resolved"
    assert await store.open_incidents() == []
    closing = await messages(outbox, clock.now())
    assert set(closing) == {"inc:I-1:resolved1:a", "inc:I-1:resolved1:b"}
    counts = await outbox.counts(group("I-1"))
    assert counts.get("sent") == 1


async def test_each_channel_may_say_it_its_own_way(store: Store, outbox: Outbox) -> None:
    clock = FixedClock(NOON)
    await add(
        store,
        "a",
        "+79161110001",
        channel_preferences=["whatsapp", "sms"],
        identities=[
            {"kind": "phone", "value": "+79161110001"},
            {"kind": "whatsapp", "value": "79161110001"},
        ],
    )
    await add(store, "e", "+79161110002", locale="en")
    custom = {
        "start": {
            "ru": "{{ title }}: чиним до {{ eta }}.",
            "en": "{{ title }}: fixing it by {{ eta }}.",
            "channels": {
                "sms": {"text": "Авария, до {{ eta }}"},
                "whatsapp": {"template": "outage_notice_v2"},
            },
        }
    }
    incidents = Incidents(store, outbox, clock, {"sms", "whatsapp"})
    await incidents.declare(declared(messages=custom))
    told = await messages(outbox, clock.now())
    whatsapp, sms = told["inc:I-1:start:a"].routes
    assert (sms.channel, sms.text, sms.template) == ("sms", "Авария, до 18:00", None)
    assert (whatsapp.channel, whatsapp.template) == ("whatsapp", "outage_notice_v2")
    assert whatsapp.params == {"title": "Нет интернета в Москве", "eta": "18:00"}
    assert whatsapp.text == "Нет интернета в Москве: чиним до 18:00."
    # The English speaker's SMS follows the channel's own (Russian) text: it was asked for.
    assert told["inc:I-1:start:e"].routes[0].text == "Авария, до 18:00"


def test_a_channel_notice_needs_a_text_or_a_template() -> None:
    with pytest.raises(ValueError, match="text, a template name"):
        declared(messages={"start": {"ru": "x", "channels": {"sms": {}}}})
    with pytest.raises(ValueError, match="channels"):
        declared(messages={"start": {"ru": "x", "channels": {"pager": {"text": "x"}}}})
