"""How likely is the customer to leave, and why, in plain words."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from predictors.features import INDEX
from predictors.onnx_model import OnnxModel

BANDS = (0.3, 0.6)  # below: low; between: medium; above: high
INACTIVE_DAYS = {"b2c": 14, "b2b": 30}


@dataclass(frozen=True, slots=True)
class ChurnPrediction:
    score: float
    band: str
    reasons: list[str]
    source: str  # model | rules


class ChurnPredictor:
    def __init__(self, model: OnnxModel | None, bands: tuple[float, float] = BANDS) -> None:
        self.model = model
        self.bands = bands
        self._positive = _positive_column(model) if model else 1
        names = (
            [f["name"] if isinstance(f, dict) else str(f) for f in model.card.get("features", [])]
            if model
            else []
        )
        self._take = np.array([INDEX[n] for n in names], np.intp) if names else None
        if self._take is not None and np.array_equal(self._take, np.arange(len(INDEX))):
            self._take = None

    def predict(self, row: npt.NDArray[np.float32]) -> ChurnPrediction:
        v = row[0]
        signals = explain(v)
        if self.model is not None:
            inputs = row if self._take is None else row[:, self._take]
            score = float(self.model.probabilities(inputs)[0][self._positive])
            source = "model"
        else:
            score = min(0.95, 0.05 + 0.2 * len(signals))
            source = "rules"
        low, high = self.bands
        band = "high" if score >= high else "medium" if score >= low else "low"
        return ChurnPrediction(round(score, 4), band, signals, source)


def _positive_column(model: OnnxModel) -> int:
    for label in ("1", "True", "true", "Yes", "yes", "churned"):
        if label in model.classes:
            return model.classes.index(label)
    return len(model.classes) - 1


def explain(v: npt.NDArray[np.float32]) -> list[str]:
    """The signals practice knows, each with its number and its threshold."""
    reasons = []
    threshold = INACTIVE_DAYS["b2b" if v[INDEX["segment_b2b"]] else "b2c"]
    inactive = float(v[INDEX["days_inactive"]])
    if inactive > threshold:
        reasons.append(f"no logins for {inactive:.0f} days, threshold {threshold}")
    change = float(v[INDEX["orders_change_30d"]])
    if change <= -0.3 and v[INDEX["orders_prev_30d"]] >= 2:
        reasons.append(f"purchases down {-change:.0%} against the previous 30 days")
    drop = float(v[INDEX["open_rate_change"]])
    if drop <= -0.15:
        before = float(v[INDEX["open_rate_prev_30d"]])
        reasons.append(f"message opens fell from {before:.0%} to {before + drop:.0%} of messages")
    if v[INDEX["last_contact_unresolved"]]:
        reasons.append("the last contact was not resolved")
    if v[INDEX["contacts_30d"]] >= 3:
        reasons.append(f"{v[INDEX['contacts_30d']]:.0f} contacts in 30 days")
    if v[INDEX["last_reason_cancel_intent"]]:
        reasons.append("asked about cancelling last time")
    if v[INDEX["payments_failed_30d"]] >= 2:
        reasons.append(f"{v[INDEX['payments_failed_30d']]:.0f} failed payments in 30 days")
    return reasons
