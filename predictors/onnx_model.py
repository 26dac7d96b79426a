"""One ONNX model and its card, loaded for microsecond-scale calls on the event loop.

One thread per session: at this size a thread pool costs more than it saves, and the
service has other requests to serve on the other cores.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from predictors.model_feed import Feed, FeedError

log = logging.getLogger("forecall.models")


class ModelError(RuntimeError):
    pass


class OnnxModel:
    def __init__(self, onnx_path: Path, card: dict[str, Any]) -> None:
        self.path = onnx_path
        self.card = card
        self.classes: list[str] = [str(c) for c in card["classes"]]
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(
                str(onnx_path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(f"{onnx_path.name}: cannot load ({exc})") from exc
        self.inputs: list[str] = [str(i.name) for i in self.session.get_inputs()]
        self.input_name = self.inputs[0]
        try:
            self.feed = Feed.from_card(card, self.inputs)
        except (FeedError, KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{onnx_path.name}: the card does not fit the graph ({exc})") from exc
        self.output_name = _probability_output(self.session)
        outputs = [str(o.name) for o in self.session.get_outputs()]
        # Text reason models: per-class scores before normalisation, for the abstain.
        self.scores_name = "scores" if "scores" in outputs else None
        self.mtime = onnx_path.stat().st_mtime

    @classmethod
    def load(cls, directory: Path, name: str) -> OnnxModel:
        onnx_path = directory / f"{name}.onnx"
        card_path = directory / f"{name}.card.json"
        if not onnx_path.is_file() or not card_path.is_file():
            raise ModelError(f"{name}: {onnx_path.name} or {card_path.name} missing in {directory}")
        try:
            card = json.loads(card_path.read_text())
        except (OSError, ValueError) as exc:
            raise ModelError(f"{name}: unreadable card ({exc})") from exc
        return cls(onnx_path, card)

    def probabilities(
        self, inputs: npt.NDArray[Any] | Mapping[str, npt.NDArray[Any]]
    ) -> npt.NDArray[np.float32]:
        """Class probabilities (columns in `classes` order) for a feed keyed by input name,
        or for a matrix whose columns are `feed.columns` in order: a one-input model takes
        it whole, a model with one input per feature gets one column per input."""
        try:
            if isinstance(inputs, Mapping):
                feed = dict(inputs)
            elif len(self.inputs) == 1:
                feed = {self.input_name: inputs}
            else:
                feed = self.feed.from_matrix(inputs)
            out = self.session.run([self.output_name], feed)[0]
        except Exception as exc:
            raise ModelError(f"{self.path.name}: inference failed ({exc})") from exc
        return np.asarray(out, dtype=np.float32)

    def probabilities_and_scores(
        self, inputs: npt.NDArray[Any]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32] | None]:
        """Probabilities and, when the graph has them, the unnormalised `scores`, in one
        run (a one-input model: the text model)."""
        if self.scores_name is None:
            return self.probabilities(inputs), None
        try:
            p, s = self.session.run([self.output_name, self.scores_name], {self.input_name: inputs})
        except Exception as exc:
            raise ModelError(f"{self.path.name}: inference failed ({exc})") from exc
        return np.asarray(p, dtype=np.float32), np.asarray(s, dtype=np.float32)

    def score(self, rows: Sequence[Mapping[str, Any]]) -> npt.NDArray[np.float32]:
        """Probabilities for rows of raw values keyed by the training table's column names
        (the text column for a text model), encoded as the trainer encoded them."""
        return self.probabilities(self.feed.from_rows(rows))

    def changed_on_disk(self) -> bool:
        try:
            return self.path.stat().st_mtime != self.mtime
        except OSError:
            return True


def _probability_output(session: ort.InferenceSession) -> str:
    names = [str(o.name) for o in session.get_outputs()]
    for name in ("probabilities", "output_probability"):
        if name in names:
            return name
    if len(names) >= 2:
        return names[1]
    raise ModelError("model has no probability output")
