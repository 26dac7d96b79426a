"""Decide what each column of a table is (numeric, boolean, categorical, a timestamp, or
something to ignore, with the reason) and turn the table into model-ready columns.

Missing values survive preparation: numeric and boolean columns carry NaN (the model
imputes it), categorical columns carry "" (a category of its own).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from models.train.errors import no_such_column

FeatureKind = Literal["numeric", "boolean", "categorical"]

MOSTLY_MISSING = 0.95  # share of blanks above which a column carries no signal worth imputing
PARSE_SHARE = 0.95  # share of values that must parse for a text column to count as numbers/dates
UNIQUE_SHARE = 0.9  # a text column this unique is an identifier or free text, not a category
MAX_CATEGORIES = 200  # one-hot beyond this bloats the model for little gain
FREE_TEXT_LENGTH = 25  # mean characters above which a unique text column reads as prose
NEARLY_UNIQUE = 0.95  # integers this unique per row are an identifier when they also look like one
CODE_DIGITS = 5  # integers of one fixed width at least this long are codes (accounts, contracts)
RESERVED_INPUTS = frozenset({"features", "text", "label", "probabilities"})  # the contract's names

BOOLEAN_PAIRS = {
    frozenset({"yes", "no"}): "yes",
    frozenset({"y", "n"}): "y",
    frozenset({"true", "false"}): "true",
    frozenset({"t", "f"}): "t",
    frozenset({"on", "off"}): "on",
    frozenset({"да", "нет"}): "да",
}
ID_NAME = re.compile(r"(?:^|[^A-Za-z])(?:id|uuid|guid)$", re.IGNORECASE)  # id, user_id, row-uuid
CAMEL_ID = re.compile(r"[a-z](?:ID|Id|UUID|Uuid)$")  # customerID, orderId; not "paid"
ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$"
)


@dataclass(frozen=True)
class Feature:
    """A column the model uses. Booleans read from text keep their spellings so the
    runtime can encode them the same way (case-insensitive, surrounding blanks ignored)."""

    name: str
    kind: FeatureKind
    true_value: str | None = None
    false_value: str | None = None

    def to_card(self) -> dict[str, Any]:
        card: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.true_value is not None:
            card["true"] = self.true_value
            card["false"] = self.false_value
        return card


@dataclass(frozen=True)
class Ignored:
    name: str
    reason: str


@dataclass(frozen=True)
class ColumnPlan:
    features: tuple[Feature, ...]
    ignored: tuple[Ignored, ...]
    time_column: str | None = None

    @property
    def all_numeric(self) -> bool:
        return all(f.kind != "categorical" for f in self.features)

    @property
    def inputs(self) -> dict[str, str]:
        """Feature name -> the ONNX input (and pipeline column) that carries it."""
        names = [f.name for f in self.features]
        return dict(zip(names, input_names(names), strict=True))


def input_names(names: list[str]) -> list[str]:
    """The graph input name of each column, in order: the one naming function for the
    exported graph, the pipeline's columns and the feed. Characters other than letters,
    digits and "_" become "_" (skl2onnx would rename them silently otherwise), a leading
    digit gets a "_", and clashes with each other or with the contract's own names
    (`label`, `probabilities`, ...) get a numeric suffix."""
    taken: set[str] = set(RESERVED_INPUTS)
    out: list[str] = []
    for name in names:
        base = re.sub(r"[^\w]", "_", name) or "_"
        if base[0].isdigit():
            base = "_" + base
        candidate, n = base, 1
        while candidate in taken:
            candidate, n = f"{base}_{n}", n + 1
        taken.add(candidate)
        out.append(candidate)
    return out


def _is_id_name(name: str) -> bool:
    return bool(ID_NAME.search(name) or CAMEL_ID.search(name))


def _as_text(series: pd.Series) -> pd.Series:
    """Stripped strings, with blanks turned into missing values."""
    text = series.astype("string").str.strip()
    return text.mask(text == "")


def _numeric_kind(name: str, values: pd.Series) -> Feature | Ignored:
    present = values.dropna()
    distinct = present.unique()
    if len(distinct) <= 1:
        return Ignored(name, "constant: a single value")
    if set(np.asarray(distinct, dtype=float).tolist()) <= {0.0, 1.0}:
        return Feature(name, "boolean")
    integral = bool(np.all(np.mod(present.to_numpy(dtype=float), 1) == 0))
    if integral:
        why = _integer_id(name, present, len(distinct))
        if why:
            return Ignored(name, f"id-like: {why}")
    return Feature(name, "numeric")


def _integer_id(name: str, present: pd.Series, distinct: int) -> str | None:
    """Why a column of integers is an identifier rather than a quantity, or None. The
    values decide, whatever the column is called: nearly one distinct value per row, and
    either dense (a shuffled row number), in file order, or codes of one fixed width
    (account and contract numbers). Amounts are rarely any of those."""
    share = distinct / len(present)
    if share < NEARLY_UNIQUE or distinct <= 20:
        return None
    values = present.to_numpy(dtype=float)
    low, high = float(values.min()), float(values.max())
    if _is_id_name(name):
        return f"the name says identifier and {share:.0%} of values are distinct integers"
    if present.is_monotonic_increasing:
        return f"{share:.0%} of values are distinct integers in increasing order"
    if high - low + 1 <= 1.1 * distinct:
        return f"{share:.0%} of values are distinct consecutive integers ({low:.0f}..{high:.0f})"
    digits = pd.Series(np.floor(np.log10(np.maximum(np.abs(values), 1))) + 1)
    width = int(digits.mode().iloc[0])
    if width >= CODE_DIGITS and float((digits == width).mean()) >= NEARLY_UNIQUE:
        return f"{share:.0%} of values are distinct {width}-digit codes"
    return None


def _text_kind(name: str, text: pd.Series) -> Feature | Ignored | Literal["datetime"]:
    present = text.dropna()
    lowered = present.str.lower()
    distinct = lowered.unique()
    if len(distinct) <= 1:
        return Ignored(name, "constant: a single value")
    numbers = pd.to_numeric(present, errors="coerce")
    if numbers.notna().mean() >= PARSE_SHARE:
        codes = present.str.fullmatch(r"0\d+").mean()  # leading zeros: a code, not a number
        if codes >= 0.05 and len(distinct) / len(present) >= NEARLY_UNIQUE:
            return Ignored(name, "id-like: distinct digit codes with leading zeros")
        return _numeric_kind(name, numbers)
    pair = frozenset(str(v) for v in distinct)
    if pair in BOOLEAN_PAIRS:
        true = BOOLEAN_PAIRS[pair]
        (false,) = pair - {true}
        return Feature(name, "boolean", true_value=true, false_value=false)
    if present.str.match(ISO_DATE).mean() >= PARSE_SHARE:
        return "datetime"
    unique_share = len(distinct) / len(present)
    if _is_id_name(name) and unique_share > 0.5:
        return Ignored(name, "id-like: the name says identifier and most values are unique")
    if unique_share >= UNIQUE_SHARE and len(distinct) > 20:
        if present.str.len().mean() > FREE_TEXT_LENGTH and present.str.contains(" ").mean() > 0.5:
            return Ignored(name, f"free text; pass --text {name} to train a text model on it")
        return Ignored(name, f"id-like: {unique_share:.0%} of values are unique")
    if len(distinct) > MAX_CATEGORIES:
        return Ignored(
            name,
            f"too many categories ({len(distinct)} > {MAX_CATEGORIES}); group rare values first",
        )
    return Feature(name, "categorical")


def detect_columns(frame: pd.DataFrame, label: str, text: str | None = None) -> ColumnPlan:
    """Classify every column except the label (and the text column, which the text model
    reads). The first timestamp column orders the time-aware split."""
    features: list[Feature] = []
    ignored: list[Ignored] = []
    time_column: str | None = None
    for name in frame.columns:
        if name in (label, text):
            continue
        series = frame[name]
        kind: Feature | Ignored | Literal["datetime"]
        if pd.api.types.is_bool_dtype(series):
            kind = Feature(name, "boolean")
        elif pd.api.types.is_datetime64_any_dtype(series):
            kind = "datetime"
        else:
            values = series if pd.api.types.is_numeric_dtype(series) else _as_text(series)
            missing = float(values.isna().mean())
            if missing > MOSTLY_MISSING:
                kind = Ignored(name, f"mostly missing: {missing:.0%} of values are blank")
            elif pd.api.types.is_numeric_dtype(values):
                kind = _numeric_kind(name, values)
            else:
                kind = _text_kind(name, values)
        if kind == "datetime":
            if time_column is None:
                time_column = name
                ignored.append(Ignored(name, "timestamp: orders the time-aware split"))
            else:
                ignored.append(Ignored(name, f"timestamp: only {time_column} orders the split"))
        elif isinstance(kind, Feature):
            features.append(kind)
        elif isinstance(kind, Ignored):
            ignored.append(kind)
    return ColumnPlan(tuple(features), tuple(ignored), time_column)


def require_columns(frame: pd.DataFrame, names: list[str], source: str, role: str) -> None:
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise no_such_column(source, missing[0], role, [str(c) for c in frame.columns])


def prepare_features(frame: pd.DataFrame, plan: ColumnPlan, source: str) -> pd.DataFrame:
    """Model-ready columns in the plan's feature order: float32 with NaN for numbers and
    booleans (1/0), object strings with "" for categories."""
    require_columns(frame, [f.name for f in plan.features], source, "a feature of the model")
    out: dict[str, Any] = {}
    for feature in plan.features:
        series = frame[feature.name]
        if feature.kind == "categorical":
            text = _as_text(series)
            out[feature.name] = text.fillna("").astype(object).to_numpy()
        elif feature.true_value is not None:
            lowered = _as_text(series).str.lower().fillna("").to_numpy(dtype=object)
            flag = np.where(lowered == feature.true_value, 1.0, np.nan)
            flag = np.where(lowered == feature.false_value, 0.0, flag)
            out[feature.name] = flag.astype(np.float32)
        else:
            if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
                numbers = pd.to_numeric(series, errors="coerce")
            else:
                numbers = pd.to_numeric(_as_text(series), errors="coerce")
            out[feature.name] = numbers.to_numpy(dtype=np.float32, na_value=np.nan)
    return pd.DataFrame(out, index=frame.index)


def time_order(frame: pd.DataFrame, plan: ColumnPlan) -> pd.Series | None:
    """The split's timestamps (UTC), or None when the table has no timestamp column."""
    if plan.time_column is None:
        return None
    series = frame[plan.time_column]
    if not pd.api.types.is_datetime64_any_dtype(series):
        series = pd.to_datetime(_as_text(series), errors="coerce", utc=True, format="ISO8601")
    return series
