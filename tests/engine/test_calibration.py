"""Calibrated confidence (issue 25 item 5): temperature scaling fitted on the search's
out-of-fold predictions lowers the expected calibration error of an over-confident model,
keeps every argmax, and the exported ONNX graph answers the calibrated probabilities."""

from __future__ import annotations

import time

import numpy as np
import pytest

from training.engine import calibration as calib
from training.engine.budget import Budget
from training.engine.ensemble import fit_selection
from training.engine.live_report import LiveReport
from training.engine.models.base import make_model
from training.engine.search import Candidate, Search
from training.engine.trainers import automl
from training.engine.validation import make_folds

K = 4


def _overconfident(n: int, seed: int, *, wrong: float = 0.3, top: float = 0.97) -> tuple[np.ndarray, np.ndarray]:
    """Labels and probabilities pushed towards one-hot (``top`` on the predicted class) where
    the prediction is wrong ``wrong`` of the time: confidence 0.97, accuracy 0.70."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, K, size=n)
    pred = y.copy()
    flip = rng.random(n) < wrong
    pred[flip] = (y[flip] + rng.integers(1, K, size=int(flip.sum()))) % K
    rest = rng.dirichlet(np.ones(K - 1), size=n) * (1.0 - top)
    proba = np.zeros((n, K))
    for i in range(n):
        others = [c for c in range(K) if c != pred[i]]
        proba[i, pred[i]] = top
        proba[i, others] = rest[i]
    return y, proba


def test_temperature_lowers_ece_of_an_overconfident_model_and_keeps_argmax():
    y_fit, p_fit = _overconfident(600, seed=0)
    y_new, p_new = _overconfident(600, seed=1)  # rows the calibrator never saw
    fitted = calib.fit(y_fit, p_fit)
    assert fitted.temperature > 1.5  # over-confident: softened
    assert fitted.ece_before > 0.2 and fitted.ece_after < 0.05
    assert fitted.log_loss_after < fitted.log_loss_before
    after = calib.calibrated(p_new, fitted)
    before_ece = calib.expected_calibration_error(y_new, p_new)
    after_ece = calib.expected_calibration_error(y_new, after)
    assert before_ece > 0.2 and after_ece < 0.05
    np.testing.assert_array_equal(np.argmax(after, axis=1), np.argmax(p_new, axis=1))
    np.testing.assert_allclose(after.sum(axis=1), 1.0, atol=1e-12)


def test_one_hot_predictions_wrong_a_third_of_the_time_are_softened_too():
    """Exact 0/1 probabilities (extra trees with pure leaves): the log of the clipped zeros."""
    y, p = _overconfident(400, seed=2, top=1.0)
    fitted = calib.fit(y, p)
    assert fitted.ece_before > 0.25 and fitted.ece_after < 0.05
    np.testing.assert_array_equal(np.argmax(calib.calibrated(p, fitted), axis=1), np.argmax(p, axis=1))


def test_no_out_of_fold_error_does_not_drive_confidence_to_one():
    y = np.arange(60) % 3
    p = np.full((60, 3), 0.2)
    p[np.arange(60), y] = 0.6  # right every time, under-confident
    fitted = calib.fit(y, p)
    top = calib.calibrated(p, fitted).max(axis=1)
    assert fitted.temperature < 1.0  # sharpened ...
    assert top.mean() == pytest.approx(61 / 62, abs=1e-6)  # ... to Laplace's (n+1)/(n+2), not to 1.00


def test_too_few_rows_leave_the_model_as_it_is():
    y, p = _overconfident(10, seed=3)
    fitted = calib.fit(y, p)
    assert fitted.temperature == 1.0 and not fitted.active
    assert np.array_equal(calib.calibrated(p, fitted), p)


def test_reliability_bins_and_ece():
    y = np.array([0, 0, 1, 1])
    p = np.array([[0.95, 0.05], [0.95, 0.05], [0.6, 0.4], [0.3, 0.7]])
    bins = calib.reliability(y, p, bins=10)
    assert len(bins) == 10 and sum(b["count"] for b in bins) == 4
    top = bins[9]  # (0.9, 1.0]: two rows at 0.95, both right
    assert top["count"] == 2 and top["confidence"] == pytest.approx(0.95) and top["accuracy"] == 1.0
    # |0.95-1|*2/4 + |0.6-0|*1/4 + |0.7-1|*1/4
    assert calib.expected_calibration_error(y, p, bins=10) == pytest.approx(0.025 + 0.15 + 0.075)
    block = calib.evaluation_block(y, p, p, None, bins=10)
    assert block["before"]["ece"] == block["after"]["ece"] and block["method"] == "none"


# ------------------------------------------------------------------ search + ONNX


class _Softmax:
    """A linear softmax head with sharpened logits (``scale``): a real, over-confident model
    that exports itself to ONNX the way the trainers' linear heads do."""

    inputs = ("x",)

    def __init__(self, x: np.ndarray, y: np.ndarray, rows: np.ndarray, scale: float) -> None:
        a = np.c_[x[rows], np.ones(len(rows))]
        w = np.linalg.lstsq(a, np.eye(K)[y[rows]], rcond=None)[0] * scale
        self.w, self.b, self.x = w[:-1], w[-1], x

    def predict(self, rows: np.ndarray) -> np.ndarray:
        z = self.x[rows] @ self.w + self.b
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def onnx(self, inputs):
        from onnx import helper, numpy_helper

        nodes = [
            helper.make_node("MatMul", ["x", "W"], ["xw"]),
            helper.make_node("Add", ["xw", "B"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        ]
        inits = [numpy_helper.from_array(self.w.astype(np.float32), "W"),
                 numpy_helper.from_array(self.b.astype(np.float32), "B")]
        return make_model(nodes, inputs, inits, name="softmax_head", n_classes=K)


def _input_info(name: str):
    from onnx import TensorProto, helper

    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [None, 6])


def _noisy_data(n: int = 900, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    score = x[:, :K] + 1.2 * rng.normal(size=(n, K))  # a third or so of the labels not learnable
    return x.astype(np.float32).astype(np.float64), np.argmax(score, axis=1)


def _run_onnx(model, x: np.ndarray) -> np.ndarray:
    import os

    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(["probabilities"], {"x": x.astype(np.float32)})[0], dtype=np.float64)


@pytest.mark.parametrize("blended", [False, True])
def test_the_search_calibrates_its_selection_and_the_onnx_graph_answers_the_same(blended):
    x, y = _noisy_data()
    train, held_out = np.arange(600), np.arange(600, 900)
    folds = make_folds(y[train], classification=True, seed=0)
    budget = Budget(deadline=time.monotonic() + 120, preference="accuracy_first", export_reserve=1)
    report = LiveReport(lambda phase, fraction, live=None: None, budget, metric="accuracy")
    search = Search(y=y[train], rows=train, folds=folds, kind="classification", budget=budget, report=report)
    scales = (8.0, 12.0) if blended else (10.0,)
    search.run([Candidate(f"sharp{s:g}", "sharp", lambda rows, b, s=s: _Softmax(x, y, rows, s), baseline=True)
                for s in scales])
    selection = search.select(ensemble=False)
    if blended:  # two members blended (the ensemble's export path)
        selection.weights = {"sharp8": 0.5, "sharp12": 0.5}
        selection.calibration = search.calibrate(selection)
    fitted = selection.calibration
    assert fitted is not None and fitted.temperature > 1.5 and fitted.ece_after < fitted.ece_before

    model = fit_selection(search, selection, train, budget)
    raw = model.predict_uncalibrated(held_out)
    served = model.predict(held_out)
    # Held-out rows: calibration lowers ECE, the argmax (and so accuracy) does not move.
    before = calib.expected_calibration_error(y[held_out], raw)
    assert before > 0.15 and calib.expected_calibration_error(y[held_out], served) < before / 2
    np.testing.assert_array_equal(np.argmax(served, axis=1), np.argmax(raw, axis=1))

    graph = automl.export_ensemble(model, _input_info, ["x"])
    assert [n.op_type for n in graph.graph.node][-5:] == ["Max", "Min", "Log", "Div", "Softmax"]
    onnx_proba = _run_onnx(graph, x[held_out])
    assert float(np.max(np.abs(onnx_proba - served))) < 1e-5
    np.testing.assert_array_equal(np.argmax(onnx_proba, axis=1), np.argmax(raw, axis=1))
    # The graph without calibration (an old bundle's) is what the model answered before.
    uncalibrated = automl.export_ensemble(type(model)(model.models, model.weights), _input_info, ["x"])
    assert float(np.max(np.abs(_run_onnx(uncalibrated, x[held_out]) - raw))) < 1e-5


def test_regression_selections_are_not_calibrated():
    x, yc = _noisy_data(200)
    y = x[:, 0] * 2.0
    folds = make_folds(y, classification=False, seed=0)
    budget = Budget(deadline=time.monotonic() + 60, export_reserve=1)
    report = LiveReport(lambda phase, fraction, live=None: None, budget, metric="rmse")
    search = Search(y=y, rows=np.arange(200), folds=folds, kind="regression", budget=budget, report=report)

    class Mean:
        def __init__(self, rows):
            self.m = float(y[rows].mean())

        def predict(self, rows):
            return np.full(len(rows), self.m)

    search.run([Candidate("mean", "mean", lambda rows, b: Mean(rows), baseline=True)])
    assert search.select().calibration is None


def test_the_noise_floor_is_what_a_calibrated_model_scores_on_few_rows():
    rng = np.random.default_rng(5)
    conf = rng.uniform(0.5, 1.0, size=60)
    floor = calib.ece_noise_floor(conf)
    assert 0.03 < floor < 0.2  # 60 rows: sampling noise alone reads as a sizeable ECE
    assert calib.ece_noise_floor(rng.uniform(0.5, 1.0, size=20000)) < 0.02


def test_an_old_opset_graph_is_calibrated_too():
    """A LightGBM member converted by onnxmltools declares opset 9 (Clip took its bounds as
    attributes then): the appended nodes work there too."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Softmax", ["x"], ["probabilities"], axis=1)], "old",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, K])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, K])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)])
    model.ir_version = 8
    logits = np.random.default_rng(0).normal(size=(50, K)) * 6
    raw = _run_onnx(model, logits)
    out = _run_onnx(calib.calibrate_onnx(model, 2.5), logits)
    assert float(np.max(np.abs(out - calib.apply_temperature(raw, 2.5)))) < 1e-6
    assert calib.calibrate_onnx(model, None) is model and calib.calibrate_onnx(model, 1.0) is model


# ------------------------------------------------------------------ top-label isotonic map


def _bent(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A model whose accuracy is not a power of its confidence: chance (0.25) at a top
    confidence of 0.4, rising as a square root to 0.98 at 1.0 (0.80 already at 0.6). One
    temperature cannot bend that curve; an isotonic map of the top confidence can."""
    rng = np.random.default_rng(seed)
    top = rng.uniform(0.4, 1.0, size=n)
    pred = rng.integers(0, K, size=n)
    right = rng.random(n) < 0.25 + 0.73 * np.sqrt((top - 0.4) / 0.6)
    y = np.where(right, pred, (pred + rng.integers(1, K, size=n)) % K)
    proba = rng.dirichlet(np.ones(K - 1), size=n) * (1.0 - top)[:, None]
    proba = np.insert(proba, 0, 0.0, axis=1)
    for i in range(n):  # the top class at position pred[i], the rest around it
        rest = np.delete(proba[i], 0)
        proba[i] = np.insert(rest, pred[i], top[i])
    return y, proba


def _softmax_graph(opset: int):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Softmax", ["x"], ["probabilities"], axis=1)], "head",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, K])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, K])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


@pytest.mark.parametrize("opset", [9, 13, 18])  # ReduceMax/ReduceSum take axes as inputs from 18/13
def test_an_isotonic_map_fixes_what_one_temperature_cannot_and_the_graph_answers_the_same(opset):
    y_fit, p_fit = _bent(1500, seed=0)
    y_new, p_new = _bent(4000, seed=1)
    fitted = calib.fit(y_fit, p_fit)
    assert fitted.method == "temperature+isotonic" and fitted.active
    cv = fitted.cv_log_loss
    assert cv["temperature"] - cv["temperature+isotonic"] > cv["standard_error"]  # clearly better
    served = calib.calibrated(p_new, fitted)
    tempered = calib.apply_temperature(p_new, fitted.temperature)
    ece_t = calib.expected_calibration_error(y_new, tempered)
    ece = calib.expected_calibration_error(y_new, served)
    assert ece_t > 0.045 and ece < ece_t / 2  # rows the calibrator never saw
    np.testing.assert_array_equal(np.argmax(served, axis=1), np.argmax(p_new, axis=1))  # accuracy kept
    np.testing.assert_allclose(served.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(np.diff(fitted.isotonic_y) >= 0) and np.all(np.diff(fitted.isotonic_x) > 0)

    # The same map in the graph: logits whose softmax is p_new (log p), served in float32.
    model = _softmax_graph(opset)
    logits = np.log(np.clip(p_new, 1e-12, 1.0)).astype(np.float32)
    # ... and very sure rows (top 0.99999): there 1 - top in float32 keeps few digits.
    sure = np.random.default_rng(2).normal(size=(500, K)) * 12
    logits = np.r_[logits, sure.astype(np.float32)]
    graph = calib.calibrate_onnx(model, fitted)
    assert graph.graph.node[-1].op_type == "Div" and graph.graph.output[0].name == "probabilities"
    from_graph = _run_onnx_x(graph, logits)
    raw = _run_onnx_x(model, logits)
    assert float(np.max(np.abs(from_graph - calib.calibrated(raw, fitted)))) < 1e-5
    np.testing.assert_array_equal(np.argmax(from_graph, axis=1), np.argmax(raw, axis=1))


def test_ties_at_the_top_stay_tied_and_the_top_class_is_never_overtaken():
    """A map that would push the top class below the second is held just above it; an exact
    tie (uniform row) stays a tie summing to one."""
    p = np.array([[0.40, 0.35, 0.25], [0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.9, 0.05, 0.05]])
    out = calib.apply_isotonic(p, [0.3, 0.95], [0.2, 0.9])  # maps 0.40 to 0.31 (< 0.35)
    np.testing.assert_array_equal(np.argmax(out, axis=1), np.argmax(p, axis=1))
    assert out[0, 0] > out[0, 1] and out[1, 0] == out[1, 1]
    np.testing.assert_allclose(out[2], 1 / 3)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    assert out[0, 0] == pytest.approx(0.35 / (0.6 + 0.35) * (1 + calib.TOP_MARGIN))  # held just above
    assert out[3, 0] == pytest.approx(0.2 + 0.7 * (0.9 - 0.3) / 0.65)  # the interpolation
    assert out[3, 1] == pytest.approx(out[3, 2])  # the others keep their proportions


def test_where_the_temperature_is_right_it_stays_alone():
    """A model calibrated up to one temperature (a sharpened softmax of the true
    probabilities): the cross-validation keeps temperature scaling alone."""
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(1500, K)) * 1.5
    true = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(K, p=row) for row in true])
    sharp = np.exp(3 * logits) / np.exp(3 * logits).sum(axis=1, keepdims=True)
    fitted = calib.fit(y, sharp)
    assert fitted.method == "temperature" and not fitted.isotonic_x
    assert fitted.temperature == pytest.approx(3.0, rel=0.15)


def _run_onnx_x(model, x: np.ndarray) -> np.ndarray:
    import os

    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(["probabilities"], {"x": x})[0], dtype=np.float64)


class _Fixed:
    """A 'model' answering fixed probabilities per row (softmax of the row's log-probabilities
    ``x``): out of fold and on new rows it has the bent confidence curve of ``_bent``."""

    inputs = ("x",)

    def __init__(self, x: np.ndarray) -> None:
        self.x = x

    def predict(self, rows: np.ndarray) -> np.ndarray:
        z = self.x[rows]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def onnx(self, inputs):
        from onnx import helper

        nodes = [helper.make_node("Softmax", ["x"], ["probabilities"], axis=1)]
        return make_model(nodes, inputs, [], name="fixed", n_classes=K)


def test_the_search_exports_its_isotonic_step_and_the_graph_answers_what_it_evaluated():
    y, p = _bent(2000, seed=4)
    x = np.log(np.clip(p, 1e-12, 1.0)).astype(np.float32).astype(np.float64)
    train, held_out = np.arange(1500), np.arange(1500, 2000)
    folds = make_folds(y[train], classification=True, seed=0)
    budget = Budget(deadline=time.monotonic() + 120, preference="accuracy_first", export_reserve=1)
    report = LiveReport(lambda phase, fraction, live=None: None, budget, metric="accuracy")
    search = Search(y=y[train], rows=train, folds=folds, kind="classification", budget=budget, report=report)
    search.run([Candidate("fixed", "fixed", lambda rows, b: _Fixed(x), baseline=True)])
    selection = search.select(ensemble=False)
    assert selection.calibration is not None and selection.calibration.method == "temperature+isotonic"
    assert selection.describe()["calibration"]["method"] == "temperature+isotonic"

    model = fit_selection(search, selection, train, budget)
    served = model.predict(held_out)
    raw = model.predict_uncalibrated(held_out)
    np.testing.assert_array_equal(np.argmax(served, axis=1), np.argmax(raw, axis=1))
    graph = automl.export_ensemble(model, lambda name: helper_input(name), ["x"])
    assert [n.op_type for n in graph.graph.node][-1] == "Div"  # the isotonic step's normalisation
    x_held = x[held_out].astype(np.float32)
    from_graph = _run_onnx_x(graph, x_held)
    assert float(np.max(np.abs(from_graph - served))) < 1e-5


def helper_input(name: str):
    from onnx import TensorProto, helper

    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [None, K])
