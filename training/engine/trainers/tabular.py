"""Predictive analytics: LightGBM with a time-budgeted Optuna search, exported as ONE ONNX graph
(column encoders + trees) with one input per CSV column.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from training.engine.evaluation import regression_evaluation
from training.engine.preprocessing.tabular import columns_to_inputs, is_missing, parse_number
from training.engine.spec import MODEL_FILE, ProgressFn, TrainingError, TrainResult, TrainSpec, seconds_left

from .common import (
    ONNX_OPSET,
    Heartbeat,
    begin_fit,
    evaluate_classifier,
    finish_fit,
    lgbm_time_callback,
    recipe_for,
    register_lightgbm_converters,
    setup_threads,
    write_bundle,
)

logger = logging.getLogger(__name__)

MIN_CONTINUOUS_DISTINCT = 25  # ModelArts' rule for a continuous label column
MIN_TRAIN_ROWS = 10
ONE_HOT_MAX_CATEGORIES = 16
EXPORT_RESERVE_S = 2.0


class _Data:
    """The CSV as strings plus the derived split and label arrays."""

    def __init__(self, spec: TrainSpec) -> None:
        import pandas as pd

        tab = spec.tabular
        assert tab is not None
        try:
            frame = pd.read_csv(
                tab.csv_path, header=None, dtype=str, keep_default_na=False, skip_blank_lines=True
            )
        except Exception as exc:  # pandas raises several parser error types
            raise TrainingError(f"cannot read the training CSV: {exc}") from None
        if frame.shape[1] != len(tab.columns):
            raise TrainingError(f"the CSV has {frame.shape[1]} columns, expected {len(tab.columns)}")
        frame.columns = list(tab.columns)
        self.raw = {c: [str(v) for v in frame[c].tolist()] for c in tab.columns}
        self.n_rows = len(frame)
        self.label_column = tab.label_column
        self.label_type = tab.label_type
        self.features = [
            {"name": c, "kind": tab.kinds.get(c, "numeric")}
            for c in tab.columns
            if c != tab.label_column and c not in tab.dropped
        ]
        if not self.features:
            raise TrainingError("no feature columns left besides the label column")
        raw_labels = self.raw[tab.label_column]
        labelled = [i for i, v in enumerate(raw_labels) if not is_missing(v)]
        eval_set = {i for i in tab.eval_rows if 0 <= i < self.n_rows}
        if not eval_set:  # no split given: hold out a fifth, reproducibly
            rng = np.random.default_rng(spec.seed)
            chosen = rng.permutation(labelled)[: max(1, len(labelled) // 5)]
            eval_set = {int(i) for i in chosen}
        self.train_rows = [i for i in labelled if i not in eval_set]
        self.eval_rows = [i for i in labelled if i in eval_set]
        if len(self.train_rows) < MIN_TRAIN_ROWS:
            raise TrainingError(
                f"only {len(self.train_rows)} labelled training rows; at least {MIN_TRAIN_ROWS} needed"
            )
        if self.label_type == "continuous":
            values = [parse_number(raw_labels[i]) for i in labelled]
            bad = [raw_labels[i] for i, v in zip(labelled, values, strict=True) if v is None]
            if bad:
                raise TrainingError(
                    f"label column {tab.label_column} is continuous but holds non-numeric values "
                    f"(e.g. {bad[0]!r}); choose discrete or fix the data"
                )
            distinct = len({raw_labels[i].strip() for i in self.train_rows})
            if distinct < MIN_CONTINUOUS_DISTINCT:
                raise TrainingError(
                    f"label column {tab.label_column} is continuous but has only {distinct} distinct values in "
                    f"the training rows (at least {MIN_CONTINUOUS_DISTINCT} needed); choose discrete instead"
                )
            self.classes: list[str] = []
            self.y = np.asarray([parse_number(v) for v in raw_labels], dtype=np.float64)
        else:
            self.classes = sorted({raw_labels[i].strip() for i in self.train_rows})
            if len(self.classes) < 2:
                raise TrainingError(
                    f"label column {tab.label_column} has fewer than two classes in the training rows"
                )
            index = {c: k for k, c in enumerate(self.classes)}
            self.y = np.asarray([index.get(v.strip(), -1) for v in raw_labels], dtype=np.int64)

    def frame(self, rows: Sequence[int]):
        """The model input as a DataFrame (one column per feature, training conversions)."""
        import pandas as pd

        spec = {"features": self.features}
        inputs = columns_to_inputs(
            {f["name"]: [self.raw[f["name"]][i] for i in rows] for f in self.features}, spec, strict=False
        )
        return pd.DataFrame({name: arr.reshape(-1) for name, arr in inputs.items()})

    def records(self, rows: Sequence[int]) -> list[dict[str, str]]:
        return [{c: self.raw[c][i] for c in self.raw} for i in rows]


def _column_transformer(data: _Data, frame):
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

    parts = []
    numerics = [f["name"] for f in data.features if f["kind"] == "numeric"]
    for f in data.features:
        if f["kind"] != "categorical":
            continue
        name = f["name"]
        if frame[name].nunique() <= ONE_HOT_MAX_CATEGORIES:
            encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32)
        else:
            encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, dtype=np.float32)
        parts.append((f"c_{name}", encoder, [name]))
    if numerics:
        parts.append(("num", "passthrough", numerics))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)


def _split_fit_val(data: _Data, seed: int) -> tuple[list[int], list[int]]:
    """Validation fold cut from TRAIN rows (stratified for classes; every class stays in fit)."""
    rng = np.random.default_rng(seed)
    rows = np.asarray(data.train_rows)
    if data.label_type == "continuous":
        perm = rng.permutation(rows)
        n_val = max(1, len(rows) // 5)
        return sorted(perm[n_val:].tolist()), sorted(perm[:n_val].tolist())
    fit, val = [], []
    for k in range(len(data.classes)):
        members = rng.permutation(rows[data.y[rows] == k]).tolist()
        n_val = len(members) // 5
        val += members[:n_val]
        fit += members[n_val:]
    if not val:
        val = fit[:1]
    return sorted(fit), sorted(val)


class TabularTrainer:
    task_type = "predictive_analytics"

    def validate(self, spec: TrainSpec) -> list[str]:
        reasons = []
        tab = spec.tabular
        if tab is None:
            return ["predictive analytics needs a training CSV"]
        if not Path(tab.csv_path).is_file():
            reasons.append("the training CSV is missing")
        if tab.label_column not in tab.columns:
            reasons.append(f"label column {tab.label_column!r} is not a column of the CSV")
        if tab.label_type not in ("discrete", "continuous"):
            reasons.append("label type must be discrete or continuous")
        if len([c for c in tab.columns if c != tab.label_column and c not in tab.dropped]) < 1:
            reasons.append("no feature columns besides the label column")
        return reasons

    def fit(self, spec: TrainSpec, workdir: Path, deadline: float, progress: ProgressFn) -> TrainResult:
        threads = setup_threads(spec.threads)
        started, beat = begin_fit(self.validate(spec), progress, "preparing")
        data = _Data(spec)
        log: list[str] = [
            f"{len(data.train_rows)} training rows, {len(data.eval_rows)} eval rows, "
            f"{len(data.features)} feature columns, label {data.label_column} ({data.label_type})"
        ]
        regression = data.label_type == "continuous"
        recipe = recipe_for(spec.preference)
        fit_rows, val_rows = _split_fit_val(data, spec.seed)
        x_fit, x_val = data.frame(fit_rows), data.frame(val_rows)
        y_fit, y_val = data.y[fit_rows], data.y[val_rows]
        ct = _column_transformer(data, x_fit).fit(x_fit)
        m_fit, m_val = ct.transform(x_fit), ct.transform(x_val)

        # Conversion and evaluation grow with trees x classes and with machine load: keep
        # a share of the budget for them on top of the fixed reserve.
        work_deadline = deadline - min(30.0, 0.15 * max(0.0, seconds_left(deadline)))
        search = _Search(
            regression=regression,
            n_classes=len(data.classes),
            threads=threads,
            seed=spec.seed,
            data=(m_fit, y_fit, m_val, y_val),
            beat=beat,
        )
        budget = max(0.0, (seconds_left(work_deadline) - EXPORT_RESERVE_S) * recipe["search_fraction"])
        search.run(
            budget=budget,
            max_trials=int(spec.params.get("max_trials", recipe["max_trials"])),
            deadline=work_deadline,
        )
        stopped = search.stopped_by_deadline
        log.append(
            f"search: {search.trials} trials, best validation loss {search.best_loss:.6g}, params {search.best_params}"
        )

        model = search.best_model
        final_ct = ct
        # Refit on all training rows when the clock allows; otherwise keep the searched model.
        refit_cost = 2.0 * search.best_seconds * len(data.train_rows) / max(1, len(fit_rows)) + 0.5
        if seconds_left(work_deadline) - EXPORT_RESERVE_S > refit_cost:
            beat("refitting", 0.85, force=True)
            x_all = data.frame(data.train_rows)
            final_ct = _column_transformer(data, x_all).fit(x_all)
            n_trees = max(1, int(math.ceil(search.best_iterations * 1.1)))
            refit = search.make_model(search.best_params, n_estimators=n_trees)
            refit.fit(
                final_ct.transform(x_all),
                data.y[data.train_rows],
                callbacks=[lgbm_time_callback(work_deadline, beat, "refitting", 0.85)],
            )
            model = refit
            log.append(f"refit on all {len(data.train_rows)} training rows with {n_trees} trees")
        elif not stopped and seconds_left(work_deadline) <= refit_cost + EXPORT_RESERVE_S:
            stopped = True
        beat("exporting", 0.92, force=True)
        bundle_dir = Path(workdir) / "bundle"
        bundle_dir.mkdir(parents=True, exist_ok=True)
        pipeline = _export(data, final_ct, model, bundle_dir / MODEL_FILE)
        model.booster_.save_model(str(bundle_dir / "lgbm.txt"))

        importance = _feature_importance(data, final_ct, model)
        input_spec = {
            "columns": list(spec.tabular.columns),
            "features": data.features,
            "dropped": list(spec.tabular.dropped),
            "label_column": data.label_column,
            "label_type": data.label_type,
        }
        warm_rows = data.eval_rows[:1] or data.train_rows[:1]
        train_params = {
            "preference": spec.preference,
            "threads": threads,
            "trials": search.trials,
            "best_params": search.best_params,
            "n_estimators": int(model.n_estimators),
            "seconds": round(time.monotonic() - started, 3),
        }
        bundle = write_bundle(
            bundle_dir,
            task_type=self.task_type,
            labels=data.classes,
            input_spec=input_spec,
            preprocessing={"kind": "tabular", "missing_category": "__missing__"},
            postprocessing={"kind": "regression" if regression else "classification"},
            metrics={},
            train_params=train_params,
            warmup_example={"data": {"count": 1, "req_data": data.records(warm_rows)}},
        )

        beat("evaluating", 0.96, force=True)
        metrics, evaluation, predictions = _evaluate(data, pipeline, bundle_dir, threads)
        evaluation["feature_importance"] = importance
        bundle["metrics"] = metrics
        write_bundle(
            bundle_dir,
            **{
                k: bundle[k]
                for k in (
                    "task_type",
                    "labels",
                    "input_spec",
                    "preprocessing",
                    "postprocessing",
                    "train_params",
                    "warmup_example",
                )
            },
            metrics=metrics,
        )
        log.append(f"eval metrics: {metrics}")
        return finish_fit(beat, bundle_dir, metrics, evaluation, predictions, stopped=stopped, log=log)


class _Search:
    """Optuna TPE over LightGBM parameters with early stopping on the validation fold."""

    def __init__(
        self, *, regression: bool, n_classes: int, threads: int, seed: int, data, beat: Heartbeat
    ) -> None:
        self.regression = regression
        self.n_classes = n_classes
        self.threads = threads
        self.seed = seed
        self.m_fit, self.y_fit, self.m_val, self.y_val = data
        self.beat = beat
        self.best_model = None
        self.best_loss = math.inf
        self.best_params: dict[str, Any] = {}
        self.best_iterations = 1
        self.best_seconds = 0.0
        self.trials = 0
        self.stopped_by_deadline = False

    def make_model(self, params: dict[str, Any], *, n_estimators: int):
        from lightgbm import LGBMClassifier, LGBMRegressor

        cls = LGBMRegressor if self.regression else LGBMClassifier
        return cls(
            n_estimators=n_estimators,
            n_jobs=self.threads,
            random_state=self.seed,
            verbose=-1,
            subsample_freq=1 if params.get("subsample", 1.0) < 1.0 else 0,
            **params,
        )

    def _loss(self, model) -> float:
        if self.regression:
            pred = model.predict(self.m_val)
            return float(np.mean((pred - self.y_val) ** 2))
        proba = np.clip(model.predict_proba(self.m_val), 1e-12, 1.0)
        return float(-np.mean(np.log(proba[np.arange(len(self.y_val)), self.y_val])))

    def _train(self, params: dict[str, Any], deadline: float, fraction: float) -> float:
        import lightgbm

        started = time.monotonic()
        model = self.make_model(params, n_estimators=2000)
        model.fit(
            self.m_fit,
            self.y_fit,
            eval_X=self.m_val,
            eval_y=self.y_val,
            callbacks=[
                lightgbm.early_stopping(50, verbose=False),
                lgbm_time_callback(deadline, self.beat, "searching", fraction),
            ],
        )
        loss = self._loss(model)
        self.trials += 1
        if loss < self.best_loss or self.best_model is None:
            self.best_loss, self.best_model, self.best_params = loss, model, dict(params)
            self.best_iterations = int(model.best_iteration_ or model.n_estimators)
            self.best_seconds = time.monotonic() - started
        return loss

    def default_params(self) -> dict[str, Any]:
        n = len(self.y_fit)
        return {"num_leaves": 31, "learning_rate": 0.1, "min_child_samples": min(20, max(2, n // 10))}

    def run(self, *, budget: float, max_trials: int, deadline: float) -> None:
        search_end = min(deadline - EXPORT_RESERVE_S, time.monotonic() + budget)
        n = len(self.y_fit)
        # Always one model, even with no time left: a minimal one under a hard stop.
        self._train(self.default_params(), max(search_end, time.monotonic() + 0.5), 0.1)
        if time.monotonic() >= search_end:
            self.stopped_by_deadline = True
            return
        if max_trials <= 1:
            return
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = optuna.samplers.TPESampler(seed=self.seed, n_startup_trials=5)
        study = optuna.create_study(direction="minimize", sampler=sampler)
        study.enqueue_trial(self.default_params())
        study.tell(study.ask(), self.best_loss)
        max_child = max(2, min(100, n // 4))

        def objective(trial) -> float:
            params = {
                "num_leaves": trial.suggest_int("num_leaves", 4, 128, log=True),
                "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
                "min_child_samples": trial.suggest_int("min_child_samples", 2, max_child, log=True),
                "subsample": trial.suggest_float("subsample", 0.5, 1.0),
                "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
                "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
            }
            done = 1.0 - max(0.0, search_end - time.monotonic()) / max(budget, 1e-9)
            return self._train(params, search_end, 0.1 + 0.7 * done)

        remaining_trials = max_trials - 1
        study.optimize(objective, n_trials=remaining_trials, timeout=max(0.0, search_end - time.monotonic()))
        self.stopped_by_deadline = self.trials < max_trials


def _initial_types(data: _Data):
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    return [
        (f["name"], FloatTensorType([None, 1]) if f["kind"] == "numeric" else StringTensorType([None, 1]))
        for f in data.features
    ]


def _export(data: _Data, ct, model, path: Path):
    """sklearn Pipeline(ColumnTransformer -> LightGBM) -> one ONNX graph; returns the pipeline."""
    from skl2onnx import convert_sklearn
    from sklearn.pipeline import Pipeline

    register_lightgbm_converters()
    pipeline = Pipeline([("prep", ct), ("model", model)])
    options = None if data.label_type == "continuous" else {id(model): {"zipmap": False}}
    onx = convert_sklearn(
        pipeline, initial_types=_initial_types(data), target_opset=ONNX_OPSET, options=options
    )
    path.write_bytes(onx.SerializeToString())
    return pipeline


def _feature_importance(data: _Data, ct, model) -> list[dict[str, Any]]:
    """Gain importance summed back onto the original columns, normalised to 1."""
    gains = np.asarray(model.booster_.feature_importance(importance_type="gain"), dtype=float)
    per_column: dict[str, float] = {f["name"]: 0.0 for f in data.features}
    for name, sl in ct.output_indices_.items():
        if name == "num":
            numerics = [f["name"] for f in data.features if f["kind"] == "numeric"]
            for offset, column in enumerate(numerics):
                per_column[column] += float(gains[sl.start + offset])
        elif name.startswith("c_"):
            per_column[name[2:]] += float(gains[sl].sum())
    total = sum(per_column.values()) or 1.0
    rows = [{"feature": c, "importance": v / total} for c, v in per_column.items()]
    return sorted(rows, key=lambda r: -r["importance"])


def _evaluate(data: _Data, pipeline, bundle_dir: Path, threads: int):
    """Metrics and per-row predictions FROM THE ONNX predictor (what serving will answer),
    checked against the Python pipeline."""
    from training.engine.predictors.tabular import TabularPredictor

    rows = data.eval_rows
    if not rows:
        return (
            {},
            {"kind": "regression" if data.label_type == "continuous" else "classification", "support": 0},
            [],
        )
    predictor = TabularPredictor(bundle_dir, intra_op_threads=threads)
    values, proba = predictor.run(data.records(rows))
    frame = data.frame(rows)
    raw_labels = data.raw[data.label_column]
    predictions: list[dict[str, Any]] = []
    if data.label_type == "continuous":
        py = pipeline.predict(frame)
        diff = float(np.max(np.abs(py - values))) if len(rows) else 0.0
        y_true = data.y[rows]
        metrics, evaluation = regression_evaluation(y_true=y_true.tolist(), y_pred=values.tolist())
        evaluation["onnx_check"] = {"max_abs_diff": diff, "labels_equal": True}
        for i, row in enumerate(rows):
            predictions.append(
                {
                    "sample_id": f"row-{row}",
                    "true": float(y_true[i]),
                    "predicted": float(values[i]),
                    "score": None,
                }
            )
        return metrics, evaluation, predictions
    y_true = [raw_labels[i].strip() for i in rows]
    metrics, evaluation, predictions = evaluate_classifier(
        sample_ids=[f"row-{row}" for row in rows],
        y_true=y_true,
        proba=proba,
        reference=pipeline.predict_proba(frame),
        labels=data.classes,
        what="tabular",
        predicted=values,  # the graph's own label output, as serving answers
    )
    for prediction, p in zip(predictions, proba, strict=True):
        prediction["probabilities"] = {c: float(v) for c, v in zip(data.classes, p, strict=True)}
    return metrics, evaluation, predictions
