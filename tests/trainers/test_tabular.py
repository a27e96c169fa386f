"""Predictive analytics trainer + predictor on tiny generated tables (seconds each), and the
engine's promises for tables: exact ONNX for every family, the budget used as the
preference says, the linear baseline kept when it is the best model."""

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
from training.engine.spec import StopTraining, TabularSpec, TrainingError, TrainSpec  # noqa: E402
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
    spec = _spec(tmp_path, "binary", params={"refit_on_all": False})
    result = _fit(spec, tmp_path / "work", 4.0)

    assert {"accuracy", "precision", "recall", "f1", "roc_auc"} <= set(result.metrics)
    assert result.metrics["accuracy"] > 0.85
    ev = result.evaluation
    for key in ("per_class", "confusion_matrix", "threshold_curve", "tp", "fp", "fn", "tn", "roc_auc"):
        assert key in ev
    assert ev["tp"] + ev["fp"] + ev["fn"] + ev["tn"] == len(spec.tabular.eval_rows)
    importance = ev["feature_importance"]
    assert {r["feature"] for r in importance} == {"attr_1", "attr_2", "attr_3", "attr_4"}
    # age, job and balance make the label; city (attr_4) is noise.
    assert importance[0]["feature"] in ("attr_1", "attr_2", "attr_3")
    assert ev["onnx_check"]["labels_equal"] and ev["onnx_check"]["max_abs_diff"] <= 1e-5
    search = ev["search"]
    assert search["served_model"] == "the evaluated model" and search["validation"].startswith("5-fold cross-validation")
    names = [row["name"] for row in search["leaderboard"]]
    # The baselines come first (a busy machine may exhaust this tiny budget after the first).
    assert names[: len(names[:2])] == ["lgbm_default", "linear"][: len(names[:2])]
    assert set(search["selection"]["weights"]) <= {r["name"] for r in search["leaderboard"] if r["status"] == "done"}

    bundle = json.loads((result.bundle_dir / "bundle.json").read_text())
    assert bundle["task_type"] == "predictive_analytics" and bundle["labels"] == ["no", "yes"]
    assert bundle["train_params"]["served_model"] == "the evaluated model"
    assert (result.bundle_dir / "model.onnx").is_file()

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
    assert ev["onnx_check"]["labels_equal"] and ev["onnx_check"]["max_abs_diff"] <= 1e-5
    assert all(
        p["sample_id"].startswith("row-") and len(p["probabilities"]) == 3 for p in result.eval_predictions
    )


def test_regression_metrics_and_served_values(tmp_path):
    spec = _spec(tmp_path, "regression", params={"refit_on_all": False})
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

    def progress(phase, fraction, live=None):
        calls.append(phase)
        if phase.startswith("trying"):
            raise StopTraining()

    with pytest.raises(StopTraining):
        _fit(_spec(tmp_path, "binary"), tmp_path / "work", 10.0, progress)
    assert calls[-1] == "trying lgbm_default"


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


def test_refit_on_all_serves_a_model_fit_on_every_labelled_row(tmp_path):
    # refit_on_all defaults to true; four candidates, capped in number, not in seconds.
    spec = _spec(tmp_path, "binary", params={"max_trials": 4})
    result = _fit(spec, tmp_path / "work", 600.0)
    search = result.evaluation["search"]
    assert search["evaluated_model"] == "fit on the 240 TRAIN rows"
    assert search["served_model"] == "refit on all 300 labelled rows"
    # The honest evaluation is the evaluated model's; the served graph answers its own Python model.
    assert result.evaluation["onnx_check"]["max_abs_diff"] <= 1e-5
    served_check = result.evaluation["served_check"]
    assert served_check["within_tolerance"] and served_check["max_abs_diff"] <= 1e-5
    bundle = json.loads((result.bundle_dir / "bundle.json").read_text())
    assert bundle["train_params"]["served_model"] == "refit on all 300 labelled rows"
    assert bundle["metrics"] == result.metrics
    served = load_predictor(result.bundle_dir).predict(_request(_eval_records(spec)))["resp_data"]
    assert len(served) == 60 and all(row["predictioncol"] in ("no", "yes") for row in served)


def test_a_table_over_the_search_row_cap_is_searched_on_a_subsample_and_served_fit_on_all_rows(tmp_path):
    # The cap (default: rows per budget second) lowered to 100 of the 240 TRAIN rows.
    spec = _spec(tmp_path, "binary", params={"max_trials": 3, "search_rows": 100})
    result = _fit(spec, tmp_path / "work", 600.0)
    search = result.evaluation["search"]
    assert search["rows"] == "searched on 100 of 240 TRAIN rows"
    assert (search["searched_rows"], search["train_rows"]) == (100, 240)
    assert any("searched on 100 of 240 TRAIN rows" in line for line in result.log)
    # The budget allows the final fits on every row: evaluated on TRAIN, served on all rows.
    assert search["evaluated_model"] == "fit on the 240 TRAIN rows"
    assert search["served_model"] == "refit on all 300 labelled rows"
    assert result.evaluation["served_check"]["within_tolerance"]
    assert result.evaluation["tp"] + result.evaluation["fp"] + result.evaluation["fn"] + result.evaluation["tn"] == 60
    bundle = json.loads((result.bundle_dir / "bundle.json").read_text())
    assert bundle["train_params"]["served_model"] == "refit on all 300 labelled rows"


def test_the_search_subsample_keeps_each_class_share_and_only_train_rows():
    from training.engine.trainers.tabular import subsample

    rows = np.arange(1000, 2000)  # TRAIN rows; EVAL rows are not passed in
    y = np.where(rows % 10 == 0, 1, 0)  # a 10 % minority class
    picked = subsample(rows, y, 200, classification=True, seed=0)
    assert len(picked) == 200 and len(set(picked.tolist())) == 200 and set(picked.tolist()) <= set(rows.tolist())
    assert int((picked % 10 == 0).sum()) == 20
    assert np.array_equal(picked, subsample(rows, y, 200, classification=True, seed=0))  # reproducible
    assert subsample(rows, y, 5000, classification=True, seed=0) is rows  # under the cap: every row
    assert len(subsample(rows, y.astype(float), 300, classification=False, seed=0)) == 300


# ---------------------------------------------------------------- exact ONNX, every family

PARITY_COLUMNS = ("attr_1", "attr_2", "attr_3", "attr_4", "attr_5", "attr_6")
PARITY_KINDS = {"attr_1": "numeric", "attr_2": "categorical", "attr_3": "numeric", "attr_4": "categorical",
                "attr_5": "numeric"}


def _parity_table(path: Path, *, kind: str, n: int = 400) -> TabularSpec:
    """Decimals on a grid (EVAL values sit exactly between TRAIN values, where float32
    rounding of thresholds bites), NaN in TRAIN and EVAL, a numeric with NaN only in EVAL,
    a small categorical with blanks, a large one with categories EVAL alone has."""
    rng = np.random.default_rng(3)
    eval_rows = set(range(0, n, 4))
    lines = []
    for i in range(n):
        is_eval = i in eval_rows
        step = int(rng.integers(0, 100))
        grid = round(step * 0.02 + (0.0 if is_eval else 0.01), 2)
        a1 = "" if rng.random() < 0.1 else f"{grid}"
        a2 = rng.choice(["red", "green", "blue", ""])
        a3 = "" if is_eval and rng.random() < 0.3 else f"{rng.normal(50, 10):.3f}"
        a4 = f"k{int(rng.integers(0, 30)) + (30 if is_eval and rng.random() < 0.2 else 0)}"
        a5 = f"{int(rng.integers(0, 5))}"
        signal = np.sin(grid * 4) + (a2 == "red") + (int(a4[1:]) % 3 == 0) * 0.7 + rng.normal(0, 0.3)
        if kind == "binary":
            label = "yes" if signal > 0.6 else "no"
        elif kind == "multi":
            label = "low" if signal < 0.2 else ("mid" if signal < 1.0 else "high")
        else:
            label = f"{signal * 100:.3f}"
        lines.append(",".join([a1, a2, a3, a4, a5, label]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return TabularSpec(
        csv_path=str(path), columns=PARITY_COLUMNS, kinds=PARITY_KINDS, label_column="attr_6",
        label_type="continuous" if kind == "regression" else "discrete", eval_rows=tuple(sorted(eval_rows)),
    )


@pytest.mark.parametrize("kind", ["binary", "multi", "regression"])
def test_onnx_answers_what_python_answers_for_every_family_and_an_ensemble(tmp_path, kind):
    import onnxruntime as ort

    from training.engine.budget import Budget
    from training.engine.models import tabular as tm
    from training.engine.preprocessing.tabular import columns_to_inputs
    from training.engine.trainers.tabular_data import TabularData

    spec = TrainSpec(task_type="predictive_analytics", labels=(), tabular=_parity_table(tmp_path / "t.csv", kind=kind))
    data = TabularData(spec)
    families = tm.Families(
        features=data.features, frame_of=data.frame, y_of=lambda rows: data.y[rows],
        n_classes=len(data.classes), threads=1, seed=0, beat=lambda: None,
    )
    train = np.asarray(data.train_rows)
    budget = Budget(time.monotonic() + 600)
    fits = {
        "lgbm_default": families.lightgbm("lgbm_default", {}, tuned=False),
        "lgbm_tuned": families.lightgbm("lgbm_tuned", {"num_leaves": 64, "min_child_samples": 2, "learning_rate": 0.05},
                                        tuned=True),
        "linear": families.linear(1.0),
        "extra_trees": families.extra_trees("extra_trees", {"n_estimators": 30, "min_samples_leaf": 1}),
        "catboost": families.catboost("catboost", {"depth": 6, "learning_rate": 0.1}),
    }
    models = {name: fit(train, budget) for name, fit in fits.items()}
    rows = np.asarray(data.eval_rows + data.train_rows)
    # The cells as the CSV holds them (what a request carries), not as training parsed them.
    cells = [line.split(",") for line in Path(spec.tabular.csv_path).read_text().splitlines()]
    position = {c: k for k, c in enumerate(PARITY_COLUMNS)}
    inputs = columns_to_inputs({f["name"]: [cells[i][position[f["name"]]] for i in rows] for f in data.features},
                               {"features": data.features}, strict=True)

    def onnx_answer(weights):
        onx = tm.export_ensemble(models, weights, data.features)
        out = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, inputs)[0]
        return np.asarray(out, dtype=np.float64).reshape(len(rows), -1)

    for name, model in models.items():
        python = model.predict(rows).reshape(len(rows), -1)
        diff = np.max(np.abs(onnx_answer({name: 1.0}) - python))
        tolerance = 1e-5 * (max(1.0, np.max(np.abs(python))) if kind == "regression" else 1.0)
        assert diff <= tolerance, (name, diff)
    weights = {"lgbm_default": 0.3, "lgbm_tuned": 0.2, "linear": 0.2, "extra_trees": 0.1, "catboost": 0.2}
    python = sum(w * models[n].predict(rows).reshape(len(rows), -1) for n, w in weights.items())
    tolerance = 1e-5 * (max(1.0, np.max(np.abs(python))) if kind == "regression" else 1.0)
    assert np.max(np.abs(onnx_answer(weights) - python)) <= tolerance


def test_rounding_thresholds_down_is_what_makes_lightgbm_exact(tmp_path):
    """Without the float32 floor, a grid value between two TRAIN values lands on the other
    side of a split in the graph (the 0.02 disagreement users saw)."""
    import lightgbm
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    from training.engine.models import tabular as tm

    rng = np.random.default_rng(0)
    x = (rng.integers(0, 200, 2000) * 0.02 + 0.01).astype(np.float32).reshape(-1, 1)
    y = (np.sin(x[:, 0] * 5) + rng.normal(0, 0.3, 2000) > 0).astype(int)
    grid = (np.arange(200) * 0.02).astype(np.float32).reshape(-1, 1)
    import onnxruntime as ort

    def worst(model):
        onx = convert_lightgbm(model, initial_types=[("x", FloatTensorType([None, 1]))], zipmap=False, target_opset=15)
        out = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": grid})[1]
        return float(np.max(np.abs(out - model.predict_proba(grid))))

    model = lightgbm.LGBMClassifier(n_estimators=100, min_child_samples=2, verbose=-1).fit(x, y)
    before = model.predict_proba(grid)
    assert worst(model) > 1e-3
    tm.exact_lightgbm(model)
    assert np.array_equal(model.predict_proba(grid), before)  # Python's answers do not change
    assert worst(model) <= 1e-5


# ---------------------------------------------------------------- the budget and the baselines


@pytest.mark.parametrize("preference", ["performance_first", "balance", "accuracy_first"])
def test_the_budget_ends_the_search_per_preference(tmp_path, preference):
    # What the engine decides, not how fast this machine is: elapsed time against the budget
    # (within 10 %, >= 80 % used by accuracy_first) is measured by bench/budget.py; when each
    # preference stops is tested on a simulated clock (tests/engine). Here: the budget ends
    # the search of every preference, with a model after both baselines.
    result = _fit(_spec(tmp_path, "binary", preference=preference), tmp_path / "work", 15.0)
    assert (result.bundle_dir / "model.onnx").is_file()
    assert len(result.evaluation["search"]["leaderboard"]) >= 2


def test_a_cap_in_candidates_ends_the_search_the_same_way_on_any_machine(tmp_path):
    spec = _spec(tmp_path, "binary", preference="accuracy_first", params={"max_trials": 4})
    result = _fit(spec, tmp_path / "work", 600.0)  # the time is only a backstop
    assert not result.stopped_by_deadline
    # The level-2 stack tried after the search has its own row (family "stack"), not a candidate's.
    board = [row for row in result.evaluation["search"]["leaderboard"] if row["family"] != "stack"]
    assert len(board) == 4 and all(row["status"] == "done" for row in board), board


def test_the_linear_baseline_wins_on_a_linear_table(tmp_path):
    """Few rows, a linear target with noise: boosted trees cannot beat the linear model and
    the engine keeps it (or an ensemble scoring at least as well on validation)."""
    rng = np.random.default_rng(5)
    n = 80
    x = rng.normal(size=(n, 4))
    y = x @ np.array([3.0, -2.0, 1.5, 0.5]) * 10 + rng.normal(0, 2.0, n)
    path = tmp_path / "linear.csv"
    path.write_text("".join(",".join(f"{v:.4f}" for v in [*row, t]) + "\n" for row, t in zip(x, y, strict=True)))
    columns = ("attr_1", "attr_2", "attr_3", "attr_4", "attr_5")
    tab = TabularSpec(csv_path=str(path), columns=columns, kinds={c: "numeric" for c in columns}, label_column="attr_5",
                      label_type="continuous", eval_rows=tuple(range(0, n, 5)))
    spec = TrainSpec(task_type="predictive_analytics", labels=(), tabular=tab, threads=1, preference="performance_first")
    result = _fit(spec, tmp_path / "work", 8.0)
    search = result.evaluation["search"]
    board = {row["name"]: row for row in search["leaderboard"]}
    assert board["linear"]["score"] < board["lgbm_default"]["score"]  # RMSE: the scenario holds
    selection = search["selection"]
    # Small data: the served selection is within one standard error of the best candidate (the
    # one-SE rule prefers the simplest of the tied), and a single model is a linear one.
    best = min((row for row in board.values() if row["score"] is not None), key=lambda row: row["score"])
    assert best["std_error"] > 0
    assert -selection["validation_score"] <= best["score"] + best["std_error"] + 1e-9
    if selection["kind"] == "single":
        assert board[next(iter(selection["weights"]))]["family"] == "linear"
    assert result.metrics["r2"] > 0.95
