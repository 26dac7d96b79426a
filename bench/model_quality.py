"""Quality floors and speed of the shipped models, through the runtime predictors.

    python -m bench.model_quality [--customers 20000] [--seed 8]

The hold-out is a different simulated world (another seed: other customers, other
events) than the one the defaults were trained on. Reasons are predicted as the IVR
would: context features plus the caller's utterance. Prints PASS/FAIL per floor.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from models.dataset import build
from models.defaults import DEFAULT_DIR
from models.simulator import SimulatorConfig, simulate
from predictors.registry import ModelRegistry

FLOORS = {"top1": 0.85, "top3": 0.95, "coverage": 0.70, "precision": 0.90, "auc": 0.85}


def roc_auc(scores: npt.NDArray[np.float64], labels: npt.NDArray[np.bool_]) -> float:
    order = np.argsort(scores)
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    positives = labels.sum()
    negatives = len(labels) - positives
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def coverage_at_precision(
    conf: npt.NDArray[np.float64], right: npt.NDArray[np.bool_], precision: float
) -> tuple[float, float, float]:
    """The lowest threshold whose covered contacts are right >= `precision` of the time."""
    best = (1.0, 0.0, 1.0)
    for threshold in np.arange(0.99, 0.0, -0.01):
        covered = conf >= threshold
        if covered.sum() == 0:
            continue
        p = right[covered].mean()
        if p >= precision:
            best = (float(threshold), float(covered.mean()), float(p))
    return best


def speed(models: ModelRegistry, rows: npt.NDArray[np.float32], n: int = 5000) -> None:
    reasons, churn = models.reasons, models.churn
    assert reasons.context is not None and churn.model is not None
    batch = rows[:n]
    t0 = time.perf_counter()
    for i in range(n):
        row = batch[i : i + 1]
        reasons.predict(row)
        churn.predict(row)
    ours = (time.perf_counter() - t0) / n * 1e6
    session: ort.InferenceSession = reasons.context.session
    name = session.get_inputs()[0].name
    t0 = time.perf_counter()
    for i in range(n):
        session.run(None, {name: batch[i : i + 1]})
    bare = (time.perf_counter() - t0) / n * 1e6
    utterance = "у меня не работает интернет с утра"
    t0 = time.perf_counter()
    for i in range(1000):
        reasons.predict(batch[i : i + 1], utterance)
    text = (time.perf_counter() - t0) / 1000 * 1e6
    print(
        f"speed: reason + churn {ours:.0f} us per call; a bare onnxruntime call on the "
        f"reason model {bare:.0f} us (ratio {ours / bare:.1f}); with an utterance "
        f"(text model too) {text:.0f} us"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    models = ModelRegistry(DEFAULT_DIR)
    if models.problems:
        print(f"models missing: {models.problems}", file=sys.stderr)
        return 1
    ex = build(simulate(SimulatorConfig(customers=args.customers, seed=args.seed)))
    truth = np.array(ex.reasons)
    top1, top3, conf = [], [], []
    for i in range(len(truth)):
        prediction = models.reasons.predict(ex.reason_x[i : i + 1], ex.texts[i])
        names = [r for r, _ in prediction.top]
        top1.append(names[0] == truth[i])
        top3.append(truth[i] in names)
        conf.append(prediction.top[0][1])
    right = np.array(top1)
    threshold, covered, precision = coverage_at_precision(np.array(conf), right, 0.90)
    scores = np.array(
        [models.churn.predict(ex.churn_x[i : i + 1]).score for i in range(len(ex.churned))],
        dtype=np.float64,
    )
    churned = np.array(ex.churned)
    auc = roc_auc(scores, churned)
    results = [
        ("reason top-1 accuracy", right.mean(), FLOORS["top1"]),
        ("reason top-3 accuracy", np.mean(top3), FLOORS["top3"]),
        (
            f"coverage at confidence >= {threshold:.2f} (precision {precision:.3f})",
            covered,
            FLOORS["coverage"],
        ),
        ("churn ROC-AUC", auc, FLOORS["auc"]),
    ]
    print(f"hold-out: {len(truth)} contacts, {len(churned)} customers (seed {args.seed})")
    failed = False
    for label, value, floor in results:
        ok = value >= floor
        failed |= not ok
        print(f"{'PASS' if ok else 'FAIL'}  {label}: {value:.3f} (floor {floor})")
    confidence = np.array(conf)
    print("reason confidence thresholds an IVR can act on:")
    for cut in (0.5, 0.7, 0.8, 0.9):
        covered_at = confidence >= cut
        print(
            f"  >= {cut:.1f}: covers {covered_at.mean():.1%} of contacts, "
            f"precision {right[covered_at].mean():.1%}"
        )
    print("churn calibration (predicted vs observed, by decile of score):")
    edges = np.quantile(scores, np.linspace(0, 1, 11))
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (scores >= lo) & (scores <= hi)
        if inside.any():
            print(
                f"  {lo:.2f}-{hi:.2f}: predicted {scores[inside].mean():.3f}, observed "
                f"{churned[inside].mean():.3f} (n={inside.sum()})"
            )
    speed(models, ex.reason_x)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
