"""Test-set metrics for a model and for the baseline that ignores the features, and the
verdict on whether the model beats it.

"Beats" means better than the baseline by more than two standard errors of the baseline's
own score on this test set, so a lucky draw on noise does not pass as a model.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    roc_auc_score,
)

from models.train.errors import TrainingError

CALIBRATION_BINS = 10


def prior_probabilities(train_labels: np.ndarray, classes: list[str], rows: int) -> np.ndarray:
    """The baseline's answer for every row: each class's share of the training labels."""
    shares = np.array([np.mean(train_labels == c) for c in classes], dtype=np.float64)
    return np.tile(shares, (rows, 1))


def _top_k(y_true: np.ndarray, proba: np.ndarray, classes: list[str], k: int) -> float:
    best = np.argsort(-proba, axis=1, kind="stable")[:, :k]
    index = {c: i for i, c in enumerate(classes)}
    truth = np.array([index[y] for y in y_true])
    return float(np.mean(np.any(best == truth[:, None], axis=1)))


def classification_metrics(
    y_true: np.ndarray, proba: np.ndarray, classes: list[str]
) -> dict[str, Any]:
    """Reasons: accuracy, top-3 accuracy, macro-F1, log loss and the confusion matrix
    (rows are true classes, columns predicted, both in `classes` order)."""
    predicted = np.asarray(classes)[np.argmax(proba, axis=1)]
    return {
        "accuracy": float(np.mean(predicted == y_true)),
        "top3_accuracy": _top_k(y_true, proba, classes, 3),
        "macro_f1": float(
            f1_score(y_true, predicted, labels=classes, average="macro", zero_division=0)
        ),
        "log_loss": float(log_loss(y_true, np.clip(proba, 1e-7, 1.0), labels=classes)),
        "confusion_matrix": confusion_matrix(y_true, predicted, labels=classes).tolist(),
    }


def calibration_table(y: np.ndarray, p: np.ndarray) -> list[dict[str, Any]]:
    """Predicted against observed positive rate in equal-width probability bins."""
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, CALIBRATION_BINS - 1)
    table = []
    for b in range(CALIBRATION_BINS):
        mask = which == b
        if mask.any():
            table.append(
                {
                    "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                    "count": int(mask.sum()),
                    "mean_predicted": float(p[mask].mean()),
                    "observed_rate": float(y[mask].mean()),
                }
            )
    return table


def binary_metrics(y_true: np.ndarray, p_positive: np.ndarray, positive: str) -> dict[str, Any]:
    """Churn: ranking (ROC-AUC, PR-AUC), probability quality (Brier, log loss) and a
    calibration table, all for the positive class."""
    y = (y_true == positive).astype(np.int64)
    if y.min() == y.max():
        raise TrainingError(
            f"the test set has only {'positive' if y[0] else 'negative'} rows "
            f"(positive class {positive!r}); give a larger or more varied --test file"
        )
    p = np.clip(p_positive.astype(np.float64), 0.0, 1.0)
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, np.clip(p, 1e-7, 1 - 1e-7), labels=[0, 1])),
        "accuracy": float(np.mean((p >= 0.5) == (y == 1))),
        "positive_rate": float(y.mean()),
        "calibration": calibration_table(y, p),
    }


def evaluate(
    kind: str, y_true: np.ndarray, proba: np.ndarray, classes: list[str], positive: str | None
) -> dict[str, Any]:
    if kind == "churn":
        assert positive is not None
        return binary_metrics(y_true, proba[:, classes.index(positive)], positive)
    return classification_metrics(y_true, proba, classes)


def verdict(
    kind: str,
    model: dict[str, Any],
    baseline: dict[str, Any],
    y_true: np.ndarray,
    positive: str | None,
) -> tuple[bool, list[str]]:
    """Whether the model beats the baseline, and the warnings to print and record."""
    warnings: list[str] = []
    if kind == "churn":
        n_pos = int(np.sum(y_true == positive))
        n_neg = len(y_true) - n_pos
        # Hanley-McNeil standard error of an AUC of 0.5, the baseline's.
        se = math.sqrt((n_pos + n_neg + 1) / (12.0 * n_pos * n_neg))
        margin = max(0.01, 2 * se)
        beats = model["roc_auc"] > baseline["roc_auc"] + margin
        if not beats:
            warnings.append(
                f"WARNING: the model does not beat the baseline: ROC-AUC {model['roc_auc']:.3f} "
                f"vs {baseline['roc_auc']:.3f} for the prior rate (needs > "
                f"{baseline['roc_auc'] + margin:.3f}); the features carry little signal "
                "about the label"
            )
        if model["brier"] >= baseline["brier"]:
            beats = False
            warnings.append(
                f"WARNING: the model's probabilities are no better than the prior rate: "
                f"Brier {model['brier']:.4f} vs {baseline['brier']:.4f}"
            )
        return beats, warnings
    p0 = baseline["accuracy"]
    margin = max(0.01, 2 * math.sqrt(max(p0 * (1 - p0), 1e-12) / len(y_true)))
    beats = model["accuracy"] > p0 + margin and model["macro_f1"] > baseline["macro_f1"]
    if not beats:
        warnings.append(
            f"WARNING: the model does not beat the baseline: accuracy {model['accuracy']:.3f} "
            f"vs {p0:.3f} for always answering the most frequent class (needs > "
            f"{p0 + margin:.3f}); the features carry little signal about the label"
        )
    return beats, warnings


def reference_warning(kind: str, model: dict[str, Any], reference: dict[str, Any]) -> list[str]:
    """A warning when a default HistGradientBoosting beats the chosen model on the same
    test rows (ROC-AUC for churn, accuracy for reasons) by more than a rounding error."""
    key = "roc_auc" if kind == "churn" else "accuracy"
    if reference[key] <= model[key] + 1e-3:
        return []
    return [
        f"WARNING: a default HistGradientBoosting scores {key} {reference[key]:.4f} on the "
        f"same test rows, the chosen model {model[key]:.4f}"
    ]
