"""Vectorizers whose scikit-learn behaviour the ONNX graph reproduces exactly.

scikit-learn's character analyzer collapses runs of whitespace before cutting n-grams;
the graph's tokenizer cannot, so an utterance with a double space or a newline would be
scored differently by the shipped model. `GraphCharTfidfVectorizer` skips that step, and
the graph splits on every character, newlines included (`(?s).`).
"""

from __future__ import annotations

import re

from sklearn.feature_extraction.text import TfidfVectorizer

GRAPH_CHAR_PATTERN = "(?s)."
# RE2 (the graph's regex engine) has an ASCII-only \w; this is the unicode word class.
GRAPH_WORD_PATTERN = r"[\p{L}\p{N}_]+"
WORD_PATTERN = r"(?u)\b\w+\b"  # the same words in Python; one-letter ones ("я", "i") count


class GraphCharTfidfVectorizer(TfidfVectorizer):  # type: ignore[misc]  # sklearn is untyped
    """TF-IDF over character n-grams of the lowercased text, whitespace left as it is."""

    _white_spaces = re.compile(r"(?!)")  # matches nothing: keep whitespace runs


_registered = False


def register_converters() -> None:
    """Tell skl2onnx to convert our vectorizer like a TfidfVectorizer (idempotent)."""
    global _registered
    if _registered:
        return
    from skl2onnx import update_registered_converter
    from skl2onnx.operator_converters.tfidf_vectoriser import convert_sklearn_tfidf_vectoriser
    from skl2onnx.shape_calculators.text_vectorizer import (
        calculate_sklearn_text_vectorizer_output_shapes,
    )

    update_registered_converter(
        GraphCharTfidfVectorizer,
        "ForecallGraphCharTfidfVectorizer",
        calculate_sklearn_text_vectorizer_output_shapes,
        convert_sklearn_tfidf_vectoriser,
        options={
            "tokenexp": None,
            "separators": None,
            "nan": [True, False],
            "keep_empty_string": [True, False],
            "locale": None,
        },
    )
    _registered = True
