"""Blending candidates: the greedy ensemble over out-of-fold predictions (Caruana et al.
2004), the weighted blend, and the fitted selection a trainer evaluates and exports."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from training.engine import calibration as calib
from training.engine import scoring
from training.engine.budget import Budget

if TYPE_CHECKING:
    from training.engine.search import Fitted, Search, Selection
    from training.engine.stacking import Stacker

ENSEMBLE_ROUNDS = 25
ENSEMBLE_MIN_GAIN = 1e-6


def greedy_ensemble(
    predictions: dict[str, np.ndarray], y: np.ndarray, kind: scoring.Kind, *, rounds: int = ENSEMBLE_ROUNDS,
    max_members: int | None = None,
) -> tuple[dict[str, float], float]:
    """Forward selection with replacement: the weights (summing to 1) and their score. Once
    ``max_members`` distinct members are in, only their weights move (a blend wanting more
    members was thrown away whole before, and on a large regression table the single model
    then lost to AutoGluon's blend)."""
    names = list(predictions)
    counts = dict.fromkeys(names, 0)
    current = None
    best_value, best_counts = -np.inf, dict(counts)
    for r in range(1, rounds + 1):
        step_best, step_name = -np.inf, None
        chosen = [n for n in names if counts[n]]
        for name in chosen if max_members is not None and len(chosen) >= max_members else names:
            blend = predictions[name] if current is None else (current * (r - 1) + predictions[name]) / r
            value = scoring.score(kind, y, blend)
            if value > step_best:
                step_best, step_name = value, name
        assert step_name is not None
        counts[step_name] += 1
        current = predictions[step_name] if current is None else (current * (r - 1) + predictions[step_name]) / r
        if step_best > best_value + ENSEMBLE_MIN_GAIN:
            best_value, best_counts = step_best, dict(counts)
    total = sum(best_counts.values())
    weights = {n: c / total for n, c in best_counts.items() if c}
    return weights, float(best_value)


def blend(predictions: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    return sum(weights[n] * np.asarray(predictions[n], dtype=np.float64) for n in weights)


class Ensemble:
    """The selection's members fitted on some rows, predicting their weighted blend, or, for
    a stack, the stacker's answer on their predictions (through the selection's calibration,
    when it has one: what the exported graph answers)."""

    def __init__(self, models: dict[str, Fitted], weights: dict[str, float],
                 calibration: calib.Calibration | None = None, stacker: Stacker | None = None) -> None:
        self.models, self.weights, self.calibration, self.stacker = models, weights, calibration, stacker

    @property
    def temperature(self) -> float | None:
        """The temperature of the calibration (None: none); the export appends the whole
        calibration (``calibrate_onnx(graph, ensemble.calibration)``)."""
        return self.calibration.temperature if self.calibration is not None and self.calibration.active else None

    def predict_uncalibrated(self, rows: np.ndarray) -> np.ndarray:
        if self.stacker is not None:
            return self.stacker.predict({n: m.predict(rows) for n, m in self.models.items()})
        return blend({n: m.predict(rows) for n, m in self.models.items()}, self.weights)

    def predict(self, rows: np.ndarray) -> np.ndarray:
        return calib.calibrated(self.predict_uncalibrated(rows), self.calibration)


def fit_selection(search: Search, selection: Selection, rows: np.ndarray, budget: Budget) -> Ensemble:
    """Fit every member of ``selection`` on ``rows`` (e.g. all TRAIN rows for the evaluated
    model, TRAIN + EVAL rows for the served one). A stack's stacker stays the one fitted on
    the search's out-of-fold predictions: the members refitted on more rows feed it."""
    models: dict[str, Fitted] = {}
    for name in selection.members:
        candidate = search.trial(name).candidate
        assert candidate is not None
        models[name] = candidate.fit(np.asarray(rows), budget)
    return Ensemble(models, selection.weights, selection.calibration, selection.stacker)
