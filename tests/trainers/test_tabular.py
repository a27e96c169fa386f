"""Predictive analytics trainer + predictor on tiny generated tables (seconds each)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("lightgbm")
pytest.importorskip("skl2onnx")

from tests.trainers.ml_data import COLUMNS, heavy_modules_loaded_by_serving, tabular_csv  # noqa: E402
from training.engine.predictors import PredictionError, load_predictor  # noqa: E402
from training.engine.spec import StopTraining, TrainingError, TrainSpec  # noqa: E402
from training.engine.trainers import get_trainer  # noqa: E402


def _spec(tmp_path: Path, kind: str, **kwargs) -> TrainSpec:
    tab = tabular_csv(tmp_path / f"{kind}.csv", kind=kind)
    return TrainSpec(task_type="predictive_analytics", labels=(), tabular=tab, threads=1, **kwargs)


def _fit(spec: TrainSpec, workdir: Path, budget: float, progress=lambda phase, f: None):
    return get_trainer("predictive_analytics").fit(spec, workdir, time.monotonic() + budget, progress)


def _request(records: list[dict]) -> dict:
    return {"data": {"count": len(records), "req_data": records}}


def _eval_records(spec: TrainSpec) -> list[dict]:
    lines = Path(spec.tabular.csv_path).read_text().splitlines()
    return [dict(zip(COLUMNS, lines[i].split(","), strict=True)) for i in spec.tabular.eval_rows]


def test_binary_model_serves_what_training_evaluated(tmp_path):
    spec = _spec(tmp_path, "binary")
    result = _fit(spec, tmp_path / "work", 4.0)

    assert {"accuracy", "precision", "recall", "f1", "roc_auc"} <= set(result.metrics)
    assert result.metrics["accuracy"] > 0.85
    ev = result.evaluation
    for key in ("per_class", "confusion_matrix", "threshold_curve", "tp", "fp", "fn", "tn", "roc_auc"):
        assert key in ev
    assert ev["tp"] + ev["fp"] + ev["fn"] + ev["tn"] == len(spec.tabular.eval_rows)
    importance = ev["feature_importance"]
    assert {r["feature"] for r in importance} == {"attr_1", "attr_2", "attr_3", "attr_4"}
    assert importance[0]["feature"] in ("attr_1", "attr_3")  # the informative numerics
    assert ev["onnx_check"]["labels_equal"] and ev["onnx_check"]["max_abs_diff"] < 1e-4

    bundle = json.loads((result.bundle_dir / "bundle.json").read_text())
    assert bundle["task_type"] == "predictive_analytics" and bundle["labels"] == ["no", "yes"]
    assert (result.bundle_dir / "model.onnx").is_file() and (result.bundle_dir / "lgbm.txt").is_file()

    predictor = load_predictor(result.bundle_dir)
    assert predictor.warmup()["resp_data"][0]["predictioncol"] in ("no", "yes")
    records = _eval_records(spec)
    served = predictor.predict(_request(records))["resp_data"]
    assert len(served) == len(result.eval_predictions)
    for row, expected in zip(served, result.eval_predictions, strict=True):
        assert row["predictioncol"] == expected["predicted"]
        for label, p in expected["probabilities"].items():
            assert row["probabilities"][label] == pytest.approx(p, abs=1e-6)
    # One record at a time, with the label column blank or absent, answers the same.
    first = dict(records[0], attr_5="")
    single = predictor.predict(_request([first]))["resp_data"][0]
    assert single["predictioncol"] == result.eval_predictions[0]["predicted"]
    assert single["attr_1"] == records[0]["attr_1"]  # the input record is echoed
    absent = {k: v for k, v in records[0].items() if k != "attr_5"}
    assert predictor.predict(_request([absent]))["resp_data"][0]["predictioncol"] == single["predictioncol"]
    # Unseen categories and missing values are answered, not rejected.
    odd = dict(records[0], attr_2="astronaut", attr_3="", attr_4="zzz")
    assert predictor.predict(_request([odd]))["resp_data"][0]["predictioncol"] in ("no", "yes")


def test_multiclass_has_confusion_matrix(tmp_path):
    result = _fit(_spec(tmp_path, "multi"), tmp_path / "work", 3.0)
    ev = result.evaluation
    assert ev["labels"] == ["high", "low", "mid"]
    assert np.asarray(ev["confusion_matrix"]).shape == (3, 3)
    assert len(ev["per_class"]) == 3 and result.metrics["accuracy"] > 0.6
    assert ev["onnx_check"]["labels_equal"] and ev["onnx_check"]["max_abs_diff"] < 1e-4
    assert all(
        p["sample_id"].startswith("row-") and len(p["probabilities"]) == 3 for p in result.eval_predictions
    )


def test_regression_metrics_and_served_values(tmp_path):
    spec = _spec(tmp_path, "regression")
    result = _fit(spec, tmp_path / "work", 3.0)
    assert {"mae", "mse", "rmse", "r2"} <= set(result.metrics)
    assert result.metrics["r2"] > 0.5
    assert result.evaluation["feature_importance"]
    served = load_predictor(result.bundle_dir).predict(_request(_eval_records(spec)))["resp_data"]
    for row, expected in zip(served, result.eval_predictions, strict=True):
        assert isinstance(row["predictioncol"], float) and "probabilities" not in row
        assert row["predictioncol"] == pytest.approx(expected["predicted"], rel=1e-6)


def test_wrong_label_type_is_a_clear_training_error(tmp_path):
    binary = tabular_csv(tmp_path / "b.csv", kind="binary")
    spec = TrainSpec(
        task_type="predictive_analytics", labels=(), tabular=_with(binary, label_type="continuous")
    )
    with pytest.raises(TrainingError, match="non-numeric"):
        _fit(spec, tmp_path / "w1", 2.0)
    # Numbers, but too few distinct values for a regression.
    path = tmp_path / "few.csv"
    rng = np.random.default_rng(0)
    path.write_text("".join(f"{rng.integers(0, 9)},a,{rng.normal()},b,{i % 5}\n" for i in range(100)))
    spec = TrainSpec(
        task_type="predictive_analytics",
        labels=(),
        tabular=_with(binary, csv_path=str(path), label_type="continuous"),
    )
    with pytest.raises(TrainingError, match="distinct"):
        _fit(spec, tmp_path / "w2", 2.0)


def _with(tab, **changes):
    from dataclasses import replace

    return replace(tab, **changes)


def test_deadline_already_reached_still_yields_a_model(tmp_path):
    result = _fit(_spec(tmp_path, "binary"), tmp_path / "work", 0.05)
    assert result.stopped_by_deadline
    assert (result.bundle_dir / "model.onnx").is_file()
    assert len(result.eval_predictions) == 60


def test_stop_request_propagates(tmp_path):
    calls = []

    def progress(phase, fraction):
        calls.append(phase)
        if phase == "searching":
            raise StopTraining()

    with pytest.raises(StopTraining):
        _fit(_spec(tmp_path, "binary"), tmp_path / "work", 10.0, progress)
    assert "searching" in calls


def test_predictor_rejects_malformed_requests(tmp_path):
    result = _fit(_spec(tmp_path, "binary"), tmp_path / "work", 1.0)
    predictor = load_predictor(result.bundle_dir)
    good = {"attr_1": "58", "attr_2": "tech", "attr_3": "1200.5", "attr_4": "a", "attr_5": ""}
    assert predictor.predict(_request([good]))["resp_data"][0]["predictioncol"] in ("no", "yes")
    with pytest.raises(PredictionError, match="attr_3"):
        predictor.predict(_request([{k: v for k, v in good.items() if k != "attr_3"}]))
    with pytest.raises(PredictionError, match="attr_1.*numeric"):
        predictor.predict(_request([dict(good, attr_1="fifty")]))
    with pytest.raises(PredictionError, match="req_data"):
        predictor.predict({"data": {"count": 0, "req_data": []}})
    with pytest.raises(PredictionError):
        predictor.predict(b"attr_1,attr_2")
    request = tmp_path / "request.json"
    request.write_text(json.dumps(_request([good])))
    assert heavy_modules_loaded_by_serving(result.bundle_dir, request) == []
