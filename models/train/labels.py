"""Read the label column: labels become strings (the ONNX `label` output is a string
tensor), unlabelled rows are dropped, and churn gets its positive class."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.train.errors import TrainingError, no_such_column

POSITIVE_NAMES = ("yes", "y", "true", "t", "1", "churn", "churned", "left", "да")
SHOWN_VALUES = 8


@dataclass(frozen=True)
class Labels:
    column: str
    values: np.ndarray  # str labels of the kept rows
    kept: np.ndarray  # bool mask over the input rows
    classes: list[str]
    positive: str | None  # churn only: the class whose probability is the churn risk
    warnings: list[str] = field(default_factory=list)
    unseen: np.ndarray | None = None  # with `classes`: rows labelled with a class outside them


def _as_strings(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series):
        return series.map({True: "true", False: "false"}).astype("string")
    if pd.api.types.is_float_dtype(series):
        present = series.dropna()
        if bool(np.all(np.mod(present.to_numpy(), 1) == 0)):
            series = series.astype("Int64")
    text = series.astype("string").str.strip()
    return text.mask(text == "")


def _positive(classes: list[str]) -> str | None:
    for name in POSITIVE_NAMES:
        for c in classes:
            if c.lower() == name:
                return c
    return None


def read_labels(
    frame: pd.DataFrame,
    column: str,
    kind: str,
    where: str,
    classes: list[str] | None = None,
) -> Labels:
    """Labels of `frame`; with `classes` (the training classes) rows with any other label
    are dropped, as no model could predict them."""
    if column not in frame.columns:
        raise no_such_column(where, column, "the --label", [str(c) for c in frame.columns])
    text = _as_strings(frame[column])
    kept = text.notna().to_numpy()
    warnings: list[str] = []
    if not kept.all():
        warnings.append(f"{where}: dropped {int((~kept).sum())} rows with no {column!r} label")
    if classes is not None:
        known = text.isin(classes).to_numpy() & kept
        unseen = kept & ~known
        unknown = sorted(set(text[unseen].tolist()))
        if unknown:
            warnings.append(
                f"{where}: {int(unseen.sum())} rows have a label the training data lacks "
                f"({len(unknown)} labels: {unknown[:SHOWN_VALUES]}); they are left out of the "
                "accuracy and, for a model that abstains, scored as out of scope"
            )
        values = text[known].to_numpy(dtype=object).astype(str)
        chosen = _positive(classes) if kind == "churn" else None
        return Labels(column, values, known, classes, chosen, warnings, unseen)
    values = text[kept].to_numpy(dtype=object).astype(str)
    counts = pd.Series(values).value_counts()
    found = sorted(counts.index.tolist())
    shown = ", ".join(map(repr, found[:SHOWN_VALUES])) + (
        ", …" if len(found) > SHOWN_VALUES else ""
    )
    if len(found) < 2:
        raise TrainingError(
            f"{where}: label column {column!r} has {len(found)} distinct "
            f"value(s) ({shown}); a model needs at least two classes"
        )
    positive: str | None = None
    if kind == "churn":
        if len(found) != 2:
            raise TrainingError(
                f"{where}: churn needs a two-valued label, but {column!r} has {len(found)} "
                f"values ({shown}); train `reasons` for a multi-class label"
            )
        # Without a telling name the rarer class is the event being predicted.
        positive = _positive(found) or str(counts.index[-1])
    return Labels(column, values, kept, found, positive, warnings)
