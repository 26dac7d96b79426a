"""The runtime predictors on the shipped models, their fallbacks and their reloads."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from models.defaults import DEFAULT_DIR
from predictors import registry as registry_module
from predictors.churn import explain
from predictors.features import INDEX, NOTHING, TRUSTED, Evidence, fill, new_row
from predictors.registry import MODEL_FALLBACK, ModelRegistry


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "models"
    shutil.copytree(DEFAULT_DIR, copy)
    return copy


def test_shipped_models_load_and_predict(model_dir: Path) -> None:
    models = ModelRegistry(model_dir)
    assert models.problems == {}
    row = new_row()
    row[0, INDEX["affected_by_outage"]] = 1.0
    prediction = models.reasons.predict(row, "у меня не работает интернет, соседи тоже без сети")
    assert prediction.source == "model+text"
    assert prediction.best[0] == "outage"
    assert len(prediction.top) == 3 and sum(p for _, p in prediction.top) <= 1.0001
    calm = models.reasons.predict(new_row(), "хочу расторгнуть договор, переходим к другому")
    assert calm.best[0] == "cancel_intent"


@pytest.mark.parametrize(
    ("words", "reasons"),
    [
        ("инет не пашет второй день", {"technical_problem", "outage"}),  # was payment_failed
        ("что с интернетом", {"outage"}),
        ("интернет глючит второй день", {"technical_problem"}),
        ("оплата не проходит уже второй раз", {"payment_failed"}),
    ],
)
def test_colloquial_faults_are_faults(model_dir: Path, words: str, reasons: set[str]) -> None:
    """How people say it on the phone: «инет», «не пашет», «второй день»; the context of
    a caller with no profile, as the IVR path builds it."""
    models = ModelRegistry(model_dir)
    stranger = fill(new_row(), {}, None, 1_795_000_000.0)
    assert models.reasons.predict(stranger, words).best[0] in reasons


def test_churn_reasons_are_plain_words() -> None:
    row = new_row()[0]
    row[INDEX["days_inactive"]] = 21
    row[INDEX["orders_prev_30d"]] = 5
    row[INDEX["orders_change_30d"]] = -0.4
    reasons = explain(row)
    assert "нет входов в кабинет и приложение уже 21 дн. (порог 14)" in reasons
    assert "покупок на 40% меньше, чем в предыдущие 30 дней" in reasons
    english = explain(row, locale="en")
    assert "no logins or app use for 21 days (threshold 14)" in english
    assert "purchases down 40% against the previous 30 days" in english
    row[INDEX["segment_b2b"]] = 1
    assert not any(r.startswith("нет входов") for r in explain(row))  # B2B: 30 days


def test_churn_reasons_say_only_what_the_profile_holds() -> None:
    # A row with no login ever recorded is capped at 180 days: that is no data, not absence.
    row = new_row()[0]
    row[INDEX["days_inactive"]] = 180
    row[INDEX["open_rate_prev_30d"]] = 0.4
    row[INDEX["open_rate_change"]] = -0.4  # nothing delivered lately reads as 0% opened
    assert explain(row, NOTHING) == []
    assert explain(row, Evidence(activity=False, messages=False)) == []
    held = explain(row, TRUSTED)
    assert "нет входов в кабинет и приложение больше 180 дн. (порог 14)" in held
    assert "открывает меньше сообщений: было 40%, стало 0%" in held


def test_a_corrupt_model_falls_back_to_rules_and_says_so(model_dir: Path) -> None:
    (model_dir / "reasons.onnx").write_bytes(b"not a model")
    models = ModelRegistry(model_dir)
    assert "reasons" in models.problems and "fallback" in models.problems["reasons"]
    assert MODEL_FALLBACK.labels("reasons")._value.get() == 1
    row = new_row()
    row[0, INDEX["affected_by_outage"]] = 1.0
    prediction = models.reasons.predict(row)
    assert prediction.source == "rules" and prediction.best[0] == "outage"
    assert models.churn.predict(row).source == "model"


def test_models_reload_when_their_files_change(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry_module, "CHECK_EVERY", 0.0)
    saved = (model_dir / "churn.onnx").read_bytes()
    (model_dir / "churn.onnx").unlink()
    models = ModelRegistry(model_dir)
    assert models.churn.predict(new_row()).source == "rules"
    assert models.status()["churn"] == "fallback"
    (model_dir / "churn.onnx").write_bytes(saved)
    assert models.maybe_reload() is True
    assert models.churn.predict(new_row()).source == "model"
    assert models.problems == {}
    assert not np.isnan(models.churn.predict(new_row()).score)
