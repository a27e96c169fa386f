"""Text classification: a portfolio searched by the engine (training/engine/search.py).

Baselines first (always tried): char_wb 1-4 TF-IDF + logistic regression and word 1-2
TF-IDF + logistic regression. Then char + word together, all-MiniLM-L6-v2 sentence
embeddings + logistic regression when the texts are English (its vocabulary is mostly
[UNK] for Chinese) and the budget allows, and a lazy local search over n-gram ranges, C
and class weights around the best so far, until the preference says stop. A greedy
ensemble is kept when it beats the best single candidate.

Every candidate exports exactly: the graph inputs are sparse hashed n-gram counts (the
shared function training.engine.preprocessing.text.block_inputs) and, for MiniLM, token
ids; the TF-IDF weighting, n-gram range mask and L2 norm live inside each member's graph,
so members share inputs and blend into one graph.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from training.engine import scoring
from training.engine.budget import Budget, default_export_reserve
from training.engine.live_report import LiveReport
from training.engine.models.base import (
    warm_imports,
)
from training.engine.models.text import (
    LinearText,
    MiniLM,
    MiniLMText,
    TextData,
)
from training.engine.search import Candidate, Search
from training.engine.spec import ProgressFn, TrainResult, TrainSpec
from training.engine.validation import make_folds
from training.engine.warm_start import base_configs, describe

from . import automl
from .common import (
    begin_fit,
    finish_fit,
    first_label,
    labelled_train,
    setup_threads,
    write_bundle,
)
from .text_output import TextBundle, keep_minilm, known_share, minilm_features, reuse_minilm

logger = logging.getLogger(__name__)

MINILM_MIN_BUDGET_S = 60.0
MINILM_EXPORT_S = 20.0  # torch.onnx export of the encoder + its evaluation, on a busy CPU
# The encoder's ONNX graph runs over the EVAL texts twice after the search: the evaluated
# model's evaluation and the served model's parity check (0.2 for tokenising and slack).
MINILM_EVAL_PASSES = 2.2
CHAR_RANGES = ((1, 3), (1, 4), (2, 4), (1, 5), (2, 5), (3, 5))
WORD_RANGES = ((1, 1), (1, 2))


def _name(params: dict[str, Any]) -> str:
    if params["family"] == "minilm_lr":
        parts = ["MiniLM"]
    else:
        parts = [f"{key} {params[key][0]}-{params[key][1]}" for key in ("char", "word") if params.get(key)]
    cw = " balanced" if params.get("class_weight") else ""
    return f"{' + '.join(parts)} + LR (C={params['C']:.3g}{cw})"


def _candidate(data: TextData, params: dict[str, Any], *, baseline: bool = False, n_splits: int = 1,
               n_eval: int = 0) -> Candidate:
    family = params["family"]
    if family == "minilm_lr":
        def fit(rows, budget):
            return MiniLMText(data, params, rows, budget)
        # The first fit embeds every text (later ones reuse the embeddings), and choosing it
        # adds the encoder's passes over the EVAL texts at the end; spread over the folds.
        est = None
        if data.minilm is not None and data.minilm.embeddings is None:
            per_text = data.minilm.probe_seconds_per_text(data.texts)
            est = per_text * (data.minilm.missing(len(data.texts)) + MINILM_EVAL_PASSES * n_eval) / n_splits
    else:
        def fit(rows, budget):
            return LinearText(data, params, rows)
        est = None
    shown = {k: v for k, v in params.items() if k != "family"}
    if family == "tfidf_lr":
        # Costs differ by feature blocks: the search estimates what it can afford per family.
        family += ":" + "+".join(k for k in ("char", "word") if params.get(k))
    return Candidate(_name(params), family, fit, baseline=baseline, params=shown, est_seconds=est)


def _key(params: dict[str, Any]) -> tuple:
    return (params["family"], params.get("char"), params.get("word"), float(f"{params['C']:.2g}"),
            params.get("class_weight"))


def _reserve_finish(search: Search, budget: Budget, data: TextData, n_eval: int, minilm: bool) -> None:
    """Keep the time the end of the fit needs out of the search: two refits of the best
    candidate (TRAIN, then all rows; a bit more data than a fold's fit), featurising the
    EVAL texts, predicting them twice, and writing the bundle; measured, it replaces the
    budget's default export reserve."""
    if search.best is None:
        return
    # An ensemble refits each member: their costs, summed.
    members = search.likely_members()
    per_fit = sum(t.seconds for t in members) / len(search.folds.splits)
    # The EVAL texts' n-gram inputs are computed once (then cached); those ONNX runs are small.
    # The encoder's are not: two passes over the EVAL texts (measured per text once embedded).
    uses_encoder = data.minilm is not None and any(t.family == "minilm_lr" for t in members)
    encoder = MINILM_EVAL_PASSES * data.minilm.seconds_per_text * n_eval if uses_encoder else 0.0
    budget.export_reserve = (1.0 + 2.6 * per_fit + 1.2 * data.seconds_per_text * n_eval + encoder
                             + (MINILM_EXPORT_S if minilm else 0.0))


MAX_SKIPS_IN_A_ROW = 4


def portfolio(search: Search, data: TextData, budget: Budget, *, families: tuple[str, ...], minilm: bool,
              n_eval: int, warm: list[dict] | None = None):
    """The base version's best configurations (incremental training), baselines, then fixed
    strong candidates, then a local search around the best."""
    rng = np.random.default_rng(data.seed)
    seen: set[tuple] = set()
    for params in _warm_params(warm or [], families, minilm):
        seen.add(_key(params))
        yield _candidate(data, params, n_splits=len(search.folds.splits), n_eval=n_eval)
    fixed: list[tuple[dict[str, Any], bool]] = []
    if "char_ngram" in families:
        fixed.append(({"family": "tfidf_lr", "char": (1, 4), "C": 1.0}, True))
    if "word_ngram" in families:
        fixed.append(({"family": "tfidf_lr", "word": (1, 2), "C": 1.0}, True))
    if "char_ngram" in families:
        fixed.append(({"family": "tfidf_lr", "char": (1, 4), "C": 10.0}, False))
        if "word_ngram" in families:
            fixed.append(({"family": "tfidf_lr", "char": (1, 4), "word": (1, 2), "C": 10.0}, False))
    if minilm:
        fixed += [({"family": "minilm_lr", "C": 10.0}, False), ({"family": "minilm_lr", "C": 1.0}, False)]
    for params, baseline in fixed:
        if _key(params) in seen:
            continue
        seen.add(_key(params))
        if not baseline:
            _reserve_finish(search, budget, data, n_eval, minilm)
        yield _candidate(data, params, baseline=baseline, n_splits=len(search.folds.splits), n_eval=n_eval)
    misses = 0
    while misses < 200 and not budget.exhausted():
        # A skipped variant may just be a costly one: stop only once several in a row no longer fit.
        if len(search.trials) >= MAX_SKIPS_IN_A_ROW and all(
            t.status == "skipped" for t in search.trials[-MAX_SKIPS_IN_A_ROW:]
        ):
            return
        done = [t for t in search.trials if t.status == "done"]
        if not done:
            return
        linear = [t for t in done if t.family.startswith("tfidf_lr")]
        pool = [t for t in done if t.family == "minilm_lr"] if minilm and rng.random() < 0.25 else linear
        # Around the best; once that neighbourhood is used up, around any tried candidate, so
        # accuracy_first keeps exploring until the deadline instead of ending early.
        candidates = pool or done
        best = max(candidates, key=lambda t: t.score or -np.inf) if misses < 5 else candidates[rng.integers(len(candidates))]
        params = _mutate({"family": best.family.split(":")[0], **best.params}, rng, families)
        if _key(params) in seen:
            misses += 1
            continue
        misses = 0
        seen.add(_key(params))
        _reserve_finish(search, budget, data, n_eval, minilm)
        yield _candidate(data, params)


def _warm_params(warm: list[dict], families: tuple[str, ...], minilm: bool) -> list[dict[str, Any]]:
    """The base version's configurations this run can use (its families allowed), as params."""
    out = []
    for cfg in warm:
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg["params"].items()}
        params["family"] = cfg["family"].split(":")[0]
        usable = (params["family"] == "minilm_lr" and minilm) or (
            params["family"] == "tfidf_lr" and "C" in params
            and (not params.get("char") or "char_ngram" in families) and (not params.get("word") or "word_ngram" in families)
        )
        if usable:
            out.append(params)
    return out


def _mutate(params: dict[str, Any], rng: np.random.Generator, families: tuple[str, ...]) -> dict[str, Any]:
    out = dict(params)
    choice = rng.integers(4)
    if out["family"] == "minilm_lr" or choice == 0:
        out["C"] = float(np.clip(out["C"] * 10 ** rng.uniform(-1.0, 1.0), 1e-2, 1e4))
    elif choice == 1 and "char_ngram" in families:
        options = [None, *CHAR_RANGES] if out.get("word") else list(CHAR_RANGES)
        out["char"] = options[rng.integers(len(options))]
    elif choice == 2 and "word_ngram" in families:
        options = [None, *WORD_RANGES] if out.get("char") else list(WORD_RANGES)
        out["word"] = options[rng.integers(len(options))]
    else:
        out["class_weight"] = None if out.get("class_weight") else "balanced"
    if out["family"] == "minilm_lr":
        out = {k: out[k] for k in ("family", "C", "class_weight") if k in out}
    return {k: v for k, v in out.items() if v is not None}


class TextTrainer:
    task_type = "text_classification"

    def validate(self, spec: TrainSpec) -> list[str]:
        train, labels = labelled_train(spec)
        reasons = []
        if len(labels) < 2:
            reasons.append("text classification needs labelled training texts of at least two classes")
        if len(train) < 4:
            reasons.append("text classification needs at least 4 labelled training texts")
        if any(not s.text.strip() for s in train):
            reasons.append("some training texts are empty")
        return reasons

    def fit(self, spec: TrainSpec, workdir: Path, deadline: float, progress: ProgressFn) -> TrainResult:
        threads = setup_threads(spec.threads)
        started, beat = begin_fit(self.validate(spec), progress, "preparing")
        warm_imports("sklearn.linear_model", "scipy.sparse", "onnx")
        train, labels = labelled_train(spec)
        index = {lb: k for k, lb in enumerate(labels)}
        evals = [s for s in spec.split("eval") if first_label(s)]
        texts = [s.text for s in train + evals]
        # An eval text of a label no TRAIN text has (-1) is evaluated (an error) but never fitted.
        y = np.asarray([index.get(first_label(s), -1) for s in train + evals], dtype=np.int64)
        data = TextData(texts, y, len(labels), spec.seed, threads)
        train_rows, eval_rows = np.arange(len(train)), np.arange(len(train), len(texts))
        all_rows = np.concatenate([train_rows, eval_rows[y[eval_rows] >= 0]])

        families = tuple(spec.params.get("text_models", ("char_ngram", "word_ngram", "minilm")))
        total = max(0.0, deadline - time.monotonic())
        # Incremental: with the base's embeddings of half the texts or more, half the budget affords MiniLM.
        embeds = minilm_features(spec, texts)
        use_minilm = _use_minilm(spec, data, families, total * (2.0 if known_share(embeds) >= 0.5 else 1.0), threads)
        reused = reuse_minilm(spec, embeds, data)
        reserve = default_export_reserve(total) + (MINILM_EXPORT_S if use_minilm else 0.0)
        budget = Budget(deadline, preference=spec.preference, export_reserve=reserve)
        report = LiveReport(progress, budget, metric=scoring.METRIC_NAME["classification"])
        folds = make_folds(y[train_rows], classification=True, seed=spec.seed)
        search = Search(y=y[train_rows], rows=train_rows, folds=folds, kind="classification", budget=budget,
                        report=report, max_trials=spec.params.get("max_trials"))
        beat("searching", 0.05, force=True)
        warm = base_configs(spec)
        search.run(portfolio(search, data, budget, families=families, minilm=use_minilm, n_eval=len(evals), warm=warm))
        stopped = search.stopped_by_deadline
        selection = search.select(ensemble=bool(spec.params.get("ensemble", True)))
        log = [f"{len(train)} training texts, {len(labels)} classes, {folds.describe()}",
               f"searched {len(search.trials)} candidates; selection {selection.kind}: {selection.weights}",
               *describe(spec, labels, warm), *reused]

        bundle_dir = Path(workdir) / "bundle"
        bundle_dir.mkdir(parents=True, exist_ok=True)
        out = TextBundle(self.task_type, data, labels, evals, eval_rows, threads, warm=(evals or train)[0].text)
        done = automl.evaluate_and_serve(
            search=search, selection=selection, train_rows=train_rows, all_rows=all_rows, budget=budget,
            refit=bool(spec.params.get("refit_on_all", True)), bundle_dir=bundle_dir, work_dir=Path(workdir),
            write=out.write, evaluate=out.evaluate, served_check=automl.proba_check(out.onnx_proba, eval_rows),
            beat=beat,
        )
        names = [search.trial(n).family.split(":")[0] for n in selection.members]
        train_params = {
            "preference": spec.preference, "threads": threads,
            "model": "+".join(sorted(set(names))), "val_accuracy": search.trial(selection.members[0]).shown
            if selection.kind == "single" else None,
            "seconds": round(time.monotonic() - started, 3), **done.train_params,
            "item_features": {embeds.name: keep_minilm(embeds, data, bundle_dir, log)},
        }
        write_bundle(bundle_dir, metrics=done.metrics, train_params=train_params, **out.common(done.served))
        log.append(f"eval metrics: {done.metrics}")
        return finish_fit(beat, bundle_dir, done.metrics, done.evaluation, done.predictions, stopped=stopped, log=log)


def _use_minilm(spec: TrainSpec, data: TextData, families: tuple[str, ...], total: float, threads: int) -> bool:
    """Whether MiniLM is tried: asked for, affordable, English (or forced), and installed
    (``data.minilm`` is then loaded)."""
    min_minilm = float(spec.params.get("minilm_min_budget_s", MINILM_MIN_BUDGET_S))
    forced = families == ("minilm",)
    use = "minilm" in families and total >= min_minilm and (
        forced or (data.english() and spec.preference != "performance_first")
    )
    if use:
        try:
            data.minilm = MiniLM(threads)
        except ImportError as exc:
            logger.info("MiniLM unavailable: %s", exc)
            use = False
    return use
