"""Why is the customer calling? Top-k reasons with probabilities.

The context model reads the profile's feature vector; when an utterance is given (the
first chat message, an IVR transcript) the text model refines it, as a product of
experts: p(reason | context, text) ∝ p(reason | context) · p(reason | text) / p(reason).
Without a context model, transparent rules stand in, and say so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from core.events import CONTACT_REASONS
from predictors.features import INDEX
from predictors.onnx_model import ModelError, OnnxModel

UNKNOWN = "unknown"  # the reason when the text model abstains: "none of these"


@dataclass(frozen=True, slots=True)
class ReasonPrediction:
    top: list[tuple[str, float]]
    source: str  # model | model+text | text | rules
    # The caller said something none of the classes covers (the text model's card
    # `abstain`): the service asks for the reason instead of asserting one.
    abstained: bool = False

    @property
    def best(self) -> tuple[str, float]:
        """The most likely class, whether or not the model abstained."""
        return self.top[0]

    @property
    def reason(self) -> tuple[str, float]:
        """The reason to act on: (UNKNOWN, 0.0) after an abstain, else the best class."""
        return (UNKNOWN, 0.0) if self.abstained else self.top[0]


class ReasonPredictor:
    def __init__(self, context: OnnxModel | None, text: OnnxModel | None = None) -> None:
        self.context = context
        self.text = text
        self.classes = list(context.classes if context else CONTACT_REASONS)
        self._take = _columns(context) if context else None
        self._text_order = (
            np.array([text.classes.index(c) if c in text.classes else -1 for c in self.classes])
            if text
            else None
        )
        self._abstain = _abstain_rule(text) if text else None
        prior = (context.card.get("class_prior") if context else None) or {}
        self._prior = np.array(
            [float(prior.get(c, 1.0 / len(self.classes))) for c in self.classes], np.float32
        )

    def predict(
        self, row: npt.NDArray[np.float32], utterance: str | None = None, k: int = 3
    ) -> ReasonPrediction:
        if self.context is not None:
            inputs = row if self._take is None else row[:, self._take]
            p = self.context.probabilities(inputs)[0]
            source = "model"
        else:
            p = rules(row[0], self.classes)
            source = "rules"
        abstained = False
        if utterance and self.text is not None and self._text_order is not None:
            text_p, text_s = self.text.probabilities_and_scores(
                np.array([[utterance]], dtype=object)
            )
            t = text_p[0]
            aligned = np.where(self._text_order >= 0, t[self._text_order], 1e-6)
            p = p * aligned / np.maximum(self._prior, 1e-6)
            source += "+text"
            if self._abstain is not None:
                abstained = self._abstain(t, None if text_s is None else text_s[0])
        total = float(p.sum())
        p = p / total if total > 0 else np.full(len(p), 1.0 / len(p), np.float32)
        order = np.argsort(-p)[:k]
        top = [(self.classes[i], round(float(p[i]), 4)) for i in order]
        return ReasonPrediction(top, source, abstained)


Abstain = Callable[[npt.NDArray[np.float32], npt.NDArray[np.float32] | None], bool]


def _abstain_rule(model: OnnxModel) -> Abstain | None:
    """When the text model says "none of these", from its card's `abstain`: its top score
    (the graph's `scores`, or its probabilities) under the threshold chosen in training,
    or its out-of-scope class on top."""
    rule = model.card.get("abstain") or {}
    if rule.get("method") == "threshold":
        threshold = float(rule["threshold"])
        if rule.get("score") == "scores":
            if model.scores_name is None:
                raise ModelError(f"{model.path.name}: the card's abstain reads `scores`")
            return lambda p, s: bool(s is not None and s.max() < threshold)
        return lambda p, s: bool(p.max() < threshold)
    if rule.get("method") == "label" and rule.get("label") in model.classes:
        at = model.classes.index(rule["label"])
        return lambda p, s: int(np.argmax(p)) == at
    return None


def _columns(model: OnnxModel) -> npt.NDArray[np.intp] | None:
    """Positions of the model's features in our vector; None when they are all, in order."""
    names = [f["name"] if isinstance(f, dict) else str(f) for f in model.card.get("features", [])]
    if not names:
        return None
    take = np.array([INDEX[n] for n in names], dtype=np.intp)
    return None if np.array_equal(take, np.arange(len(INDEX))) else take


_RULES: tuple[tuple[str, str, float, float], ...] = (
    # (feature, reason, threshold it must exceed, weight)
    ("affected_by_outage", "outage", 0.5, 6.0),
    ("payments_failed_7d", "payment_failed", 0.5, 4.0),
    ("order_delayed", "order_delayed", 0.5, 4.0),
    ("application_open", "application_stuck", 0.5, 2.0),
    ("cart_abandoned", "cart_help", 0.5, 2.0),
    ("deposit_maturing_30d", "deposit_question", 0.5, 2.0),
    ("last_contact_unresolved", "technical_problem", 0.5, 1.0),
    ("last_reason_cancel_intent", "cancel_intent", 0.5, 2.0),
)


def rules(v: npt.NDArray[np.float32], classes: list[str]) -> npt.NDArray[np.float32]:
    """The fallback: each planted signal lends its reason weight; "other" holds the rest."""
    score = np.ones(len(classes), dtype=np.float32)
    at = {c: i for i, c in enumerate(classes)}
    for feature, reason, threshold, weight in _RULES:
        if v[INDEX[feature]] > threshold and reason in at:
            score[at[reason]] += weight
    if "other" in at:
        score[at["other"]] += 1.0
    out: npt.NDArray[np.float32] = score / score.sum()
    return out


def describe(prediction: ReasonPrediction) -> dict[str, Any]:
    return {
        "top": [{"reason": r, "confidence": p} for r, p in prediction.top],
        "source": prediction.source,
        "abstained": prediction.abstained,
    }
