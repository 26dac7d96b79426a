"""What goes into a tabular model: one name per input for the graph, the pipeline and the
feed (column names with spaces), identifiers found by their values, and the service's
runtime class scoring a model with one input per feature."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from api.cli import main as forecall
from models.train import train_tabular
from models.train.columns import detect_columns, input_names, prepare_features
from models.train.tabular import model_input
from predictors.features import new_row
from predictors.onnx_model import ModelError, OnnxModel
from predictors.registry import ModelRegistry


def spaced_frame(rows: int = 600, seed: int = 5) -> pd.DataFrame:
    """A CRM export as people write it: spaces in the names, categories as text, and an
    account number that is unique per row but not called an id."""
    rng = np.random.default_rng(seed)
    contract = rng.choice(["Month to month", "One year", "Two year"], rows)
    payment = rng.choice(["Bank transfer", "Credit card", "Electronic check"], rows)
    tenure = rng.integers(0, 72, rows)
    score = (
        1.0 - tenure / 25 + (contract == "Month to month") * 1.5 + (payment == "Electronic check")
    )
    return pd.DataFrame(
        {
            "Account Number": rng.permutation(np.arange(40_000_000, 99_000_000, 97_000))[:rows],
            "Contract Type": contract,
            "Payment Method (main)": payment,
            "Tenure, months": tenure,
            "Monthly Charges": np.round(rng.uniform(20, 110, rows), 2),
            "Paperless?": rng.choice(["Yes", "No", " yes"], rows),  # a boolean spelled out
            "Churned?": np.where(rng.random(rows) < 1 / (1 + np.exp(-score)), "Yes", "No"),
        }
    )


def test_input_names_are_graph_safe_unique_and_avoid_the_contract() -> None:
    names = ["Contract Type", "Contract_Type", "1st bill", "label", "Тариф (мес.)", "ok"]
    assert input_names(names) == [
        "Contract_Type",
        "Contract_Type_1",
        "_1st_bill",
        "label_1",
        "Тариф__мес__",
        "ok",
    ]


def test_spaced_names_and_text_categories_train_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "crm export.csv"
    spaced_frame().to_csv(data, index=False)
    out = tmp_path / "out"
    argv = ["train", "churn", "--data", str(data), "--label", "Churned?", "--out", str(out)]
    code = forecall(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    card = json.loads((out / "churn.card.json").read_text())
    inputs = {i["column"]: i["name"] for i in card["inputs"]}
    assert inputs == {
        "Contract Type": "Contract_Type",
        "Payment Method (main)": "Payment_Method__main_",
        "Tenure, months": "Tenure__months",
        "Monthly Charges": "Monthly_Charges",
        "Paperless?": "Paperless_",
    }
    assert {f["name"]: f["input"] for f in card["features"]} == inputs
    assert card["onnx_parity"]["max_abs_diff"] < 1e-4
    # A default HistGradientBoosting on the same rows sits beside the model, in the card
    # and in the printed table.
    reference = card["metrics"]["default_hgb"]
    assert 0.5 < reference["roc_auc"] <= card["metrics"]["model"]["roc_auc"] + 0.05
    assert "default HGB" in captured.out.splitlines()[2]
    assert "`Contract_Type` (column `Contract Type`)" in (out / "churn.card.md").read_text()

    model = OnnxModel.load(out, "churn")  # the class the service runs
    assert model.inputs == [i["name"] for i in card["inputs"]]
    proba = model.score(
        [
            {
                "Contract Type": "Month to month",
                "Payment Method (main)": "Electronic check",
                "Tenure, months": "1",
                "Monthly Charges": 95.0,
            },
            {
                "Contract Type": "Two year",
                "Payment Method (main)": "Bank transfer",
                "Tenure, months": 70,
                "Monthly Charges": None,
            },
            {},  # every value missing: the graph imputes and ignores, it still answers
        ]
    )
    assert proba.shape == (3, 2) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    churn = card["classes"].index("Yes")
    assert proba[0, churn] > 0.5 > proba[1, churn]


def test_an_account_number_is_dropped_by_its_values_whatever_its_name() -> None:
    frame = spaced_frame()
    rng = np.random.default_rng(0)
    frame["Contract No"] = [f"{n:08d}" for n in rng.permutation(10**7)[: len(frame)]]
    frame["Row"] = rng.permutation(len(frame)) + 1  # a shuffled row number
    frame["Balance"] = rng.integers(0, 10**7, len(frame))  # unique amounts, not ids
    plan = detect_columns(frame, "Churned?")
    reasons = {i.name: i.reason for i in plan.ignored}
    assert (
        reasons["Account Number"].startswith("id-like")
        and "8-digit codes" in (reasons["Account Number"])
    )
    assert reasons["Contract No"].startswith("id-like")
    assert "consecutive" in reasons["Row"]
    assert "Balance" in [f.name for f in plan.features]

    result = train_tabular(frame, kind="churn", label="Churned?", seed=0)
    ignored = {c["name"]: c["reason"] for c in result.card["ignored_columns"]}
    assert {"Account Number", "Contract No", "Row"} <= set(ignored)
    assert "Account Number" not in [f["name"] for f in result.card["features"]]
    assert "Account Number" in result.report()


def test_the_runtime_scores_a_model_with_one_input_per_feature(tmp_path: Path) -> None:
    frame = spaced_frame(rows=400, seed=8)
    result = train_tabular(frame, kind="churn", label="Churned?", seed=0)
    assert len(result.card["inputs"]) == 5  # one per feature, two of them strings
    result.save(tmp_path)
    model = OnnxModel.load(tmp_path, "churn")
    rows = frame.drop(columns=["Churned?"]).head(50).to_dict("records")
    got = model.score(rows)
    plan = detect_columns(frame, "Churned?")
    prepared = prepare_features(frame.head(50), plan, "the first rows")
    expected = result.pipeline.predict_proba(model_input(prepared, plan))
    assert np.abs(got - expected).max() < 1e-4
    with pytest.raises(ModelError, match="takes text"):
        model.probabilities(np.zeros((1, 5), dtype=np.float32))


def test_the_service_refuses_at_load_a_model_the_feature_vector_cannot_feed(
    tmp_path: Path,
) -> None:
    train_tabular(spaced_frame(rows=300), kind="churn", label="Churned?", seed=0).save(tmp_path)
    registry = ModelRegistry(tmp_path)
    assert registry.status()["churn"] == "fallback"
    assert "feature vector does not carry" in registry.problems["churn"]
    assert "Contract Type" in registry.problems["churn"]
    assert registry.churn.predict(new_row()).source == "rules"
