"""Train, evaluate, export and describe one model: the functions behind `forecall train`.

    train_tabular(data, *, kind, label, test=None, exclude=(), seed=0, name=None,
                  source=None, progress=None, now=None) -> TrainResult
    train_text(data, *, kind, label, text, test=None, seed=0, name=None,
               source=None, progress=None, now=None) -> TrainResult
    train_files(kind, data_path, label, *, text=None, test_path=None, seed=0,
                max_rows=None, progress=None) -> list[TrainResult]

`kind` is "reasons" (multi-class) or "churn" (binary). `data` and `test` are pandas frames
holding the label column; without `test` a split is held out of `data` (by time when a
timestamp column exists, stratified otherwise). `progress` receives one line per step.
The result carries `.onnx` (bytes), `.card` (dict), `.pipeline` (the fitted scikit-learn
model), `.metrics`, `.baseline`, `.beats_baseline`, `.report()` and `.save(out_dir)`, which
writes `<name>.onnx`, `<name>.card.json` and `<name>.card.md`. Bad input raises
`TrainingError`; an export that disagrees with scikit-learn raises `ExportError`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal

import pandas as pd

from models.train import export
from models.train.columns import ColumnPlan, Ignored, detect_columns, prepare_features, time_order
from models.train.data import file_sha256, load_table
from models.train.errors import TrainingError, no_such_column
from models.train.progress import Progress, quiet
from models.train.result import Source, TrainResult, evaluate_export
from models.train.rows import split_table
from models.train.tabular import fit_reference, fit_tabular, model_input
from models.train.text import clean_texts, fit_text

Kind = Literal["reasons", "churn"]


def _require(frame: pd.DataFrame | None, column: str, role: str, where: str | None) -> None:
    if frame is not None and column not in frame.columns:
        columns = [str(c) for c in frame.columns]
        raise no_such_column(where or "the table", column, role, columns)


def train_tabular(
    data: pd.DataFrame,
    *,
    kind: Kind,
    label: str,
    test: pd.DataFrame | None = None,
    exclude: Sequence[str] = (),
    seed: int = 0,
    name: str | None = None,
    source: Source | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> TrainResult:
    """Detect the feature columns, pick and calibrate a model, export and evaluate it.
    `exclude` names columns to leave out (the text column when a text model reads it)."""
    started, say, source = time.perf_counter(), progress or quiet, source or Source()
    _require(data, label, "the --label", source.data_file)
    found = detect_columns(data.drop(columns=[c for c in exclude if c in data]), label)
    text_ignored = tuple(Ignored(c, "text: read by the text model") for c in exclude if c in data)
    plan = ColumnPlan(found.features, found.ignored + text_ignored, found.time_column)
    if not plan.features:
        ignored = "; ".join(f"{i.name}: {i.reason}" for i in plan.ignored) or "none"
        raise TrainingError(
            f"{source.data_file or 'the table'}: no usable feature columns besides "
            f"{label!r} (ignored: {ignored}); add feature columns or pass --text COLUMN"
        )
    shown = ", ".join(f.name for f in plan.features[:8])
    more = ", …" if len(plan.features) > 8 else ""
    say(f"{len(plan.features)} features ({shown}{more}); {len(plan.ignored)} ignored")
    rows = split_table(
        data,
        test,
        kind=kind,
        label=label,
        plan=plan,
        seed=seed,
        data_name=source.data_file,
        test_name=source.test_file,
    )
    train_x = prepare_features(rows.train, plan, source.data_file or "the training table")
    test_x = prepare_features(rows.test, plan, source.test_file or source.data_file or "test")
    say(f"split: {rows.split.description}; {len(rows.y_train)} train, {len(rows.y_test)} test")
    fit = fit_tabular(
        kind,
        plan,
        train_x,
        rows.y_train,
        positive=rows.labels.positive,
        times=time_order(rows.train, plan) if rows.split.method == "time" else None,
        seed=seed,
        progress=say,
    )
    say("fitting a default HistGradientBoosting on the same rows, for comparison")
    reference = fit_reference(plan, train_x, rows.y_train, seed)
    say("exporting to ONNX")
    return evaluate_export(
        name=name or kind,
        kind=kind,
        rows=rows,
        pipeline=fit.pipeline,
        onnx_bytes=export.export_tabular(fit.pipeline, plan),
        sklearn_proba=fit.pipeline.predict_proba(model_input(test_x, plan)),
        feed=export.tabular_feed(test_x, plan),
        reference_proba=reference.predict_proba(model_input(test_x, plan)),
        source=source,
        started=started,
        now=now,
        progress=say,
        fields={
            "model_type": fit.candidate.name,
            "params": fit.candidate.params,
            "calibration": "sigmoid, cross-validated" if fit.calibrated else "none",
            "features": [
                {**f.to_card(), **({} if plan.all_numeric else {"input": plan.inputs[f.name]})}
                for f in plan.features
            ],
            "ignored_columns": [{"name": i.name, "reason": i.reason} for i in plan.ignored],
            "selection": fit.selection,
            "inputs": export.tabular_inputs(plan),
        },
    )


def train_text(
    data: pd.DataFrame,
    *,
    kind: Kind,
    label: str,
    text: str,
    test: pd.DataFrame | None = None,
    seed: int = 0,
    name: str | None = None,
    source: Source | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> TrainResult:
    """Train the TF-IDF text model on column `text`; its ONNX input is the raw string."""
    started, say, source = time.perf_counter(), progress or quiet, source or Source()
    _require(data, label, "the --label", source.data_file)
    _require(data, text, "the --text column", source.data_file)
    _require(test, text, "the --text column", source.test_file)
    rows = split_table(
        data,
        test,
        kind=kind,
        label=label,
        plan=detect_columns(data, label, text),
        seed=seed,
        data_name=source.data_file,
        test_name=source.test_file,
    )
    say(f"split: {rows.split.description}; {len(rows.y_train)} train, {len(rows.y_test)} test")
    fit = fit_text(
        clean_texts(rows.train[text]),
        rows.y_train,
        seed=seed,
        progress=say,
        abstain=kind == "reasons",
    )
    say("exporting the text model to ONNX")
    test_texts = clean_texts(rows.test[text])
    unseen = rows.unseen if rows.unseen is not None and len(rows.unseen) else None
    config = fit.config
    return evaluate_export(
        name=name or f"{kind}_text",
        kind=kind,
        rows=rows,
        pipeline=fit.pipeline,
        onnx_bytes=export.export_text(fit.pipeline, scores=len(fit.pipeline.classes_) > 2),
        sklearn_proba=fit.pipeline.predict_proba(test_texts),
        feed=export.text_feed(test_texts),
        abstain=fit.abstain,
        unseen_feed=None if unseen is None else export.text_feed(clean_texts(unseen[text])),
        source=source,
        started=started,
        now=now,
        progress=say,
        fields={
            "model_type": "tfidf_linear_svm",
            "params": {
                "word_ngrams": list(config.word_ngrams),
                "C": config.C,
                "char_ngrams": list(config.char_ngrams),
                "char_min_df": config.char_min_df,
            },
            "calibration": "sigmoid, cross-validated" if fit.calibrated else "none",
            "text_column": text,
            "features": [{"name": text, "kind": "text"}],
            "selection": fit.selection,
            "inputs": export.TEXT_INPUTS,
            "text_locale": export.TEXT_LOCALE,
        },
    )


def train_files(
    kind: Kind,
    data_path: Path,
    label: str,
    *,
    text: str | None = None,
    test_path: Path | None = None,
    seed: int = 0,
    max_rows: int | None = None,
    progress: Progress | None = None,
) -> list[TrainResult]:
    """What `forecall train` does: the text model when `text` is given, and the tabular
    model when the table has usable feature columns besides the text."""
    say = progress or quiet
    say(f"reading {data_path}")
    data = load_table(data_path, max_rows, seed)
    test = load_table(test_path, None, seed) if test_path is not None else None
    hashed = [data_path] + ([test_path] if test_path is not None else [])
    source = Source(
        str(data_path), str(test_path) if test_path else None, file_sha256(*hashed), max_rows
    )
    say(f"{len(data)} rows, {len(data.columns)} columns")
    _require(data, label, "the --label", str(data_path))
    _require(test, label, "the --label", source.test_file)
    tabular = text is None or bool(detect_columns(data, label, text).features)
    results: list[TrainResult] = []
    if text is not None:
        plan = "then a tabular model on the other columns" if tabular else "only"
        say(f"training a text model on {text!r}, {plan}")
        results.append(
            train_text(
                data,
                kind=kind,
                label=label,
                text=text,
                test=test,
                seed=seed,
                source=source,
                progress=say,
            )
        )
    if tabular:
        results.append(
            train_tabular(
                data,
                kind=kind,
                label=label,
                test=test,
                seed=seed,
                source=source,
                progress=say,
                exclude=[text] if text else [],
            )
        )
    return results
