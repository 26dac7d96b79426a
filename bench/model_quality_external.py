"""Model quality on two public data sets, through the same Python API as `forecall train`
and with no code written for either data set.

    python -m bench.model_quality_external [--data-dir ../shared/data] [--out DIR]

- Telco customer churn: `churn`, label `Churn`, a stratified 20% hold-out; floor ROC-AUC 0.84.
- Banking77 intents: `reasons`, text column `text`, label `category`, trained on train.csv
  and scored on test.csv; floor accuracy 0.90.

Prints every metric beside the baseline's, then PASS/FAIL per floor; exits 1 on any FAIL.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from models.train import TrainResult, train_files
from models.train.progress import stderr_progress

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"


@dataclass(frozen=True)
class Floor:
    name: str
    metric: str
    minimum: float


def _run(title: str, results: list[TrainResult], seconds: float, floor: Floor) -> bool:
    print(f"== {title} ({seconds:.1f} s to train, evaluate and export)")
    for result in results:
        print(result.report())
    scored = next(r for r in results if r.name == floor.name)
    value = float(scored.metrics[floor.metric])
    passed = value >= floor.minimum
    print(
        f"{'PASS' if passed else 'FAIL'}: {floor.name} {floor.metric} = {value:.4f} "
        f"(floor {floor.minimum:.2f}, baseline {scored.baseline[floor.metric]:.4f}, "
        f"ONNX max |p - p_sklearn| = {scored.card['onnx_parity']['max_abs_diff']:.1e}, "
        f"{len(scored.onnx) / 1e6:.1f} MB)\n"
    )
    return passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, help="also write the models and cards here")
    args = parser.parse_args(argv)
    data: Path = args.data_dir
    progress = stderr_progress()
    ok = True

    started = time.perf_counter()
    churn = train_files(
        "churn", data / "telco_churn" / "Telco-Customer-Churn.csv", "Churn", progress=progress
    )
    ok &= _run("Telco churn", churn, time.perf_counter() - started, Floor("churn", "roc_auc", 0.84))

    started = time.perf_counter()
    intents = train_files(
        "reasons",
        data / "banking77" / "train.csv",
        "category",
        text="text",
        test_path=data / "banking77" / "test.csv",
        progress=progress,
    )
    ok &= _run(
        "Banking77", intents, time.perf_counter() - started, Floor("reasons_text", "accuracy", 0.90)
    )

    if args.out is not None:
        for result in churn + intents:
            result.save(args.out)
        print(f"models and cards in {args.out}")
    print("ALL PASS" if ok else "SOME FLOORS FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
