"""Helpers shared by the trainers: recipes per preference, threads, bundle.json, ONNX checks.

Kept light (stdlib + numpy at import time) so any trainer module may import it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from training.engine.bundle import read_bundle, write_bundle  # noqa: F401 (trainers import them here)
from training.engine.spec import (
    ProgressFn,
    TrainingError,
    TrainResult,
    TrainSample,
    TrainSpec,
)

logger = logging.getLogger(__name__)

# How each preference spends the budget. Trainers read the keys they understand.
_RECIPES: dict[str, dict[str, Any]] = {
    "performance_first": {
        "search_fraction": 0.5,
        "max_trials": 8,
        "text_models": ("char_ngram",),
        "sound_model": "lgbm",
    },
    "balance": {
        "search_fraction": 0.8,
        "max_trials": 40,
        "text_models": ("char_ngram", "minilm"),
        "sound_model": "lgbm",
    },
    "accuracy_first": {
        "search_fraction": 0.9,
        "max_trials": 200,
        "text_models": ("char_ngram", "minilm"),
        "sound_model": "cnn",
    },
}


def recipe_for(preference: str) -> dict[str, Any]:
    """The training recipe for a preference (unknown preferences fall back to balance)."""
    return dict(_RECIPES.get(preference, _RECIPES["balance"]))


def setup_threads(threads: int) -> int:
    """Pin native thread pools to the worker's share of cores; spinning threads starve neighbours."""
    threads = max(1, int(threads or 1))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return threads


class Heartbeat:
    """Calls progress on every phase change and at most every ``every`` seconds within a
    phase, from hot loops (StopTraining raised by progress propagates)."""

    def __init__(self, progress: ProgressFn, every: float = 1.0) -> None:
        self.progress = progress
        self.every = every
        self._last = 0.0
        self._phase = ""

    def __call__(self, phase: str, fraction: float, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or phase != self._phase or now - self._last >= self.every:
            self._last, self._phase = now, phase
            self.progress(phase, max(0.0, min(1.0, float(fraction))))




def begin_fit(reasons: list[str], progress: ProgressFn, phase: str) -> tuple[float, Heartbeat]:
    """Refuse a spec ``validate`` found reasons against; otherwise start the clock and the
    heartbeat (first beat forced, so the job shows the phase at once)."""
    if reasons:
        raise TrainingError("; ".join(reasons))
    started = time.monotonic()
    beat = Heartbeat(progress)
    beat(phase, 0.0, force=True)
    return started, beat


def finish_fit(
    beat: Heartbeat,
    bundle_dir: Path,
    metrics: dict[str, Any],
    evaluation: dict[str, Any],
    predictions: list[dict[str, Any]],
    *,
    stopped: bool,
    log: list[str],
) -> TrainResult:
    """The last beat and the result, once the bundle holds its final metrics."""
    beat("done", 1.0, force=True)
    return TrainResult(bundle_dir, metrics, evaluation, predictions, stopped_by_deadline=stopped, log=log)


def first_label(sample: TrainSample) -> str | None:
    """The label of a single-label sample (None when unlabelled)."""
    return sample.labels[0] if sample.labels else None


def labelled_train(spec: TrainSpec) -> tuple[list[TrainSample], list[str]]:
    """A single-label task's labelled training samples and the labels they use: in the spec's
    order, then any the spec lacks, sorted (so class indices are stable across runs)."""
    train = [s for s in spec.split("train") if first_label(s)]
    present = {first_label(s) for s in train}
    return train, [lb for lb in spec.labels if lb in present] + sorted(present - set(spec.labels))


def missing_image_files(samples: Sequence[TrainSample]) -> list[str]:
    """A validation reason when image files are missing (empty list when none are)."""
    missing = [s.id for s in samples if not s.path or not Path(s.path).is_file()]
    if missing:
        return [f"{len(missing)} image files are missing, e.g. {missing[0]}"]
    return []


def evaluate_classifier(
    *,
    sample_ids: Sequence[str],
    y_true: list[str],
    proba: np.ndarray,
    reference: np.ndarray,
    labels: Sequence[str],
    what: str,
    predicted: np.ndarray | None = None,
    uncalibrated: np.ndarray | None = None,
    calibration: Any = None,
) -> tuple[dict[str, float], dict[str, Any], list[dict[str, Any]]]:
    """Metrics, evaluation and per-sample predictions of single-label classification from the
    ONNX model's ``proba`` (what serving will answer), with an ``onnx_check`` against the
    Python model's ``reference`` probabilities.

    ``predicted``: the ONNX model's class indices when it outputs them itself (else the
    argmax of ``proba``). Eval labels the model never saw count as classes it never predicts.
    ``uncalibrated``: the same model's probabilities without its calibration (the Python
    model's blend); with it, evaluation["calibration"] holds ECE and the reliability diagram
    before and after (``calibration``: the fitted calibrator, see calibration.Calibration).
    """
    from training.engine.evaluation import classification_evaluation

    if predicted is None:
        predicted = np.argmax(proba, axis=1)
    diff = float(np.max(np.abs(reference - proba)))
    labels_equal = bool(np.array_equal(np.argmax(reference, axis=1), predicted))
    if diff > 1e-4 or not labels_equal:
        logger.warning(
            "ONNX and Python %s predictions differ (max %.3g, labels equal %s)", what, diff, labels_equal
        )
    y_pred = [labels[int(k)] for k in predicted]
    eval_labels = list(labels) + sorted({t for t in y_true if t not in labels})
    full = np.zeros((len(y_true), len(eval_labels)))
    full[:, : len(labels)] = proba
    metrics, evaluation = classification_evaluation(
        y_true=y_true, y_pred=y_pred, labels=eval_labels, proba=full
    )
    evaluation["onnx_check"] = {"max_abs_diff": diff, "labels_equal": labels_equal}
    if uncalibrated is not None:
        evaluation["calibration"] = calibration_view(y_true, labels, uncalibrated, proba, calibration)
    predictions = [
        {"sample_id": sid, "true": t, "predicted": p, "score": float(proba[i, int(predicted[i])])}
        for i, (sid, t, p) in enumerate(zip(sample_ids, y_true, y_pred, strict=True))
    ]
    return metrics, evaluation, predictions


def calibration_view(
    y_true: Sequence[str], labels: Sequence[str], before: np.ndarray, after: np.ndarray, calibration: Any
) -> dict[str, Any]:
    """evaluation["calibration"] for single-label classification: ``before`` the model's own
    probabilities, ``after`` the calibrated ones serving answers (rows in ``y_true`` order).
    An eval label the model does not know counts as a wrong answer at any confidence."""
    from training.engine.calibration import evaluation_block

    index = {name: i for i, name in enumerate(labels)}
    y = np.asarray([index.get(t, -1) for t in y_true], dtype=np.int64)
    return evaluation_block(y, before, after, calibration)


def evaluate_served(what: str, evals, labels: list[str], eval_rows, proba, ensemble):
    """A classifier's evaluation from its served probabilities on the EVAL samples, checked
    against the Python ensemble on the same rows (text and sound bundles)."""
    if not evals:
        return {}, {"kind": "classification", "labels": labels, "support": 0}, []
    return evaluate_classifier(
        sample_ids=[s.id for s in evals], y_true=[first_label(s) for s in evals],
        proba=proba, reference=ensemble.predict(eval_rows), labels=labels, what=what,
        uncalibrated=ensemble.predict_uncalibrated(eval_rows), calibration=ensemble.calibration,
    )
