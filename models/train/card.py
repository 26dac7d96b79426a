"""The model card: what was trained on what, how well it does against the baseline, and
the ONNX contract. Written as `<name>.card.json` beside `<name>.onnx`, with a readable
`<name>.card.md`."""

from __future__ import annotations

import json
import math
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from models.train.report import render_markdown

CARD_SCHEMA = 1


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def library_versions() -> dict[str, str]:
    return {
        p: _version(p)
        for p in ("forecall", "scikit-learn", "skl2onnx", "onnx", "onnxruntime", "numpy", "pandas")
    }


def model_version(trained_at: datetime, data_sha256: str) -> str:
    """Sortable by time and tied to the data: 20261123T101500Z-1a2b3c4d."""
    return f"{trained_at.strftime('%Y%m%dT%H%M%SZ')}-{data_sha256[:8]}"


def outputs(classes: list[str]) -> list[dict[str, Any]]:
    return [
        {"name": "label", "dtype": "string", "shape": [None]},
        {"name": "probabilities", "dtype": "float32", "shape": [None, len(classes)]},
    ]


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity; a metric that is undefined is recorded as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def build_card(**fields: Any) -> dict[str, Any]:
    """The card dict, fields in a stable reading order; unknown fields are kept at the end."""
    order = [
        "name",
        "kind",
        "model_type",
        "params",
        "calibration",
        "version",
        "trained_at",
        "training_seconds",
        "data_file",
        "test_file",
        "data_sha256",
        "max_rows",
        "label",
        "text_column",
        "positive_class",
        "rows_train",
        "rows_test",
        "rows_test_unseen_label",
        "split",
        "features",
        "ignored_columns",
        "classes",
        "metrics",
        "abstain",
        "beats_baseline",
        "warnings",
        "selection",
        "onnx_file",
        "inputs",
        "outputs",
        "opset",
        "text_locale",
        "onnx_parity",
        "libraries",
    ]
    card: dict[str, Any] = {"card_schema": CARD_SCHEMA}
    for key in order:
        if key in fields:
            card[key] = fields[key]
    for key, value in fields.items():
        card.setdefault(key, value)
    result: dict[str, Any] = _finite(card)
    return result


def write_model(out_dir: Path, name: str, onnx_bytes: bytes, card: dict[str, Any]) -> list[Path]:
    """Write the model, its card and its summary; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.onnx", out_dir / f"{name}.card.json", out_dir / f"{name}.card.md"]
    contents = [
        onnx_bytes,
        (json.dumps(card, indent=2, ensure_ascii=False) + "\n").encode(),
        render_markdown(card).encode(),
    ]
    for path, content in zip(paths, contents, strict=True):
        # Write beside the target and rename, so a crash never leaves half a model behind.
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(content)
        partial.replace(path)
    return paths
