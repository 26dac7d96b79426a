"""Hold out rows for testing: by time when the table has a timestamp (the model will meet
the future, not a shuffled past), stratified by label otherwise."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from models.train.errors import TrainingError

TEST_SHARE = 0.2


@dataclass(frozen=True)
class Split:
    train: np.ndarray  # row positions
    test: np.ndarray
    method: str  # "stratified", "random", "time", or "given"
    description: str


def split_rows(
    labels: pd.Series,
    times: pd.Series | None = None,
    *,
    test_share: float = TEST_SHARE,
    seed: int = 0,
) -> Split:
    """Positions of the train and test rows. Rows without a timestamp go to train, so the
    test set is strictly the latest stretch."""
    n = len(labels)
    test_rows = int(round(n * test_share))
    if test_rows < 1 or n - test_rows < 2:
        raise TrainingError(f"{n} labelled rows are too few to hold out a test set")
    positions = np.arange(n)
    if times is not None and times.notna().sum() > test_rows:
        stamps = times.to_numpy()
        known = positions[times.notna().to_numpy()]
        ordered = known[np.argsort(stamps[known], kind="stable")]
        test = np.sort(ordered[-test_rows:])
        train = np.setdiff1d(positions, test)
        cut = times.iloc[test].min()
        return Split(
            train,
            test,
            "time",
            f"time-aware: test is the latest {test_share:.0%} of rows by {times.name} (from {cut})",
        )
    counts = labels.value_counts()
    stratify = labels if counts.min() >= 2 and test_rows >= len(counts) else None
    train, test = train_test_split(
        positions, test_size=test_rows, random_state=seed, shuffle=True, stratify=stratify
    )
    method = "stratified" if stratify is not None else "random"
    why = "" if stratify is not None else " (a class has fewer than 2 rows, so not stratified)"
    return Split(
        np.sort(train),
        np.sort(test),
        method,
        f"{method}: {test_share:.0%} of rows held out, seed {seed}{why}",
    )
