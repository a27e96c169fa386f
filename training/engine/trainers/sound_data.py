"""The clips a sound training reads: features of the TRAIN clips (summary statistics, and the
log-mel spectrogram when the CNN is tried) and of the readable EVAL clips, and the base
version's model when a training continues one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from training.engine.accelerator import accelerator_for
from training.engine.budget import Budget
from training.engine.models.sound import SoundData
from training.engine.preprocessing import InputError
from training.engine.preprocessing import audio as audioprep
from training.engine.spec import BUNDLE_FILE, TrainingError, TrainSpec

from .common import first_label
from .sound_output import CNN_FILE, LGBM_FILE

MIN_TRAIN_ROWS = 4  # what validation needs (training.engine.validation.make_folds)


def base_model(spec: TrainSpec, labels: list[str], log: list[str]) -> tuple[str, Any, list[str], dict] | None:
    """(family, init model, its labels, its preprocessing) of a base bundle to continue."""
    if not spec.base_bundle_dir:
        return None
    path = Path(spec.base_bundle_dir)
    try:
        bundle = json.loads((path / BUNDLE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.append(f"base bundle unreadable ({exc}); training from scratch")
        return None
    kind = bundle.get("train_params", {}).get("model")
    if bundle.get("task_type") != "sound_classification" or kind not in ("lgbm", "cnn"):
        log.append("base bundle has no single LightGBM or CNN model to continue; training from scratch")
        return None
    weights = path / (LGBM_FILE if kind == "lgbm" else CNN_FILE)
    if not set(labels) <= set(bundle["labels"]) or not weights.is_file():
        log.append("incremental: base labels/weights do not match; training from scratch")
        return None
    if kind == "lgbm":
        init: Any = str(weights)
    else:
        import torch

        init = torch.load(weights, map_location="cpu", weights_only=True)
    log.append(f"incremental: continuing the {kind} model of {path}")
    return kind, init, list(bundle["labels"]), dict(bundle["preprocessing"])


def featurise(spec: TrainSpec, train, labels: list[str], config: dict[str, Any], cnn: bool, budget: Budget, beat,
              log: list[str]):
    """Features of the TRAIN clips (in random order, so a deadline cut keeps every class)
    and of every readable EVAL clip."""
    index = {lb: k for k, lb in enumerate(labels)}
    evals = [s for s in spec.split("eval") if first_label(s)]
    order = np.random.default_rng(spec.seed).permutation(len(train))
    summary, mel, y, kept, skipped, stopped = [], [], [], [], [], False
    t0 = budget.now()
    min_clips = max(MIN_TRAIN_ROWS, 2 * len(labels))

    def feats(s) -> bool:
        try:
            signal = audioprep.load_signal(Path(s.path).read_bytes(), config)
        except (InputError, OSError) as exc:
            skipped.append(f"{s.id}: {exc}")
            return False
        summary.append(audioprep.features_from_signal(signal, {**config, "features": "summary"}))
        if cnn:
            mel.append(audioprep.features_from_signal(signal, {**config, "features": "log_mel"}))
        y.append(index.get(first_label(s), -1))
        return True

    for done, i in enumerate(order, start=1):
        if feats(train[int(i)]):
            kept.append(train[int(i)])
        beat("featurising", 0.3 * done / max(1, len(train) + len(evals)))
        per_clip = (budget.now() - t0) / done
        # Every clip is worth more than search time, until what is left would not featurise
        # the EVAL clips and fit the baseline (a small share of the budget).
        if (
            done < len(train) and len(y) >= min_clips and len(set(y)) >= 2
            and per_clip * (len(evals) + 1) > budget.left() - 0.05 * budget.total
        ):
            stopped = True
            log.append(f"deadline: featurised {done} of {len(train)} training clips")
            break
    if len(set(y)) < 2 or len(y) < MIN_TRAIN_ROWS:
        raise TrainingError(
            f"fewer than two classes or {MIN_TRAIN_ROWS} readable training clips (16-bit WAV only)"
        )
    kept_evals = [s for s in evals if feats(s)]
    if skipped:
        log.append(f"skipped {len(skipped)} unreadable clips (e.g. {skipped[0]})")
    data = SoundData(
        np.stack(summary).astype(np.float32), np.stack(mel).astype(np.float32) if cnn else None,
        np.asarray(y, dtype=np.int64), len(labels), spec.seed, spec.threads,
    )
    data.seconds_per_clip = (budget.now() - t0) / max(1, len(y) + len(skipped))
    if cnn:
        data.accelerator = accelerator_for(spec.device, threads=spec.threads)
        log.append(f"the CNN trains on {data.accelerator.describe()}")
    return data, kept, kept_evals, stopped
