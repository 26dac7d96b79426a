"""The generic JSON answer."""

from __future__ import annotations

import json

from inbound import answer as json_format
from predictors.actions import BUILTIN, load_catalogue
from predictors.arbitration import SAFE_DEFAULT, arbitrate
from predictors.decision import Context


def test_json_answer_carries_action_ivr_operator_and_the_ranked_why() -> None:
    catalogue = load_catalogue(BUILTIN)
    decision = arbitrate(
        catalogue, Context(known=True, churn=0.7, churn_band="high", marketing_consent=True)
    )
    body = json_format.render(decision)
    assert set(body) == {"action", "ivr", "operator", "ranked"}
    assert body["action"] == {
        "id": "retention_offer",
        "kind": "offer",
        "title": "Предложение удержания клиенту с высоким риском ухода",
        "final": True,
        "fallback": False,
    }
    assert body["ivr"]["queue"] == "retention" and body["ivr"]["language"] == "ru-RU"
    assert body["operator"]["offer"] == "Скидка 20% на абонентскую плату на 3 месяца."
    assert {
        "action_id": "retention_offer",
        "title": "Предложение удержания клиенту с высоким риском ухода",
        "text": body["operator"]["offer"],
    } in body["operator"]["offers"]
    assert [r["id"] for r in body["ranked"]][:2] == ["retention_offer", "priority_high_churn"]
    assert body["ranked"][0]["priority"] == 56.0 and body["ranked"][0]["trace"].startswith(
        "eligible: `known and churn >= 0.6 and not live_problem` holds with known=true, churn=0.7"
    )
    assert body["ranked"][0]["why"] == "Подходит, приоритет 56,0 (вероятность 0,70 × ценность 80)"
    assert len(body["ranked"]) == len(catalogue.actions)
    json.dumps(body)  # plain JSON types only


def test_ranked_list_can_be_left_out_and_the_safe_default_renders() -> None:
    body = json_format.render(SAFE_DEFAULT, why=False)
    assert "ranked" not in body
    assert body["action"]["id"] == "safe_default" and body["action"]["fallback"] is True
    assert body["ivr"]["queue"] == "general" and body["ivr"]["final"] is True


def test_an_english_speaking_customer_gets_english_titles_and_why() -> None:
    catalogue = load_catalogue(BUILTIN)
    ctx = Context(known=True, churn=0.7, churn_band="high", marketing_consent=True, locale="en")
    body = json_format.render(arbitrate(catalogue, ctx))
    assert body["action"]["title"] == "A retention offer for a customer at risk of leaving"
    assert body["ranked"][0]["why"] == "Suitable, priority 56.0 (likelihood 0.70 × value 80)"
    assert body["ivr"]["language"] == "en-US"
