"""The abstain ("none of these") of reason text models, on small generated texts: learned
as a validation threshold or from an explicit out-of-scope label, scored on test rows
whose label training lacks, carried by the card into the runtime, and taken by the
inbound path as an unknown reason (ask, don't assert)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from models.train import train_text
from models.train.abstain import abstain_metrics, choose_threshold
from models.train.export import calibrated_scores
from predictors.features import new_row
from predictors.onnx_model import OnnxModel
from predictors.reason import UNKNOWN, ReasonPredictor
from tests.api.test_inbound import DELAYED_ORDER
from tests.conftest import CUSTOMER

DEFAULT_MODELS = Path(__file__).resolve().parents[2] / "models" / "default"

TOPICS = {
    "card_lost": ["где моя карта", "я потерял карту", "карта не пришла", "украли карту"],
    "balance": ["какой у меня баланс", "сколько денег на счёте", "остаток по счёту"],
    "close_account": ["хочу закрыть счёт", "как закрыть договор", "расторгнуть договор"],
}
STRANGERS = ["какая завтра погода", "закажите мне пиццу", "кто выиграл матч вчера"]


def utterances(topics: dict[str, list[str]]) -> pd.DataFrame:
    prefixes = ["", "Здравствуйте, ", "помогите, ", "Добрый день! ", "алло, "]
    suffixes = ["", " срочно", " пожалуйста", "?", "!!"]
    rows = [
        (p + phrase + s, label)
        for label, phrases in topics.items()
        for phrase in phrases
        for p in prefixes
        for s in suffixes
    ]
    return pd.DataFrame(rows, columns=["utterance", "reason"])


def test_the_threshold_costs_at_most_the_budget_of_right_answers() -> None:
    classes = ["a", "b"]
    proba = np.array([[0.95, 0.05], [0.9, 0.1], [0.6, 0.4], [0.55, 0.45], [0.2, 0.8]] * 20)
    labels = np.array(["a", "a", "a", "b", "b"] * 20)  # the 0.55 "a" answers are wrong
    abstain = choose_threshold(proba, labels, classes, budget=0.0)
    assert abstain.threshold == pytest.approx(0.6)  # the least confident right answer
    assert abstain.mask(proba, classes).sum() == 20  # only the wrong 0.55 rows
    assert abstain.detail["validation_in_scope_accuracy"] == pytest.approx(0.8)
    loose = choose_threshold(proba, labels, classes, budget=0.2)
    assert loose.threshold == pytest.approx(0.8)
    metrics = abstain_metrics(loose, labels, proba, classes, np.array([[0.5, 0.5], [0.99, 0.01]]))
    assert metrics["in_scope_accuracy"] == pytest.approx(0.6)
    assert metrics["in_scope_accuracy_without_abstain"] == pytest.approx(0.8)
    assert metrics["out_of_scope_rows"] == 2 and metrics["out_of_scope_recall"] == 0.5


def test_a_reason_text_model_learns_a_threshold_and_the_runtime_says_unknown(
    tmp_path: Path,
) -> None:
    data = utterances(TOPICS)
    test = pd.concat(
        [utterances(TOPICS).sample(60, random_state=1), utterances({"weather": STRANGERS})]
    )
    result = train_text(data, kind="reasons", label="reason", text="utterance", test=test)
    card = result.card
    assert card["abstain"]["method"] == "threshold" and 0 < card["abstain"]["threshold"] < 1
    scored = card["metrics"]["abstain"]
    assert card["rows_test_unseen_label"] == scored["out_of_scope_rows"] == 75
    assert scored["out_of_scope_recall"] >= 0.8
    assert scored["in_scope_accuracy"] >= scored["in_scope_accuracy_without_abstain"] - 0.02
    report = result.report()
    assert "75 more test rows have a label the training data lacks" in report
    assert "out-of-scope recall" in report and "none of these" in report

    result.save(tmp_path)
    predictor = ReasonPredictor(None, OnnxModel.load(tmp_path, "reasons_text"))
    texts = test["utterance"].to_numpy(dtype=object)
    assert card["abstain"]["score"] == "scores"  # three classes: unnormalised scores
    top = np.max(calibrated_scores(result.pipeline, texts), axis=1)
    trained = top < card["abstain"]["threshold"]
    served = [predictor.predict(new_row(), t).abstained for t in texts]
    assert served == trained.tolist()  # the service abstains exactly where training did
    stranger = predictor.predict(new_row(), texts[served.index(True)])
    assert stranger.reason == (UNKNOWN, 0.0)
    assert stranger.top  # the candidates stay visible to the operator
    known = predictor.predict(new_row(), "Здравствуйте, я потерял карту")
    assert not known.abstained and known.reason[0] != UNKNOWN
    # The runtime scores the text model from rows keyed by the text column, too.
    model = predictor.text
    assert model is not None
    by_row = model.score([{"utterance": "где моя карта"}, {"utterance": None}])
    by_array = model.probabilities(np.array([["где моя карта"], [""]], dtype=object))
    assert np.array_equal(by_row, by_array)


def test_an_explicit_out_of_scope_label_is_the_abstain(tmp_path: Path) -> None:
    data = utterances({**TOPICS, "out_of_scope": STRANGERS})
    result = train_text(data, kind="reasons", label="reason", text="utterance", seed=0)
    assert result.card["abstain"] == {"method": "label", "label": "out_of_scope"}
    scored = result.card["metrics"]["abstain"]
    assert scored["out_of_scope_rows"] == 15 and scored["out_of_scope_recall"] >= 0.8
    assert scored["in_scope_rows"] == result.card["rows_test"] - 15
    result.save(tmp_path)
    predictor = ReasonPredictor(None, OnnxModel.load(tmp_path, "reasons_text"))
    assert predictor.predict(new_row(), "какая завтра погода?").abstained
    assert not predictor.predict(new_row(), "хочу закрыть счёт").abstained


def test_a_churn_text_model_never_abstains() -> None:
    frame = utterances(TOPICS)
    frame["left"] = np.where(frame["reason"] == "close_account", "yes", "no")
    result = train_text(frame, kind="churn", label="left", text="utterance")
    assert "abstain" not in result.card and "abstain" not in result.card["metrics"]


async def test_the_inbound_path_asks_instead_of_asserting_after_an_abstain(
    tmp_path: Path, app_factory: Callable[..., Any]
) -> None:
    """A caller with a delayed order whose words the text model rejects: no «Вы звоните по
    поводу задержки заказа…?», the reason is unknown, the operator is told to ask."""
    models = tmp_path / "models"
    shutil.copytree(DEFAULT_MODELS, models)
    card_path = models / "reasons_text.card.json"
    card = json.loads(card_path.read_text())
    # The shipped text model has no abstain; an operator-set threshold only the surest
    # answers pass makes every utterance "none of these" for this test.
    card["abstain"] = {"method": "threshold", "threshold": 0.99999}
    card_path.write_text(json.dumps(card))
    body = {
        "channel": "ivr",
        "caller": "+79161234567",
        "utterance": "где мой заказ, он задерживается",
    }
    async with app_factory() as client:  # the shipped models: sure of the delayed order
        assert (await client.put("/v1/customers/c1", json=CUSTOMER)).status_code in (200, 201)
        reply = await client.post("/v1/events", json={"events": DELAYED_ORDER})
        assert reply.status_code == 200
        sure = await client.post("/v1/inbound", json={**body, "call_id": "c-1"})
    async with app_factory(model_dir=models) as client:
        unsure = await client.post("/v1/inbound", json={**body, "call_id": "c-2"})
    assert sure.status_code == unsure.status_code == 200
    assert sure.json()["reason_unknown"] is False
    assert sure.json()["action"]["id"] == "confirm_order_delayed"
    answer = unsure.json()
    assert answer["reason_unknown"] is True
    assert answer["reasons"] == sure.json()["reasons"]  # the candidates are still shown
    assert answer["action"]["id"] not in ("confirm_order_delayed", "confirm_reason")
    assert "задержк" not in answer["ivr"]["say"]
