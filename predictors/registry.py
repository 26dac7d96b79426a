"""The models the service runs, loaded at start, reloaded when their files change, and
replaced by transparent rules when missing or broken: the IVR never waits on a model."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from prometheus_client import Gauge

from predictors.churn import ChurnPredictor
from predictors.features import INDEX, new_row
from predictors.onnx_model import ModelError, OnnxModel
from predictors.reason import ReasonPredictor

log = logging.getLogger("forecall.models")
MODEL_FALLBACK = Gauge(
    "forecall_model_fallback", "1 while a model is replaced by its fallback rules.", ["model"]
)
CHECK_EVERY = 5.0  # seconds between looks at the files


class ModelRegistry:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.problems: dict[str, str] = {}
        self._models: dict[str, OnnxModel | None] = {}
        self._checked = 0.0
        self.reasons = ReasonPredictor(None)
        self.churn = ChurnPredictor(None)
        self.load()

    def _try(self, name: str) -> OnnxModel | None:
        try:
            model = OnnxModel.load(self.directory, name)
            if not name.endswith("_text"):
                _check_vector(model)
            self.problems.pop(name, None)
            MODEL_FALLBACK.labels(name).set(0)
            return model
        except ModelError as exc:
            self.problems[name] = f"{exc}; using fallback rules"
            MODEL_FALLBACK.labels(name).set(1)
            log.warning("model unavailable", extra={"model": name, "detail": str(exc)})
            return None

    def load(self) -> None:
        self._models = {name: self._try(name) for name in ("reasons", "reasons_text", "churn")}
        self.reasons = ReasonPredictor(self._models["reasons"], self._models["reasons_text"])
        self.churn = ChurnPredictor(self._models["churn"])
        self._warm()

    def _warm(self) -> None:
        """First calls allocate: make them here, not on a caller's time."""
        row = new_row()
        for _ in range(3):
            self.reasons.predict(row, "здравствуйте, у меня вопрос")
            self.churn.predict(row)

    def maybe_reload(self) -> bool:
        """Reload if a model file appeared, vanished or changed; cheap to call often."""
        now = time.monotonic()
        if now - self._checked < CHECK_EVERY:
            return False
        self._checked = now
        stale = any(
            (model is None and (self.directory / f"{name}.onnx").is_file())
            or (model is not None and model.changed_on_disk())
            for name, model in self._models.items()
        )
        if stale:
            log.info("model files changed; reloading", extra={"dir": str(self.directory)})
            self.load()
        return stale

    def status(self) -> dict[str, str]:
        return {
            name: ("fallback" if model is None else str(model.card.get("version", "loaded")))
            for name, model in self._models.items()
        }


def _check_vector(model: OnnxModel) -> None:
    """The context and churn models read the profile's feature vector; a model trained on
    columns the vector lacks (a CRM export's `Contract`, say) can be scored with
    `OnnxModel.score` but not served here, and is refused at load with the names."""
    unknown = [c for c in model.feed.columns if c not in INDEX]
    text = [s.name for s in model.feed.slots if s.string]
    if unknown or text:
        shown = ", ".join(unknown[:8]) + (", …" if len(unknown) > 8 else "")
        raise ModelError(
            f"{model.path.name}: reads columns the profile's feature vector does not carry "
            f"({shown or ', '.join(text)}); train it on `models.dataset` features"
        )
