"""Sound classification.

Features come from training.engine.preprocessing.audio (numpy only, the function serving calls).
- "lgbm" (performance_first / balance): clip summary statistics (log-mel, MFCC, deltas,
  ZCR, RMS, centroid, bandwidth) + LightGBM, ONNX via onnxmltools' converter.
- "cnn" (accuracy_first): a small CNN on fixed-length log-mel spectrograms (torch, CPU),
  ONNX via torch.onnx.export(dynamo=False).
Incremental training continues from a previous bundle: LightGBM from its booster text
(bundle/lgbm.txt, init_model), the CNN from its state dict (bundle/cnn.pt).
"""

from __future__ import annotations

import io
import json
import logging
import math
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from training.engine.preprocessing import InputError
from training.engine.preprocessing import audio as audioprep
from training.engine.spec import (
    BUNDLE_FILE,
    MODEL_FILE,
    ProgressFn,
    TrainingError,
    TrainResult,
    TrainSample,
    TrainSpec,
    seconds_left,
)

from .common import (
    ONNX_OPSET,
    begin_fit,
    evaluate_classifier,
    finish_fit,
    first_label,
    labelled_train,
    lgbm_time_callback,
    recipe_for,
    register_lightgbm_converters,
    setup_threads,
    write_bundle,
)

logger = logging.getLogger(__name__)

EXPORT_RESERVE_S = 2.0
LGBM_FILE = "lgbm.txt"
CNN_FILE = "cnn.pt"


def _warmup_wav(sample_rate: int = audioprep.SAMPLE_RATE) -> bytes:
    import soundfile

    t = np.arange(sample_rate) / sample_rate
    buf = io.BytesIO()
    soundfile.write(buf, 0.3 * np.sin(2 * np.pi * 440.0 * t), sample_rate, subtype="PCM_16", format="WAV")
    return buf.getvalue()


def _split(y: np.ndarray, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    fit, val = [], []
    for k in range(n_classes):
        members = rng.permutation(np.flatnonzero(y == k)).tolist()
        n_val = len(members) // 5
        val += members[:n_val]
        fit += members[n_val:]
    if not val:
        return np.arange(len(y)), np.arange(len(y))
    return np.asarray(sorted(fit)), np.asarray(sorted(val))


def _base_bundle(spec: TrainSpec, log: list[str]) -> tuple[Path, dict[str, Any]] | None:
    if not spec.base_bundle_dir:
        return None
    path = Path(spec.base_bundle_dir)
    try:
        bundle = json.loads((path / BUNDLE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.append(f"base bundle unreadable ({exc}); training from scratch")
        return None
    if bundle.get("task_type") != "sound_classification":
        log.append("base bundle is not a sound model; training from scratch")
        return None
    return path, bundle


class SoundTrainer:
    task_type = "sound_classification"

    def validate(self, spec: TrainSpec) -> list[str]:
        train, labels = labelled_train(spec)
        reasons = []
        if len(labels) < 2:
            reasons.append("sound classification needs labelled training clips of at least two classes")
        missing = [s.id for s in train if not Path(s.path).is_file()]
        if missing:
            reasons.append(f"{len(missing)} training clips are missing (e.g. {missing[0]})")
        return reasons

    def fit(self, spec: TrainSpec, workdir: Path, deadline: float, progress: ProgressFn) -> TrainResult:
        threads = setup_threads(spec.threads)
        started, beat = begin_fit(self.validate(spec), progress, "preparing")
        recipe = recipe_for(spec.preference)
        log: list[str] = []
        kind = str(spec.params.get("sound_model", recipe["sound_model"]))
        config: dict[str, Any] = dict(audioprep.DEFAULT_CONFIG)
        train, labels = labelled_train(spec)

        base = _base_bundle(spec, log)
        init_from: Path | None = None
        if base is not None:
            base_dir, base_bundle = base
            base_kind = base_bundle["train_params"].get("model")
            weights = base_dir / (LGBM_FILE if base_kind == "lgbm" else CNN_FILE)
            if set(labels) <= set(base_bundle["labels"]) and weights.is_file():
                # Continue the previous model: same label order, same feature pipeline.
                kind, labels = base_kind, list(base_bundle["labels"])
                config = dict(base_bundle["preprocessing"])
                init_from = weights
                log.append(f"incremental: continuing the {kind} model of {base_dir}")
            else:
                log.append("incremental: base labels/weights do not match; training from scratch")
        # accuracy_first from scratch tries both: the CNN needs time the budget may not have,
        # so the LightGBM model is the fallback and validation accuracy decides.
        kinds = ["lgbm", "cnn"] if kind == "cnn" and init_from is None else [kind]
        if init_from is None and spec.params.get("sound_candidates"):
            kinds = list(spec.params["sound_candidates"])
        feature_kind = {"lgbm": "summary", "cnn": "log_mel"}
        index = {lb: k for k, lb in enumerate(labels)}

        features: dict[str, list[np.ndarray]] = {k: [] for k in kinds}
        y, skipped = [], []
        n_eval = len([s for s in spec.split("eval") if first_label(s)])
        order = np.random.default_rng(spec.seed).permutation(len(train))  # a deadline cut keeps every class
        featurise_started, truncated = time.monotonic(), False
        for done, i in enumerate(order, start=1):
            s = train[int(i)]
            try:
                signal = audioprep.load_signal(Path(s.path).read_bytes(), config)
                for k in kinds:
                    features[k].append(
                        audioprep.features_from_signal(signal, {**config, "features": feature_kind[k]})
                    )
                y.append(index[first_label(s)])
            except InputError as exc:
                skipped.append(f"{s.id}: {exc}")
            beat("featurising", 0.3 * done / len(train))
            # Leave time to train something and to featurise the eval clips for evaluation.
            per_clip = (time.monotonic() - featurise_started) / done
            if (
                done < len(train)
                and len(set(y)) >= 2
                and seconds_left(deadline) < EXPORT_RESERVE_S + 1.0 + per_clip * (n_eval + 1)
            ):
                truncated = True
                log.append(f"deadline: featurised {done} of {len(train)} training clips")
                break
        if skipped:
            log.append(f"skipped {len(skipped)} unreadable training clips (e.g. {skipped[0]})")
        if len(set(y)) < 2:
            raise TrainingError("fewer than two classes of readable training clips (16-bit WAV only)")
        if init_from is None and len(set(y)) < len(labels):
            # The model can only know classes it saw (skipped or deadline-cut clips).
            kept = sorted(set(y))
            log.append(
                f"classes without usable clips: {[labels[k] for k in range(len(labels)) if k not in kept]}"
            )
            remap = {old: new for new, old in enumerate(kept)}
            labels, y = [labels[k] for k in kept], [remap[k] for k in y]
        y_arr = np.asarray(y, dtype=np.int64)
        log.append(f"{len(y)} training clips, {len(labels)} classes, candidates {kinds}")
        fit_idx, val_idx = _split(y_arr, len(labels), spec.seed)

        bundle_dir = Path(workdir) / "bundle"
        bundle_dir.mkdir(parents=True, exist_ok=True)
        best: dict[str, Any] | None = None
        for k in kinds:
            x = np.stack(features[k]).astype(np.float32)
            out_dir = Path(workdir) / f"candidate_{k}"
            out_dir.mkdir(parents=True, exist_ok=True)
            train_fn = _train_cnn if k == "cnn" else _train_lgbm
            # With two candidates LightGBM gets a third of the time; it usually stops early.
            until = (
                deadline if len(kinds) == 1 or k == "cnn" else time.monotonic() + seconds_left(deadline) / 3
            )
            trained = train_fn(x, y_arr, fit_idx, val_idx, len(labels), spec, until, beat, init_from, out_dir)
            trained.update(kind=k, dir=out_dir, shape=list(x.shape[1:]))
            log.extend(trained["log"])
            if best is None or trained["val_accuracy"] > best["val_accuracy"]:
                best = trained
        assert best is not None
        kind = best["kind"]
        config["features"] = feature_kind[kind]
        for path in best["dir"].iterdir():
            shutil.copyfile(path, bundle_dir / path.name)
        log.append(f"chosen: {kind} (validation accuracy {best['val_accuracy']:.4f})")
        trained = best
        # Past the point where only the export budget is left: the clock, not convergence, ended it.
        stopped = truncated or trained["stopped"] or seconds_left(deadline) <= EXPORT_RESERVE_S

        warm = _warmup_wav()
        from training.engine.bundle import warmup_bytes

        common = {
            "task_type": self.task_type,
            "labels": labels,
            "input_spec": {"type": "wav", "sample_width_bits": 16, "feature_shape": trained["shape"]},
            "preprocessing": config,
            "postprocessing": {"kind": "softmax"},
            "train_params": {
                "preference": spec.preference,
                "threads": threads,
                "model": kind,
                "incremental": init_from is not None,
                "seconds": round(time.monotonic() - started, 3),
                "val_accuracy": trained["val_accuracy"],
                **trained["params"],
            },
            "warmup_example": warmup_bytes(warm),
        }
        write_bundle(bundle_dir, metrics={}, **common)
        beat("evaluating", 0.95, force=True)
        eval_samples = [s for s in spec.split("eval") if first_label(s)]
        metrics, evaluation, predictions = _evaluate(
            eval_samples, labels, bundle_dir, threads, trained["python_proba"]
        )
        write_bundle(bundle_dir, metrics=metrics, **common)
        log.append(f"eval metrics: {metrics}")
        return finish_fit(beat, bundle_dir, metrics, evaluation, predictions, stopped=stopped, log=log)


def _train_lgbm(
    x, y, fit_idx, val_idx, n_classes, spec, deadline, beat, init_from, bundle_dir
) -> dict[str, Any]:
    import lightgbm
    from lightgbm import LGBMClassifier
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    register_lightgbm_converters()
    n = len(fit_idx)
    params = {
        "learning_rate": 0.05,
        "num_leaves": 15,
        "min_child_samples": max(2, min(10, n // (2 * n_classes))),
        "colsample_bytree": 0.5,
        "n_jobs": setup_threads(spec.threads),
        "random_state": spec.seed,
        "verbose": -1,
    }
    stop_at = max(time.monotonic() + 0.5, deadline - EXPORT_RESERVE_S)
    init = str(init_from) if init_from else None
    log = []
    model = LGBMClassifier(n_estimators=int(spec.params.get("max_rounds", 1000)), **params)
    model.fit(
        x[fit_idx],
        y[fit_idx],
        eval_X=x[val_idx],
        eval_y=y[val_idx],
        init_model=init,
        callbacks=[
            lightgbm.early_stopping(50, verbose=False),
            lgbm_time_callback(stop_at, beat, "training", 0.5),
        ],
    )
    stopped = time.monotonic() >= stop_at
    val_accuracy = float(np.mean(np.argmax(_full_proba(model, x[val_idx], n_classes), axis=1) == y[val_idx]))
    base_rounds = lightgbm.Booster(model_file=init).current_iteration() if init else 0
    new_trees = max(1, int(model.best_iteration_ or model.n_estimators) - base_rounds)
    # Refit on every training clip with the tree count validation chose, if time allows.
    if not stopped and seconds_left(deadline) > EXPORT_RESERVE_S + 1.0 and len(val_idx) < len(y):
        refit = LGBMClassifier(n_estimators=max(1, new_trees), **params)
        refit.fit(x, y, init_model=init, callbacks=[lgbm_time_callback(stop_at, beat, "refitting", 0.8)])
        stopped = time.monotonic() >= stop_at
        model = refit
    total_trees = model.booster_.current_iteration()
    log.append(f"lightgbm: {new_trees} new boosting rounds, {total_trees} in total")
    model.booster_.save_model(str(bundle_dir / LGBM_FILE))
    if init and model.n_classes_ != n_classes:
        raise TrainingError(
            "incremental training needs every class of the previous version in the training clips"
        )
    onx = convert_sklearn(
        model,
        initial_types=[("features", FloatTensorType([None, x.shape[1]]))],
        target_opset=ONNX_OPSET,
        options={id(model): {"zipmap": False}},
    )
    (bundle_dir / MODEL_FILE).write_bytes(onx.SerializeToString())

    def python_proba(batch: np.ndarray) -> np.ndarray:
        return _full_proba(model, batch, n_classes)

    return {
        "log": log,
        "stopped": stopped,
        "val_accuracy": val_accuracy,
        "python_proba": python_proba,
        "params": {"new_rounds": new_trees, "total_rounds": total_trees},
    }


def _full_proba(model, x: np.ndarray, n_classes: int) -> np.ndarray:
    full = np.zeros((len(x), n_classes))
    full[:, model.classes_] = model.predict_proba(x)
    return full


def _cnn(n_classes: int):
    import torch
    from torch import nn

    class SmallCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()

            def block(cin, cout):
                return nn.Sequential(
                    nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)
                )

            self.features = nn.Sequential(block(1, 16), block(16, 32), block(32, 64))
            self.head = nn.Linear(64, n_classes)

        def forward(self, x):
            x = (x + 50.0) / 30.0  # dB log-mel to roughly unit scale
            x = self.features(x).mean(dim=(2, 3))
            return self.head(x)

    class WithSoftmax(nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return torch.softmax(self.net(x), dim=-1)

    return SmallCNN(), WithSoftmax


def _train_cnn(
    x, y, fit_idx, val_idx, n_classes, spec, deadline, beat, init_from, bundle_dir
) -> dict[str, Any]:
    import torch

    torch.manual_seed(spec.seed)
    torch.set_num_threads(setup_threads(spec.threads))
    net, with_softmax = _cnn(n_classes)
    log = []
    if init_from is not None:
        net.load_state_dict(torch.load(init_from, map_location="cpu", weights_only=True))
        log.append("cnn: initialised from the previous version")
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3 if init_from is None else 5e-4, weight_decay=1e-4)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    stop_at = deadline - EXPORT_RESERVE_S - 3.0
    max_epochs = int(spec.params.get("max_epochs", 200))
    rng = np.random.default_rng(spec.seed)
    best_state, best_key, epochs, stopped = None, (-1.0, -math.inf), 0, False
    while epochs < max_epochs:
        if time.monotonic() >= stop_at and best_state is not None:
            stopped = True
            break
        net.train()
        order = rng.permutation(fit_idx)
        for start in range(0, len(order), 16):
            batch = order[start : start + 16]
            if len(batch) < 2:
                continue  # BatchNorm needs two samples
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(xt[batch]), yt[batch])
            loss.backward()
            opt.step()
            beat("training", min(0.9, 0.3 + 0.6 * epochs / max_epochs))
        epochs += 1
        net.eval()
        with torch.no_grad():
            logits = net(xt[val_idx])
            acc = float((logits.argmax(1) == yt[val_idx]).float().mean())
            val_loss = float(torch.nn.functional.cross_entropy(logits, yt[val_idx]))
        if (acc, -val_loss) > best_key:
            best_key = (acc, -val_loss)
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    assert best_state is not None
    net.load_state_dict(best_state)
    net.eval()
    log.append(f"cnn: {epochs} epochs, best validation accuracy {best_key[0]:.4f}")
    torch.save(best_state, bundle_dir / CNN_FILE)
    full = with_softmax(net).eval()
    torch.onnx.export(
        full,
        (xt[:1],),
        str(bundle_dir / MODEL_FILE),
        input_names=["features"],
        output_names=["probabilities"],
        dynamic_axes={"features": {0: "batch"}, "probabilities": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )

    def python_proba(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return full(torch.from_numpy(batch)).numpy().astype(np.float64)

    return {
        "log": log,
        "stopped": stopped,
        "val_accuracy": best_key[0],
        "python_proba": python_proba,
        "params": {"epochs": epochs},
    }


def _evaluate(samples: list[TrainSample], labels: list[str], bundle_dir: Path, threads: int, python_proba):
    """Metrics and per-clip predictions FROM THE ONNX predictor, one clip at a time as
    serving runs them, checked against the Python model."""
    from training.engine.predictors.base import PredictionError
    from training.engine.predictors.sound import SoundPredictor

    predictor = SoundPredictor(bundle_dir, intra_op_threads=threads)
    kept, feats, rows = [], [], []
    for s in samples:
        try:
            f = predictor.features(Path(s.path).read_bytes())
        except (PredictionError, OSError) as exc:
            logger.warning("eval clip %s skipped: %s", s.id, exc)
            continue
        kept.append(s)
        feats.append(f)
        rows.append(predictor.probabilities(f[None].astype(np.float32))[0])
    if not kept:
        return {}, {"kind": "classification", "labels": labels, "support": 0}, []
    proba = np.vstack(rows)
    return evaluate_classifier(
        sample_ids=[s.id for s in kept],
        y_true=[first_label(s) for s in kept],
        proba=proba,
        reference=python_proba(np.stack(feats).astype(np.float32)),
        labels=labels,
        what="sound",
    )
