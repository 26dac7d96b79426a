"""The text model: TF-IDF over word and character n-grams into a linear SVM with sigmoid
probability calibration. A small grid of n-gram ranges and C is compared on a validation
split of the training rows (never the test rows); the winner is refitted on all of them.

Everything here must survive export to ONNX, which rules out sklearn's `char_wb` analyzer
and custom preprocessors: lowercasing and tokenization happen inside the graph. The word
tokenizer is unicode-aware (see `vectorizers`), so Russian and English are split alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from skl2onnx.sklapi import TraceableTfidfVectorizer
from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from models.train.abstain import Abstain, choose_threshold, out_of_scope_label
from models.train.errors import TrainingError
from models.train.export import calibrated_scores
from models.train.progress import Progress
from models.train.split import split_rows
from models.train.vectorizers import WORD_PATTERN, GraphCharTfidfVectorizer

CALIBRATION_FOLDS = 3
MAX_ITER = 5000  # liblinear's default 1000 can stop short on many classes


@dataclass(frozen=True)
class TextConfig:
    word_ngrams: tuple[int, int]
    char_ngrams: tuple[int, int]
    C: float
    char_min_df: int = 2  # a char n-gram seen once is noise and only grows the model


GRID = (
    TextConfig((1, 1), (2, 5), 1.0),
    TextConfig((1, 1), (2, 5), 0.5),
    TextConfig((1, 2), (1, 4), 0.5),
    TextConfig((1, 2), (2, 5), 0.5),
    TextConfig((1, 2), (2, 5), 1.0),
)


@dataclass
class TextFit:
    pipeline: Pipeline
    config: TextConfig
    calibrated: bool
    selection: list[dict[str, Any]] = field(default_factory=list)
    abstain: Abstain | None = None


def clean_texts(values: pd.Series) -> np.ndarray:
    """Missing utterances become empty strings: the model still answers (with its prior)."""
    texts: np.ndarray = values.astype("string").fillna("").astype(str).to_numpy(dtype=object)
    return texts


def _features(config: TextConfig, rows: int) -> FeatureUnion:
    # On tiny tables a min_df of 2 could empty the character vocabulary.
    char_min_df = config.char_min_df if rows >= 200 else 1
    # Plain term frequency: skl2onnx turns sublinear_tf into log(1 + tf) rather than
    # 1 + log(tf), and on short utterances it gained nothing on validation anyway.
    words = TraceableTfidfVectorizer(
        lowercase=True,
        token_pattern=WORD_PATTERN,
        ngram_range=config.word_ngrams,
        dtype=np.float32,
    )
    chars = GraphCharTfidfVectorizer(
        lowercase=True,
        analyzer="char",
        ngram_range=config.char_ngrams,
        min_df=char_min_df,
        dtype=np.float32,
    )
    return FeatureUnion([("words", words), ("chars", chars)])


def build_pipeline(config: TextConfig, seed: int, rows: int, folds: int) -> Pipeline:
    """Features into a linear SVM; calibration (at least 2 folds) gives it probabilities."""
    classifier = CalibratedClassifierCV(
        LinearSVC(C=config.C, max_iter=MAX_ITER, random_state=seed),
        method="sigmoid",
        cv=folds,
        ensemble=False,
    )
    return Pipeline([("features", _features(config, rows)), ("model", classifier)])


def _learn_abstain(
    config: TextConfig,
    texts: np.ndarray,
    labels: np.ndarray,
    inner: Any,
    known: np.ndarray,
    seed: int,
    progress: Progress,
) -> Abstain | None:
    """An explicit out-of-scope class when the labels have one; otherwise a threshold on
    the calibrated probabilities of the chosen setting, fitted on the inner training rows
    and read on the validation rows."""
    oos = out_of_scope_label(sorted(set(labels.tolist())))
    if oos is not None:
        progress(f"abstain: the label {oos!r} is the out-of-scope class")
        return Abstain("label", label=oos)
    folds = min(CALIBRATION_FOLDS, int(pd.Series(labels[inner.train]).value_counts().min()))
    if folds < 2 or len(known) == 0:
        progress("abstain: too few validation rows to choose a threshold; the model never abstains")
        return None
    progress("abstain: choosing the threshold on the validation rows")
    model = build_pipeline(config, seed, len(inner.train), folds)
    model.fit(texts[inner.train], labels[inner.train])
    classes = [str(c) for c in model.classes_]
    if len(classes) > 2:
        values, score = calibrated_scores(model, texts[known]), "scores"
    else:  # one calibrator: the probabilities are the scores
        values, score = model.predict_proba(texts[known]), "probabilities"
    abstain = choose_threshold(values, labels[known], classes, score=score)
    detail = abstain.detail
    progress(
        f"abstain below {abstain.threshold:.3f}: validation accuracy "
        f"{detail['validation_accuracy']:.4f} -> {detail['validation_in_scope_accuracy']:.4f}, "
        f"{detail['validation_abstained']:.1%} of validation rows abstained"
    )
    return abstain


def fit_text(
    texts: np.ndarray,
    labels: np.ndarray,
    *,
    seed: int,
    progress: Progress,
    abstain: bool = False,
) -> TextFit:
    """Grid-search on a validation split of the training rows, refit the best, calibrated;
    with `abstain` (reason models) also learn when to say "none of these"."""
    counts = pd.Series(labels).value_counts()
    if counts.min() < 2:
        rare = counts[counts < 2].index.tolist()
        raise TrainingError(
            f"the text model needs at least 2 training rows per class; {len(rare)} classes "
            f"have 1 (e.g. {rare[:5]}): merge them or add examples"
        )
    inner = split_rows(pd.Series(labels), None, seed=seed)
    known = inner.test[np.isin(labels[inner.test], labels[inner.train])]
    selection: list[dict[str, Any]] = []
    best: tuple[float, TextConfig] | None = None
    # One feature set at a time: GRID lists the settings that share one side by side.
    features_cache: dict[tuple[tuple[int, int], tuple[int, int]], Any] = {}
    for config in GRID:
        key = (config.word_ngrams, config.char_ngrams)
        if key not in features_cache:
            union = _features(config, len(inner.train)).fit(texts[inner.train])
            features_cache = {
                key: (union.transform(texts[inner.train]), union.transform(texts[known]))
            }
        train_x, val_x = features_cache[key]
        model = LinearSVC(C=config.C, max_iter=MAX_ITER, random_state=seed)
        model.fit(train_x, labels[inner.train])
        accuracy = float(np.mean(model.predict(val_x) == labels[known]))
        progress(
            f"text words {config.word_ngrams} chars {config.char_ngrams} C={config.C}: "
            f"validation accuracy {accuracy:.4f}"
        )
        selection.append({**asdict(config), "validation_accuracy": accuracy})
        if best is None or accuracy > best[0]:
            best = (accuracy, config)
    assert best is not None
    chosen = best[1]
    folds = min(CALIBRATION_FOLDS, int(counts.min()))
    progress(f"refitting the text model on {len(labels)} rows with calibration ({folds} folds)")
    pipeline = build_pipeline(chosen, seed, len(labels), folds).fit(texts, labels)
    learned = (
        _learn_abstain(chosen, texts, labels, inner, known, seed, progress) if abstain else None
    )
    return TextFit(pipeline, chosen, True, selection, learned)
