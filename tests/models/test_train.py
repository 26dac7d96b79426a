"""The training pipeline on small generated tables: column detection, the CLI end to end,
the ONNX contract, the baseline warning, Russian text and clear errors on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest

from models.train import ExportError, TrainingError, train_tabular, train_text
from models.train.cli import main
from models.train.columns import detect_columns, prepare_features
from models.train.export import check_parity, tabular_feed, text_feed
from models.train.tabular import model_input

ROOT = Path(__file__).resolve().parents[2]


def churn_frame(rows: int = 800, seed: int = 1) -> pd.DataFrame:
    """Churn driven by tenure, contract and paperless billing; the id carries nothing."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 72, rows).astype(float)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], rows)
    paperless = rng.choice(["Yes", "No"], rows)
    score = 1.5 - tenure / 20 + (contract == "Month-to-month") * 1.5 + (paperless == "Yes")
    churn = rng.random(rows) < 1 / (1 + np.exp(-score))
    monthly = np.round(rng.uniform(20, 110, rows), 2)
    total = (monthly * tenure).round(2).astype(str).astype(object)
    total[rng.choice(rows, 15, replace=False)] = " "  # blanks, as in Telco's TotalCharges
    return pd.DataFrame(
        {
            "customerID": [f"{i:04d}-{rng.integers(1_000_000):06d}" for i in range(rows)],
            "tenure": tenure,
            "Contract": contract,
            "PaperlessBilling": paperless,
            "SeniorCitizen": rng.integers(0, 2, rows),
            "MonthlyCharges": monthly,
            "TotalCharges": total,
            "Churn": np.where(churn, "Yes", "No"),
        }
    )


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def test_detect_columns_kinds_ids_and_missing_values() -> None:
    rows = 300
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "row": np.arange(rows),
            "user_id": [f"u{i}" for i in range(rows)],
            "amount": [" " if i % 10 == 0 else f"{i * 1.5:.1f}" for i in range(rows)],
            "active": rng.choice(np.array(["yes", "No", None], dtype=object), rows),
            "flag": rng.integers(0, 2, rows),
            "city": rng.choice(["Moscow", "Kazan", "Perm"], rows),
            "country": ["RU"] * rows,
            "note": [None] * (rows - 3) + ["a", "b", "c"],
            "comment": [f"the customer said something long number {i} today" for i in range(rows)],
            "created": pd.date_range("2026-01-01", periods=rows, freq="h").astype(str),
            "label": rng.choice(["a", "b"], rows),
        }
    ).astype({"user_id": str, "city": str})
    plan = detect_columns(frame, "label")
    kinds = {f.name: f.kind for f in plan.features}
    assert kinds == {
        "amount": "numeric",
        "active": "boolean",
        "flag": "boolean",
        "city": "categorical",
    }
    reasons = {i.name: i.reason for i in plan.ignored}
    assert reasons["row"].startswith("id-like")
    assert reasons["user_id"].startswith("id-like")
    assert reasons["country"].startswith("constant")
    assert reasons["note"].startswith("mostly missing")
    assert "--text comment" in reasons["comment"]
    assert plan.time_column == "created"
    assert not plan.all_numeric

    prepared = prepare_features(frame, plan, "frame")
    assert list(prepared.columns) == ["amount", "active", "flag", "city"]
    assert np.isnan(prepared["amount"][0]) and prepared["amount"][1] == pytest.approx(1.5)
    active = frame["active"].str.lower()
    assert (prepared["active"][active == "yes"] == 1).all()
    assert (prepared["active"][active == "no"] == 0).all()
    assert prepared["active"][active.isna()].isna().all()
    assert prepared["amount"].dtype == np.float32


def test_cli_end_to_end_writes_onnx_and_card(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_csv(churn_frame(), tmp_path / "churn.csv")
    out = tmp_path / "out"
    code = main(["churn", "--data", str(data), "--label", "Churn", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "roc_auc" in captured.out and "brier" in captured.out and "Calibration" in captured.out
    assert "split:" in captured.err  # progress goes to stderr

    card = json.loads((out / "churn.card.json").read_text())
    assert (out / "churn.card.md").read_text().startswith("# Model card: churn")
    assert card["kind"] == "churn" and card["classes"] == ["No", "Yes"]
    assert card["positive_class"] == "Yes"
    assert card["beats_baseline"] is True and card["warnings"] == []
    assert card["metrics"]["model"]["roc_auc"] > card["metrics"]["baseline"]["roc_auc"] + 0.1
    assert {"name": "customerID", "reason": card["ignored_columns"][0]["reason"]} in (
        card["ignored_columns"]
    )
    assert {f["name"]: f["kind"] for f in card["features"]}["TotalCharges"] == "numeric"
    assert card["rows_train"] + card["rows_test"] == 800
    assert len(card["data_sha256"]) == 64 and card["opset"]["ai.onnx"] == 17

    session = ort.InferenceSession(str(out / card["onnx_file"]), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == [i["name"] for i in card["inputs"]]
    assert [o.name for o in session.get_outputs()] == ["label", "probabilities"]
    feed = {
        "tenure": np.array([[1.0], [70.0]], dtype=np.float32),
        "Contract": np.array([["Month-to-month"], ["Two year"]], dtype=object),
        "PaperlessBilling": np.array([[1.0], [0.0]], dtype=np.float32),
        "SeniorCitizen": np.array([[0.0], [np.nan]], dtype=np.float32),
        "MonthlyCharges": np.array([[90.0], [20.0]], dtype=np.float32),
        "TotalCharges": np.array([[np.nan], [1400.0]], dtype=np.float32),
    }
    labels, proba = session.run(None, {i["name"]: feed[i["name"]] for i in card["inputs"]})
    assert proba.shape == (2, 2) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert proba[0, 1] > proba[1, 1]  # new, month-to-month, paperless churns more
    assert list(labels) == [card["classes"][k] for k in np.argmax(proba, axis=1)]


def test_onnx_probabilities_match_sklearn_on_new_rows() -> None:
    frame = churn_frame(seed=2)
    result = train_tabular(frame, kind="churn", label="Churn", seed=0)
    fresh = churn_frame(rows=200, seed=3)
    fresh.loc[:9, "Contract"] = None  # missing and unseen values reach the graph too
    fresh.loc[10:19, "Contract"] = "Three year"
    fresh.loc[20:29, "tenure"] = np.nan
    plan = detect_columns(frame, "Churn")
    prepared = prepare_features(fresh, plan, "fresh")
    session = ort.InferenceSession(result.onnx, providers=["CPUExecutionProvider"])
    _, onnx_proba = session.run(None, tabular_feed(prepared, plan))
    expected = result.pipeline.predict_proba(model_input(prepared, plan))
    assert np.abs(onnx_proba - expected).max() < 1e-4
    assert result.card["onnx_parity"]["max_abs_diff"] < 1e-4


def test_all_numeric_features_use_one_matrix_input_and_trees_export() -> None:
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, (1200, 3))
    y = np.where((x[:, 0] > 0) ^ (x[:, 1] > 0), "renew", "leave")  # trees see XOR, lines don't
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "noise": x[:, 2], "y": y})
    frame.loc[::17, "a"] = np.nan
    result = train_tabular(frame, kind="churn", label="y", seed=0)
    assert result.card["model_type"] == "gradient_boosting"
    assert result.card["inputs"] == [
        {"name": "features", "dtype": "float32", "shape": [None, 3], "columns": ["a", "b", "noise"]}
    ]
    assert result.card["positive_class"] == "leave"  # no telling name: the rarer class
    session = ort.InferenceSession(result.onnx, providers=["CPUExecutionProvider"])
    probe = np.array([[0.5, 0.5, 0.0], [0.5, -0.5, 0.0], [np.nan, 0.5, 0.0]], dtype=np.float32)
    _, proba = session.run(None, {"features": probe})
    assert np.abs(proba - result.pipeline.predict_proba(probe)).max() < 1e-4
    assert result.metrics["roc_auc"] > 0.9


def test_random_labels_warn_that_the_baseline_is_not_beaten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = churn_frame(rows=600)
    frame["Churn"] = np.random.default_rng(9).choice(["Yes", "No"], len(frame), p=[0.3, 0.7])
    data = write_csv(frame, tmp_path / "random.csv")
    code = main(["churn", "--data", str(data), "--label", "Churn", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "WARNING: the model does not beat the baseline" in out
    card = json.loads((tmp_path / "churn.card.json").read_text())
    assert card["beats_baseline"] is False
    assert any("does not beat the baseline" in w for w in card["warnings"])
    assert "does not beat the baseline" in (tmp_path / "churn.card.md").read_text()


RUSSIAN = {
    "card_lost": [
        "где моя карта",
        "я потерял карту",
        "карта так и не пришла",
        "украли карту",
        "lost my card",
        "my card has not arrived",
    ],
    "balance": [
        "какой у меня баланс",
        "сколько денег на счёте",
        "покажите остаток по счёту",
        "what is my balance",
        "how much money do i have",
    ],
    "close_account": [
        "хочу закрыть счёт",
        "как закрыть договор",
        "расторгнуть договор",
        "close my account",
        "i want to cancel my contract",
    ],
}


def russian_frame() -> pd.DataFrame:
    prefixes = ["", "Здравствуйте, ", "помогите, ", "Добрый день! ", "hi, "]
    suffixes = ["", " срочно", " пожалуйста", "?", "!!"]
    rows = [
        (p + s + x, reason)
        for reason, phrases in RUSSIAN.items()
        for s in phrases
        for p in prefixes
        for x in suffixes
    ]
    return pd.DataFrame(rows, columns=["utterance", "reason"])


def test_russian_text_model_is_case_insensitive_and_matches_sklearn(tmp_path: Path) -> None:
    frame = russian_frame()
    result = train_text(frame, kind="reasons", label="reason", text="utterance", seed=0)
    assert result.card["inputs"] == [{"name": "text", "dtype": "string", "shape": [None, 1]}]
    assert result.metrics["accuracy"] > 0.95 and result.beats_baseline
    probes = np.array(
        [
            "ГДЕ МОЯ КАРТА?",
            "Потерял карту",
            "какой БАЛАНС на счёте",
            "Хочу ЗАКРЫТЬ счёт",
            "  где\nмоя  карта ",
            "",
            "Ёлки, LOST MY CARD",
        ],
        dtype=object,
    )
    session = ort.InferenceSession(result.onnx, providers=["CPUExecutionProvider"])
    labels, proba, _ = session.run(None, text_feed(probes))  # label, probabilities, scores
    assert list(labels[:4]) == ["card_lost", "card_lost", "balance", "close_account"]
    assert labels[6] == "card_lost"
    assert np.abs(proba - result.pipeline.predict_proba(probes)).max() < 1e-4
    assert result.save(tmp_path)[0].name == "reasons_text.onnx"


def test_text_only_table_trains_only_the_text_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_csv(russian_frame(), tmp_path / "utterances.csv")
    args = ["reasons", "--data", str(data), "--label", "reason", "--text", "utterance"]
    assert main([*args, "--out", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "reasons_text.card.json",
        "reasons_text.card.md",
        "reasons_text.onnx",
    ]
    assert "accuracy" in capsys.readouterr().out


def test_time_column_orders_the_split_and_parquet_is_read(tmp_path: Path) -> None:
    frame = churn_frame(rows=500).sample(frac=1.0, random_state=0)
    frame["signup"] = pd.date_range("2025-01-01", periods=len(frame), freq="D")
    path = tmp_path / "churn.parquet"
    frame.to_parquet(path)
    assert main(["churn", "--data", str(path), "--label", "Churn", "--out", str(tmp_path)]) == 0
    card = json.loads((tmp_path / "churn.card.json").read_text())
    assert card["split"]["method"] == "time" and "signup" in card["split"]["description"]
    assert "signup" not in [f["name"] for f in card["features"]]
    assert card["rows_test"] == 100


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--label", "Outcome"], "'Outcome'"),
        (["--label", "Churn", "--text", "utterance"], "'utterance'"),
        (["--label", "churn"], "no column 'churn' (the --label); did you mean 'Churn'?"),
    ],
)
def test_missing_column_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    data = write_csv(churn_frame(rows=50), tmp_path / "small.csv")
    code = main(["churn", "--data", str(data), *argv, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err and "small.csv" in err and "columns are: customerID" in err
    assert not (tmp_path / "out").exists()


def test_unknown_file_type_and_missing_file_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = tmp_path / "data.xlsx"
    sheet.write_bytes(b"PK")
    assert main(["churn", "--data", str(sheet), "--label", "Churn"]) == 2
    err = capsys.readouterr().err
    assert "data.xlsx" in err and "unsupported file type '.xlsx'" in err and ".parquet" in err
    assert main(["churn", "--data", str(tmp_path / "nope.csv"), "--label", "Churn"]) == 2
    assert "nope.csv: no such file" in capsys.readouterr().err


def test_parity_check_refuses_an_export_that_disagrees() -> None:
    expected = np.tile([0.25, 0.75], (1000, 1))
    few = expected.copy()
    few[:3] = [0.3, 0.7]  # three odd rows (exotic lowercasing) are recorded, not fatal
    assert check_parity(expected, few, "m")["rows_over_tolerance"] == 3
    many = expected.copy()
    many[:10] = [0.75, 0.25]
    with pytest.raises(ExportError, match="m: ONNX probabilities differ .* on 10 of 1000"):
        check_parity(expected, many, "m")


def test_churn_with_many_label_values_is_rejected() -> None:
    frame = churn_frame(rows=60)
    frame["Churn"] = ["a", "b", "c"] * 20
    with pytest.raises(TrainingError, match="two-valued label.*'Churn' has 3 values"):
        train_tabular(frame, kind="churn", label="Churn")


@pytest.mark.slow
def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "models.train", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and "--label" in done.stdout
