"""Export fitted pipelines to ONNX and prove the export answers like the original.

The contract the runtime relies on:

- tabular, every feature numeric or boolean: one float32 input `features` [None, F], the
  columns in the card's feature order;
- tabular with categorical features: one input per feature, float32 [None, 1] for
  numbers and booleans, string [None, 1] for categories ("" when missing), named by
  `columns.input_names` (the feature's name with anything but letters, digits and "_"
  turned into "_"; the card's `inputs[].column` gives the feature each one carries);
- text: one string input `text` [None, 1], and a third output `scores` (float32
  [None, C]: each class's calibrated score before normalisation, which the abstain reads);
- outputs: `label` (string [None]) and `probabilities` (float32 [None, C], the card's
  classes in column order). Missing numbers are NaN; the graph imputes them.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import onnxruntime as ort
import pandas as pd
import skl2onnx.common.tree_ensemble as tree_ensemble
import skl2onnx.sklapi.register  # noqa: F401  (registers the Traceable* vectorizer converters)
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.pipeline import Pipeline

from models.train.columns import ColumnPlan
from models.train.errors import ExportError
from models.train.vectorizers import GRAPH_CHAR_PATTERN, GRAPH_WORD_PATTERN, register_converters

OPSET = {"": 17, "ai.onnx.ml": 3}
# onnxruntime lowercases text through a C++ locale; en_US.UTF-8 (skl2onnx's default) is
# missing from slim images, C.UTF-8 ships with glibc and lowercases Cyrillic correctly.
TEXT_LOCALE = "C.UTF-8"
PARITY_TOLERANCE = 1e-4
SCORES = "scores"  # text models: calibrated per-class scores before normalisation
MAX_DIFFERING_SHARE = 0.005


def tabular_inputs(plan: ColumnPlan) -> list[dict[str, Any]]:
    """The card's `inputs`: name, dtype and shape of every graph input, in order."""
    if plan.all_numeric:
        return [
            {
                "name": "features",
                "dtype": "float32",
                "shape": [None, len(plan.features)],
                "columns": [f.name for f in plan.features],
            }
        ]
    inputs = plan.inputs
    return [
        {
            "name": inputs[f.name],
            "column": f.name,
            "dtype": "string" if f.kind == "categorical" else "float32",
            "shape": [None, 1],
        }
        for f in plan.features
    ]


TEXT_INPUTS = [{"name": "text", "dtype": "string", "shape": [None, 1]}]


def tabular_feed(prepared: pd.DataFrame, plan: ColumnPlan) -> dict[str, np.ndarray]:
    if plan.all_numeric:
        return {"features": prepared.to_numpy(dtype=np.float32)}
    feed: dict[str, np.ndarray] = {}
    inputs = plan.inputs
    for feature in plan.features:
        column = prepared[feature.name].to_numpy()
        if feature.kind == "categorical":
            feed[inputs[feature.name]] = column.astype(object).reshape(-1, 1)
        else:
            feed[inputs[feature.name]] = column.astype(np.float32).reshape(-1, 1)
    return feed


def text_feed(texts: np.ndarray) -> dict[str, np.ndarray]:
    return {"text": np.asarray(texts, dtype=object).reshape(-1, 1)}


@contextlib.contextmanager
def _tree_converter_fix() -> Iterator[None]:
    """skl2onnx 1.20 hands onnx a Python bool for leaf nodes of HistGradientBoosting
    trees, which onnx >= 1.17 rejects ("Expected an int, got a boolean"); coerce it."""
    original = tree_ensemble.add_node

    def add_node(*args: Any, nodes_missing_value_tracks_true: Any = 0, **kwargs: Any) -> Any:
        return original(
            *args, nodes_missing_value_tracks_true=int(nodes_missing_value_tracks_true), **kwargs
        )

    tree_ensemble.add_node = add_node
    try:
        yield
    finally:
        tree_ensemble.add_node = original


def _convert(
    pipeline: Pipeline,
    types: list[tuple[str, Any]],
    options: dict[int, Any],
    scores: bool = False,
) -> bytes:
    with warnings.catch_warnings(), _tree_converter_fix():
        # The char-analyzer converter warns that it "may not work"; the parity check
        # below is what decides.
        warnings.simplefilter("ignore")
        model = to_onnx(pipeline, initial_types=types, options=options, target_opset=OPSET)
    if scores:
        _expose_scores(model)
    return bytes(model.SerializeToString())


def _expose_scores(model: Any) -> None:
    """Add output `scores`: the calibrated per-class sigmoid scores before they are
    normalised to sum to 1 (the Concat that feeds the normalising ReduceSum). Normalising
    hides "no class fits": small scores everywhere still give one class a fair share.
    The abstain reads the top score."""
    import onnx

    summed = {i for n in model.graph.node if n.op_type == "ReduceSum" for i in n.input}
    found = [n for n in model.graph.node if n.op_type == "Concat" and n.output[0] in summed]
    if len(found) != 1:
        raise ExportError("the calibrated classifier's scores were not found in the graph")
    model.graph.node.append(onnx.helper.make_node("Identity", [found[0].output[0]], [SCORES]))
    width = model.graph.output[1].type.tensor_type.shape.dim[1].dim_value or None
    model.graph.output.append(
        onnx.helper.make_tensor_value_info(SCORES, onnx.TensorProto.FLOAT, [None, width])
    )


def export_tabular(pipeline: Pipeline, plan: ColumnPlan) -> bytes:
    types: list[tuple[str, Any]] = []
    for spec in tabular_inputs(plan):
        width = spec["shape"][1]
        tensor = (
            StringTensorType([None, 1])
            if spec["dtype"] == "string"
            else (FloatTensorType([None, width]))
        )
        types.append((spec["name"], tensor))
    return _convert(pipeline, types, {id(pipeline): {"zipmap": False}})


def export_text(pipeline: Pipeline, scores: bool = False) -> bytes:
    """The text graph; with `scores` (multi-class) also the unnormalised `scores` output."""
    union = pipeline.named_steps["features"]
    vectorizers = dict(union.transformer_list)
    options: dict[int, Any] = {
        id(pipeline): {"zipmap": False},
        id(vectorizers["words"]): {"tokenexp": GRAPH_WORD_PATTERN, "locale": TEXT_LOCALE},
        id(vectorizers["chars"]): {"tokenexp": GRAPH_CHAR_PATTERN, "locale": TEXT_LOCALE},
    }
    register_converters()
    return _convert(pipeline, [("text", StringTensorType([None, 1]))], options, scores=scores)


def calibrated_scores(pipeline: Pipeline, texts: np.ndarray) -> np.ndarray:
    """scikit-learn's side of the `scores` output: each class's calibrated sigmoid score,
    before normalisation."""
    features = pipeline.named_steps["features"].transform(texts)
    calibrated = pipeline.named_steps["model"].calibrated_classifiers_[0]
    margins = calibrated.estimator.decision_function(features)
    if margins.ndim == 1:
        margins = margins.reshape(-1, 1)
    columns = [c.predict(margins[:, i]) for i, c in enumerate(calibrated.calibrators)]
    return np.column_stack(columns).astype(np.float32)


def run_scores(onnx_bytes: bytes, feed: dict[str, np.ndarray]) -> np.ndarray:
    """The text model's `scores` output for `feed`."""
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    return np.asarray(session.run([SCORES], feed)[0], dtype=np.float32)


def run_onnx(onnx_bytes: bytes, feed: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The shipped model's labels and probabilities for `feed`."""
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    labels, probabilities = session.run(["label", "probabilities"], feed)
    return np.asarray(labels), np.asarray(probabilities, dtype=np.float32)


def opset_imports(onnx_bytes: bytes) -> dict[str, int]:
    import onnx

    model = onnx.load_from_string(onnx_bytes)
    return {(o.domain or "ai.onnx"): int(o.version) for o in model.opset_import}


def check_parity(
    expected: np.ndarray, got: np.ndarray, what: str, tolerance: float = PARITY_TOLERANCE
) -> dict[str, Any]:
    """Compare sklearn's and ONNX's probabilities row by row. A handful of rows may differ
    (text whose lowercase differs between Python and the C library, such as "İ"); more
    than MAX_DIFFERING_SHARE of them means the export is wrong and must not ship."""
    if expected.shape != got.shape:
        raise ExportError(
            f"{what}: ONNX gives probabilities of shape {got.shape}, "
            f"scikit-learn {expected.shape}; the model was not written"
        )
    row_diff = np.max(np.abs(expected - got), axis=1) if expected.size else np.zeros(0)
    differing = int(np.sum(row_diff > tolerance))
    agree = float(np.mean(np.argmax(expected, axis=1) == np.argmax(got, axis=1)))
    if differing > MAX_DIFFERING_SHARE * len(row_diff):
        raise ExportError(
            f"{what}: ONNX probabilities differ from scikit-learn's by more than "
            f"{tolerance:.0e} on {differing} of {len(row_diff)} test rows (up to "
            f"{row_diff.max():.2e}); the model was not written"
        )
    return {
        "rows": len(row_diff),
        "max_abs_diff": float(row_diff.max()) if len(row_diff) else 0.0,
        "rows_over_tolerance": differing,
        "tolerance": tolerance,
        "label_agreement": agree,
    }
