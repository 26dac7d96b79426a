"""The abstain ("none of these") of a reason text model, measured on Banking77 with ten
categories held out as out of scope.

    python -m bench.abstain_banking77 [--data-dir ../shared/data] [--seed 0] [--held-out 10]

Ten of the 77 categories (a seeded random draw, printed) are removed from train.csv; the
text model is trained on the rest through `train_text`, exactly as `forecall train
reasons --text text` would, and scored on the whole of test.csv. The test rows of the
held-out categories have labels the training data lacks: they are the out-of-scope rows.
The card's `metrics.abstain` gives, from the same model in the same run:

- in-scope accuracy without abstain (the model as it was) and with it (an abstain on an
  in-scope row counts as a miss);
- out-of-scope recall: the share of out-of-scope rows the model abstains on.

Floors (issue 17): out-of-scope recall >= 0.6 with in-scope accuracy within 2 points of
the model without abstain. Prints PASS/FAIL per floor; exits 1 on any FAIL.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from models.train import train_text
from models.train.progress import stderr_progress

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
RECALL_FLOOR = 0.6
ACCURACY_DROP = 0.02


def held_out(categories: list[str], count: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return sorted(str(c) for c in rng.choice(sorted(categories), count, replace=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--held-out", type=int, default=10)
    args = parser.parse_args(argv)
    folder: Path = args.data_dir / "banking77"
    train = pd.read_csv(folder / "train.csv", dtype=str)
    test = pd.read_csv(folder / "test.csv", dtype=str)
    outside = held_out(train["category"].unique().tolist(), args.held_out, args.seed)
    print(f"held out as out of scope ({len(outside)}): {', '.join(outside)}")
    in_scope = train[~train["category"].isin(outside)].reset_index(drop=True)

    started = time.perf_counter()
    result = train_text(
        in_scope,
        kind="reasons",
        label="category",
        text="text",
        test=test,
        seed=args.seed,
        progress=stderr_progress(),
    )
    seconds = time.perf_counter() - started
    print(result.report())
    scored = result.card["metrics"]["abstain"]
    rule = result.card["abstain"]
    without, with_ = scored["in_scope_accuracy_without_abstain"], scored["in_scope_accuracy"]
    recall = scored["out_of_scope_recall"] or 0.0
    print(
        f"trained on {result.card['rows_train']} rows of {77 - len(outside)} categories in "
        f"{seconds:.0f} s; tested on {scored['in_scope_rows']} in-scope and "
        f"{scored['out_of_scope_rows']} out-of-scope rows; abstain: {rule}"
    )
    checks = [
        (
            f"out-of-scope recall {recall:.4f}",
            recall >= RECALL_FLOOR,
            f"floor {RECALL_FLOOR:.2f}",
        ),
        (
            f"in-scope accuracy {with_:.4f} with abstain, {without:.4f} without "
            f"(drop {without - with_:.4f})",
            without - with_ <= ACCURACY_DROP,
            f"drop at most {ACCURACY_DROP:.2f}",
        ),
    ]
    ok = True
    for what, passed, floor in checks:
        print(f"{'PASS' if passed else 'FAIL'}: {what} ({floor})")
        ok = ok and passed
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
