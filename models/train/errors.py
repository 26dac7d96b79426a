"""The two ways training fails: bad input (the user can fix it) and a bad export (we must)."""

from __future__ import annotations

import difflib


class TrainingError(ValueError):
    """The data or the arguments cannot be trained on; the message names the file or column
    and says how to fix it. The CLI maps it to exit code 2."""


class ExportError(RuntimeError):
    """The ONNX model disagrees with the trained scikit-learn model, so it must not ship."""


def no_such_column(where: str, column: str, role: str, columns: list[str]) -> TrainingError:
    """The error for a column the table lacks: what it was for, a likely spelling, and the
    columns there are."""
    close = difflib.get_close_matches(column, columns, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else "."
    have = ", ".join(columns[:30]) + (", …" if len(columns) > 30 else "")
    return TrainingError(f"{where}: no column {column!r} ({role}){hint} The columns are: {have}")
