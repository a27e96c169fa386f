"""What the version page draws beyond the metrics: the regression residual plot and error
histogram, and the confidence-threshold view of classification and detection, all stored
bounded in the evaluation whatever the eval size."""

from __future__ import annotations

import json

import numpy as np
import pytest

from training.engine.evaluation import (
    RESIDUAL_POINTS,
    classification_evaluation,
    multilabel_evaluation,
    regression_evaluation,
)


def test_regression_evaluation_stores_a_bounded_deterministic_residual_sample_and_a_full_histogram():
    rng = np.random.default_rng(0)
    actual = rng.normal(50_000, 10_000, size=25_000)
    predicted = actual + rng.normal(0, 1_000, size=actual.size)
    _, ev = regression_evaluation(y_true=actual.tolist(), y_pred=predicted.tolist())
    view = ev["residuals"]
    assert view["total"] == 25_000 and view["sampled"] is True
    assert 0 < len(view["points"]) <= RESIDUAL_POINTS
    # Each point is a real (actual, predicted) eval row, first and last rows included.
    assert view["points"][0] == pytest.approx([actual[0], predicted[0]], rel=1e-5)
    assert view["points"][-1] == pytest.approx([actual[-1], predicted[-1]], rel=1e-5)
    # The histogram counts EVERY residual (predicted - actual), not only the sampled ones.
    hist = view["histogram"]
    assert sum(hist["counts"]) == 25_000 and len(hist["edges"]) == len(hist["counts"]) + 1
    assert hist["edges"][0] == pytest.approx(float(np.min(predicted - actual)), rel=1e-5)
    # The same rows every time, and the stored evaluation stays small.
    _, again = regression_evaluation(y_true=actual.tolist(), y_pred=predicted.tolist())
    assert again["residuals"] == view
    assert len(json.dumps(ev)) < 100_000


def test_small_regression_keeps_every_point():
    _, ev = regression_evaluation(y_true=[1.0, 2.0, 3.0], y_pred=[1.5, 2.0, 2.0])
    assert ev["residuals"]["points"] == [[1.0, 1.5], [2.0, 2.0], [3.0, 2.0]]
    assert ev["residuals"]["sampled"] is False
    _, empty = regression_evaluation(y_true=[], y_pred=[])
    assert empty["residuals"]["points"] == [] and empty["residuals"]["histogram"]["counts"] == []


def test_classification_confidence_view_keeps_predictions_at_or_above_the_threshold():
    proba = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.5, 0.2, 0.3], [0.4, 0.3, 0.3]])
    _, ev = classification_evaluation(
        y_true=["a", "b", "c", "a"], y_pred=["a", "b", "a", "a"], labels=["a", "b", "c"], proba=proba
    )
    conf = ev["confidence"]
    assert conf["unit"] == "samples" and conf["predictions"] == 4 and conf["total"] == 4
    at = {p["threshold"]: p for p in conf["points"]}
    assert len(at) == 101
    assert at[0.0] == {"threshold": 0.0, "kept": 4, "correct": 3, "precision": 0.75, "recall": 0.75}
    # 0.9 (right), 0.7 (right), 0.5 (c taken for a) kept; 0.4 dropped.
    assert (at[0.5]["kept"], at[0.5]["correct"]) == (3, 2)
    assert at[0.5]["precision"] == pytest.approx(2 / 3, abs=1e-5) and at[0.5]["recall"] == 0.5
    assert (at[0.8]["kept"], at[0.8]["precision"], at[0.8]["recall"]) == (1, 1.0, 0.25)
    assert (at[1.0]["kept"], at[1.0]["precision"]) == (0, 0.0)
    # Kept counts never grow with the threshold.
    kept = [p["kept"] for p in conf["points"]]
    assert kept == sorted(kept, reverse=True)


def test_multilabel_confidence_view_counts_sample_label_pairs():
    _, ev = multilabel_evaluation(
        y_true=[["a"], ["a", "b"]], y_pred=[["a"], ["a"]], labels=["a", "b"], proba=np.array([[0.9, 0.1], [0.8, 0.4]])
    )
    conf = ev["confidence"]
    assert conf["unit"] == "labels" and conf["predictions"] == 4 and conf["total"] == 3
    at = {p["threshold"]: p for p in conf["points"]}
    assert (at[0.3]["kept"], at[0.3]["correct"], at[0.3]["recall"]) == (3, 3, 1.0)
    assert (at[0.0]["kept"], at[0.0]["correct"], at[0.0]["precision"]) == (4, 3, 0.75)
