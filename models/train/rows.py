"""Which rows train and which test: labels read and cleaned, then a held-out split of the
data or the given test table."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.train.columns import ColumnPlan, time_order
from models.train.errors import TrainingError
from models.train.labels import Labels, read_labels
from models.train.split import Split, split_rows

KINDS = ("reasons", "churn")


@dataclass
class Rows:
    train: pd.DataFrame
    test: pd.DataFrame
    labels: Labels  # of the training table; carries classes and the positive class
    y_train: np.ndarray
    y_test: np.ndarray
    split: Split
    warnings: list[str] = field(default_factory=list)
    # Test rows whose label the training rows lack: no class could be right for them, so
    # they stay out of the metrics, are counted in the card, and test the abstain.
    unseen: pd.DataFrame | None = None


def split_table(
    data: pd.DataFrame,
    test: pd.DataFrame | None,
    *,
    kind: str,
    label: str,
    plan: ColumnPlan,
    seed: int,
    data_name: str | None,
    test_name: str | None,
) -> Rows:
    """Train and test rows with their string labels; rows without a label are dropped
    and so are test rows whose label the training rows never show."""
    if kind not in KINDS:
        raise TrainingError(f"unknown model kind {kind!r}; use one of {', '.join(KINDS)}")
    labels = read_labels(data, label, kind, data_name or "the training table")
    data = data.loc[labels.kept].reset_index(drop=True)
    warnings = list(labels.warnings)
    unseen: pd.DataFrame | None = None
    if test is None:
        split = split_rows(pd.Series(labels.values), time_order(data, plan), seed=seed)
        train, held = data.iloc[split.train], data.iloc[split.test]
        y_train, y_test = labels.values[split.train], labels.values[split.test]
    else:
        where = test_name or "the test table"
        test_labels = read_labels(test, label, kind, where, classes=labels.classes)
        warnings += test_labels.warnings
        train, held = data, test.loc[test_labels.kept]
        assert test_labels.unseen is not None
        unseen = test.loc[test_labels.unseen].reset_index(drop=True)
        y_train, y_test = labels.values, test_labels.values
        if len(y_test) == 0:
            raise TrainingError(f"{where}: no row has a label the training data knows")
        split = Split(
            np.arange(len(train)),
            np.arange(len(held)),
            "given",
            f"given test file {test_name or '(in memory)'}",
        )
    if len(np.unique(y_train)) < 2:
        raise TrainingError(f"the training rows have a single {label!r} value; need two")
    absent = [c for c in labels.classes if c not in set(y_train)]
    if absent:
        warnings.append(f"WARNING: classes absent from the training rows: {absent}")
    return Rows(
        train.reset_index(drop=True),
        held.reset_index(drop=True),
        labels,
        y_train,
        y_test,
        split,
        warnings,
        unseen,
    )
