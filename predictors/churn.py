"""How likely is the customer to leave, and why, in plain words."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from predictors.features import CAP_DAYS, INDEX, TRUSTED, Evidence
from predictors.onnx_model import OnnxModel

BANDS = (0.3, 0.6)  # below: low; between: medium; above: high
INACTIVE_DAYS = {"b2c": 14, "b2b": 30}


@dataclass(frozen=True, slots=True)
class ChurnPrediction:
    score: float
    band: str
    reasons: list[str]  # in the reader's language
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

    def predict(
        self, row: npt.NDArray[np.float32], evidence: Evidence = TRUSTED, locale: str = "ru"
    ) -> ChurnPrediction:
        """`evidence` says which histories the profile holds (none for an unknown caller):
        the reasons speak of those only; the score reads the row as the model was trained."""
        v = row[0]
        signals = explain(v, evidence, locale)
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


_TEXTS = {
    "ru": {
        "inactive": "нет входов в кабинет и приложение уже {days:.0f} дн. (порог {threshold})",
        "inactive_long": (
            "нет входов в кабинет и приложение больше {days:.0f} дн. (порог {threshold})"
        ),
        "purchases": "покупок на {drop:.0%} меньше, чем в предыдущие 30 дней",
        "opens": "открывает меньше сообщений: было {before:.0%}, стало {after:.0%}",
        "unresolved": "прошлое обращение не решено",
        "contacts": "обращений за 30 дней: {n:.0f}",
        "cancel": "в прошлый раз спрашивал(а) о расторжении договора",
        "failed": "не прошедших платежей за 30 дней: {n:.0f}",
    },
    "en": {
        "inactive": "no logins or app use for {days:.0f} days (threshold {threshold})",
        "inactive_long": "no logins or app use for over {days:.0f} days (threshold {threshold})",
        "purchases": "purchases down {drop:.0%} against the previous 30 days",
        "opens": "message opens fell from {before:.0%} to {after:.0%}",
        "unresolved": "the last contact was not resolved",
        "contacts": "{n:.0f} contacts in 30 days",
        "cancel": "asked about ending the contract last time",
        "failed": "{n:.0f} failed payments in 30 days",
    },
}


def explain(
    v: npt.NDArray[np.float32], evidence: Evidence = TRUSTED, locale: str = "ru"
) -> list[str]:
    """The signals practice knows, each with its number and its threshold, in the reader's
    language. Only what the profile holds: a history never recorded is no data, not a long
    absence (a customer created a minute ago has not been away for 180 days)."""
    texts = _TEXTS["en" if locale == "en" else "ru"]
    reasons = []
    threshold = INACTIVE_DAYS["b2b" if v[INDEX["segment_b2b"]] else "b2c"]
    inactive = float(v[INDEX["days_inactive"]])
    if evidence.activity and inactive > threshold:
        key = "inactive_long" if inactive >= CAP_DAYS else "inactive"
        reasons.append(texts[key].format(days=inactive, threshold=threshold))
    change = float(v[INDEX["orders_change_30d"]])
    if change <= -0.3 and v[INDEX["orders_prev_30d"]] >= 2:
        reasons.append(texts["purchases"].format(drop=-change))
    drop = float(v[INDEX["open_rate_change"]])
    if evidence.messages and drop <= -0.15:
        before = float(v[INDEX["open_rate_prev_30d"]])
        reasons.append(texts["opens"].format(before=before, after=before + drop))
    if v[INDEX["last_contact_unresolved"]]:
        reasons.append(texts["unresolved"])
    if v[INDEX["contacts_30d"]] >= 3:
        reasons.append(texts["contacts"].format(n=v[INDEX["contacts_30d"]]))
    if v[INDEX["last_reason_cancel_intent"]]:
        reasons.append(texts["cancel"])
    if v[INDEX["payments_failed_30d"]] >= 2:
        reasons.append(texts["failed"].format(n=v[INDEX["payments_failed_30d"]]))
    return reasons
