"""Sound classification: a portfolio searched by the engine (training/engine/search.py).

Features come from training.engine.preprocessing.audio (numpy only, the functions serving
calls): "summary" clip statistics (log-mel, MFCC, delta-MFCC mean/std, ZCR, RMS,
centroid, bandwidth) and, for the CNN, a fixed-length log-mel spectrogram.

Portfolio, baselines first: standardised summary statistics + logistic regression, then
LightGBM on the same features (defaults, then tuned), logistic regression with tuned C,
and for larger budgets (or accuracy_first) a small log-mel CNN trained with SpecAugment
(time and frequency masking); a greedy ensemble is kept when it beats the best single one.
Every family exports exactly (linear: hand-built graph; LightGBM: thresholds snapped to
float32 so the float32 ONNX tree compares like the booster; CNN: torch.onnx) and members
blend into one graph (inputs by name, see models/base.py).

Incremental training continues the previous version's model (LightGBM from its booster
text with init_model, the CNN from its state dict) when the base bundle has one.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from training.engine import item_features, scoring
from training.engine.budget import Budget
from training.engine.live_report import LiveReport
from training.engine.models.base import (
    warm_imports,
)
from training.engine.models.sound import CNNSound, LGBMSound, LinearSound, SoundData
from training.engine.preprocessing import audio as audioprep
from training.engine.search import Candidate, Search
from training.engine.spec import ProgressFn, TrainResult, TrainSpec
from training.engine.validation import KFOLD_MAX_ROWS, make_folds
from training.engine.warm_start import base_configs, describe

from . import automl
from .common import (
    begin_fit,
    finish_fit,
    labelled_train,
    setup_threads,
    write_bundle,
)
from .sound_data import MIN_TRAIN_ROWS, base_model, featurise
from .sound_output import SoundBundle, single_kind

logger = logging.getLogger(__name__)

CNN_MIN_BUDGET_S = 120.0  # below this (balance / performance_first) the CNN is not tried
CNN_MARGIN = 0.05  # a CNN this close to the best keeps its refit time reserved
CNN_SHARE = 0.25  # of the time left when the CNN starts: it is then refit twice (TRAIN, all rows)


def _candidate(data: SoundData, family: str, params: dict[str, Any], *, baseline: bool = False,
               base: tuple[str, Any] | None = None) -> Candidate:
    if family == "linear":
        def fit(rows, budget):
            return LinearSound(data, params, rows)
        name = f"summary stats + LR (C={params['C']:.3g})"
    elif family == "lgbm":
        def fit(rows, budget):
            return LGBMSound(data, params, rows, budget, init_model=base[1] if base else None)
        shown = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
        name = f"summary stats + LightGBM ({shown or 'defaults'})"
    else:
        def fit(rows, budget):
            return CNNSound(data, params, rows, budget, init_state=base[1] if base else None)
        name = f"log-mel CNN + SpecAugment ({params.get('seconds', 0):.0f} s)"
    if base is not None:
        name = f"continued {name}"
    # The CNN's fits take a share of the time left, so a repeat of its folds is not the same
    # candidate again: it is not repeated.
    return Candidate(name, family, fit, baseline=baseline, params=params, repeatable=family != "cnn")


def _lgbm_params(rng: np.random.Generator, n_rows: int) -> dict[str, Any]:
    return {
        "learning_rate": float(10 ** rng.uniform(-1.7, -0.7)),
        "num_leaves": int(rng.choice([4, 8, 15, 31, 63])),
        "min_child_samples": int(rng.choice([2, 5, 10, 20])) if n_rows > 40 else int(rng.choice([1, 2, 5])),
        "colsample_bytree": float(rng.choice([0.3, 0.5, 0.8, 1.0])),
        "reg_lambda": float(rng.choice([0.0, 0.1, 1.0, 5.0])),
        "rounds": int(rng.choice([100, 200, 400, 800])),
    }


def portfolio(search: Search, data: SoundData, budget: Budget, *, families: tuple[str, ...], cnn: bool,
              n_rows: int, n_eval: int = 0, max_epochs: int | None = None, warm: list[dict] | None = None):
    rng = np.random.default_rng(data.seed)
    small = {"min_child_samples": max(1, min(20, n_rows // (2 * data.n_classes)))}
    fixed = [
        ("linear", {"C": 1.0}, True),
        ("lgbm", small if n_rows < 200 else {}, True),
        ("linear", {"C": 0.1}, False),
        ("linear", {"C": 10.0}, False),
        ("lgbm", {**small, "learning_rate": 0.05, "num_leaves": 15, "colsample_bytree": 0.5, "rounds": 300}, False),
    ]
    floor = float(budget.export_reserve or 0.0)

    def reserve_finish() -> None:
        # Two refits of the best (TRAIN, then all rows) and featurising the EVAL clips stay
        # out of the search (a CNN's refits are reserved separately, below).
        if search.best is not None and search.best.family != "cnn":
            members = [t for t in search.likely_members() if t.family != "cnn"]
            per_fit = sum(t.seconds for t in members) / len(search.folds.splits)  # an ensemble refits each
            cnn_part = float(budget.export_reserve or 0.0) - reserve_state["plain"]
            reserve_state["plain"] = 1.0 + 2.6 * per_fit + 1.2 * data.seconds_per_clip * n_eval
            budget.export_reserve = reserve_state["plain"] + max(0.0, cnn_part)

    reserve_state = {"plain": floor}
    # Incremental training: the base version's best configurations first (the CNN's share of
    # time is the budget's, not the base's: it keeps its place below).
    seen_fixed = set()
    baselines = {(f, json.dumps(p, sort_keys=True)) for f, p, b in fixed if b}
    for cfg in warm or []:
        family, params = cfg["family"], dict(cfg["params"])
        key = (family, json.dumps(params, sort_keys=True))
        if family in ("linear", "lgbm") and family in families and key not in seen_fixed:
            seen_fixed.add(key)
            if key not in baselines:
                reserve_finish()
            yield _candidate(data, family, params, baseline=key in baselines)
    for family, params, baseline in fixed:
        if family in families and (family, json.dumps(params, sort_keys=True)) not in seen_fixed:
            if not baseline:
                reserve_finish()
            yield _candidate(data, family, params, baseline=baseline)
    tunable = [f for f in ("linear", "lgbm") if f in families]
    reserved = search.cnn_reserved = []  # type: ignore[attr-defined]
    cnn_tried, seen, misses = False, set(), 0
    while True:
        if search.trials and search.trials[-1].status == "skipped":
            return
        if cnn and not cnn_tried:
            cnn_tried = True
            yield from _try_cnn(search, data, budget, max_epochs=max_epochs, baseline=not tunable, reserved=reserved)
            continue
        if not tunable:
            return
        if "lgbm" not in tunable or ("linear" in tunable and rng.random() < 0.25):
            family, params = "linear", {"C": float(10 ** rng.uniform(-2.5, 2.5))}
        else:
            family, params = "lgbm", _lgbm_params(rng, n_rows)
        key = (family, tuple(sorted((k, round(v, 2) if isinstance(v, float) else v) for k, v in params.items())))
        misses = misses + 1 if key in seen else 0
        if misses > 200:
            return  # the tuning space is used up
        if not misses:
            seen.add(key)
            reserve_finish()
            yield _candidate(data, family, params)


def _try_cnn(search: Search, data: SoundData, budget: Budget, *, max_epochs: int | None, baseline: bool,
             reserved: list[str]):
    """The CNN candidate, once; a CNN close enough to the best keeps its refit time reserved."""
    # The first fold's fit trains for its share of the time and fixes the epochs the
    # other folds and the refits repeat.
    params = {"seconds": round(CNN_SHARE * budget.left() / len(search.folds.splits), 1)}
    if max_epochs:
        params["max_epochs"] = int(max_epochs)
    yield _candidate(data, "cnn", params, baseline=baseline)
    trial = search.trials[-1]
    if trial.status == "done" and (trial.score or 0.0) >= (search.best.score or 0.0) - CNN_MARGIN:
        # Refitting the CNN for the evaluated and the served model costs about as much
        # again per refit (more rows): that time leaves the search. A CNN far behind
        # the best is left out of the selection instead (see cnn_affordable).
        per_fit = trial.seconds / len(search.folds.splits)
        budget.export_reserve = float(budget.export_reserve or 0.0) + 2.5 * per_fit
        reserved.append(trial.name)


# ----------------------------------------------------------------------------- trainer


class SoundTrainer:
    task_type = "sound_classification"

    def validate(self, spec: TrainSpec) -> list[str]:
        train, labels = labelled_train(spec)
        reasons = []
        if len(labels) < 2:
            reasons.append("sound classification needs labelled training clips of at least two classes")
        if len(train) < MIN_TRAIN_ROWS:
            reasons.append(f"sound classification needs at least {MIN_TRAIN_ROWS} labelled training clips")
        missing = [s.id for s in train if not Path(s.path).is_file()]
        if missing:
            reasons.append(f"{len(missing)} training clips are missing (e.g. {missing[0]})")
        return reasons

    def fit(self, spec: TrainSpec, workdir: Path, deadline: float, progress: ProgressFn) -> TrainResult:
        threads = setup_threads(spec.threads)
        started, beat = begin_fit(self.validate(spec), progress, "preparing")
        budget = Budget(deadline, preference=spec.preference)
        warm_imports("sklearn.linear_model", "lightgbm", "onnx", "onnxmltools")
        train, labels = labelled_train(spec)
        log: list[str] = []
        config: dict[str, Any] = {k: v for k, v in audioprep.DEFAULT_CONFIG.items()}
        base = base_model(spec, labels, log)
        if base is not None:
            labels, config = base[2], {k: v for k, v in base[3].items() if k not in ("features", "inputs")}
        allowed = tuple(spec.params.get("sound_candidates", ("linear", "lgbm", "cnn")))
        cnn = "cnn" in allowed and (
            spec.preference == "accuracy_first" or budget.total >= CNN_MIN_BUDGET_S or allowed == ("cnn",)
        )
        if base is not None:
            cnn = base[0] == "cnn"
        if cnn:
            try:
                warm_imports("torch")
            except ImportError:
                cnn = False
        data, kept_train, evals, stopped = featurise(spec, train, labels, config, cnn, budget, beat, log)
        n_train = len(kept_train)
        if spec.params.get("max_rounds"):
            data.max_rounds = int(spec.params["max_rounds"])
        train_rows, eval_rows = np.arange(n_train), np.arange(n_train, n_train + len(evals))
        y = data.y
        all_rows = np.concatenate([train_rows, eval_rows[y[eval_rows] >= 0]])
        search, selection, folds = self._search(spec, data, train_rows, base, allowed, cnn, budget, progress, beat,
                                                n_eval=len(evals))
        stopped = stopped or search.stopped_by_deadline
        log.append(f"{n_train} training clips, {len(labels)} classes, {folds.describe()}")
        log.append(f"searched {len(search.trials)} candidates; selection {selection.kind}: {selection.weights}")
        if base is None:
            log += describe(spec, labels, base_configs(spec))

        bundle_dir = Path(workdir) / "bundle"
        bundle_dir.mkdir(parents=True, exist_ok=True)
        out = SoundBundle(self.task_type, data, labels, config, evals, eval_rows, threads)
        done = automl.evaluate_and_serve(
            search=search, selection=selection, train_rows=train_rows, all_rows=all_rows, budget=budget,
            refit=bool(spec.params.get("refit_on_all", True)), bundle_dir=bundle_dir, work_dir=Path(workdir),
            write=out.write, evaluate=out.evaluate, served_check=automl.proba_check(out.onnx_proba, eval_rows),
            beat=beat,
        )
        served = next(iter(done.served.models.values()))
        extra: dict[str, Any] = {}
        if isinstance(served, LGBMSound):
            extra = {"total_rounds": served.booster.current_iteration()}
        elif isinstance(served, CNNSound):
            extra = {"epochs": served.epochs}
        train_params = {
            "preference": spec.preference, "threads": threads, "model": single_kind(done.served),
            "incremental": base is not None, "val_accuracy": search.trial(selection.members[0]).shown
            if selection.kind == "single" else None,
            "seconds": round(time.monotonic() - started, 3), **extra, **done.train_params,
            "item_features": {st.name: st.record() for st in data.item_features},
        }
        item_features.save(bundle_dir, data.item_features, log)
        write_bundle(bundle_dir, metrics=done.metrics, train_params=train_params, **out.common(done.served))
        log.append(f"eval metrics: {done.metrics}")
        return finish_fit(beat, bundle_dir, done.metrics, done.evaluation, done.predictions, stopped=stopped, log=log)

    def _search(self, spec: TrainSpec, data: SoundData, train_rows: np.ndarray, base, allowed: tuple[str, ...],
                cnn: bool, budget: Budget, progress: ProgressFn, beat, *, n_eval: int):
        """The search over the portfolio (or, continuing a version, its one family) and its selection."""
        y, n_train = data.y, len(train_rows)
        # Validation: all candidates of a search share folds (the ensemble needs their
        # predictions row for row). On small data every candidate, the CNN included, gets
        # k-fold (the CNN's time share is split over its folds): a hold-out of a fifth of a few
        # hundred clips ranks candidates by a handful of rows. Above KFOLD_MAX_ROWS, and when
        # continuing a CNN (a fixed number of epochs), one stratified hold-out.
        expensive = cnn and (n_train > KFOLD_MAX_ROWS or base is not None)
        folds = make_folds(y[train_rows], classification=True, seed=spec.seed, expensive=expensive)
        report = LiveReport(progress, budget, metric=scoring.METRIC_NAME["classification"])
        search = Search(y=y[train_rows], rows=train_rows, folds=folds, kind="classification", budget=budget,
                        report=report, max_trials=spec.params.get("max_trials"))
        beat("searching", 0.3, force=True)
        if base is not None:
            family = base[0]
            params = {"epochs": int(spec.params.get("max_epochs", 10))}
            if family == "lgbm":
                params = {"rounds": 100, "min_child_samples": max(1, min(20, n_train // (2 * data.n_classes)))}
            search.run([_candidate(data, family, params, baseline=True, base=(family, base[1]))])
        else:
            search.run(portfolio(search, data, budget, families=allowed, cnn=cnn, n_rows=n_train,
                                 n_eval=n_eval, max_epochs=spec.params.get("max_epochs"), warm=base_configs(spec)))
        reserved = set(getattr(search, "cnn_reserved", []))

        def cnn_affordable(members) -> bool:
            return all(t.family != "cnn" or t.name in reserved for t in members)

        selection = search.select(ensemble=bool(spec.params.get("ensemble", True)), compatible=cnn_affordable)
        return search, selection, folds
