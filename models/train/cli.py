"""`forecall train reasons|churn --data FILE --label COLUMN [--text COLUMN] [--test FILE]`.

Progress goes to stderr, the metrics report to stdout. Exit codes: 0 trained (even when
the model does not beat the baseline: the report and the card say so), 1 the export
failed its check against scikit-learn, 2 bad arguments or data.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from models.train.progress import stderr_progress

DEFAULT_OUT = Path("models/trained")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="forecall train",
        description="Train a reasons (multi-class) or churn (binary) model from a CSV or "
        "Parquet table, export it to ONNX and write a model card.",
    )
    parser.add_argument("kind", choices=["reasons", "churn"])
    parser.add_argument("--data", type=Path, required=True, help="CSV, TSV or Parquet table")
    parser.add_argument("--label", required=True, help="the column to predict")
    parser.add_argument("--text", help="an utterance column: also train a text model on it")
    parser.add_argument("--test", type=Path, help="a test table (default: hold out 20%%)")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default: ./{DEFAULT_OUT})"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-rows", type=int, help="train on a random sample of N rows")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits; callers of main() want a code
        return int(exc.code or 0)
    if args.max_rows is not None and args.max_rows < 10:
        print("forecall train: --max-rows must be at least 10", file=sys.stderr)
        return 2
    try:
        from models.train.errors import ExportError, TrainingError
        from models.train.trainer import train_files
    except ImportError as exc:
        print(
            f"forecall train: {exc}; install the training extra: pip install 'forecall[train]'",
            file=sys.stderr,
        )
        return 2
    try:
        results = train_files(
            args.kind,
            args.data,
            args.label,
            text=args.text,
            test_path=args.test,
            seed=args.seed,
            max_rows=args.max_rows,
            progress=stderr_progress(),
        )
        for result in results:
            written = result.save(args.out)
            print(result.report())
            print("wrote " + ", ".join(str(p) for p in written) + "\n")
    except TrainingError as exc:
        print(f"forecall train: error: {exc}", file=sys.stderr)
        return 2
    except ExportError as exc:
        print(f"forecall train: export failed: {exc}", file=sys.stderr)
        return 1
    return 0
