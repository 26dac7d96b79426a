"""Build the default models that ship in `models/default/`, from the simulator.

    python -m models.defaults [--customers 20000] [--seed 7] [--out models/default]

Reproducible: the simulator is seeded and its world ends at a fixed date. Writes
`reasons` (context), `reasons_text` (utterance) and `churn`, each as .onnx with its
card (.card.json, .card.md). The reason cards carry the training class prior, which the
runtime needs to combine context and text (a product of experts divides by it once).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from models.dataset import build
from models.simulator import SimulatorConfig, simulate
from models.train import TrainResult, train_tabular, train_text
from predictors.features import FEATURES

DEFAULT_DIR = Path(__file__).resolve().parent / "default"


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def with_prior(result: TrainResult, labels: list[str]) -> TrainResult:
    counts = Counter(labels)
    result.card["class_prior"] = {c: round(n / len(labels), 6) for c, n in counts.items()}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)

    say(f"simulating {args.customers} customers (seed {args.seed})")
    world = simulate(SimulatorConfig(customers=args.customers, seed=args.seed))
    ex = build(world)
    stamp = [datetime.fromtimestamp(t, UTC).isoformat() for t in ex.ts]
    reasons = pd.DataFrame(ex.reason_x, columns=list(FEATURES))
    reasons["reason"], reasons["ts"] = ex.reasons, stamp
    texts = pd.DataFrame({"utterance": ex.texts, "reason": ex.reasons, "ts": stamp})
    churn = pd.DataFrame(ex.churn_x, columns=list(FEATURES))
    churn["churned"] = [int(c) for c in ex.churned]

    fixed = datetime(2026, 11, 1, tzinfo=UTC)  # the cards' training time: reproducible
    results = [
        with_prior(
            train_tabular(
                reasons,
                kind="reasons",
                label="reason",
                name="reasons",
                seed=args.seed,
                progress=say,
                now=fixed,
            ),
            ex.reasons,
        ),
        with_prior(
            train_text(
                texts,
                kind="reasons",
                label="reason",
                text="utterance",
                name="reasons_text",
                seed=args.seed,
                progress=say,
                now=fixed,
            ),
            ex.reasons,
        ),
        train_tabular(
            churn,
            kind="churn",
            label="churned",
            name="churn",
            seed=args.seed,
            progress=say,
            now=fixed,
        ),
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    for result in results:
        result.save(args.out)
        say(result.report())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
