"""The operator desk in a real browser: a routed call's card appears live, the operator
confirms its reason, and an operator never sees another's calls."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.conftest import CUSTOMER
from tests.pages.conftest import Served

LIVE = 1000  # ms: the card must be on screen within a second of the IVR's word


def login(page: Page, app: Served, key: str, operator: str = "", queues: str = "") -> None:
    page.goto(f"{app.url}/desk")
    page.fill("#key", key)
    page.fill("#operator", operator)
    page.fill("#queues", queues)
    page.click("#login button[type=submit]")
    # Subscribed: from here on a published card reaches this page.
    expect(page.locator("#status")).to_have_attribute("data-state", "live")
    expect(page.locator("#login")).to_be_hidden()


def call(app: Served, call_id: str, **context: str) -> dict[str, Any]:
    answer = app.api.post(
        "/v1/inbound",
        json={
            "channel": "ivr",
            "call_id": call_id,
            "caller": "+79161234567",
            "utterance": "у меня списали деньги дважды, что со счётом",
            "context": context,
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["degraded"] is False
    body: dict[str, Any] = answer.json()
    return body


def test_a_routed_call_appears_live_and_its_confirmed_reason_is_recorded(
    serve: Callable[..., Served], browser: Browser, shot: Callable[[Page, str], Path]
) -> None:
    with serve() as app:
        assert app.api.put("/v1/customers/c1", json=CUSTOMER).status_code == 201
        key = app.key("operator A", "desk")
        page = app.page(browser)
        login(page, app, key, operator="op-a")
        expect(page.locator("#who")).to_contain_text("op-a")

        call(app, "call-1")
        routed = app.api.post("/v1/calls/call-1/route", json={"operator_id": "op-a"})
        assert routed.status_code in (200, 202), routed.text

        card = page.locator('[data-call-id="call-1"]')
        expect(card).to_be_visible(timeout=LIVE)
        expect(card.locator("h2")).to_contain_text("Иван")
        expect(card.locator("ul.reasons li").first).to_contain_text("%")
        expect(card.locator(".offer-allowed")).to_contain_text("можно")  # sms consent, no outage
        expect(card.locator(".next-steps li").first).not_to_be_empty()
        shot(page, "card")

        card.locator("select[name=actual_reason]").select_option("billing_question")
        card.locator("button[type=submit]").click()
        expect(card.locator(".outcome-result")).to_contain_text("Записано")
        shot(page, "outcome")

        profile = app.api.get("/v1/customers/c1/profile").json()
        assert profile["last_contact"]["reason"] == "billing_question"
        rows = list(csv.DictReader(io.StringIO(app.api.get("/v1/inbound/examples.csv").text)))
        assert [(r["reason"], r["customer_id"]) for r in rows] == [("billing_question", "c1")]


def test_an_operator_sees_only_calls_routed_to_them_or_their_queue(
    serve: Callable[..., Served], browser: Browser, shot: Callable[[Page, str], Path]
) -> None:
    with serve() as app:
        app.api.put("/v1/customers/c1", json=CUSTOMER)
        key = app.key("desk", "desk")
        a, b, q = app.context(browser), app.context(browser), app.context(browser)
        page_a, page_b, page_q = a.new_page(), b.new_page(), q.new_page()
        login(page_a, app, key, operator="op-a")
        login(page_b, app, key, operator="op-b")
        login(page_q, app, key, queues="billing, cards")

        call(app, "call-b", operator_id="op-b")  # routed with the inbound request itself
        expect(page_b.locator('[data-call-id="call-b"]')).to_be_visible(timeout=LIVE)
        call(app, "call-a", operator_id="op-a")
        # A's stream is ordered: had call-b reached A, it would be there before call-a.
        expect(page_a.locator('[data-call-id="call-a"]')).to_be_visible(timeout=LIVE)
        expect(page_a.locator('[data-call-id="call-b"]')).to_have_count(0)
        expect(page_b.locator('[data-call-id="call-a"]')).to_have_count(0)

        call(app, "call-q")
        app.api.post("/v1/calls/call-q/route", json={"queue": "billing"})
        expect(page_q.locator('[data-call-id="call-q"]')).to_be_visible(timeout=LIVE)
        expect(page_q.locator("[data-call-id]")).to_have_count(1)
        shot(page_a, "operator-a")

        # Nor by asking for it: B's card is not found for A, and A cannot record its outcome.
        assert a.request.get(f"{app.url}/desk/api/cards/call-b").status == 404
        assert b.request.get(f"{app.url}/desk/api/cards/call-b").status == 200
        sneaky = a.request.post(
            f"{app.url}/desk/api/cards/call-b/outcome",
            data={"actual_reason": "other", "resolved": True},
            headers={"X-Forecall": "1"},
        )
        assert sneaky.status == 404
        assert app.api.get("/v1/inbound/examples.csv").text.count("\n") == 1  # header only


def test_the_session_cookie_is_httponly_strict_and_the_login_names_what_is_wrong(
    serve: Callable[..., Served], browser: Browser, shot: Callable[[Page, str], Path]
) -> None:
    with serve() as app:
        ivr_only = app.key("ivr", "ivr")
        desk = app.key("desk", "desk")
        context = app.context(browser)
        page = context.new_page()
        page.goto(f"{app.url}/desk")
        page.fill("#key", "fc_not_a_key")
        page.fill("#operator", "op-a")
        page.click("#login button[type=submit]")
        error = page.locator("#login .error")
        expect(error).to_have_text("Ключ не подошёл: он неизвестен или отозван")
        page.fill("#key", ivr_only)
        page.fill("#operator", "op-a")
        page.click("#login button[type=submit]")
        expect(error).to_have_text("У ключа нет права «рабочее место оператора»")
        page.fill("#key", desk)
        page.fill("#operator", "")
        page.click("#login button[type=submit]")  # neither operator id nor queue
        expect(error).to_have_text("Укажите код оператора, очередь или и то и другое")
        expect(page.locator("#operator")).to_be_focused()
        shot(page, "login-error")
        assert context.cookies() == []

        login(page, app, desk, operator="op-a")
        [cookie] = context.cookies()
        assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
        assert cookie["path"] == "/desk" and desk not in page.content()
        page.click("#logout")
        expect(page.locator("#login")).to_be_visible()
        assert context.cookies() == []


def test_the_desk_speaks_english_on_request_and_works_from_the_keyboard(
    serve: Callable[..., Served], browser: Browser, shot: Callable[[Page, str], Path]
) -> None:
    with serve() as app:
        key = app.key("desk", "desk")
        page = app.page(browser)
        page.goto(f"{app.url}/desk?lang=en")
        expect(page.locator("h1")).to_have_text("Operator desk")
        assert page.locator("html").get_attribute("lang") == "en"
        page.locator("#key").focus()
        page.keyboard.type(key)
        page.keyboard.press("Tab")
        expect(page.locator("#operator")).to_be_focused()
        page.keyboard.type("op-k")
        page.keyboard.press("Tab")
        expect(page.locator("#queues")).to_be_focused()
        page.keyboard.press("Enter")  # submits the form
        expect(page.locator("#status")).to_have_attribute("data-state", "live")
        expect(page.locator("#status")).to_have_text("Live: call cards appear here")
        page.click("#lang")
        expect(page.locator("h1")).to_have_text("Рабочее место оператора")
        expect(page.locator("#status")).to_contain_text("На связи")
        shot(page, "russian")
