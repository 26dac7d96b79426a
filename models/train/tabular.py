"""The tabular model: a few strong candidates compared on a validation split of the
training rows, the winner refitted on all of them with sigmoid probability calibration.

The input side follows the ONNX contract: when every feature is numeric or boolean the
pipeline takes one float matrix in feature order; otherwise it takes a frame with one column
per feature, which becomes one ONNX input per column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from models.train.columns import ColumnPlan
from models.train.progress import Progress
from models.train.split import split_rows

CALIBRATION_FOLDS = 3
EARLY_STOPPING_ROWS = 1000  # below this the inner validation fold is too small to stop on


@dataclass(frozen=True)
class Candidate:
    name: str
    params: dict[str, Any]
    scaled: bool  # linear models want standardized inputs; trees do not care

    def build(self, seed: int, rows: int) -> ClassifierMixin:
        if self.name == "logistic_regression":
            return LogisticRegression(max_iter=5000, random_state=seed, **self.params)
        early = rows >= EARLY_STOPPING_ROWS
        return HistGradientBoostingClassifier(
            early_stopping=early,
            n_iter_no_change=20,
            validation_fraction=0.1,
            max_iter=500 if early else 150,
            random_state=seed,
            **self.params,
        )


CANDIDATES = (
    Candidate(
        "gradient_boosting",
        {
            "learning_rate": 0.05,
            "max_leaf_nodes": 15,
            "min_samples_leaf": 20,
            "l2_regularization": 1.0,
        },
        False,
    ),
    Candidate("logistic_regression", {"C": 0.1}, True),
    Candidate("logistic_regression", {"C": 1.0}, True),
    Candidate("logistic_regression", {"C": 10.0}, True),
)


@dataclass
class TabularFit:
    pipeline: Pipeline
    candidate: Candidate
    calibrated: bool
    selection: list[dict[str, Any]] = field(default_factory=list)


def model_input(prepared: pd.DataFrame, plan: ColumnPlan) -> np.ndarray | pd.DataFrame:
    """What the sklearn pipeline takes: the float matrix, or the per-column frame with
    its columns named as the graph's inputs (`ColumnPlan.inputs`), so the pipeline, the
    export and the feed agree on one name per feature."""
    if plan.all_numeric:
        return prepared.to_numpy(dtype=np.float32)
    return prepared.rename(columns=plan.inputs)


def _preprocessor(plan: ColumnPlan, scaled: bool) -> Pipeline | ColumnTransformer:
    numeric_steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median"))]
    if scaled:
        numeric_steps.append(("scale", StandardScaler()))
    numeric = Pipeline(numeric_steps)
    if plan.all_numeric:
        return numeric
    inputs = plan.inputs
    numbers = [inputs[f.name] for f in plan.features if f.kind != "categorical"]
    categories = [inputs[f.name] for f in plan.features if f.kind == "categorical"]
    parts: list[tuple[str, Any, list[str]]] = []
    if numbers:
        parts.append(("numbers", numeric, numbers))
    parts.append(
        (
            "categories",
            OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32),
            categories,
        )
    )
    return ColumnTransformer(parts)


def build_pipeline(
    plan: ColumnPlan, candidate: Candidate, seed: int, rows: int, folds: int
) -> Pipeline:
    """Preprocessing plus the candidate; calibrated when `folds` >= 2. With ensemble=False
    the shipped classifier is one model fitted on every row, and the folds only fit the
    calibration map, so the exported graph stays the size of one model."""
    classifier: ClassifierMixin = candidate.build(seed, rows)
    if folds >= 2:
        classifier = CalibratedClassifierCV(classifier, method="sigmoid", cv=folds, ensemble=False)
    return Pipeline([("prepare", _preprocessor(plan, candidate.scaled)), ("model", classifier)])


def _score(kind: str, pipeline: Pipeline, x: Any, y: np.ndarray, positive: str | None) -> float:
    """Higher is better: ROC-AUC for churn, accuracy minus a log-loss tie-breaker for reasons."""
    proba = pipeline.predict_proba(x)
    classes = [str(c) for c in pipeline.classes_]
    if kind == "churn" and len(set(y == positive)) == 2:
        return float(roc_auc_score(y == positive, proba[:, classes.index(str(positive))]))
    if kind == "churn":  # a validation split too small to hold both classes
        return -float(log_loss(y, np.clip(proba, 1e-7, 1), labels=classes))
    accuracy = float(np.mean(np.asarray(classes)[np.argmax(proba, axis=1)] == y))
    return accuracy - 1e-3 * float(log_loss(y, np.clip(proba, 1e-7, 1), labels=classes))


def fit_tabular(
    kind: str,
    plan: ColumnPlan,
    prepared: pd.DataFrame,
    labels: np.ndarray,
    *,
    positive: str | None,
    times: pd.Series | None,
    seed: int,
    progress: Progress,
) -> TabularFit:
    """Pick the best candidate on a validation split of the training rows, then refit it
    calibrated on all of them."""
    inner = split_rows(pd.Series(labels), times, seed=seed)
    x = model_input(prepared, plan)
    pick = (lambda rows: x[rows]) if isinstance(x, np.ndarray) else (lambda rows: x.iloc[rows])
    results: list[tuple[float, Candidate]] = []
    selection: list[dict[str, Any]] = []
    y_fit = labels[inner.train]
    # A class seen only in the validation rows cannot be predicted by any candidate.
    known = inner.test[np.isin(labels[inner.test], y_fit)]
    for candidate in CANDIDATES:
        pipeline = build_pipeline(plan, candidate, seed, len(inner.train), folds=0)
        pipeline.fit(pick(inner.train), y_fit)
        score = _score(kind, pipeline, pick(known), labels[known], positive)
        progress(f"candidate {candidate.name} {candidate.params}: validation score {score:.4f}")
        results.append((score, candidate))
        selection.append(
            {"model_type": candidate.name, "params": candidate.params, "validation_score": score}
        )
    _, best = max(results, key=lambda item: item[0])
    folds = min(CALIBRATION_FOLDS, int(pd.Series(labels).value_counts().min()))
    how = f"with calibration ({folds} folds)" if folds >= 2 else "uncalibrated: a class has 1 row"
    progress(f"refitting {best.name} on {len(labels)} rows {how}")
    pipeline = build_pipeline(plan, best, seed, len(labels), folds=folds)
    pipeline.fit(x, labels)
    return TabularFit(pipeline, best, folds >= 2, selection)


def fit_reference(
    plan: ColumnPlan, prepared: pd.DataFrame, labels: np.ndarray, seed: int
) -> Pipeline:
    """A default `HistGradientBoostingClassifier` on the same rows and preprocessing: the
    plain baseline the card sets beside the chosen model on the same test rows."""
    reference = HistGradientBoostingClassifier(random_state=seed)
    pipeline = Pipeline([("prepare", _preprocessor(plan, False)), ("model", reference)])
    return pipeline.fit(model_input(prepared, plan), labels)
