"""Templates a client or manager writes are checked when submitted, through the HTTP API on
both stores: a template that escapes the sandbox, builds a huge text or prints an object's
internals is a 422 naming the field, and nothing is written or enqueued."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.api.test_incidents import channels, customer, incident, texts, until
from tests.fakes.receiver import Receiver

HOSTILE = [
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ title|attr('__class__') }}",
    "{{ 'a' * 20000000 }}",
    "{{ title.format }}",
    "{% for a in title %}{% for b in title %}{{ a }}{% endfor %}{% endfor %}",
    "{% set t = title ~ title %}{{ t }}",
    "{{ range(100000) | join }}",
    "{{ '%99999999s' % title }}",
    "{{ title | center(100000000) }}",
    "{{ unknown_variable }}",
    "{{ title",
]


async def test_a_hostile_notice_is_refused_and_nothing_is_written(
    app_factory: Callable[..., Any],
) -> None:
    with Receiver() as receiver:
        async with app_factory(channels=channels(receiver)) as client:
            await client.put(
                "/v1/customers/a", json=customer("+79161110001", "RU-MOW", ["internet"])
            )
            for text in HOSTILE:
                body = incident(messages={"start": {"ru": text}})
                refused = await client.post("/v1/incidents", json=body)
                assert refused.status_code == 422, (text, refused.text)
                answer = refused.json()
                assert answer["error"] == "invalid_input"
                assert answer["field"] == "messages.start.ru" and answer["reason"], text
                assert (await client.get("/v1/incidents/INC-7")).status_code == 404, text
                assert (await client.get("/v1/incidents")).json() == [], text
                message = await client.get("/v1/messages/inc:INC-7:start:a")
                assert message.status_code == 404, text

            # The same incident with a sound text is a new declaration that tells everyone.
            fine = incident(
                messages={"start": {"ru": "{{ title }}{% if eta %}, до {{ eta }}{% endif %}"}}
            )
            declared = await client.post("/v1/incidents", json=fine)
            assert declared.status_code == 201, declared.text
            assert (await client.get("/v1/messages/inc:INC-7:start:a")).status_code == 200
            await until(lambda: bool(receiver.bodies), "the notice")
            assert texts(receiver) == ["Нет интернета на Тверской, до 18:00"]


async def test_every_text_of_a_declaration_is_checked_before_anything_is_written(
    app_factory: Callable[..., Any],
) -> None:
    async with app_factory() as client:
        body = incident(
            messages={
                "start": {"ru": "{{ title }}"},
                "resolved": {
                    "ru": "{{ title }}: всё работает",
                    "channels": {"sms": {"text": "{{ lipsum.__globals__ }}"}},
                },
            }
        )
        refused = await client.post("/v1/incidents", json=body)
        assert refused.status_code == 422
        assert refused.json()["field"] == "messages.resolved.channels.sms.text"
        assert (await client.get("/v1/incidents/INC-7")).status_code == 404


async def test_a_notice_longer_than_the_limit_is_refused(
    app_factory: Callable[..., Any],
) -> None:
    async with app_factory(limits={"message_bytes": 512}) as client:
        # 200 characters of title, five times: within the field's length, over 512 bytes.
        long = "{{ title }} {{ title }} {{ title }} {{ title }} {{ title }}"
        refused = await client.post(
            "/v1/incidents", json=incident(messages={"start": {"ru": long}})
        )
        assert refused.status_code == 422
        assert "at most 512" in refused.json()["reason"]
        ok = await client.post(
            "/v1/incidents", json=incident(messages={"start": {"ru": "{{ title }}"}})
        )
        assert ok.status_code == 201


async def test_an_approval_edit_is_plain_text(app_factory: Callable[..., Any]) -> None:
    async with app_factory() as client:
        refused = await client.post(
            "/v1/approvals/decide",
            json={
                "ids": ["m1"],
                "decision": "approve",
                "edits": {"m1": {"text": "{{ ''.__class__.__mro__ }}"}},
            },
        )
        assert refused.status_code == 422
        assert refused.json()["field"] == "edits.m1.text"
        assert (await client.get("/v1/approvals/audit")).json() == []
