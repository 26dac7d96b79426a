"""A trained model as the caller gets it: the ONNX bytes, the card and the fitted pipeline.

`evaluate_export` builds it. It scores the exported ONNX model, not the scikit-learn one:
the ONNX file is what ships, so its numbers are the ones the card must carry.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from models.train import export
from models.train.abstain import Abstain, abstain_metrics
from models.train.card import build_card, library_versions, model_version, outputs, write_model
from models.train.data import frame_sha256
from models.train.metrics import evaluate, prior_probabilities, reference_warning, verdict
from models.train.progress import Progress
from models.train.report import render_report
from models.train.rows import Rows


@dataclass(frozen=True)
class Source:
    """Where the data came from, for the card; without a sha256 the frames are hashed."""

    data_file: str | None = None
    test_file: str | None = None
    sha256: str | None = None
    max_rows: int | None = None


@dataclass
class TrainResult:
    name: str  # file stem: <name>.onnx, <name>.card.json, <name>.card.md
    onnx: bytes
    card: dict[str, Any]
    pipeline: Pipeline

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.card["metrics"]["model"])

    @property
    def baseline(self) -> dict[str, Any]:
        return dict(self.card["metrics"]["baseline"])

    @property
    def beats_baseline(self) -> bool:
        return bool(self.card["beats_baseline"])

    def report(self) -> str:
        return render_report(self.card)

    def save(self, out_dir: Path) -> list[Path]:
        return write_model(out_dir, self.name, self.onnx, self.card)


def evaluate_export(
    *,
    name: str,
    kind: str,
    rows: Rows,
    pipeline: Pipeline,
    onnx_bytes: bytes,
    sklearn_proba: np.ndarray,
    feed: dict[str, np.ndarray],
    source: Source,
    started: float,
    now: datetime | None,
    fields: dict[str, Any],
    progress: Progress,
    abstain: Abstain | None = None,
    unseen_feed: dict[str, np.ndarray] | None = None,
    reference_proba: np.ndarray | None = None,
) -> TrainResult:
    """Check the export against scikit-learn on the test rows, score it and the baseline,
    and write the card. `fields` are the model-specific card fields; a model that
    abstains is also scored on `unseen_feed`, the test rows whose label training lacks."""
    progress("checking the ONNX model against scikit-learn on the test rows")
    _, onnx_proba = export.run_onnx(onnx_bytes, feed)
    parity = export.check_parity(sklearn_proba, onnx_proba, name)
    warnings = list(rows.warnings)
    if parity["rows_over_tolerance"]:
        warnings.append(
            f"{parity['rows_over_tolerance']} of {parity['rows']} test rows get ONNX "
            f"probabilities more than {parity['tolerance']:.0e} away from scikit-learn's; "
            "the metrics are the ONNX model's"
        )
    classes = [str(c) for c in pipeline.classes_]
    positive = rows.labels.positive
    model = evaluate(kind, rows.y_test, onnx_proba, classes, positive)
    prior = prior_probabilities(rows.y_train, classes, len(rows.y_test))
    baseline = evaluate(kind, rows.y_test, prior, classes, positive)
    baseline.pop("calibration", None)  # one bin holding every row says nothing
    beats, verdict_warnings = verdict(kind, model, baseline, rows.y_test, positive)
    metrics: dict[str, Any] = {"model": model, "baseline": baseline}
    unseen_rows = 0 if rows.unseen is None else len(rows.unseen)
    if reference_proba is not None:
        reference = evaluate(kind, rows.y_test, reference_proba, classes, positive)
        metrics["default_hgb"] = reference
        verdict_warnings += reference_warning(kind, model, reference)
    if abstain is not None:

        def read(rows_feed: dict[str, np.ndarray]) -> np.ndarray:
            if abstain.score == export.SCORES:
                return export.run_scores(onnx_bytes, rows_feed)
            return export.run_onnx(onnx_bytes, rows_feed)[1]

        metrics["abstain"] = abstain_metrics(
            abstain, rows.y_test, read(feed), classes, read(unseen_feed) if unseen_feed else None
        )
        fields = {**fields, "abstain": abstain.to_card()}
    trained_at = (now or datetime.now(UTC)).astimezone(UTC)
    sha = source.sha256 or frame_sha256(rows.train, rows.test)
    churn = {"positive_class": positive} if kind == "churn" else {}
    card = build_card(
        name=name,
        kind=kind,
        **fields,
        **churn,
        version=model_version(trained_at, sha),
        trained_at=trained_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        training_seconds=round(time.perf_counter() - started, 2),
        data_file=source.data_file,
        test_file=source.test_file,
        data_sha256=sha,
        max_rows=source.max_rows,
        label=rows.labels.column,
        rows_train=len(rows.y_train),
        rows_test=len(rows.y_test),
        rows_test_unseen_label=unseen_rows,
        split={"method": rows.split.method, "description": rows.split.description},
        classes=classes,
        metrics=metrics,
        beats_baseline=beats,
        warnings=verdict_warnings + warnings,
        onnx_file=f"{name}.onnx",
        outputs=outputs(classes),
        opset=export.opset_imports(onnx_bytes),
        target_opset={("ai.onnx" if k == "" else k): v for k, v in export.OPSET.items()},
        onnx_parity=parity,
        libraries=library_versions(),
    )
    return TrainResult(name, onnx_bytes, card, pipeline)
