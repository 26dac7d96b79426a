"""Turn values into an ONNX model's inputs, the way its card says the trainer fed them.

Every model `forecall train` makes is one of three shapes (docs/models.md, "ONNX
contract"): one float matrix `features` (columns in `inputs[0].columns` order), one input
per feature (float32 or string [None, 1], the card's `inputs[].column` naming the feature),
or one string input `text`. `Feed` knows which from the card and builds the feed either
from a float matrix (the service's feature vector) or from rows of raw values keyed by the
training table's column names, encoded as the trainer encoded them: numbers as float32
with NaN when missing, booleans through the card's spellings, categories as stripped
strings with "" when missing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt


class FeedError(ValueError):
    """The card and the graph disagree, or the values cannot feed the model."""


@dataclass(frozen=True, slots=True)
class Slot:
    """One graph input: its name, the table column(s) it carries, and how they encode."""

    name: str
    columns: tuple[str, ...]
    string: bool
    width: int  # columns in a float matrix input; 1 otherwise
    text: bool = False  # an utterance: fed as given, since the graph lowercases and tokenizes


def _number(value: Any, spelling: tuple[str, str] | None) -> float:
    if value is None:
        return math.nan
    if spelling is not None:
        word = str(value).strip().lower()
        return 1.0 if word == spelling[0] else 0.0 if word == spelling[1] else math.nan
    if isinstance(value, str):
        value = value.strip()
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _category(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _utterance(value: Any) -> str:
    return "" if value is None else str(value)


class Feed:
    def __init__(self, slots: Sequence[Slot], spellings: Mapping[str, tuple[str, str]]) -> None:
        self.slots = tuple(slots)
        self._spellings = dict(spellings)
        self.columns: tuple[str, ...] = tuple(c for s in self.slots for c in s.columns)

    @classmethod
    def from_card(cls, card: Mapping[str, Any], graph_inputs: Sequence[str]) -> Feed:
        """The feed the card describes; a card whose inputs are not the graph's is refused
        here, at load, rather than on a caller's time."""
        specs = card.get("inputs") or [{"name": n} for n in graph_inputs]
        features = [
            f if isinstance(f, dict) else {"name": str(f)} for f in card.get("features", [])
        ]
        slots: list[Slot] = []
        for spec in specs:
            name, text = str(spec["name"]), False
            if "columns" in spec:
                columns = tuple(str(c) for c in spec["columns"])
            elif name == "text" and card.get("text_column"):
                columns = (str(card["text_column"]),)
                text = True
            elif "column" in spec:
                columns = (str(spec["column"]),)
            elif len(specs) == 1 and features:
                columns = tuple(str(f["name"]) for f in features)
            else:
                columns = (name,)
            shape = spec.get("shape") or [None, len(columns)]
            string = spec.get("dtype") == "string"
            slots.append(Slot(name, columns, string, int(shape[-1] or 1), text))
        names = [s.name for s in slots]
        if sorted(names) != sorted(graph_inputs):
            raise FeedError(f"the card's inputs {names} are not the graph's {list(graph_inputs)}")
        spellings = {
            str(f["name"]): (str(f["true"]).lower(), str(f["false"]).lower())
            for f in features
            if "true" in f and "false" in f
        }
        return cls(slots, spellings)

    def from_matrix(self, x: npt.NDArray[Any]) -> dict[str, npt.NDArray[Any]]:
        """A float matrix whose columns are `self.columns` in order: one input gets it
        whole, per-feature inputs get one column each. Categories cannot come this way."""
        if len(self.slots) == 1:
            return {self.slots[0].name: x}
        feed: dict[str, npt.NDArray[Any]] = {}
        at = 0
        for slot in self.slots:
            if slot.string:
                raise FeedError(
                    f"input {slot.name!r} takes text (column {slot.columns[0]!r}); "
                    "score rows of named values instead of a number matrix"
                )
            feed[slot.name] = np.ascontiguousarray(x[:, at : at + slot.width], dtype=np.float32)
            at += slot.width
        return feed

    def from_rows(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, npt.NDArray[Any]]:
        """Rows of raw values keyed by the training table's column names; a column a row
        lacks is a missing value, as a blank cell was in training."""
        feed: dict[str, npt.NDArray[Any]] = {}
        for slot in self.slots:
            if slot.string:
                (column,) = slot.columns
                encode = _utterance if slot.text else _category
                values = [encode(row.get(column)) for row in rows]
                feed[slot.name] = np.array(values, dtype=object).reshape(-1, 1)
                continue
            matrix = [
                [_number(row.get(c), self._spellings.get(c)) for c in slot.columns] for row in rows
            ]
            feed[slot.name] = np.array(matrix, dtype=np.float32).reshape(len(rows), slot.width)
        return feed
