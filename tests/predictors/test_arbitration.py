"""Arbitration over the built-in catalogue: the known cases, the policy, the why."""

from __future__ import annotations

import functools
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.events import CONTACT_REASONS
from predictors.actions import BUILTIN, Catalogue, check_text, load_catalogue
from predictors.arbitration import SAFE_ACTION, SAFE_DEFAULT, arbitrate, safe_default
from predictors.decision import Context
from predictors.features import INDEX, new_row


@functools.cache
def _builtin() -> Catalogue:
    return load_catalogue(BUILTIN)


@pytest.fixture
def catalogue() -> Catalogue:
    return _builtin()


def _ctx(**kwargs: Any) -> Context:
    features = kwargs.pop("features", {})
    row = new_row()
    for name, value in features.items():
        row[0, INDEX[name]] = value
    base: dict[str, Any] = {"known": True, "segment": "b2c", "customer_name": "Анна"}
    return Context(row, **{**base, **kwargs})


def _ids(decision: Any) -> list[str]:
    return [s.action.id for s in decision.ranked]


def test_outage_is_announced_with_its_eta(catalogue: Catalogue) -> None:
    d = arbitrate(
        catalogue,
        _ctx(
            reason="outage",
            reason_confidence=0.9,
            incident_active=True,
            incident_title="Нет интернета в вашем районе",
            incident_eta="18:00",
        ),
    )
    assert d.top.id == "announce_outage" and not d.fallback
    assert d.ivr.say.startswith("Здравствуйте, Анна! Нет интернета в вашем районе.")
    assert "18:00" in d.ivr.say and d.ivr.language == "ru-RU"
    assert not d.ivr.final and d.ivr.queue == "general"  # the default's queue afterwards
    assert "18:00" in d.operator.script


def test_after_the_notice_a_high_risk_caller_goes_to_the_priority_queue(
    catalogue: Catalogue,
) -> None:
    d = arbitrate(
        catalogue, _ctx(incident_active=True, incident_title="Сбой", churn=0.8, churn_band="high")
    )
    assert d.top.id == "announce_outage"
    assert (d.ivr.queue, d.ivr.skill, d.ivr.priority) == ("priority", "senior", 8)


def test_confident_reason_is_confirmed(catalogue: Catalogue) -> None:
    d = arbitrate(
        catalogue, _ctx(reason="order_delayed", reason_confidence=0.86, order_id="A-1001")
    )
    assert d.top.id == "confirm_order_delayed"
    assert d.ivr.say == "Вы звоните по поводу задержки заказа A-1001?"
    assert d.ivr.queue == "orders" and not d.ivr.final
    generic = arbitrate(catalogue, _ctx(reason="card_question", reason_confidence=0.9))
    assert generic.top.id == "confirm_reason"
    assert generic.ivr.say == "Вы звоните по поводу вашей карты?"
    unsure = arbitrate(catalogue, _ctx(reason="card_question", reason_confidence=0.5))
    assert unsure.top.id == "route_general"


def test_cancel_intent_is_not_put_into_words(catalogue: Catalogue) -> None:
    d = arbitrate(catalogue, _ctx(reason="cancel_intent", reason_confidence=0.95))
    assert d.top.id == "route_cancel_intent" and d.ivr.queue == "retention"
    assert "confirm_reason" not in [s.action.id for s in d.ranked if s.suitable]


def test_simple_reason_gets_self_service_in_chat(catalogue: Catalogue) -> None:
    d = arbitrate(catalogue, _ctx(channel="chat", reason="billing_question", reason_confidence=0.7))
    assert d.top.id == "self_service_billing"
    high = arbitrate(
        catalogue,
        _ctx(
            channel="chat",
            reason="billing_question",
            reason_confidence=0.7,
            churn=0.9,
            churn_band="high",
        ),
    )
    assert "self_service_billing" not in [s.action.id for s in high.ranked if s.suitable]


def test_payment_trouble_gets_support_not_pressure(catalogue: Catalogue) -> None:
    d = arbitrate(
        catalogue,
        _ctx(
            reason="payment_failed", reason_confidence=0.9, features={"failed_since_success": 1.0}
        ),
    )
    assert d.top.id == "support_payment_trouble" and d.ivr.final
    assert d.ivr.queue == "payments"
    assert d.operator.offer == "Перенос даты платежа на 7 дней без пени."
    for text in (d.ivr.say, d.operator.script):
        assert not re.search(r"долг\b|задолженност|отключим|штраф", text)


def test_marketing_needs_consent_and_no_incident(catalogue: Catalogue) -> None:
    risky = {"churn": 0.7, "churn_band": "high"}
    without = arbitrate(catalogue, _ctx(**risky))
    assert without.top.id == "priority_high_churn"
    [offer] = [s for s in without.ranked if s.action.id == "retention_offer"]
    assert offer.eligible and not offer.suitable
    assert offer.trace == "not suitable: marketing without consent"
    assert offer.why() == "Нельзя: нет согласия клиента на маркетинговые предложения"
    assert offer.why("en") == "Not allowed: no marketing consent"

    consented = arbitrate(catalogue, _ctx(marketing_consent=True, **risky))
    assert consented.top.id == "retention_offer"
    assert consented.operator.offer == "Скидка 20% на абонентскую плату на 3 месяца."

    outage = arbitrate(catalogue, _ctx(marketing_consent=True, incident_active=True, **risky))
    [later] = [s for s in outage.ranked if s.action.id == "retention_after_problem"]
    assert later.trace == "not suitable: no marketing during an active incident"
    assert later.why() == "Нельзя: во время аварии маркетинговые предложения не делаются"
    assert [a for a, _ in outage.operator.offers if "retention" in a] == []


def test_a_live_problem_comes_before_a_retention_offer(catalogue: Catalogue) -> None:
    risky = {"churn": 0.975, "churn_band": "high", "marketing_consent": True}
    fault = arbitrate(catalogue, _ctx(reason="technical_problem", reason_confidence=0.975, **risky))
    # The senior line solves the fault at once; no offer leads.
    assert fault.top.id == "priority_high_churn" and fault.top.kind != "offer"
    assert "решить вопрос" in fault.operator.script
    ids = [s.action.id for s in fault.ranked if s.suitable]
    assert ids.index("technical_support") < ids.index("retention_after_problem")
    assert "retention_offer" not in ids
    # The offer stays on the operator's list, for after the problem.
    assert [a for a, _ in fault.operator.offers] == ["retention_after_problem"]
    failed = arbitrate(catalogue, _ctx(features={"failed_since_success": 1.0}, **risky))
    assert failed.top.kind != "offer"
    assert [a for a, _ in failed.operator.offers if "retention" in a] == ["retention_after_problem"]
    low = {"churn": 0.65, "churn_band": "medium", "marketing_consent": True}
    failed = arbitrate(catalogue, _ctx(features={"failed_since_success": 1.0}, **low))
    assert failed.top.id == "support_payment_trouble"  # was retention_offer at 52
    calm = arbitrate(catalogue, _ctx(reason="billing_question", reason_confidence=0.9, **risky))
    assert calm.top.id == "retention_offer"


def test_a_payment_is_asserted_only_when_the_profile_holds_it(catalogue: Catalogue) -> None:
    words = {"reason": "payment_failed", "reason_confidence": 0.55}
    stranger = arbitrate(catalogue, _ctx(known=False, **words))
    assert stranger.top.id == "confirm_payment"
    assert stranger.ivr.say == "Вы звоните по поводу оплаты?" and not stranger.ivr.final
    assert stranger.ivr.queue == "payments"
    # A failed payment that only the other customer's profile would hold changes nothing.
    unknown = arbitrate(catalogue, _ctx(known=False, features={"failed_since_success": 1.0}))
    assert unknown.top.id != "support_payment_trouble"
    no_fact = arbitrate(catalogue, _ctx(known=True, **words))
    assert no_fact.top.id == "confirm_payment"
    held = arbitrate(catalogue, _ctx(known=True, features={"failed_since_success": 1.0}, **words))
    assert held.top.id == "support_payment_trouble" and "не прошёл" in held.ivr.say
    for d in (stranger, unknown, no_fact):
        assert "Мы видим" not in d.ivr.say and "не прошёл" not in d.ivr.say


def test_high_value_and_b2b_routing(catalogue: Catalogue) -> None:
    assert arbitrate(catalogue, _ctx(monthly_revenue=9000)).ivr.queue == "priority"
    d = arbitrate(catalogue, _ctx(segment="b2b", customer_name=""))
    assert d.top.id == "route_b2b" and d.ivr.queue == "b2b"


def test_channels_limit_eligibility(catalogue: Catalogue) -> None:
    ivr = arbitrate(catalogue, _ctx(reason="cart_help", reason_confidence=0.9, cart_value=1500))
    [cart] = [s for s in ivr.ranked if s.action.id == "cart_help"]
    assert (
        not cart.eligible and cart.trace == "not eligible: channel ivr is not one of the action's"
    )
    chat = arbitrate(
        catalogue,
        _ctx(channel="messenger", reason="cart_help", reason_confidence=0.9, cart_value=1500),
    )
    assert chat.top.id == "cart_help" and "1500 ₽" in chat.operator.script


def test_ranked_list_and_its_why(catalogue: Catalogue) -> None:
    d = arbitrate(
        catalogue,
        _ctx(
            reason="order_delayed",
            reason_confidence=0.86,
            order_id="A-1001",
            churn=0.7,
            churn_band="high",
        ),
    )
    assert sorted(_ids(d)) == sorted(a.id for a in catalogue.actions)
    suitable = [s for s in d.ranked if s.suitable]
    assert [s.priority for s in suitable] == sorted((s.priority for s in suitable), reverse=True)
    assert d.ranked[: len(suitable)] == tuple(suitable)
    top = d.ranked[0]
    assert top.trace == (
        'eligible: `reason == "order_delayed" and reason_confidence >= 0.8 and order_id != ""` '
        "holds with reason=order_delayed, reason_confidence=0.86, order_id=A-1001; "
        "priority 0.86 x 1 x 60 x 1 = 51.6"
    )
    assert top.priority == pytest.approx(0.86 * 60)
    # The operator reads it in words, without the rule engine's notation.
    assert top.why() == "Подходит, приоритет 51,6 (вероятность 0,86 × ценность 60)"
    assert top.why("en") == "Suitable, priority 51.6 (likelihood 0.86 × value 60)"
    [outage] = [s for s in d.ranked if s.action.id == "announce_outage"]
    assert (
        outage.trace == "not eligible: `incident_active` does not hold with incident_active=false"
    )
    assert all(s.trace for s in d.ranked)
    assert outage.why() == "Не подходит: условие действия не выполнено"


def test_english_locale(catalogue: Catalogue) -> None:
    d = arbitrate(
        catalogue, _ctx(locale="en", reason="order_delayed", reason_confidence=0.9, order_id="B-2")
    )
    assert d.ivr.say == "Are you calling about the delay of order B-2?"
    assert d.ivr.language == "en-US"


CUSTOM = """\
actions:
  - id: first
    title: First
    kind: route
    final: true
    value: 10
    ivr: {say: "Один.", queue: one}
  - id: second
    title: Second
    kind: route
    final: true
    value: 10
    ivr: {say: "Два.", queue: two}
  - id: risky
    title: Risky
    kind: support
    when: 10 / monthly_revenue > 1
    propensity: cart_value / monthly_revenue
    value: 100
    channels: [chat]
    operator: {script: ""}
"""


def _custom(text: str = CUSTOM) -> Catalogue:
    catalogue, problems = check_text(text, "custom.yaml")
    assert catalogue is not None, problems
    return catalogue


def test_ties_keep_file_order() -> None:
    d = arbitrate(_custom(), _ctx(monthly_revenue=100))
    assert _ids(d)[:2] == ["first", "second"] and d.ivr.queue == "one"


def test_failing_expressions_reject_the_action_with_the_reason() -> None:
    catalogue = _custom()
    d = arbitrate(catalogue, _ctx(channel="chat", monthly_revenue=0))
    [risky] = [s for s in d.ranked if s.action.id == "risky"]
    assert not risky.eligible and "division by zero" in risky.trace
    clamped = arbitrate(catalogue, _ctx(channel="chat", monthly_revenue=5, cart_value=50))
    assert clamped.top.id == "risky" and clamped.ranked[0].priority == 100  # propensity 10 -> 1


def test_nothing_suitable_falls_back() -> None:
    text = CUSTOM.replace("value: 10\n", "value: 0\n")
    d = arbitrate(_custom(text), _ctx(channel="ivr", monthly_revenue=100))
    assert d.fallback and d.top is SAFE_ACTION and d.ivr.queue == "general"
    assert d.ivr.say.startswith("Здравствуйте!")
    with_default = _custom("default: second\n" + text)
    d = arbitrate(with_default, _ctx(channel="ivr", monthly_revenue=100))
    assert d.fallback and d.top.id == "second" and d.ivr.say == "Два."


def test_safe_default() -> None:
    assert SAFE_DEFAULT.degraded and SAFE_DEFAULT.fallback
    assert SAFE_DEFAULT.ivr.queue == "general" and SAFE_DEFAULT.ivr.final
    assert SAFE_DEFAULT.ivr.say.startswith("Здравствуйте!") and SAFE_DEFAULT.ranked == ()
    english = safe_default("en")
    assert english.ivr.language == "en-US" and english.ivr.say.startswith("Hello!")


_CONTEXTS = st.builds(
    _ctx,
    channel=st.sampled_from(["ivr", "chat", "messenger", "web"]),
    known=st.booleans(),
    segment=st.sampled_from(["", "b2c", "b2b"]),
    locale=st.sampled_from(["ru", "en", "de"]),
    reason=st.sampled_from(CONTACT_REASONS),
    reason_confidence=st.floats(0, 1),
    churn=st.floats(0, 1),
    churn_band=st.sampled_from(["low", "medium", "high"]),
    incident_active=st.booleans(),
    incident_title=st.text(alphabet="Нет связи <&>'\"", max_size=30),
    marketing_consent=st.booleans(),
    monthly_revenue=st.floats(0, 1e6),
    order_id=st.text(alphabet="AZ-09", max_size=10),
    cart_value=st.floats(0, 1e6),
    customer_name=st.text(alphabet="АннаIvan -'", max_size=20),
    features=st.fixed_dictionaries(
        {
            "failed_since_success": st.sampled_from([0.0, 1.0]),
            "application_open": st.sampled_from([0.0, 1.0]),
            "deposit_maturing_30d": st.sampled_from([0.0, 1.0]),
        }
    ),
)


@settings(max_examples=300, deadline=None)
@given(_CONTEXTS)
def test_every_contact_gets_a_sound_decision(ctx: Context) -> None:
    catalogue = _builtin()
    d = arbitrate(catalogue, ctx)
    assert sorted(_ids(d)) == sorted(a.id for a in catalogue.actions)
    suitable = [s for s in d.ranked if s.suitable]
    if not d.fallback:
        assert d.top is suitable[0].action and suitable[0].priority > 0
    for s in d.ranked:
        assert s.trace.startswith("eligible" if s.suitable else "not ")
        if s.action.marketing and s.suitable:
            assert ctx.marketing_consent and not ctx.incident_active
    assert d.ivr.queue or d.ivr.skill
    assert d.ivr.say and "{" not in d.ivr.say  # every template was rendered
