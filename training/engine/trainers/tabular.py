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
from pathlib import Path
from typing import NamedTuple

import numpy as np

from training.engine import scoring
from training.engine.budget import Budget
from training.engine.live_report import LiveReport
from training.engine.models import tabular as tm
from training.engine.search import Search, Selection
from training.engine.spec import ProgressFn, TrainResult, TrainSpec
from training.engine.validation import make_folds
from training.engine.warm_start import base_configs, describe

from . import automl
from . import tabular_output as output
from .common import begin_fit, finish_fit, setup_threads, write_bundle
from .tabular_data import MIN_TRAIN_ROWS, TabularData
from .tabular_portfolio import EXPORT_MEMBER_S, portfolio

logger = logging.getLogger(__name__)



class TabularTrainer:
    task_type = output.TASK_TYPE

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
        data = TabularData(spec)
        tm.warm_imports()
        kind: scoring.Kind = "regression" if data.label_type == "continuous" else "classification"
        train = np.asarray(data.train_rows, dtype=np.int64)
        served_rows = data.labelled_rows()
        refit = bool(spec.params.get("refit_on_all", True)) and len(served_rows) > len(train)
        searched_run = _search(spec, data, train, served_rows, refit, kind, budget, progress, threads)
        search, families, searched, selection = (searched_run.search, searched_run.families, searched_run.rows,
                                                 searched_run.selection)
        report = search.report
        stopped = search.stopped_by_deadline
        rows_text = f"searched on {len(searched)} of {len(train)} TRAIN rows"
        fit_rows, fit_text = train, f"fit on the {len(train)} TRAIN rows"
        if len(searched) < len(train) and not _final_fits_fit(search, selection, families):
            # The budget cannot fit the selection on every row: the subsample it was searched on.
            fit_rows, refit = searched, False
            fit_text = f"fit on the {len(searched)}-row subsample of the {len(train)} TRAIN rows (no time for all)"
        log = [
            f"{len(data.train_rows)} training rows, {len(data.eval_rows)} eval rows, {len(data.features)} feature "
            f"columns, label {data.label_column} ({data.label_type})",
            f"search: {len(search.trials)} candidates from {searched_run.started:.1f} s to {searched_run.ended:.1f} s, "
            f"{rows_text}, {search.folds.describe()}, selected {selection.kind} {selection.weights}",
            f"evaluated model {fit_text}",
            *describe(spec, data.classes, base_configs(spec)),
        ]
        if search.stack_report is not None:
            chosen = "chosen" if selection.kind == "stack" else "not chosen"
            log.append(f"level-2 {search.stack_report['summary']} ({chosen})")
        elif search.stack_note:
            log.append(f"level-2 stack not tried: {search.stack_note}")

        # The selection fitted on TRAIN, exported and evaluated through the serving predictor,
        # then refit on every labelled row (final fits carry 10 % more trees).
        families.final = True
        bundle_dir = Path(workdir) / "bundle"
        served_text = f"refit on all {len(served_rows)} labelled rows" if refit else "the evaluated model"
        meta = output.bundle_meta(spec, data, threads, search, selection, served_text)

        out = output.TabularBundle(data, threads, meta, selection.weights)
        done = automl.evaluate_and_serve(
            search=search, selection=selection, train_rows=fit_rows, all_rows=np.asarray(served_rows, dtype=np.int64),
            budget=budget, refit=refit, bundle_dir=bundle_dir, work_dir=Path(workdir), write=out.write,
            evaluate=out.evaluate, served_check=out.served_check, beat=report.beat,
        )
        done.evaluation["search"].update(rows=rows_text, searched_rows=len(searched), train_rows=len(train),
                                         evaluated_model=fit_text)
        if "served_check" in done.evaluation:
            log.append(f"{served_text} (ONNX check {done.evaluation['served_check']})")
        meta["train_params"]["seconds"] = round(time.monotonic() - started, 3)
        write_bundle(bundle_dir, **meta, metrics=done.metrics)
        log.append(f"eval metrics: {done.metrics}")
        return finish_fit(
            lambda phase, fraction, force=False: report.beat(phase, fraction),
            bundle_dir, done.metrics, done.evaluation, done.predictions, stopped=stopped, log=log,
        )



class _Searched(NamedTuple):
    search: Search
    families: tm.Families
    rows: np.ndarray  # the TRAIN rows searched (all of them, or a stratified subsample)
    selection: Selection
    started: float  # budget seconds when the search started and ended
    ended: float

def _search(spec: TrainSpec, data: TabularData, train: np.ndarray, served_rows, refit: bool, kind: scoring.Kind,
            budget: Budget, progress: ProgressFn, threads: int) -> _Searched:
    """The portfolio searched on the TRAIN rows (a stratified subsample of a large table),
    keeping time for the final fits."""
    # A large table is searched on a (stratified) subsample; the final fits use every row
    # when the budget allows it.
    searched = subsample(train, data.y[train], search_row_cap(spec, budget.left()),
                         classification=kind == "classification", seed=spec.seed)
    folds = make_folds(data.y[searched], classification=kind == "classification", seed=spec.seed)
    report = LiveReport(progress, budget, metric=scoring.METRIC_NAME[kind])
    # An Optuna study fills the leaderboard with near-copies: the ensemble blends families.
    # Level-2 stacking of the families' best is tried after the search (EXEML_STACKING=0, or
    # params {"stacking": false}, turns it off).
    search = Search(y=data.y[searched], rows=searched, folds=folds, kind=kind, budget=budget, report=report,
                    ensemble_pool="per_family", max_trials=spec.params.get("max_trials"),
                    stacking=bool(spec.params.get("stacking", True)), n_classes=len(data.classes),
                    member_overhead=EXPORT_MEMBER_S)
    families = tm.Families(
        features=data.features, frame_of=data.frame, y_of=lambda rows: data.y[rows],
        n_classes=len(data.classes), threads=threads, seed=spec.seed,
        beat=_throttled(lambda: report.beat("searching", search.fraction())),
    )
    # The final fits (TRAIN rows, then every labelled row, with 10 % more trees) cost this
    # many search fits (on a fold's rows); the search keeps time for them.
    fold_rows = len(folds.splits[0][0])
    families.final_factor = 1.1 * (len(train) + (len(served_rows) if refit else 0)) / max(1, fold_rows)
    search.refit_factor = families.final_factor  # what the stack's extra members would cost
    started = budget.elapsed()
    search.run(portfolio(search, families, rows=len(searched), seed=spec.seed, warm=base_configs(spec)))
    ended = budget.elapsed()
    return _Searched(search, families, searched, search.select(ensemble=True), started, ended)


# The search's row cap: rows per second of the budget, within [MIN, MAX] (spec.params
# "search_rows" overrides it). LightGBM/CatBoost fits grow about linearly in rows: 1000 rows
# a budget second keeps a 5-fold search of the portfolio's first families inside the budget
# on 2 cores, and the final fits on every row are reserved for before the search starts.
SEARCH_ROWS_PER_SECOND = 1000
MIN_SEARCH_ROWS, MAX_SEARCH_ROWS = 20_000, 200_000


def search_row_cap(spec: TrainSpec, seconds: float) -> int:
    if spec.params.get("search_rows"):
        return max(MIN_TRAIN_ROWS, int(spec.params["search_rows"]))
    return int(min(MAX_SEARCH_ROWS, max(MIN_SEARCH_ROWS, SEARCH_ROWS_PER_SECOND * seconds)))


def subsample(rows: np.ndarray, y: np.ndarray, cap: int, *, classification: bool, seed: int) -> np.ndarray:
    """At most ``cap`` of ``rows`` (sorted), reproducibly; for classification each class keeps
    its share (at least one row, so that no class disappears from the search)."""
    if len(rows) <= cap:
        return rows
    rng = np.random.default_rng(seed)
    if not classification:
        return np.sort(rng.choice(rows, size=cap, replace=False))
    picked = []
    for cls in np.unique(y):
        members = rows[y == cls]
        take = min(len(members), max(1, round(cap * len(members) / len(rows))))
        picked.append(rng.choice(members, size=take, replace=False))
    return np.sort(np.concatenate(picked))


def _final_fits_fit(search: Search, selection, families: tm.Families) -> bool:
    """Whether the selection's final fits on every row (as the search reserved for them)
    still fit the time left."""
    k = max(1, len(search.folds.splits))
    final = sum(families.final_factor * search.trial(name).seconds / k + EXPORT_MEMBER_S
                for name in selection.members)
    budget = search.budget
    return final - float(budget.export_reserve or 0.0) <= budget.left()


def _throttled(fn, every: float = 1.0):
    last = [0.0]

    def call() -> None:
        now = time.monotonic()
        if now - last[0] >= every:
            last[0] = now
            fn()

    return call
