"""Training: any CSV/Parquet table to a calibrated, ONNX-exported model with a model card.

    from models.train import train_tabular, train_text, train_files

See `models.train.trainer` for the signatures and `models.train.export` for the ONNX
contract. Importing this package does not import scikit-learn; the names below load it
on first use, so `forecall train` can explain a missing training extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from models.train.errors import ExportError, TrainingError
    from models.train.result import Source, TrainResult
    from models.train.trainer import train_files, train_tabular, train_text

__all__ = [
    "ExportError",
    "Source",
    "TrainResult",
    "TrainingError",
    "train_files",
    "train_tabular",
    "train_text",
]


def __getattr__(name: str) -> Any:
    if name in ("ExportError", "TrainingError"):
        from models.train import errors

        return getattr(errors, name)
    if name in ("Source", "TrainResult"):
        from models.train import result

        return getattr(result, name)
    if name in __all__:
        from models.train import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module 'models.train' has no attribute {name!r}")
