"""Channel choice and quiet hours, against a clock the test sets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.customers import Customer
from predictors.policy import PolicyConfig, choose_channels, not_before

CONFIGURED = {"telegram", "sms", "email"}


def customer(**fields: Any) -> Customer:
    base: dict[str, Any] = {
        "id": "c1",
        "updated_at": datetime(2026, 11, 1, tzinfo=UTC),
        "identities": [
            {"kind": "phone", "value": "+79161234567"},
            {"kind": "telegram", "value": "551"},
        ],
        "channel_preferences": ["telegram", "sms", "email"],
    }
    return Customer.model_validate({**base, **fields})


def test_service_messages_follow_preferences_minus_what_rules_them_out() -> None:
    choice = choose_channels(customer(), "service", stops={"telegram"}, configured=CONFIGURED)
    assert choice.routes == [("sms", "+79161234567")]
    assert choice.excluded == {"telegram": "stop_list", "email": "no_address"}


def test_marketing_needs_a_granted_documented_consent() -> None:
    consents = [
        {
            "purpose": "marketing",
            "channel": "sms",
            "granted": True,
            "source": "web",
            "at": "2026-01-01T00:00:00Z",
        },
        {
            "purpose": "marketing",
            "channel": "telegram",
            "granted": True,
            "source": "web",
            "at": "2026-01-01T00:00:00Z",
        },
        {
            "purpose": "marketing",
            "channel": "telegram",
            "granted": False,
            "source": "call",
            "at": "2026-06-01T00:00:00Z",
        },
    ]
    choice = choose_channels(customer(consents=consents), "marketing", set(), CONFIGURED)
    assert choice.routes == [("sms", "+79161234567")]
    assert choice.excluded["telegram"] == "no_marketing_consent"
    bare = choose_channels(customer(), "marketing", set(), CONFIGURED)
    assert bare.routes == []


def test_a_withdrawn_service_consent_is_respected() -> None:
    consents = [
        {
            "purpose": "service",
            "channel": "telegram",
            "granted": False,
            "source": "app",
            "at": "2026-01-01T00:00:00Z",
        }
    ]
    choice = choose_channels(customer(consents=consents), "service", set(), CONFIGURED)
    assert [c for c, _ in choice.routes] == ["sms"]
    assert choice.excluded["telegram"] == "consent_withdrawn"


def test_unconfigured_channels_are_skipped() -> None:
    choice = choose_channels(customer(), "service", set(), {"sms"})
    assert choice.routes == [("sms", "+79161234567")]
    assert choice.excluded["telegram"] == "channel_not_configured"


def at(zone: str, year: int, month: int, day: int, hour: int, minute: int) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone)).timestamp()


def test_quiet_hours_defer_to_the_local_morning() -> None:
    config = PolicyConfig()
    moscow = ZoneInfo("Europe/Moscow")
    late = at("Europe/Moscow", 2026, 11, 18, 23, 30)
    assert not_before(late, moscow, "service", False, config) == at(
        "Europe/Moscow", 2026, 11, 19, 9, 0
    )
    early = at("Europe/Moscow", 2026, 11, 19, 6, 0)
    assert not_before(early, moscow, "service", False, config) == at(
        "Europe/Moscow", 2026, 11, 19, 9, 0
    )
    noon = at("Europe/Moscow", 2026, 11, 19, 12, 0)
    assert not_before(noon, moscow, "service", False, config) == noon


def test_quiet_hours_are_the_customers_own() -> None:
    # 19:00 in Moscow is 23:00 in Novosibirsk: quiet there, not here.
    moment = at("Europe/Moscow", 2026, 11, 18, 19, 0)
    config = PolicyConfig()
    assert not_before(moment, ZoneInfo("Europe/Moscow"), "service", False, config) == moment
    assert not_before(moment, ZoneInfo("Asia/Novosibirsk"), "service", False, config) == at(
        "Asia/Novosibirsk", 2026, 11, 19, 9, 0
    )


def test_critical_notices_pass_quiet_hours() -> None:
    late = at("Europe/Moscow", 2026, 11, 18, 23, 30)
    assert not_before(late, ZoneInfo("Europe/Moscow"), "service", True, PolicyConfig()) == late
