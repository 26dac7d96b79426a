"""The manager console in a real browser: an incident with its live counts, model cards
with live accuracy, and the approval queue (approve with an edit: the message reaches
the outbox)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.conftest import CUSTOMER, event
from tests.fakes.receiver import SECRET, Receiver
from tests.pages.conftest import Served

WAIT = 10_000  # ms: the console polls every 3 s; this only catches a hang


def login(page: Page, app: Served, key: str, lang: str = "ru") -> None:
    page.goto(f"{app.url}/console?lang={lang}")
    page.fill("#key", key)
    page.keyboard.press("Enter")
    expect(page.locator("#console")).to_be_visible()
    expect(page.locator("#login")).to_be_hidden()


def affected_customer() -> dict[str, Any]:
    return {
        "identities": [{"kind": "phone", "value": "+79161110001"}],
        "region": "RU-MOW",
        "services": ["internet"],
        "time_zone": "Europe/Moscow",
        "channel_preferences": ["sms"],
    }


def test_the_console_shows_an_incident_with_its_live_counts_and_the_models(
    serve: Callable[..., Served], browser: Browser, shot: Callable[[Page, str], Path]
) -> None:
    with Receiver() as receiver:
        sms = {"sms": {"kind": "webhook", "url": receiver.url, "secret": SECRET}}
        with serve(channels=sms) as app:
            app.api.put("/v1/customers/a", json=affected_customer())
            manager = app.key("manager", "manager", "incidents")
            page = app.page(browser)
            login(page, app, manager)
            expect(page.locator("#incidents")).to_contain_text("Открытых аварий нет")

            declared = app.api.post(
                "/v1/incidents",
                json={
                    "id": "INC-7",
                    "title": "Нет интернета на Тверской",
                    "scope": {"regions": ["RU-MOW"], "services": ["internet"]},
                    "starts_at": "2026-11-18T10:30:00Z",
                    "eta": "2026-11-18T15:00:00Z",
                },
            )
            assert declared.status_code == 201, declared.text
            row = page.locator('[data-incident="INC-7"]')
            expect(row).to_contain_text("Нет интернета на Тверской", timeout=WAIT)
            expect(row.locator('[data-count="affected"]')).to_have_text("1")
            expect(row.locator('[data-count="notified"]')).to_have_text("1", timeout=WAIT)
            assert receiver.delivered == 1

            # The affected customer calls after the notice: the console counts it.
            app.api.post(
                "/v1/inbound",
                json={"channel": "ivr", "call_id": "call-7", "caller": "+79161110001"},
            )
            expect(row.locator('[data-count="calls_after_notice"]')).to_have_text("1", timeout=WAIT)

            models = page.locator("#models")
            for name in ("churn", "reasons", "reasons_text"):
                expect(models.locator(f'[data-model="{name}"]')).to_contain_text("20261101T")
            expect(page.locator("#live-accuracy")).to_have_attribute("data-examples", "0")
            expect(models.locator("svg.chart")).to_have_count(1)
            expect(models).not_to_contain_text("null")
            shot(page, "incident")

            page.click("#lang")
            expect(page.locator("#incidents thead th").first).to_have_text("Incident")
            expect(page.locator("#incidents-h")).to_have_text("Incidents")
            shot(page, "english")


def test_the_console_turns_away_a_key_without_the_manager_scope(
    serve: Callable[..., Served], browser: Browser, shot: Callable[[Page, str], Path]
) -> None:
    with serve() as app:
        desk = app.key("desk", "desk")
        page = app.page(browser)
        page.goto(f"{app.url}/console")
        page.fill("#key", desk)
        page.keyboard.press("Enter")
        expect(page.locator("#login .error")).to_have_text("У ключа нет права «консоль менеджера»")
        expect(page.locator("#console")).to_be_hidden()
        shot(page, "refused")


def pending_message(app: Served) -> str:
    """Puts one message in the approval queue (the built-in deposit scenario needs a
    manager's approval) and returns its id."""
    customer = {
        **CUSTOMER,
        "channel_preferences": ["sms"],
    }
    assert app.api.put("/v1/customers/c-deposit", json=customer).status_code in (200, 201)
    maturing = event(
        "dep-1", "deposit_maturing", "c-deposit", deposit_id="D-7", matures_on="2026-12-01"
    )
    assert app.api.post("/v1/events", json={"events": [maturing]}).status_code == 200
    pending = app.api.get("/v1/approvals", params={"status": "pending"}).json()
    assert [p["scenario"] for p in pending] == ["deposit_maturing"], pending
    return str(pending[0]["id"])


def test_a_pending_message_approved_with_an_edit_in_the_console_reaches_the_outbox(
    serve: Callable[..., Served], browser: Browser, shot: Callable[[Page, str], Path]
) -> None:
    with (
        Receiver() as receiver,
        serve(channels={"sms": {"kind": "webhook", "url": receiver.url, "secret": SECRET}}) as app,
    ):
        message_id = pending_message(app)
        manager = app.key("manager", "manager", "incidents")
        page = app.page(browser)
        login(page, app, manager)
        card = page.locator(f'[data-approval="{message_id}"]')
        expect(card).to_be_visible(timeout=WAIT)
        card.get_by_role("button", name="Править").click()
        editor = page.locator(f'[id="text-{message_id}"]')
        expect(editor).to_be_focused()
        editor.fill("Здравствуйте! Исправленный текст.")
        shot(page, "editing")
        card.get_by_role("button", name="Одобрить").click()
        expect(page.locator("#approvals-status")).to_contain_text("Готово")
        expect(card).to_have_count(0)
        shot(page, "approved")

        shown = app.api.get(f"/v1/approvals/{message_id}").json()
        assert shown["status"] != "pending" and shown["text"] == "Здравствуйте! Исправленный текст."
        message = app.api.get(f"/v1/messages/{message_id}")
        assert message.status_code == 200, message.text
        assert message.json()["status"] in ("pending", "sending", "sent", "delivered")
