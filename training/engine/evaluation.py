"""One evaluation module for every trainer, so the console reads the same keys.

Pure numpy: computed on the EVAL split after training and stored with the version.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

THRESHOLDS = [round(t * 0.01, 2) for t in range(101)]
# The residual plot's scatter: at most this many (actual, predicted) points in the stored
# evaluation, evenly spaced over the eval rows (deterministic), so the JSON stays bounded.
RESIDUAL_POINTS = 2000
RESIDUAL_BINS = 30


def _safe_div(a: float, b: float) -> float:
    return float(a) / float(b) if b else 0.0


def _prf(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    precision = _safe_div(tp, tp + fp)
    recall = _safe_div(tp, tp + fn)
    f1 = _safe_div(2 * precision * recall, precision + recall)
    return precision, recall, f1


def classification_evaluation(
    *,
    y_true: Sequence[str],
    y_pred: Sequence[str],
    labels: Sequence[str],
    proba: np.ndarray | None = None,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Single-label classification: returns (metrics, evaluation).

    ``proba`` is (n_samples, len(labels)) in ``labels`` order; with two labels it adds
    the binary view (positive class = labels[1]).
    """
    labels = list(labels)
    index = {name: i for i, name in enumerate(labels)}
    n = len(labels)
    cm = np.zeros((n, n), dtype=np.int64)
    for t, p in zip(y_true, y_pred, strict=True):
        cm[index[t], index[p]] += 1
    per_class = []
    for i, name in enumerate(labels):
        tp = cm[i, i]
        fp = cm[:, i].sum() - tp
        fn = cm[i, :].sum() - tp
        precision, recall, f1 = _prf(tp, fp, fn)
        per_class.append(
            {"label": name, "precision": precision, "recall": recall, "f1": f1, "support": int(cm[i, :].sum())}
        )
    total = int(cm.sum())
    supports = np.array([c["support"] for c in per_class], dtype=float)
    macro = {k: float(np.mean([c[k] for c in per_class])) if per_class else 0.0 for k in ("precision", "recall", "f1")}
    weighted = {
        k: float(np.dot([c[k] for c in per_class], supports) / supports.sum()) if supports.sum() else 0.0
        for k in ("precision", "recall", "f1")
    }
    accuracy = _safe_div(np.trace(cm), total)
    metrics = {"accuracy": accuracy, **macro}
    evaluation: dict[str, Any] = {
        "kind": "classification",
        "labels": labels,
        "accuracy": accuracy,
        "per_class": per_class,
        "macro_avg": macro,
        "weighted_avg": weighted,
        "confusion_matrix": cm.tolist(),
        "support": total,
    }
    if proba is not None and total:
        p = np.asarray(proba, dtype=float)
        picked = p[np.arange(total), [index[x] for x in y_pred]]
        evaluation["confidence"] = confidence_curve(
            scores=picked, correct=[t == x for t, x in zip(y_true, y_pred, strict=True)], total=total, unit="samples"
        )
    if n == 2 and proba is not None and total:
        binary = binary_evaluation(
            y_true=[index[t] for t in y_true], score=np.asarray(proba, dtype=float)[:, 1], positive=labels[1]
        )
        evaluation.update(binary)
        if binary.get("roc_auc") is not None:
            metrics["roc_auc"] = binary["roc_auc"]
    return metrics, evaluation


def binary_evaluation(*, y_true: Sequence[int], score: np.ndarray, positive: str) -> dict[str, Any]:
    y = np.asarray(y_true, dtype=int)
    score = np.asarray(score, dtype=float)
    curve = []
    for t in THRESHOLDS:
        pred = score >= t
        tp = int(np.sum(pred & (y == 1)))
        fp = int(np.sum(pred & (y == 0)))
        fn = int(np.sum(~pred & (y == 1)))
        tn = int(np.sum(~pred & (y == 0)))
        precision, recall, f1 = _prf(tp, fp, fn)
        curve.append(
            {
                "threshold": t,
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "tpr": recall,
                "fpr": _safe_div(fp, fp + tn),
                "accuracy": _safe_div(tp + tn, len(y)),
            }
        )
    at_half = next(c for c in curve if c["threshold"] == 0.5)
    pred = score >= 0.5
    return {
        "positive_label": positive,
        "threshold": 0.5,
        "tp": int(np.sum(pred & (y == 1))),
        "fp": int(np.sum(pred & (y == 0))),
        "fn": int(np.sum(~pred & (y == 1))),
        "tn": int(np.sum(~pred & (y == 0))),
        "binary_precision": at_half["precision"],
        "binary_recall": at_half["recall"],
        "binary_f1": at_half["f1"],
        "roc_auc": roc_auc(y, score),
        "threshold_curve": curve,
    }


def roc_auc(y: np.ndarray, score: np.ndarray) -> float | None:
    """Mann-Whitney formulation with ties counted half; None when one class is absent."""
    pos = score[y == 1]
    neg = score[y == 0]
    if len(pos) == 0 or len(neg) == 0:
        return None
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order), dtype=float)
    values = np.concatenate([pos, neg])[order]
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    rank_sum = ranks[: len(pos)].sum()
    return float((rank_sum - len(pos) * (len(pos) + 1) / 2.0) / (len(pos) * len(neg)))


def multilabel_evaluation(
    *,
    y_true: Sequence[Sequence[str]],
    y_pred: Sequence[Sequence[str]],
    labels: Sequence[str],
    proba: np.ndarray | None = None,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Multi-label images: per-label P/R/F1, exact-match accuracy, micro averages.

    ``proba`` (n_samples, len(labels)): every (sample, label) score, for the confidence view
    (a pair kept at a threshold is right when the sample has that label)."""
    per_class = []
    tps = fps = fns = 0
    for name in labels:
        tp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if name in t and name in p)
        fp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if name not in t and name in p)
        fn = sum(1 for t, p in zip(y_true, y_pred, strict=True) if name in t and name not in p)
        tps, fps, fns = tps + tp, fps + fp, fns + fn
        precision, recall, f1 = _prf(tp, fp, fn)
        support = sum(1 for t in y_true if name in t)
        per_class.append({"label": name, "precision": precision, "recall": recall, "f1": f1, "support": support})
    exact = _safe_div(sum(1 for t, p in zip(y_true, y_pred, strict=True) if set(t) == set(p)), len(y_true))
    precision, recall, f1 = _prf(tps, fps, fns)
    metrics = {"accuracy": exact, "precision": precision, "recall": recall, "f1": f1}
    evaluation = {
        "kind": "multilabel",
        "labels": list(labels),
        "accuracy": exact,
        "per_class": per_class,
        "micro_avg": {"precision": precision, "recall": recall, "f1": f1},
        "support": len(y_true),
    }
    if proba is not None and len(y_true):
        truth = np.array([[name in t for name in labels] for t in y_true], dtype=bool)
        evaluation["confidence"] = confidence_curve(
            scores=np.asarray(proba, dtype=float).reshape(-1), correct=truth.reshape(-1),
            total=int(truth.sum()), unit="labels",
        )
    return metrics, evaluation


def regression_evaluation(*, y_true: Sequence[float], y_pred: Sequence[float]) -> tuple[dict[str, float], dict[str, Any]]:
    t = np.asarray(y_true, dtype=float)
    p = np.asarray(y_pred, dtype=float)
    err = p - t
    mse = float(np.mean(err**2)) if len(t) else 0.0
    ss_tot = float(np.sum((t - t.mean()) ** 2)) if len(t) else 0.0
    metrics = {
        "mae": float(np.mean(np.abs(err))) if len(t) else 0.0,
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "r2": 1.0 - float(np.sum(err**2)) / ss_tot if ss_tot else 0.0,
    }
    return metrics, {"kind": "regression", **metrics, "support": int(len(t)), "residuals": residual_view(t, p)}


def _g(value: float) -> float:
    # Six significant digits are plenty for a chart and halve the stored JSON.
    return float(f"{value:.6g}")


def residual_view(actual: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """What the residual plot and error histogram draw, bounded whatever the eval size.

    ``points``: (actual, predicted) of at most RESIDUAL_POINTS eval rows, evenly spaced in
    eval order (the same rows every time); ``histogram``: residuals (predicted - actual) of
    EVERY eval row in RESIDUAL_BINS equal bins (``edges`` has one more entry than ``counts``).
    """
    n = len(actual)
    if n == 0:
        return {"points": [], "total": 0, "sampled": False, "histogram": {"edges": [], "counts": []}}
    idx = np.unique(np.linspace(0, n - 1, min(n, RESIDUAL_POINTS)).round().astype(np.int64))
    err = predicted - actual
    counts, edges = np.histogram(err, bins=RESIDUAL_BINS)
    return {
        "points": [[_g(actual[i]), _g(predicted[i])] for i in idx],
        "total": int(n),
        "sampled": bool(len(idx) < n),
        "histogram": {"edges": [_g(e) for e in edges], "counts": [int(c) for c in counts]},
    }


def confidence_curve(*, scores: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray, total: int,
                     unit: str) -> dict[str, Any]:
    """Keep the predictions scoring at least t, for t in 0, 0.01 … 1: how many are kept, how
    many of them are right (precision) and what share of the ``total`` right answers they
    find (recall). ``unit`` says what a prediction is (samples, labels, boxes). 101 points
    whatever the eval size."""
    s = np.asarray(scores, dtype=float)
    ok = np.asarray(correct, dtype=bool)
    order = np.argsort(s, kind="stable")
    s, ok = s[order], ok[order]
    # right_from[i]: correct predictions among those from sorted position i on
    right_from = np.concatenate([np.cumsum(ok[::-1])[::-1], [0]])
    points = []
    for t in THRESHOLDS:
        first = int(np.searchsorted(s, t - 1e-9, side="left"))
        kept = len(s) - first
        right = int(right_from[first])
        points.append({"threshold": t, "kept": kept, "correct": right,
                       "precision": _g(_safe_div(right, kept)), "recall": _g(_safe_div(right, total))})
    return {"unit": unit, "predictions": int(len(s)), "total": int(total), "points": points}


def image_results(
    samples: Sequence[Any], probs: np.ndarray, labels: list[str], *, multilabel: bool, threshold: float = 0.5
) -> tuple[dict[str, float], dict[str, Any], list[dict[str, Any]]]:
    """Metrics, evaluation and per-image predictions of an image classifier's served
    probabilities (``samples`` carry ``id`` and ``labels``)."""
    from training.engine.preprocessing.image import classification_response, multilabel_predicted

    predictions: list[dict[str, Any]] = []
    if multilabel:
        y_pred = [multilabel_predicted(p, labels, threshold) for p in probs]
        metrics, evaluation = multilabel_evaluation(
            y_true=[list(s.labels) for s in samples], y_pred=y_pred, labels=labels, proba=probs
        )
        for s, p, pred in zip(samples, probs, y_pred, strict=True):
            response = classification_response(p, labels)
            predictions.append(
                {"sample_id": s.id, "true": list(s.labels), "predicted": pred, "scores": response["scores"]}
            )
        return metrics, evaluation, predictions
    y_pred = [labels[int(i)] for i in probs.argmax(axis=1)]
    metrics, evaluation = classification_evaluation(
        y_true=[s.labels[0] for s in samples], y_pred=y_pred, labels=labels, proba=probs
    )
    for s, p, pred in zip(samples, probs, y_pred, strict=True):
        response = classification_response(p, labels)
        predictions.append(
            {
                "sample_id": s.id,
                "true": s.labels[0],
                "predicted": pred,
                "score": float(p.max()),
                "scores": response["scores"],
            }
        )
    return metrics, evaluation, predictions
