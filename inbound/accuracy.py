"""Live accuracy of the reason model, from what operators confirmed, and the model cards
beside it: does the model still do in production what its card says it did in test?"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson

from core.clock import utc_iso
from inbound.outcomes import ACTIONABLE

DAY = 86_400.0
# Scalar test metrics worth a line in the console, by model kind.
CARD_METRICS = ("accuracy", "top3_accuracy", "macro_f1", "roc_auc", "pr_auc", "brier")


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def live(examples: list[bytes], now: float, days: int = 14) -> dict[str, Any]:
    """Predicted against actual over every labelled example; a daily series for `days`."""
    total = correct = confident = confident_right = 0
    accepted = declined = 0
    by_reason: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_day: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    first_day = int(now // DAY) - days + 1
    for raw in examples:
        ex = orjson.loads(raw)
        right = ex.get("predicted") == ex["reason"]
        total += 1
        correct += right
        if ex.get("confidence", 0.0) >= ACTIONABLE:
            confident += 1
            confident_right += right
        by_reason[ex["reason"]][0] += 1
        by_reason[ex["reason"]][1] += right
        day = int(ex["ts"] // DAY)
        if day >= first_day:
            by_day[day][0] += 1
            by_day[day][1] += right
        if ex.get("offer_accepted") is True:
            accepted += 1
        elif ex.get("offer_accepted") is False:
            declined += 1
    return {
        "examples": total,
        "accuracy": _ratio(correct, total),
        "actionable": {"examples": confident, "accuracy": _ratio(confident_right, confident)},
        "by_reason": {
            reason: {"examples": n, "recall": _ratio(right, n)}
            for reason, (n, right) in sorted(by_reason.items())
        },
        "daily": [
            {
                "day": utc_iso(day * DAY)[:10],
                "examples": by_day[day][0],
                "accuracy": _ratio(by_day[day][1], by_day[day][0]),
            }
            for day in range(first_day, first_day + days)
        ],
        "offers": {"accepted": accepted, "declined": declined},
    }


def cards(model_dir: Path, status: dict[str, str]) -> list[dict[str, Any]]:
    """Each model's card in brief: what it is, when trained, on what, how well in test."""
    out = []
    for path in sorted(model_dir.glob("*.card.json")):
        try:
            card = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # the registry reports unreadable cards; the console just skips them
        name = str(card.get("name", path.name.split(".")[0]))
        metrics = card.get("metrics", {})
        out.append(
            {
                "name": name,
                "kind": card.get("kind"),
                "model_type": card.get("model_type"),
                "version": card.get("version"),
                "trained_at": card.get("trained_at"),
                "rows_train": card.get("rows_train"),
                "rows_test": card.get("rows_test"),
                "split": (card.get("split") or {}).get("description"),
                "beats_baseline": card.get("beats_baseline"),
                "running": status.get(name, "not loaded"),
                "test": {
                    side: {k: v for k, v in metrics.get(side, {}).items() if k in CARD_METRICS}
                    for side in ("model", "baseline")
                },
            }
        )
    return out
