"""The score a search ranks candidates by: higher is better, for every task.

Classification ranks by accuracy and breaks ties with log loss (a small validation set
makes many candidates tie on accuracy; the better-calibrated one generalises better).
Regression ranks by negative RMSE.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Kind = Literal["classification", "regression"]
LOGLOSS_WEIGHT = 1e-3
METRIC_NAME = {"classification": "accuracy", "regression": "rmse"}
# Metrics the user reads where less is better (the console sorts and marks "best" by this).
LOWER_IS_BETTER = frozenset({"rmse", "mae", "mse", "log_loss"})


def higher_is_better(metric_name: str) -> bool:
    return metric_name not in LOWER_IS_BETTER


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    p = np.clip(proba[np.arange(len(y)), y], 1e-12, 1.0)
    return float(-np.mean(np.log(p)))


def score(kind: Kind, y: np.ndarray, pred: np.ndarray) -> float:
    if kind == "regression":
        return -float(np.sqrt(np.mean((np.asarray(pred, dtype=float) - y) ** 2)))
    acc = float(np.mean(np.argmax(pred, axis=1) == y))
    return acc - LOGLOSS_WEIGHT * min(log_loss(y, pred), 10.0)


def metric(kind: Kind, y: np.ndarray, pred: np.ndarray) -> float:
    """The score as a user reads it: accuracy, or RMSE."""
    if kind == "regression":
        return float(np.sqrt(np.mean((np.asarray(pred, dtype=float) - y) ** 2)))
    return float(np.mean(np.argmax(pred, axis=1) == y))


def row_standard_error(kind: Kind, y: np.ndarray, pred: np.ndarray) -> float:
    """The standard error of ``metric`` from the number of rows alone. Classification counts
    one more right and one more wrong row than seen (Laplace), so a perfect score on few rows
    keeps an honest error; RMSE by the delta method."""
    n = len(y)
    if n == 0:
        return 0.0
    if kind == "regression":
        sq = (np.asarray(pred, dtype=float) - y) ** 2
        rmse = float(np.sqrt(np.mean(sq)))
        return 0.0 if rmse == 0 or n < 2 else float(np.std(sq, ddof=1) / np.sqrt(n) / (2 * rmse))
    right = float(np.sum(np.argmax(pred, axis=1) == y))
    p = (right + 1) / (n + 2)
    return float(np.sqrt(p * (1 - p) / n))
