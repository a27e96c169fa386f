"""Detection metrics (mAP@0.5, mAP@0.5:0.95, precision/recall at the served confidence, a
confidence curve) over what a service returns: the trainer's evaluation and the tests share
them."""

from __future__ import annotations

from typing import Any

import numpy as np

from training.engine.evaluation import confidence_curve

CONF_THRESHOLD = 0.25  # what a service returns by default
MAX_DETECTIONS = 100
EVAL_CONF = 0.001  # mAP is computed over the whole ranking, as ultralytics' val does
IOU_RANGE = np.linspace(0.5, 0.95, 10)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix between xyxy boxes a [n,4] and b [m,4]."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def _ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """101-point interpolated AP over the precision envelope (COCO / ultralytics)."""
    if len(recall) == 0:
        return 0.0
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([1.0], precision, [0.0]))
    mpre = np.flip(np.maximum.accumulate(np.flip(mpre)))
    x = np.linspace(0, 1, 101)
    return float(np.trapezoid(np.interp(x, mrec, mpre), x))


# 0.001: everything the model proposes (its top 100 per image), then 0.05 steps.
CURVE_THRESHOLDS = [EVAL_CONF] + [round(0.05 * k, 2) for k in range(1, 20)]


def _match_class(
    c: int,
    truths: list[list[tuple[int, np.ndarray]]],
    preds: list[tuple[np.ndarray, ...]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Greedy matching (by descending score, per image) of class ``c``'s detections.

    ``preds[i]`` = (boxes, scores, classes[, cut_scores]): ``scores`` rank the detections (the
    service's rounded ones, so ties fall as in its answers), ``cut_scores`` (default: scores)
    decide a confidence cut (the service cuts before rounding). Returns cut scores, per-image
    ranks and TP flags [n, len(IOU_RANGE)] in ranking order, plus the number of true boxes.
    Greedy matching in score order means the matches of every score prefix are a prefix of
    these: any confidence cut is a mask, not a re-match.
    """
    keys: list[np.ndarray] = []
    cuts: list[np.ndarray] = []
    ranks: list[np.ndarray] = []
    tps: list[np.ndarray] = []
    n_gt = 0
    for gt, pred in zip(truths, preds, strict=True):
        boxes, sc, cl = pred[:3]
        cut = pred[3] if len(pred) > 3 else sc
        g = np.array([b for k, b in gt if k == c], dtype=np.float64).reshape(-1, 4)
        n_gt += len(g)
        idx = np.flatnonzero(np.asarray(cl) == c)
        s = np.asarray(sc, dtype=np.float64)[idx]
        order = np.argsort(-s, kind="stable")
        idx, s = idx[order], s[order]
        p = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)[idx]
        iou = _iou(p, g)
        tp = np.zeros((len(p), len(IOU_RANGE)), dtype=bool)
        for t, thr in enumerate(IOU_RANGE):
            used = np.zeros(len(g), dtype=bool)
            for i in range(len(p)):
                if not len(g):
                    break
                cand = np.where(~used & (iou[i] >= thr), iou[i], -1.0)
                j = int(cand.argmax())
                if cand[j] >= thr:
                    used[j] = True
                    tp[i, t] = True
        keys.append(s)
        cuts.append(np.asarray(cut, dtype=np.float64)[idx])
        ranks.append(idx)  # detections arrive sorted by score: the index is the rank in the image
        tps.append(tp)
    key_all = np.concatenate(keys) if keys else np.zeros(0)
    cut_all = np.concatenate(cuts) if cuts else np.zeros(0)
    rk_all = np.concatenate(ranks) if ranks else np.zeros(0, dtype=np.int64)
    tp_all = np.concatenate(tps) if tps else np.zeros((0, len(IOU_RANGE)), dtype=bool)
    order = np.argsort(-key_all, kind="stable")
    return cut_all[order], rk_all[order], tp_all[order], n_gt


def _class_scores(tp: np.ndarray, n_gt: int) -> dict[str, float]:
    aps = []
    for t in range(len(IOU_RANGE)):
        ctp = np.cumsum(tp[:, t])
        cfp = np.cumsum(~tp[:, t])
        aps.append(_ap(ctp / max(n_gt, 1), ctp / np.maximum(ctp + cfp, 1)) if n_gt else 0.0)
    tp50, n_pred = int(tp[:, 0].sum()), len(tp)
    precision = tp50 / n_pred if n_pred else 0.0
    recall = tp50 / n_gt if n_gt else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "ap50": aps[0],
        "ap50_95": float(np.mean(aps)),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "tp": tp50,
        "fp": n_pred - tp50,
        "fn": n_gt - tp50,
    }


def response_detections(
    response: dict[str, Any], labels: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A service answer (``detection_response``'s shape) back to (xyxy boxes, scores, class ids)."""
    index = {name: i for i, name in enumerate(labels)}
    yxyx = np.asarray(response["detection_boxes"], dtype=np.float64).reshape(-1, 4)
    return (
        yxyx[:, [1, 0, 3, 2]],
        np.asarray(response["detection_scores"], dtype=np.float64),
        np.asarray([index[c] for c in response["detection_classes"]], dtype=np.int64),
    )


def _macro(per_class: list[dict[str, Any]], key: str) -> float:
    present = [p for p in per_class if p["support"] > 0] or per_class
    return float(np.mean([p[key] for p in present])) if present else 0.0


def detection_metrics(
    truths: list[list[tuple[int, np.ndarray]]],
    preds: list[tuple[np.ndarray, ...]],
    labels: list[str],
    *,
    conf_threshold: float = CONF_THRESHOLD,
    max_detections: int = MAX_DETECTIONS,
    served: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Detection metrics of what a service at ``conf_threshold`` returns, plus the ranking view.

    truths[i] = [(class, xyxy)]; preds[i] = (boxes xyxy, scores, classes) per image, sorted
    by descending score as the decoder returns them, ideally down to a low confidence. The
    headline precision / recall / F1 / mAP50 / mAP50-95 use only the detections a service
    returns (score >= conf_threshold, the first max_detections of the image): a user sees
    those. ``map50_all`` / ``map50_95_all`` rank every detection given (COCO style), and
    ``threshold_curve`` shows the service metrics at other thresholds. Class means are over
    the classes present in the truths. ``served``: the service's own answers per image (as
    ``response_detections`` parses them); when given, the headline is computed from them.
    """
    matched = [_match_class(c, truths, preds) for c in range(len(labels))]

    def at(threshold: float | None, source: list[Any] = matched) -> list[dict[str, Any]]:
        rows = []
        for name, (sc, rk, tp, n_gt) in zip(labels, source, strict=True):
            keep = np.ones(len(sc), dtype=bool) if threshold is None else (sc >= threshold) & (rk < max_detections)
            rows.append({"label": name, **_class_scores(tp[keep], n_gt), "support": n_gt})
        return rows

    per_class = at(conf_threshold) if served is None else at(
        None, [_match_class(c, truths, served) for c in range(len(labels))]
    )
    ranking = at(None)
    metrics = {
        "map50": _macro(per_class, "ap50"),
        "map50_95": _macro(per_class, "ap50_95"),
        "precision": _macro(per_class, "precision"),
        "recall": _macro(per_class, "recall"),
        "f1": _macro(per_class, "f1"),
        "map50_all": _macro(ranking, "ap50"),
        "map50_95_all": _macro(ranking, "ap50_95"),
    }
    curve = [_curve_point(t, at(t)) for t in sorted({*CURVE_THRESHOLDS, round(float(conf_threshold), 4)})]
    confidence = _box_confidence(matched, max_detections)
    for row, full in zip(per_class, ranking, strict=True):
        row["ap50_all"], row["ap50_95_all"] = full["ap50"], full["ap50_95"]
    evaluation = {
        "kind": "detection",
        "labels": list(labels),
        "iou_threshold": 0.5,
        "conf_threshold": conf_threshold,
        "max_detections": max_detections,
        **metrics,
        "per_class": per_class,
        "threshold_curve": curve,
        "confidence": confidence,
        "support": int(sum(p["support"] for p in per_class)),
    }
    return metrics, evaluation


def _curve_point(threshold: float, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "threshold": threshold,
        "precision": _macro(rows, "precision"),
        "recall": _macro(rows, "recall"),
        "f1": _macro(rows, "f1"),
        "map50": _macro(rows, "ap50"),
    }


def _box_confidence(matched: list[Any], max_detections: int) -> dict[str, Any]:
    """Per-box view at IoU 0.5 (micro over classes): a box kept at t is right when it matches a
    true box; recall is over every true box. Same cut as the curve (score and max_detections)."""
    box_scores = np.concatenate([sc[rk < max_detections] for sc, rk, _, _ in matched]) if matched else np.zeros(0)
    box_right = (np.concatenate([tp[rk < max_detections, 0] for _, rk, tp, _ in matched])
                 if matched else np.zeros(0, dtype=bool))
    return confidence_curve(scores=box_scores, correct=box_right,
                            total=int(sum(n for *_, n in matched)), unit="boxes")
