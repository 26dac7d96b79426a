"""The abstain of a reason text model: "none of these" when the caller says something no
class covers, so the service asks instead of asserting a wrong reason.

Learned one of two ways:

- **label**: the data has an explicit out-of-scope class (`out_of_scope`, `oos`,
  `none_of_these`, `no_intent`, `unknown`, any case); the model learns it like any class
  and predicting it is the abstain.
- **threshold**: otherwise the model abstains when its top score (each class's calibrated
  score before normalisation, the graph's `scores` output) is below a threshold chosen on
  a validation split of the training rows (never the test rows): the highest one that
  costs at most `IN_SCOPE_BUDGET` of validation accuracy, since with no out-of-scope
  examples to aim at, what an abstain may cost the classes is the thing to fix.

The card's `abstain` says which, and the runtime (`predictors/reason.py`) applies it.
Test rows whose label the training data lacks are the out-of-scope rows the card's
`metrics.abstain` scores: their recall (share abstained), beside in-scope accuracy where
an abstain on an in-scope row counts as a miss.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

OUT_OF_SCOPE_NAMES = frozenset({"out_of_scope", "oos", "none_of_these", "no_intent", "unknown"})
IN_SCOPE_BUDGET = 0.02  # validation accuracy the threshold may cost (the issue allows 2 points)


@dataclass(frozen=True)
class Abstain:
    method: str  # "label" or "threshold"
    label: str | None = None
    threshold: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)
    # What the threshold reads: the graph's `scores` output (each class's calibrated score
    # before normalisation; multi-class models) or its `probabilities` (two classes).
    score: str = "probabilities"

    def to_card(self) -> dict[str, Any]:
        if self.method == "label":
            return {"method": "label", "label": self.label, **self.detail}
        rule = {"method": "threshold", "score": self.score, "threshold": self.threshold}
        return {**rule, **self.detail}

    def mask(self, proba: np.ndarray, classes: list[str]) -> np.ndarray:
        """Which rows the model abstains on; `proba` is the output the rule reads."""
        if self.method == "label":
            hits: np.ndarray = np.asarray(classes)[np.argmax(proba, axis=1)] == self.label
            return hits
        low: np.ndarray = np.max(proba, axis=1) < self.threshold
        return low


def out_of_scope_label(classes: list[str]) -> str | None:
    for c in classes:
        if c.strip().lower() in OUT_OF_SCOPE_NAMES:
            return c
    return None


def choose_threshold(
    proba: np.ndarray,
    labels: np.ndarray,
    classes: list[str],
    budget: float = IN_SCOPE_BUDGET,
    score: str = "probabilities",
) -> Abstain:
    """The highest threshold on the top score under which the right answers lost are at
    most `budget` of the validation rows. Wrong answers abstained on cost nothing: an
    abstain instead of a wrong reason is what it is for. `proba` holds the per-class
    values named by `score`; their arg-max is the prediction either way."""
    top = np.max(proba, axis=1)
    right = np.asarray(classes)[np.argmax(proba, axis=1)] == labels
    confident_right = np.sort(top[right])
    allowed = int(np.floor(budget * len(labels)))
    if len(confident_right) == 0:
        threshold = 0.0
    else:
        threshold = float(confident_right[min(allowed, len(confident_right) - 1)])
    abstained = top < threshold
    return Abstain(
        "threshold",
        score=score,
        threshold=round(threshold, 6),
        detail={
            "chosen_on": f"validation split of the training rows ({len(labels)} rows)",
            "in_scope_budget": budget,
            "validation_accuracy": float(np.mean(right)),
            "validation_in_scope_accuracy": float(np.mean(right & ~abstained)),
            "validation_abstained": float(np.mean(abstained)),
        },
    )


def abstain_metrics(
    abstain: Abstain,
    y_test: np.ndarray,
    proba: np.ndarray,
    classes: list[str],
    unseen_proba: np.ndarray | None,
) -> dict[str, Any]:
    """In-scope accuracy with and without the abstain, and out-of-scope recall: the test
    rows of the explicit out-of-scope class and those whose label training never saw."""
    predicted = np.asarray(classes)[np.argmax(proba, axis=1)]
    abstained = abstain.mask(proba, classes)
    in_scope = y_test != abstain.label if abstain.method == "label" else np.ones(len(y_test), bool)
    oos_hits = list(abstained[~in_scope])
    if unseen_proba is not None and len(unseen_proba):
        oos_hits += list(abstain.mask(unseen_proba, classes))
    right = (predicted == y_test) & in_scope
    scope = max(int(in_scope.sum()), 1)
    return {
        "in_scope_rows": int(in_scope.sum()),
        "in_scope_accuracy_without_abstain": float(right.sum() / scope),
        "in_scope_accuracy": float((right & ~abstained).sum() / scope),
        "in_scope_abstained": float((abstained & in_scope).sum() / scope),
        "out_of_scope_rows": len(oos_hits),
        "out_of_scope_recall": float(np.mean(oos_hits)) if oos_hits else None,
    }
