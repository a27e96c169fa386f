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
from training.engine.item_features import ItemFeatures, content_key, extractor_id
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


def feature_sets(spec: TrainSpec, config: dict[str, Any], cnn: bool) -> list[ItemFeatures]:
    """The clip features a training keeps for the next version, with the base version's rows
    it may reuse (incremental training): the summary statistics, and the log-mel spectrogram
    when the CNN is tried. Keyed by the clip's bytes; the extractor is the audio configuration."""
    params = {k: config[k] for k in sorted(config) if k not in ("features", "inputs")}
    names = ["summary", *(["log_mel"] if cnn else [])]
    return [ItemFeatures.open(f"sound_{n}", extractor_id(f"sound_{n}", {**params, "features": n}, ("numpy",)),
                              spec.base_bundle_dir) for n in names]


def featurise(spec: TrainSpec, train, labels: list[str], config: dict[str, Any], cnn: bool, budget: Budget, beat,
              log: list[str]):
    """Features of the TRAIN clips (in random order, so a deadline cut keeps every class)
    and of every readable EVAL clip. Incremental training reuses the base version's features
    of the clips it had (the same bytes): those come first and cost a read and a hash."""
    index = {lb: k for k, lb in enumerate(labels)}
    evals = [s for s in spec.split("eval") if first_label(s)]
    sets = feature_sets(spec, config, cnn)
    order = np.random.default_rng(spec.seed).permutation(len(train))
    summary, mel, y, kept, keys, skipped, stopped = [], [], [], [], [], [], False
    computed = {"n": 0, "seconds": 0.0}
    min_clips = max(MIN_TRAIN_ROWS, 2 * len(labels))

    def key_of(s) -> str | None:
        try:
            return content_key(Path(s.path).read_bytes())
        except OSError as exc:
            skipped.append(f"{s.id}: {exc}")
            return None

    def known(key: str) -> bool:
        return bool(sets[0].base) and all(key in st.base for st in sets)

    def feats(s, key: str) -> bool:
        if known(key):
            rows = [st.get(key) for st in sets]
        else:
            t = budget.now()
            try:
                signal = audioprep.load_signal(Path(s.path).read_bytes(), config)
            except (InputError, OSError) as exc:
                skipped.append(f"{s.id}: {exc}")
                return False
            rows = [audioprep.features_from_signal(signal, {**config, "features": "summary"})]
            if cnn:
                rows.append(audioprep.features_from_signal(signal, {**config, "features": "log_mel"}))
            computed["n"] += 1
            computed["seconds"] += budget.now() - t
            for st in sets:
                st.computed += 1
        summary.append(rows[0])
        if cnn:
            mel.append(rows[1])
        keys.append(key)
        y.append(index.get(first_label(s), -1))
        return True

    # Hashing a clip costs a read: the clips the base version featurised come first (their
    # rows are reused), then the new ones, in the seeded order.
    keyed = [(train[int(i)], key_of(train[int(i)])) for i in order] if sets[0].base else [
        (train[int(i)], "") for i in order]
    read_train = sorted(((s, k) for s, k in keyed if k is not None), key=lambda r: not (r[1] and known(r[1])))
    for done, (s, key) in enumerate(read_train, start=1):
        if feats(s, key or key_of(s) or ""):
            kept.append(s)
        beat("featurising", 0.3 * done / max(1, len(train) + len(evals)))
        per_clip = computed["seconds"] / max(1, computed["n"])
        # Every clip is worth more than search time, until what is left would not featurise
        # the EVAL clips and fit the baseline (a small share of the budget).
        if (
            done < len(read_train) and len(y) >= min_clips and len(set(y)) >= 2
            and per_clip * (len(evals) + 1) > budget.left() - 0.05 * budget.total
        ):
            stopped = True
            log.append(f"deadline: featurised {done} of {len(train)} training clips")
            break
    if len(set(y)) < 2 or len(y) < MIN_TRAIN_ROWS:
        raise TrainingError(
            f"fewer than two classes or {MIN_TRAIN_ROWS} readable training clips (16-bit WAV only)"
        )
    kept_evals = [s for s in evals if (k := key_of(s)) is not None and feats(s, k)]
    if skipped:
        log.append(f"skipped {len(skipped)} unreadable clips (e.g. {skipped[0]})")
    if spec.base_bundle_dir:
        log.append(sets[0].describe(len(y)))
    data = SoundData(
        np.stack(summary).astype(np.float32), np.stack(mel).astype(np.float32) if cnn else None,
        np.asarray(y, dtype=np.int64), len(labels), spec.seed, spec.threads,
    )
    sets[0].keep(keys, data.summary)
    if cnn:
        sets[1].keep(keys, data.log_mel)
    data.item_features = sets
    if not computed["n"] and kept:
        # Every clip reused: one clip's decoding and features, timed, for the reserve of
        # featurising the EVAL clips again at the end (the served check reads the files).
        t = budget.now()
        audioprep.features_from_signal(audioprep.load_signal(Path(kept[0].path).read_bytes(), config),
                                       {**config, "features": "summary"})
        computed.update(n=1, seconds=budget.now() - t)
    data.seconds_per_clip = computed["seconds"] / max(1, computed["n"])
    if cnn:
        data.accelerator = accelerator_for(spec.device, threads=spec.threads)
        log.append(f"the CNN trains on {data.accelerator.describe()}")
    return data, kept, kept_evals, stopped
