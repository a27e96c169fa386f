"""Sound classification trainer + predictor on tiny generated clips (tones, noise, chirps)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("lightgbm")

from tests.trainers.ml_data import SOUND_LABELS, heavy_modules_loaded_by_serving, sound_samples, wav_bytes  # noqa: E402
from training.engine.predictors import PredictionError, load_predictor  # noqa: E402
from training.engine.preprocessing import audio  # noqa: E402
from training.engine.spec import StopTraining, TrainSpec  # noqa: E402
from training.engine.trainers import get_trainer  # noqa: E402


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    return sound_samples(tmp_path_factory.mktemp("wav"))


def _spec(samples, **kwargs) -> TrainSpec:
    kwargs.setdefault("threads", 1)
    return TrainSpec(task_type="sound_classification", labels=SOUND_LABELS, samples=samples, **kwargs)


def _fit(spec: TrainSpec, workdir: Path, budget: float, progress=lambda phase, f: None):
    return get_trainer("sound_classification").fit(spec, workdir, time.monotonic() + budget, progress)


def _assert_served_like_evaluated(result, spec: TrainSpec) -> None:
    predictor = load_predictor(result.bundle_dir)
    assert predictor.warmup()["predicted_label"] in SOUND_LABELS
    paths = {s.id: s.path for s in spec.split("eval")}
    assert len(result.eval_predictions) == len(paths)
    for expected in result.eval_predictions:
        served = predictor.predict(Path(paths[expected["sample_id"]]).read_bytes())
        assert served["predicted_label"] == expected["predicted"]
        assert served["score"] == pytest.approx(expected["score"], abs=1e-6)


def test_resampler_keeps_a_tone_and_features_are_deterministic():
    rate = 22050
    t = np.arange(int(1.2 * rate)) / rate
    data = wav_bytes(0.5 * np.sin(2 * np.pi * 440 * t), rate)
    signal = audio.load_signal(data, audio.DEFAULT_CONFIG)
    assert len(signal) == int(len(t) * 16000 // rate)
    ref = 0.5 * np.sin(2 * np.pi * 440 * np.arange(len(signal)) / 16000)
    assert np.max(np.abs(signal[500:-500] - ref[500:-500])) < 1e-3
    first = audio.features_from_wav(data, audio.DEFAULT_CONFIG)
    assert np.array_equal(first, audio.features_from_wav(data, audio.DEFAULT_CONFIG))
    spectrogram = audio.features_from_wav(data, {**audio.DEFAULT_CONFIG, "features": "log_mel"})
    assert spectrogram.shape == (1, audio.N_MELS, 201)  # 2 s padded at a 10 ms hop


def test_lightgbm_model_serves_what_training_evaluated(samples, tmp_path):
    spec = _spec(samples, preference="balance", params={"sound_candidates": ["lgbm"], "refit_on_all": False})
    result = _fit(spec, tmp_path / "work", 20.0)
    assert {"accuracy", "precision", "recall", "f1"} <= set(result.metrics)
    assert result.metrics["accuracy"] >= 0.8
    ev = result.evaluation
    assert len(ev["per_class"]) == 3 and np.asarray(ev["confusion_matrix"]).shape == (3, 3)
    assert ev["onnx_check"]["labels_equal"] and ev["onnx_check"]["max_abs_diff"] < 1e-5
    bundle = json.loads((result.bundle_dir / "bundle.json").read_text())
    assert bundle["train_params"]["model"] == "lgbm" and bundle["preprocessing"]["inputs"] == ["summary"]
    assert ev["search"]["served_model"] == "the evaluated model"
    _assert_served_like_evaluated(result, spec)


def test_default_portfolio_tries_the_baselines_first_and_refits(samples, tmp_path):
    spec = _spec(samples, preference="balance")
    result = _fit(spec, tmp_path / "work", 20.0)
    search = result.evaluation["search"]
    board = search["leaderboard"]
    assert [row["family"] for row in board[:2]] == ["linear", "lgbm"]
    assert board[0]["name"] == "summary stats + LR (C=1)" and board[0]["status"] == "done"
    # The selection never scores below a plain baseline on the validation folds.
    assert search["validation"].startswith("5-fold cross-validation")  # ", repeated ..." when leaders tied
    assert search["served_model"] == f"refit on all {len(spec.samples)} labelled rows"
    assert result.evaluation["served_check"]["max_abs_diff"] < 1e-5
    assert result.metrics["accuracy"] >= 0.8
    predictor = load_predictor(result.bundle_dir)
    assert predictor.warmup()["predicted_label"] in SOUND_LABELS


def test_every_family_and_their_blend_export_exactly(samples, tmp_path):
    pytest.importorskip("torch")
    import onnxruntime as ort

    from training.engine.budget import Budget
    from training.engine.ensemble import Ensemble
    from training.engine.models import sound as sm
    from training.engine.trainers import sound as st
    from training.engine.trainers import sound_output as so

    config = dict(audio.DEFAULT_CONFIG)
    index = {lb: k for k, lb in enumerate(SOUND_LABELS)}
    signals = [audio.load_signal(Path(s.path).read_bytes(), config) for s in samples]
    data = sm.SoundData(
        np.stack([audio.features_from_signal(x, {**config, "features": "summary"}) for x in signals]),
        np.stack([audio.features_from_signal(x, {**config, "features": "log_mel"}) for x in signals]),
        np.asarray([index[s.labels[0]] for s in samples]), 3, 0, 1,
    )
    rows = np.asarray([i for i, s in enumerate(samples) if s.usage == "train"])
    eval_rows = np.asarray([i for i, s in enumerate(samples) if s.usage == "eval"])
    budget = Budget(time.monotonic() + 60)
    members = {
        "linear": sm.LinearSound(data, {"C": 1.0}, rows),
        "lgbm": sm.LGBMSound(data, {"min_child_samples": 3, "num_leaves": 8, "rounds": 60}, rows, budget),
        "cnn": sm.CNNSound(data, {"epochs": 2}, rows, budget),
    }
    feeds = {"summary": data.summary[eval_rows], "log_mel": data.log_mel[eval_rows]}
    choices = [{n: 1.0} for n in members] + [{"linear": 0.3, "lgbm": 0.3, "cnn": 0.4}]
    for weights in choices:
        ensemble = Ensemble({n: members[n] for n in weights}, weights)
        model = st.automl.export_ensemble(ensemble, data.input_info, so.INPUT_ORDER)
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        onnx_proba = session.run(["probabilities"], {i.name: feeds[i.name] for i in session.get_inputs()})[0]
        assert np.max(np.abs(onnx_proba - ensemble.predict(eval_rows))) <= 1e-5, weights


def test_lightgbm_thresholds_snap_to_float32_without_changing_a_prediction():
    from training.engine.models.lightgbm_exact import exact_model_text

    text = (
        "version=v4\ntree_sizes=12 34\n\nTree=0\nthreshold=0.10000000000000001 1.0000000000000002 -0.30000000000000004\n"
        "decision_type=2 2 2\n"
    )
    snapped = exact_model_text(text)
    assert "tree_sizes" not in snapped
    values = [float(v) for v in snapped.split("threshold=")[1].splitlines()[0].split()]
    originals = [0.10000000000000001, 1.0000000000000002, -0.30000000000000004]
    for value, original in zip(values, originals, strict=True):
        assert np.float32(value) == value and value <= original
        # No float32 lies between the snapped and the original threshold.
        assert float(np.nextafter(np.float32(value), np.float32(np.inf))) > original


def test_incremental_training_continues_the_previous_model(samples, tmp_path):
    # One LightGBM model of 3 rounds to continue: capped in candidates and rounds, not in
    # seconds, so a busy machine ends the same way (the time budget is only a backstop).
    params = {"max_rounds": 3, "sound_candidates": ["lgbm"], "ensemble": False, "max_trials": 1}
    first = _fit(_spec(samples, params=params), tmp_path / "v1", 600.0)
    assert not first.stopped_by_deadline
    base_rounds = json.loads((first.bundle_dir / "bundle.json").read_text())["train_params"]["total_rounds"]
    assert base_rounds == 3
    second = _fit(_spec(samples, base_bundle_dir=str(first.bundle_dir)), tmp_path / "v2", 600.0)  # one candidate
    assert not second.stopped_by_deadline
    params = json.loads((second.bundle_dir / "bundle.json").read_text())["train_params"]
    assert params["incremental"] is True
    # LightGBM may stop adding trees early once nothing is left to split on separable data.
    assert base_rounds < params["total_rounds"] <= base_rounds + 100
    assert any("incremental" in line for line in second.log)
    assert second.metrics["accuracy"] >= first.metrics["accuracy"]


def test_cnn_exports_and_continues(samples, tmp_path):
    pytest.importorskip("torch")
    spec = _spec(samples, preference="accuracy_first",
                 params={"max_epochs": 3, "sound_candidates": ["cnn"], "refit_on_all": False})
    first = _fit(spec, tmp_path / "v1", 30.0)
    assert (first.bundle_dir / "cnn.pt").is_file()
    check = first.evaluation["onnx_check"]
    assert check["labels_equal"] and check["max_abs_diff"] < 1e-5
    # Small data: the CNN is cross-validated like every other candidate.
    assert first.evaluation["search"]["validation"].endswith("-fold cross-validation")
    _assert_served_like_evaluated(first, spec)
    spec2 = _spec(
        samples, preference="accuracy_first", params={"max_epochs": 1}, base_bundle_dir=str(first.bundle_dir)
    )
    second = _fit(spec2, tmp_path / "v2", 30.0)
    assert any("continuing the cnn model" in line for line in second.log)


def test_deadline_already_reached_still_yields_a_model(samples, tmp_path):
    result = _fit(_spec(samples), tmp_path / "work", 0.01)
    assert result.stopped_by_deadline
    assert (result.bundle_dir / "model.onnx").is_file()
    assert len(result.eval_predictions) == len(_spec(samples).split("eval"))


def test_stop_request_propagates(samples, tmp_path):
    def progress(phase, fraction):
        if phase == "searching":
            raise StopTraining()

    with pytest.raises(StopTraining):
        _fit(_spec(samples), tmp_path / "work", 10.0, progress)


def test_predictor_rejects_malformed_input(samples, tmp_path):
    result = _fit(_spec(samples, params={"max_rounds": 5}), tmp_path / "work", 4.0)
    predictor = load_predictor(result.bundle_dir)
    t = np.arange(16000) / 16000
    with pytest.raises(PredictionError, match="16-bit"):
        predictor.predict(wav_bytes(0.3 * np.sin(2 * np.pi * 440 * t), 16000, subtype="PCM_U8"))
    with pytest.raises(PredictionError, match="WAV"):
        predictor.predict(b'{"text": "this is text, not a WAV file at all........"}')
    with pytest.raises(PredictionError):
        predictor.predict({"text": "hello"})
    with pytest.raises(PredictionError):
        predictor.predict(b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\x00" * 40)  # truncated header
    assert heavy_modules_loaded_by_serving(result.bundle_dir, Path(samples[0].path)) == []
