"""Training tables from the simulator: one row per contact read from the profile as it
stood when the contact arrived, one churn row per customer, and the CSV layout."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from core.events import Catalogue, Event
from models.dataset import Examples, build, churn_examples, main, reason_examples, write_csv
from models.simulator import SimulatorConfig, World, simulate
from predictors.features import CAP_DAYS, FEATURES, INDEX, WIDTH, fill, new_row
from predictors.profile import apply
from predictors.profile_codec import Seen, day_of


@pytest.fixture(scope="module")
def world() -> World:
    return simulate(SimulatorConfig(customers=1500, seed=5))


@pytest.fixture(scope="module")
def examples(world: World) -> Examples:
    return build(world)


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def column(examples: Examples, name: str) -> list[float]:
    values: list[float] = examples.reason_x[:, INDEX[name]].tolist()
    return values


def test_one_reason_row_per_contact_in_time_order(world: World, examples: Examples) -> None:
    x, reasons, texts, ids, ts = reason_examples(world)
    assert x.shape == (len(world.contacts), WIDTH) and x.dtype == np.float32
    assert reasons == [c.reason for c in world.contacts]
    assert texts == [c.utterance for c in world.contacts]
    assert ids == [c.customer_id for c in world.contacts]
    assert ts == [epoch(c.ts) for c in world.contacts]
    assert ts == sorted(ts)
    assert np.array_equal(x, examples.reason_x)
    flags = column(examples, "affected_by_outage")
    assert flags == [float(c.affected_by_outage) for c in world.contacts]


def test_one_churn_row_per_customer(world: World) -> None:
    x, churned = churn_examples(world)
    assert x.shape == (len(world.customers), WIDTH)
    assert churned == [world.churn[c["id"]] for c in world.customers]
    assert 0 < sum(churned) < len(churned)
    # Read at the end of the span: churners have been away far longer.
    away = x[:, INDEX["days_since_login"]]
    flags = np.array(churned)
    assert away[flags].mean() > away[~flags].mean() + 10


def test_a_contact_is_not_in_its_own_features(world: World, examples: Examples) -> None:
    """contacts_30d of a contact counts the customer's earlier contacts only."""
    earlier: dict[str, list[int]] = defaultdict(list)
    expected: list[int] = []
    first: list[bool] = []
    for label in world.contacts:
        today = day_of(epoch(label.ts))
        days = earlier[label.customer_id]
        expected.append(sum(today - day < 30 for day in days))
        first.append(not days)
        days.append(today)
    assert column(examples, "contacts_30d") == expected
    since = column(examples, "days_since_contact")
    assert all(s == CAP_DAYS for s, f in zip(since, first, strict=True) if f)
    assert any(e > 0 for e in expected)


def test_the_previous_contact_is_the_last_reason_seen(world: World, examples: Examples) -> None:
    previous: dict[str, str] = {}
    checked = 0
    for k, label in enumerate(world.contacts):
        before = previous.get(label.customer_id)
        row = examples.reason_x[k]
        flagged = [r for r in FEATURES if r.startswith("last_reason_") and row[INDEX[r]]]
        assert flagged == ([f"last_reason_{before}"] if before else []), (label, flagged)
        checked += before is not None
        previous[label.customer_id] = label.reason
    assert checked > 50


def test_products_are_those_held_when_the_contact_came(world: World, examples: Examples) -> None:
    """The customer record is as of the end; a product switched on later is not yet held."""
    activated: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for event in world.events:
        if event["type"] == "product_activated":
            activated[event["customer_id"]].append((epoch(event["ts"]), event["data"]["product"]))
    seen = 0
    for k, label in enumerate(world.contacts):
        for at, product in activated.get(label.customer_id, []):
            if at > epoch(label.ts):
                assert examples.reason_x[k, INDEX[f"product_{product}"]] == 0.0
                seen += 1
    assert seen > 5


def test_the_end_state_matches_one_ingest_of_everything(world: World, examples: Examples) -> None:
    """Folding event by event (as built) ends where a single batch of all events does."""
    catalogue = Catalogue.with_extensions()
    end = world.config.end.timestamp()
    mine: dict[str, list[Event]] = defaultdict(list)
    for e in world.events:
        mine[e["customer_id"]].append(
            Event(e["id"], e["type"], e["customer_id"], epoch(e["ts"]), e["data"])
        )
    for c, record in list(enumerate(world.customers))[::25]:
        state: dict[str, object] = {}
        apply(state, Seen(), mine[record["id"]], catalogue, end)
        row = fill(new_row(), state, record, end)
        assert np.array_equal(row[0], examples.churn_x[c]), record["id"]


def test_the_tables_are_written_with_the_documented_columns(
    tmp_path: Path, world: World, examples: Examples
) -> None:
    paths = write_csv(examples, tmp_path)
    with paths["reasons.csv"].open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == [*FEATURES, "utterance", "reason", "customer_id", "ts"]
    assert len(rows) == len(world.contacts) + 1
    body = rows[1:]
    assert [r[-4] for r in body] == [c.utterance for c in world.contacts]
    assert [r[-3] for r in body] == [c.reason for c in world.contacts]
    assert [r[-2] for r in body] == [c.customer_id for c in world.contacts]
    assert [r[-1] for r in body] == [c.ts for c in world.contacts]
    numbers = np.array([[float(v) for v in r[: len(FEATURES)]] for r in body])
    assert np.allclose(numbers, examples.reason_x, rtol=1e-6)

    with paths["churn.csv"].open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == [*FEATURES, "churned", "customer_id"]
    assert len(rows) == len(world.customers) + 1
    assert [r[-1] for r in rows[1:]] == [c["id"] for c in world.customers]
    assert [r[-2] for r in rows[1:]] == [str(int(world.churn[c["id"]])) for c in world.customers]


def test_the_command_line_writes_both_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--customers", "80", "--days", "40", "--seed", "3", "--out", str(tmp_path)]) == 0
    reasons = (tmp_path / "reasons.csv").read_text(encoding="utf-8").splitlines()
    churn = (tmp_path / "churn.csv").read_text(encoding="utf-8").splitlines()
    assert len(churn) == 81 and len(reasons) > 1
    assert "churn rows 80" in capsys.readouterr().err
