"""What the tabular trainer writes and checks: the selection exported as one graph (with its
calibration), bundle.json, and the exported model evaluated through the TabularPredictor a
service runs, against the Python model."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from training.engine.calibration import calibrate_onnx
from training.engine.ensemble import Ensemble
from training.engine.evaluation import regression_evaluation
from training.engine.models import tabular as tm
from training.engine.onnx_blend import max_abs_diff
from training.engine.search import Search, Selection
from training.engine.spec import MODEL_FILE, TrainSpec
from training.engine.warm_start import best_configs

from .common import evaluate_classifier, write_bundle
from .tabular_data import TabularData

logger = logging.getLogger(__name__)

TASK_TYPE = "predictive_analytics"
PARITY_TOLERANCE = 1e-5  # ONNX vs Python: probabilities, or values relative to their scale


def export(ensemble: Ensemble, data: TabularData, bundle_dir: Path) -> None:
    onx = tm.export_ensemble(ensemble.models, ensemble.weights, data.features, stacker=ensemble.stacker)
    if data.label_type != "continuous":
        onx = calibrate_onnx(onx, ensemble.calibration)
    (bundle_dir / MODEL_FILE).write_bytes(onx.SerializeToString())


def bundle_meta(spec: TrainSpec, data: TabularData, threads: int, search: Search, selection: Selection,
                 served_model: str) -> dict:
    assert spec.tabular is not None
    warm_rows = data.eval_rows[:1] or data.train_rows[:1]
    return {
        "task_type": TASK_TYPE,
        "labels": data.classes,
        "input_spec": {
            "columns": list(spec.tabular.columns),
            # The columns' names (the CSV header's): records may be keyed by them or by attr_N.
            "names": [data.names[c] for c in spec.tabular.columns],
            "features": data.features,
            "dropped": list(spec.tabular.dropped),
            "label_column": data.label_column,
            "label_type": data.label_type,
        },
        "preprocessing": {"kind": "tabular", "missing_category": "__missing__"},
        "postprocessing": {"kind": "regression" if data.label_type == "continuous" else "classification"},
        "train_params": {
            "preference": spec.preference,
            "threads": threads,
            "candidates": len(search.trials),
            "selection": selection.describe(),
            "params": {name: search.trial(name).params for name in selection.members},
            "best_configs": best_configs(search),  # what an incremental version tries first
            "served_model": served_model,
        },
        "warmup_example": {"data": {"count": 1, "req_data": data.records(warm_rows, by_name=True)}},
    }


def python_predict(data: TabularData, model: Ensemble, rows: Sequence[int]) -> np.ndarray:
    return np.asarray(model.predict(np.asarray(rows, dtype=np.int64)), dtype=np.float64)


def parity(data: TabularData, model: Ensemble, bundle_dir: Path, threads: int, rows: Sequence[int]) -> dict[str, Any]:
    """ONNX (through the serving predictor) vs Python on ``rows``."""
    from training.engine.predictors.tabular import TabularPredictor

    values, proba = TabularPredictor(bundle_dir, intra_op_threads=threads).run(data.records(rows))
    py = python_predict(data, model, rows)
    if proba is None:
        diff = max_abs_diff(py, values)
        scale = max(1.0, float(np.max(np.abs(py))) if len(py) else 1.0)
        ok = diff <= PARITY_TOLERANCE * scale
        out = {"max_abs_diff": diff, "relative_diff": diff / scale, "within_tolerance": ok}
    else:
        diff = max_abs_diff(py, proba)
        ok = diff <= PARITY_TOLERANCE
        labels_equal = bool(np.array_equal(np.argmax(py, axis=1), values))
        out = {"max_abs_diff": diff, "labels_equal": labels_equal, "within_tolerance": ok}
    if not ok:
        logger.warning("ONNX and Python tabular predictions differ: %s", out)
    return out


def evaluate(data: TabularData, model: Ensemble, bundle_dir: Path, threads: int):
    """Metrics and per-row predictions FROM THE ONNX predictor (what serving will answer),
    checked against the Python model."""
    from training.engine.predictors.tabular import TabularPredictor

    rows = data.eval_rows
    kind = "regression" if data.label_type == "continuous" else "classification"
    if not rows:
        return {}, {"kind": kind, "support": 0}, []
    predictor = TabularPredictor(bundle_dir, intra_op_threads=threads)
    values, proba = predictor.run(data.records(rows))
    reference = python_predict(data, model, rows)
    if kind == "regression":
        y_true = data.y[rows]
        metrics, evaluation = regression_evaluation(y_true=y_true.tolist(), y_pred=values.tolist())
        diff = max_abs_diff(reference, values)
        scale = max(1.0, float(np.max(np.abs(reference))))
        evaluation["onnx_check"] = {"max_abs_diff": diff, "relative_diff": diff / scale, "labels_equal": True}
        predictions = [
            {"sample_id": f"row-{row}", "true": float(y_true[i]), "predicted": float(values[i]), "score": None}
            for i, row in enumerate(rows)
        ]
        return metrics, evaluation, predictions
    assert proba is not None
    metrics, evaluation, predictions = evaluate_classifier(
        sample_ids=[f"row-{row}" for row in rows],
        y_true=[data.label_text(i) for i in rows],
        proba=proba,
        reference=reference,
        labels=data.classes,
        what="tabular",
        predicted=values,  # the graph's own answer, as serving gives it
        uncalibrated=model.predict_uncalibrated(np.asarray(rows, dtype=np.int64)),
        calibration=model.calibration,
    )
    for prediction, p in zip(predictions, proba, strict=True):
        prediction["probabilities"] = {c: float(v) for c, v in zip(data.classes, p, strict=True)}
    return metrics, evaluation, predictions


class TabularBundle:
    """The three steps automl.evaluate_and_serve asks of the tabular trainer."""

    def __init__(self, data: TabularData, threads: int, meta: dict[str, Any], weights: dict[str, float]) -> None:
        self.data, self.threads, self.meta, self.weights = data, threads, meta, weights

    def write(self, ensemble: Ensemble, folder: Path) -> None:
        export(ensemble, self.data, folder)
        write_bundle(folder, **self.meta, metrics={})

    def evaluate(self, folder: Path, ensemble: Ensemble):
        data = self.data
        metrics, evaluation, predictions = evaluate(data, ensemble, folder, self.threads)
        evaluation["feature_importance"] = [
            {**row, "feature": data.names.get(row["feature"], row["feature"])}
            for row in tm.feature_importance(ensemble.models, self.weights, data.features)
        ]
        return metrics, evaluation, predictions

    def served_check(self, folder: Path, served: Ensemble) -> dict[str, Any]:
        data = self.data
        return parity(data, served, folder, self.threads, data.eval_rows or data.train_rows[:50])
