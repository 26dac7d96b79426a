"""Read a training table from CSV, TSV or Parquet and fingerprint it for the model card."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from models.train.errors import TrainingError

SUFFIXES = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".tsv": "tsv",
    ".tsv.gz": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def file_kind(path: Path) -> str:
    """'csv', 'tsv' or 'parquet', from the file name; a clear error for anything else."""
    name = path.name.lower()
    for suffix, kind in SUFFIXES.items():
        if name.endswith(suffix):
            return kind
    known = ", ".join(SUFFIXES)
    raise TrainingError(
        f"{path}: unsupported file type {path.suffix or '(no extension)'!r}; "
        f"save the table as one of {known}"
    )


def load_table(path: Path, max_rows: int | None = None, seed: int = 0) -> pd.DataFrame:
    """The whole table, or a seeded random sample of `max_rows` rows kept in file order
    (file order matters to the time-aware split)."""
    kind = file_kind(path)
    if not path.is_file():
        raise TrainingError(f"{path}: no such file; check the --data/--test path")
    try:
        if kind == "parquet":
            frame = pd.read_parquet(path)
        else:
            # Every column is read as text so blanks and odd values reach column detection
            # intact instead of being half-parsed by pandas' guesser.
            frame = pd.read_csv(
                path,
                sep="\t" if kind == "tsv" else ",",
                dtype=str,
                keep_default_na=False,
                na_values=[""],
            )
    except UnicodeDecodeError as exc:
        raise TrainingError(f"{path}: not UTF-8 text ({exc.reason}); re-save it as UTF-8") from exc
    except (ValueError, OSError) as exc:
        raise TrainingError(f"{path}: cannot be read as {kind}: {exc}") from exc
    if frame.empty:
        raise TrainingError(f"{path}: the table has no rows")
    frame.columns = [str(c).strip() for c in frame.columns]
    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated:
        raise TrainingError(f"{path}: duplicate column names {duplicated}; rename them")
    if max_rows is not None and len(frame) > max_rows:
        frame = frame.sample(n=max_rows, random_state=seed).sort_index()
    return frame.reset_index(drop=True)


def file_sha256(*paths: Path) -> str:
    """SHA-256 over the bytes of the given files, in order: the card's data fingerprint."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def frame_sha256(*frames: pd.DataFrame) -> str:
    """A content fingerprint for tables that never were files (the Python API)."""
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(",".join(map(str, frame.columns)).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()
