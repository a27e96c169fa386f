"""Predictors per task type; imports are lazy so a service loads only what its bundle needs."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from .base import BUNDLE_FILE, PredictionError, Predictor, run_options

_REGISTRY: dict[str, str] = {
    "predictive_analytics": "training.engine.predictors.tabular:TabularPredictor",
    "text_classification": "training.engine.predictors.text:TextPredictor",
    "sound_classification": "training.engine.predictors.sound:SoundPredictor",
    "image_classification": "training.engine.predictors.image:ImagePredictor",
    "object_detection": "training.engine.predictors.detection:DetectionPredictor",
}


def predictor_class(task_type: str) -> type[Predictor]:
    try:
        target = _REGISTRY[task_type]
    except KeyError:
        raise ValueError(f"no predictor for task type {task_type!r}") from None
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def load_predictor(
    bundle_dir: Path, *, providers: list[str] | None = None, intra_op_threads: int = 1
) -> Predictor:
    """The predictor for the bundle in ``bundle_dir`` (task type read from bundle.json)."""
    bundle = json.loads((Path(bundle_dir) / BUNDLE_FILE).read_text(encoding="utf-8"))
    cls = predictor_class(bundle["task_type"])
    return cls(Path(bundle_dir), providers=providers, intra_op_threads=intra_op_threads)


__all__ = ["PredictionError", "Predictor", "load_predictor", "predictor_class", "run_options"]
