"""The population simulator: reproducible, shaped like the API's contracts, and carrying
the signals (and the noise) the reason and churn models are meant to learn."""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
import pytest

from core.batch import validate_batch
from core.customers import CustomerIn
from core.events import Catalogue
from models.simulator import (
    CONTACT_REASONS,
    FILES,
    SimulatorConfig,
    World,
    iter_batches,
    put_body,
    simulate,
    write_jsonl,
)
from models.simulator.__main__ import main
from models.simulator.utterances import ENGLISH, RUSSIAN, VAGUE

DAY = 86400.0

# The documented event contract, written out again here so that a drift in the
# simulator's own tables cannot go unnoticed: type -> (required, optional) fields.
SCHEMA: dict[str, tuple[set[str], set[str]]] = {
    "login": (set(), {"channel"}),
    "app_feature_used": ({"feature"}, set()),
    "payment_succeeded": ({"amount"}, {"payment_id"}),
    "payment_failed": ({"amount"}, {"reason"}),
    "order_placed": ({"order_id", "amount"}, {"items"}),
    "order_status_changed": ({"order_id", "status"}, set()),
    "order_delivered": ({"order_id"}, set()),
    "cart_updated": ({"items", "value"}, set()),
    "cart_abandoned": (set(), {"value"}),
    "application_started": ({"application_id", "product"}, set()),
    "application_step": ({"application_id", "step"}, {"step_name"}),
    "application_submitted": ({"application_id"}, set()),
    "contact": ({"channel", "reason", "resolved"}, {"call_id"}),
    "message_delivered": ({"channel"}, {"scenario"}),
    "email_opened": (set(), set()),
    "email_clicked": (set(), set()),
    "message_replied": ({"channel"}, set()),
    "deposit_opened": ({"deposit_id", "amount"}, set()),
    "deposit_maturing": ({"deposit_id", "matures_on"}, set()),
    "product_activated": ({"product"}, set()),
    "product_deactivated": ({"product"}, set()),
    "tariff_changed": ({"tariff"}, set()),
}
REASONS = {
    "outage", "payment_failed", "order_delayed", "billing_question", "technical_problem",
    "cancel_intent", "cart_help", "application_stuck", "card_question", "deposit_question",
    "other",
}  # fmt: skip
ZONES = {
    "RU-MOW": "Europe/Moscow", "RU-SPE": "Europe/Moscow", "RU-NVS": "Asia/Novosibirsk",
    "RU-SVE": "Asia/Yekaterinburg", "RU-TA": "Europe/Moscow", "RU-KDA": "Europe/Moscow",
    "RU-PRI": "Asia/Vladivostok", "RU-SAM": "Europe/Samara",
}  # fmt: skip


@pytest.fixture(scope="module")
def world() -> World:
    return simulate(SimulatorConfig(customers=3000, seed=11))


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def files(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in FILES}


def test_the_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    config = SimulatorConfig(customers=300, seed=3)
    write_jsonl(simulate(config), tmp_path / "a")
    write_jsonl(simulate(config), tmp_path / "b")
    first, second = files(tmp_path / "a"), files(tmp_path / "b")
    assert all(first[name] for name in FILES)
    assert first == second


def test_another_seed_gives_another_world(tmp_path: Path) -> None:
    write_jsonl(simulate(SimulatorConfig(customers=300, seed=3)), tmp_path / "a")
    write_jsonl(simulate(SimulatorConfig(customers=300, seed=4)), tmp_path / "b")
    first, second = files(tmp_path / "a"), files(tmp_path / "b")
    assert first["events.jsonl"] != second["events.jsonl"]
    assert first["customers.jsonl"] != second["customers.jsonl"]


def test_events_follow_the_documented_contract(world: World) -> None:
    start, end = world.config.start.timestamp(), world.config.end.timestamp()
    ids = [event["id"] for event in world.events]
    assert len(set(ids)) == len(ids)
    customers = {c["id"] for c in world.customers}
    stamps = []
    for event in world.events:
        assert set(event) == {"id", "type", "customer_id", "ts", "data"}
        assert re.fullmatch(r"e\d{8,}", event["id"])
        assert event["type"] in SCHEMA, event["type"]
        required, optional = SCHEMA[event["type"]]
        fields = set(event["data"])
        assert required <= fields <= required | optional, event
        assert event["customer_id"] in customers
        assert event["ts"].endswith("Z")
        stamps.append(epoch(event["ts"]))
    assert all(start <= ts < end for ts in stamps)
    assert stamps == sorted(stamps)
    assert {e["type"] for e in world.events} == set(SCHEMA)


def test_event_values_have_the_documented_kinds(world: World) -> None:
    for event in world.events:
        data = event["data"]
        for key in ("amount", "value"):
            if key in data:
                assert isinstance(data[key], float) and data[key] >= 0, event
        for key in ("items", "step"):
            if key in data:
                assert isinstance(data[key], int) and not isinstance(data[key], bool), event
        kind = event["type"]
        if kind == "contact":
            assert data["reason"] in REASONS
            assert data["channel"] in {"ivr", "chat", "messenger", "email"}
            assert isinstance(data["resolved"], bool)
        elif kind == "order_status_changed":
            assert data["status"] in {"paid", "shipped", "delayed", "delivered", "cancelled",
                                      "returned"}  # fmt: skip
        elif kind == "payment_failed":
            assert data["reason"] in {"insufficient_funds", "card_expired", "bank_declined"}
        elif kind == "login":
            assert data["channel"] in {"app", "web"}
        elif kind == "deposit_maturing":
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", data["matures_on"])


def test_event_batches_pass_the_api_validation(world: World) -> None:
    catalogue = Catalogue.with_extensions()
    now = world.config.end.timestamp()
    accepted = sum(
        len(validate_batch(body, catalogue, 1000, now)) for body in iter_batches(world, 1000)
    )
    assert accepted == len(world.events)


def test_customers_follow_the_documented_contract(world: World) -> None:
    seen: dict[tuple[str, str], str] = {}
    for customer in world.customers:
        record = CustomerIn.model_validate(put_body(customer))
        assert ZONES[customer["region"]] == customer["time_zone"]
        ZoneInfo(customer["time_zone"])
        for key in record.normalized_identities("RU"):
            assert key not in seen, f"{key[0]} of {customer['id']} also belongs to {seen[key]}"
            seen[key] = customer["id"]
        for identity in customer["identities"]:
            if identity["kind"] == "phone":
                parsed = phonenumbers.parse(identity["value"])
                assert phonenumbers.is_valid_number(parsed), identity["value"]
                assert re.fullmatch(r"\+79\d{9}", identity["value"])
            elif identity["kind"] == "email":
                assert identity["value"].split("@")[1] in {"example.ru", "example.com"}
        assert customer["segment"] in {"b2c", "b2b"}
        if customer["segment"] == "b2b":
            assert customer["name"].startswith(("ООО «", "АО «", "ИП "))


def test_segments_locales_and_volume_look_like_the_brief(world: World) -> None:
    segments = Counter(c["segment"] for c in world.customers)
    assert 0.10 <= segments["b2b"] / len(world.customers) <= 0.20
    english = sum(c["locale"] == "en" for c in world.customers) / len(world.customers)
    assert 0.02 <= english <= 0.08
    per_customer = Counter(e["customer_id"] for e in world.events)
    volume = {
        seg: statistics.median(
            per_customer[c["id"]] for c in world.customers if c["segment"] == seg
        )
        for seg in ("b2c", "b2b")
    }
    assert 20 <= volume["b2c"] <= 60
    assert volume["b2b"] > volume["b2c"]


def test_contacts_cover_every_reason_and_point_at_their_events(world: World) -> None:
    assert set(CONTACT_REASONS) == REASONS
    assert {label.reason for label in world.contacts} == REASONS
    contacts = {e["id"]: e for e in world.events if e["type"] == "contact"}
    assert len(contacts) == len(world.contacts)
    for label in world.contacts:
        event = contacts[label.event_id]
        assert event["data"]["reason"] == label.reason
        assert (event["customer_id"], event["ts"]) == (label.customer_id, label.ts)
    resolved = sum(e["data"]["resolved"] for e in contacts.values()) / len(contacts)
    assert 0.65 <= resolved <= 0.85


@pytest.mark.parametrize("share", [0.1, 0.2])
def test_noise_share_follows_the_configuration(share: float) -> None:
    world = simulate(SimulatorConfig(customers=1500, seed=5, noise_share=share))
    noise = sum(not label.has_precursor for label in world.contacts) / len(world.contacts)
    assert abs(noise - share) <= 0.05


def test_precursors_come_before_the_contacts_they_cause(world: World) -> None:
    failures: dict[str, list[float]] = defaultdict(list)
    for event in world.events:
        if event["type"] == "payment_failed":
            failures[event["customer_id"]].append(epoch(event["ts"]))
    caused = [c for c in world.contacts if c.reason == "payment_failed" and c.has_precursor]
    assert caused
    preceded = sum(
        any(0 <= epoch(c.ts) - ts <= 14 * DAY for ts in failures[c.customer_id]) for c in caused
    )
    assert preceded == len(caused)


def test_outage_contacts_fall_inside_outages(world: World) -> None:
    region = {c["id"]: c["region"] for c in world.customers}
    services = {c["id"]: set(c["services"]) for c in world.customers}
    for label in world.contacts:
        if label.affected_by_outage:
            at = epoch(label.ts)
            assert any(
                o["region"] == region[label.customer_id]
                and services[label.customer_id] & set(o["services"])
                and epoch(o["start"]) <= at <= epoch(o["end"])
                for o in world.outages
            )
    outage = [c.affected_by_outage for c in world.contacts if c.reason == "outage"]
    others = [c.affected_by_outage for c in world.contacts if c.reason != "outage"]
    assert sum(outage) / len(outage) > 0.6
    assert sum(others) / len(others) < 0.2


def _last_activity_age(world: World) -> dict[str, float]:
    end = world.config.end.timestamp()
    last = dict.fromkeys(world.churn, world.config.start.timestamp())
    for event in world.events:
        if event["type"] == "login":
            last[event["customer_id"]] = epoch(event["ts"])
    return {cid: (end - ts) / DAY for cid, ts in last.items()}


def test_churners_stopped_signing_in_long_before_the_end(world: World) -> None:
    rate = sum(world.churn.values()) / len(world.churn)
    assert 0.08 <= rate <= 0.22
    age = _last_activity_age(world)
    churners = statistics.mean(age[c] for c, left in world.churn.items() if left)
    stayers = statistics.mean(age[c] for c, left in world.churn.items() if not left)
    assert churners > stayers + 10


def test_churners_order_less_in_the_last_30_days(world: World) -> None:
    end = world.config.end.timestamp()
    last: Counter[str] = Counter()
    before: Counter[str] = Counter()
    for event in world.events:
        if event["type"] == "order_placed":
            age = (end - epoch(event["ts"])) / DAY
            (last if age < 30 else before if age < 60 else Counter())[event["customer_id"]] += 1
    churners = [c for c, left in world.churn.items() if left]
    stayers = [c for c, left in world.churn.items() if not left]

    def mean(counts: Counter[str], who: list[str]) -> float:
        return sum(counts[c] for c in who) / len(who)

    assert mean(last, churners) <= 0.7 * mean(before, churners)
    assert mean(last, stayers) > 0.8 * mean(before, stayers)


def test_the_command_line_writes_the_files_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--customers", "60", "--days", "30", "--seed", "2", "--out", str(tmp_path)]) == 0
    assert all((tmp_path / name).stat().st_size > 0 for name in FILES)
    report = capsys.readouterr().err
    assert "customers 60" in report and "churn rate" in report
    churn = (tmp_path / "churn.csv").read_text(encoding="utf-8").splitlines()
    assert churn[0] == "customer_id,churned" and len(churn) == 61


def test_short_spans_and_other_end_dates_stay_inside_the_span() -> None:
    end = datetime.fromisoformat("2025-03-30T12:00:00+00:00")
    world = simulate(SimulatorConfig(customers=200, days=10, end=end, seed=1))
    stamps = [epoch(e["ts"]) for e in world.events]
    assert stamps and min(stamps) >= (end - timedelta(days=10)).timestamp()
    assert max(stamps) < end.timestamp()


@pytest.mark.parametrize(
    "changes",
    [
        {"customers": 0},
        {"noise_share": 1.0},
        {"churn_prior": -0.1},
        {"end": datetime(2026, 11, 1)},
    ],
)
def test_bad_configurations_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        SimulatorConfig(**changes)


CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
LATIN = re.compile(r"[a-z]", re.IGNORECASE)


def test_every_contact_says_something_in_its_customers_language(world: World) -> None:
    locale = {c["id"]: c["locale"] for c in world.customers}
    english = [c.utterance for c in world.contacts if locale[c.customer_id] == "en"]
    russian = [c.utterance for c in world.contacts if locale[c.customer_id] == "ru"]
    assert all(c.utterance.strip() for c in world.contacts)
    assert english and russian
    assert not any(CYRILLIC.search(text) for text in english)
    assert all(LATIN.search(text) for text in english)
    # Russian callers write Russian, with the odd Latin word (wi-fi, a tariff, mir pay).
    cyrillic = sum(len(CYRILLIC.findall(text)) for text in russian)
    latin = sum(len(LATIN.findall(text)) for text in russian)
    assert cyrillic / (cyrillic + latin) > 0.97
    assert sum(bool(CYRILLIC.search(text)) for text in russian) / len(russian) > 0.98


def test_utterances_are_varied_and_follow_the_channel(world: World) -> None:
    texts = [c.utterance for c in world.contacts]
    assert len(set(texts)) / len(texts) > 0.5
    by_reason: dict[str, set[str]] = defaultdict(set)
    for label in world.contacts:
        by_reason[label.reason].add(label.utterance)
    assert all(len(variants) >= 40 for variants in by_reason.values()), {
        reason: len(variants) for reason, variants in by_reason.items()
    }
    channel = {e["id"]: e["data"]["channel"] for e in world.events if e["type"] == "contact"}
    ivr = [c.utterance for c in world.contacts if channel[c.event_id] == "ivr"]
    written = [c.utterance for c in world.contacts if channel[c.event_id] != "ivr"]
    # A speech transcript has no capitals and no punctuation; people typing often do.
    assert all(text == text.lower() and not re.search(r"[,.?!]", text) for text in ivr)
    assert sum(bool(re.search(r"[A-ZА-ЯЁ,.?!]", text)) for text in written) / len(written) > 0.5


def _bare(text: str) -> str:
    words = re.sub(r"[^\w\s]", " ", text.lower().replace("ё", "е")).split()
    fillers = set(RUSSIAN.hesitation) | set(ENGLISH.hesitation)
    return " ".join(w for w in words if w not in fillers)


def test_the_share_of_uninformative_utterances_is_as_configured(world: World) -> None:
    vague = {
        _bare(text) for lang in (RUSSIAN, ENGLISH) for text in (*lang.vague_chat, *lang.vague_ivr)
    }
    share = sum(_bare(c.utterance) in vague for c in world.contacts) / len(world.contacts)
    assert abs(share - VAGUE) <= 0.05


def test_callers_quote_their_own_order_numbers(world: World) -> None:
    placed: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for event in world.events:
        if event["type"] == "order_placed":
            number = str(int(event["data"]["order_id"][1:]))
            placed[event["customer_id"]].append((epoch(event["ts"]), number))
    quoted = 0
    for label in world.contacts:
        if label.reason != "order_delayed":
            continue
        numbers = re.findall(r"\d{4,}", label.utterance)
        if numbers:
            quoted += 1
            at = epoch(label.ts)
            mine = {n for ts, n in placed[label.customer_id] if ts <= at}
            assert set(numbers) <= mine, (label, sorted(mine))
    assert quoted >= 20


def test_text_tells_the_reason_often_but_not_always(world: World) -> None:
    pytest.importorskip("sklearn")
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.naive_bayes import ComplementNB

    texts = [c.utterance for c in world.contacts]
    reasons = [c.reason for c in world.contacts]
    cut = len(texts) * 2 // 3
    vectorizer = TfidfVectorizer(sublinear_tf=True)
    model = ComplementNB(alpha=0.3)
    model.fit(vectorizer.fit_transform(texts[:cut]), reasons[:cut])
    predicted = model.predict(vectorizer.transform(texts[cut:]))
    accuracy = sum(p == r for p, r in zip(predicted, reasons[cut:], strict=True)) / len(predicted)
    # Chance is about 0.2; vague and two-reason utterances keep it well short of 1.
    assert 0.65 <= accuracy <= 0.92


def test_every_reason_has_phrases_in_both_languages() -> None:
    for lang in (RUSSIAN, ENGLISH):
        assert set(lang.clear) == REASONS
        assert set(lang.ambiguous) <= REASONS
        assert all(len(pools) >= 1 for pools in lang.ambiguous.values())


def test_contacts_file_carries_the_utterances(tmp_path: Path) -> None:
    world = simulate(SimulatorConfig(customers=200, seed=9))
    write_jsonl(world, tmp_path)
    lines = (tmp_path / "contacts.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert [row["utterance"] for row in rows] == [c.utterance for c in world.contacts]
    assert all(row["utterance"] for row in rows)
