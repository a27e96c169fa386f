"""Predictive analytics: an AutoML search over a portfolio of model families, exported as
ONE ONNX graph (column encoders + models + ensemble weights) with one input per CSV column.

fit() is a composition of engine steps (training/engine/search.py): baselines first
(LightGBM with default parameters, a regularised linear model), then CatBoost, extra trees
and an Optuna-tuned LightGBM driven lazily until the budget's preference stops the search;
the selection (one model or a greedy ensemble) is evaluated honestly on the EVAL rows
through the exported graph, then by default refitted on every labelled row for serving.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from training.engine import scoring
from training.engine.budget import Budget
from training.engine.calibration import calibrate_onnx
from training.engine.evaluation import regression_evaluation
from training.engine.onnx_blend import max_abs_diff
from training.engine.preprocessing.tabular import columns_to_inputs, is_missing, parse_number
from training.engine.search import (
    Candidate,
    Ensemble,
    LiveReport,
    Search,
    Selection,
    fit_selection,
)
from training.engine.spec import MODEL_FILE, ProgressFn, TrainingError, TrainResult, TrainSpec
from training.engine.validation import make_folds

from . import tabular_models as tm
from .common import begin_fit, evaluate_classifier, finish_fit, setup_threads, write_bundle

logger = logging.getLogger(__name__)

MIN_CONTINUOUS_DISTINCT = 25  # ModelArts' rule for a continuous label column
MIN_TRAIN_ROWS = 10
PARITY_TOLERANCE = 1e-5  # ONNX vs Python: probabilities, or values relative to their scale
EXPORT_MEMBER_S = 0.5  # converting one member to ONNX, twice (evaluated and served model)


class _Data:
    """The CSV as strings plus the derived split and label arrays."""

    def __init__(self, spec: TrainSpec) -> None:
        tab = spec.tabular
        assert tab is not None
        self.names = dict(zip(tab.columns, tab.names or tab.columns, strict=True))
        table = read_table(tab)
        self.raw = {c: [row[k] for row in table] for k, c in enumerate(tab.columns)}
        self._table = None
        self.n_rows = len(table)
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
                    f"label column {self.names[tab.label_column]} is continuous but holds non-numeric values "
                    f"(e.g. {bad[0]!r}); choose discrete or fix the data"
                )
            distinct = len({raw_labels[i].strip() for i in self.train_rows})
            if distinct < MIN_CONTINUOUS_DISTINCT:
                raise TrainingError(
                    f"label column {self.names[tab.label_column]} is continuous but has only {distinct} distinct values in "
                    f"the training rows (at least {MIN_CONTINUOUS_DISTINCT} needed); choose discrete instead"
                )
            self.classes: list[str] = []
            self.y = np.asarray([parse_number(v) for v in raw_labels], dtype=np.float64)
        else:
            self.classes = sorted({raw_labels[i].strip() for i in self.train_rows})
            if len(self.classes) < 2:
                raise TrainingError(
                    f"label column {self.names[tab.label_column]} has fewer than two classes in the training rows"
                )
            index = {c: k for k, c in enumerate(self.classes)}
            self.y = np.asarray([index.get(v.strip(), -1) for v in raw_labels], dtype=np.int64)

    def frame(self, rows: Sequence[int]):
        """The model input as a DataFrame (one column per feature, the conversions serving
        makes: float32 numerics with NaN, categorical strings with the missing sentinel)."""
        if self._table is None:
            import pandas as pd

            spec = {"features": self.features}
            inputs = columns_to_inputs({f["name"]: self.raw[f["name"]] for f in self.features}, spec, strict=False)
            self._table = pd.DataFrame({name: arr.reshape(-1) for name, arr in inputs.items()})
        return self._table.iloc[np.asarray(rows, dtype=np.int64)].reset_index(drop=True)

    def labelled_rows(self) -> np.ndarray:
        """TRAIN + EVAL rows whose label the model can learn (a class absent from TRAIN is not)."""
        rows = np.asarray(sorted(self.train_rows + self.eval_rows), dtype=np.int64)
        return rows if self.label_type == "continuous" else rows[self.y[rows] >= 0]

    def records(self, rows: Sequence[int], *, by_name: bool = False) -> list[dict[str, str]]:
        """Rows as request records, keyed by attr_N or by the columns' names."""
        key = self.names.get if by_name else str
        return [{key(c): self.raw[c][i] for c in self.raw} for i in rows]


def read_table(tab) -> list[list[str]]:
    """The CSV's data rows as the profile counted them (same dialect; blank lines and the
    header skipped; fields stripped), each of len(tab.columns) fields."""
    import csv

    rows: list[list[str]] = []
    try:
        with open(tab.csv_path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, delimiter=tab.delimiter, quotechar=tab.quotechar, doublequote=True,
                                skipinitialspace=True, strict=True)
            for fields in reader:
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue
                if len(fields) != len(tab.columns):
                    raise TrainingError(
                        f"row {reader.line_num} of the CSV has {len(fields)} columns, expected {len(tab.columns)}"
                    )
                rows.append([f.strip() for f in fields])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TrainingError(f"cannot read the training CSV: {exc}") from None
    return rows[1:] if tab.has_header else rows




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
        started, _ = begin_fit(self.validate(spec), progress, "preparing")
        budget = Budget(deadline, preference=spec.preference)
        data = _Data(spec)
        tm.warm_imports()
        kind: scoring.Kind = "regression" if data.label_type == "continuous" else "classification"
        train = np.asarray(data.train_rows, dtype=np.int64)
        folds = make_folds(data.y[train], classification=kind == "classification", seed=spec.seed)
        report = LiveReport(progress, budget, metric=scoring.METRIC_NAME[kind])
        # An Optuna study fills the leaderboard with near-copies: the ensemble blends families.
        search = Search(y=data.y[train], rows=train, folds=folds, kind=kind, budget=budget, report=report,
                        ensemble_pool="per_family", max_trials=spec.params.get("max_trials"))
        families = tm.Families(
            features=data.features, frame_of=data.frame, y_of=lambda rows: data.y[rows],
            n_classes=len(data.classes), threads=threads, seed=spec.seed,
            beat=_throttled(lambda: report.beat("searching", search.fraction())),
        )
        # The final fits (TRAIN rows, then every labelled row, with 10 % more trees) cost this
        # many search fits (on a fold's rows); the search keeps time for them.
        served_rows = data.labelled_rows()
        refit = bool(spec.params.get("refit_on_all", True)) and len(served_rows) > len(train)
        fold_rows = len(folds.splits[0][0])
        families.final_factor = 1.1 * (len(train) + (len(served_rows) if refit else 0)) / max(1, fold_rows)
        prepared = budget.elapsed()
        search.run(portfolio(search, families, rows=len(train), seed=spec.seed))
        stopped = search.stopped_by_deadline
        search_seconds = budget.elapsed()
        selection = search.select(ensemble=True)
        log = [
            f"{len(data.train_rows)} training rows, {len(data.eval_rows)} eval rows, {len(data.features)} feature "
            f"columns, label {data.label_column} ({data.label_type})",
            f"search: {len(search.trials)} candidates from {prepared:.1f} s to {search_seconds:.1f} s, "
            f"{folds.describe()}, selected {selection.kind} {selection.weights}",
        ]

        # Honest evaluation: the selection fitted on TRAIN rows, exported, and the graph
        # (what serving runs) evaluated on the EVAL rows.
        families.final = True
        report.beat("fitting the selection", 0.86)
        evaluated = fit_selection(search, selection, train, budget)
        bundle_dir = Path(workdir) / "bundle"
        bundle_dir.mkdir(parents=True, exist_ok=True)
        report.beat("exporting", 0.9)
        _export(evaluated, data, bundle_dir)
        search_info = {
            "validation": folds.describe(),
            "leaderboard": search.leaderboard(),
            "selection": {**selection.describe(), "validation_score": selection.score},
            "evaluated_model": f"fit on the {len(train)} TRAIN rows",
            "served_model": f"refit on all {len(served_rows)} labelled rows" if refit else "the evaluated model",
        }
        bundle_meta = _bundle_meta(spec, data, threads, search, selection, search_info)
        write_bundle(bundle_dir, **bundle_meta, metrics={})
        report.beat("evaluating", 0.93)
        metrics, evaluation, predictions = _evaluate(data, evaluated, bundle_dir, threads)
        evaluation["feature_importance"] = [
            {**row, "feature": data.names.get(row["feature"], row["feature"])}
            for row in tm.feature_importance(evaluated.models, selection.weights, data.features)
        ]
        evaluation["search"] = search_info

        if refit:
            report.beat("refitting on all rows", 0.95)
            served = fit_selection(search, selection, served_rows, budget)
            _export(served, data, bundle_dir)
            check = _parity(data, served, bundle_dir, threads, data.eval_rows or data.train_rows[:50])
            evaluation["search"]["served_onnx_check"] = check
            log.append(f"refit on all {len(served_rows)} labelled rows (ONNX check {check})")
        evaluation["search"]["seconds"] = {
            "search": round(search_seconds, 2), "final": round(budget.elapsed() - search_seconds, 2)
        }
        bundle_meta["train_params"]["seconds"] = round(time.monotonic() - started, 3)
        write_bundle(bundle_dir, **bundle_meta, metrics=metrics)
        log.append(f"eval metrics: {metrics}")
        return finish_fit(
            lambda phase, fraction, force=False: report.beat(phase, fraction),
            bundle_dir, metrics, evaluation, predictions, stopped=stopped, log=log,
        )


def _throttled(fn, every: float = 1.0):
    last = [0.0]

    def call() -> None:
        now = time.monotonic()
        if now - last[0] >= every:
            last[0] = now
            fn()

    return call


def portfolio(search: Search, families: tm.Families, *, rows: int, seed: int) -> Iterator[Candidate]:
    """Baselines first, then the stronger families, then tuned LightGBM / CatBoost proposals
    for as long as the search asks (the budget's preference decides when it stops); a
    candidate is proposed only while the final fits of the selection still fit after it."""
    yield Candidate("lgbm_default", "lgbm_default", families.lightgbm("lgbm_default", {}, tuned=False),
                    baseline=True, params={"n_estimators": 100})
    yield Candidate("linear", "linear", families.linear(1.0), baseline=True, params={"C": 1.0})
    cb = {"depth": 6, "learning_rate": 0.08}
    et = {"n_estimators": 100, "min_samples_leaf": 2, "max_features": 0.5, "max_leaf_nodes": 2048}
    fixed = [
        Candidate("catboost", "catboost", families.catboost("catboost", cb), params=cb),
        Candidate("extra_trees", "extra_trees", families.extra_trees("extra_trees", et), params=et),
        *(Candidate(f"linear_C{c:g}", "linear", families.linear(c), params={"C": c}) for c in (0.1, 10.0)),
    ]
    for cand in fixed:
        if _affordable(search, families, cand):
            yield cand
    yield from _tuned(search, families, rows=rows, seed=seed)


# Seconds of one fit of a family never tried yet, in lgbm_default fits (what the first
# baseline measured on this table and machine).
RELATIVE_COST = {"catboost": 2.0, "extra_trees": 2.0, "lgbm_tuned": 2.0, "catboost_tuned": 2.0}
# How much longer than its cap a candidate may be expected to take and still run (cut at
# the cap): accuracy_first prefers a truncated candidate to leaving the time unused.
CAP_STRETCH = {"performance_first": 1.0, "balance": 1.5, "accuracy_first": 4.0}
MIN_FIT_CAP_S = 0.1


def _affordable(search: Search, families: tm.Families, cand: Candidate) -> bool:
    """Whether ``cand`` and, after it, the final fits of the selection (with ``cand`` in it)
    still fit the budget; sets the seconds each of its fits may take so that they do."""
    k = max(1, len(search.folds.splits))
    factor = families.final_factor
    final = sum(factor * t.seconds / k + EXPORT_MEMBER_S for t in search.likely_members())
    budget = search.budget
    # The budget's export reserve (after the work deadline) takes the first part of it.
    spare = budget.left() - max(0.0, final + EXPORT_MEMBER_S - float(budget.export_reserve or 0.0))
    expected = search.expected_seconds(cand)
    if expected is None:
        base = next((t for t in search.trials if t.name == "lgbm_default" and t.status == "done"), None)
        expected = RELATIVE_COST.get(cand.family, 2.0) * (base.seconds if base else 0.0)
    # k search fits and the final fits of this candidate, each capped at ``cap`` seconds; a
    # candidate expected to run a little longer still runs (its fits stop at the cap).
    cap = spare / (k + factor)
    families.fit_cap = cap
    stretch = CAP_STRETCH.get(budget.preference, CAP_STRETCH["balance"])
    return cap >= MIN_FIT_CAP_S and expected / k <= stretch * cap


def _tuned(search: Search, families: tm.Families, *, rows: int, seed: int) -> Iterator[Candidate]:
    """Optuna TPE ask/tell over LightGBM (three proposals in four) and CatBoost; no trial cap."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    studies = {
        fam: optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=6))
        for fam in ("lgbm_tuned", "catboost_tuned")
    }
    max_child = max(2, min(100, rows // 8))
    for n in range(10**9):
        fam = "catboost_tuned" if n % 4 == 3 else "lgbm_tuned"
        trial = studies[fam].ask()
        if fam == "lgbm_tuned":
            params = {
                "num_leaves": trial.suggest_int("num_leaves", 4, 128, log=True),
                "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
                "min_child_samples": trial.suggest_int("min_child_samples", 2, max_child, log=True),
                "subsample": trial.suggest_float("subsample", 0.5, 1.0),
                "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
                "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
            }
            name = f"lgbm_tuned_{trial.number}"
            fit = families.lightgbm(name, params, tuned=True)
        else:
            params = {
                "depth": trial.suggest_int("depth", 3, 9),
                "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.3, log=True),
                "l2_leaf_reg": trial.suggest_float("l2_leaf_reg", 0.5, 30.0, log=True),
            }
            name = f"catboost_tuned_{trial.number}"
            fit = families.catboost(name, params)
        cand = Candidate(name, fam, fit, params=params)
        if not _affordable(search, families, cand):
            return
        yield cand
        done = search.trials[-1]
        if done.name == name and done.status == "done" and done.score is not None:
            studies[fam].tell(trial, done.score)
        else:
            studies[fam].tell(trial, state=optuna.trial.TrialState.FAIL)


def _export(ensemble: Ensemble, data: _Data, bundle_dir: Path) -> None:
    onx = tm.export_ensemble(ensemble.models, ensemble.weights, data.features)
    if data.label_type != "continuous":
        onx = calibrate_onnx(onx, ensemble.calibration)
    (bundle_dir / MODEL_FILE).write_bytes(onx.SerializeToString())


def _bundle_meta(spec: TrainSpec, data: _Data, threads: int, search: Search, selection: Selection, info) -> dict:
    assert spec.tabular is not None
    warm_rows = data.eval_rows[:1] or data.train_rows[:1]
    return {
        "task_type": TabularTrainer.task_type,
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
            "served_model": info["served_model"],
        },
        "warmup_example": {"data": {"count": 1, "req_data": data.records(warm_rows, by_name=True)}},
    }


def _python(data: _Data, model: Ensemble, rows: Sequence[int]) -> np.ndarray:
    return np.asarray(model.predict(np.asarray(rows, dtype=np.int64)), dtype=np.float64)


def _parity(data: _Data, model: Ensemble, bundle_dir: Path, threads: int, rows: Sequence[int]) -> dict[str, Any]:
    """ONNX (through the serving predictor) vs Python on ``rows``."""
    from training.engine.predictors.tabular import TabularPredictor

    values, proba = TabularPredictor(bundle_dir, intra_op_threads=threads).run(data.records(rows))
    py = _python(data, model, rows)
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


def _evaluate(data: _Data, model: Ensemble, bundle_dir: Path, threads: int):
    """Metrics and per-row predictions FROM THE ONNX predictor (what serving will answer),
    checked against the Python model."""
    from training.engine.predictors.tabular import TabularPredictor

    rows = data.eval_rows
    kind = "regression" if data.label_type == "continuous" else "classification"
    if not rows:
        return {}, {"kind": kind, "support": 0}, []
    predictor = TabularPredictor(bundle_dir, intra_op_threads=threads)
    values, proba = predictor.run(data.records(rows))
    reference = _python(data, model, rows)
    raw_labels = data.raw[data.label_column]
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
        y_true=[raw_labels[i].strip() for i in rows],
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
