"""Level-2 stacking (training/engine/stacking.py, Search._stack): served only when its own
cross-validation over the out-of-fold rows beats the best single candidate and the blend by
more than one standard error, exported as one graph that answers what the Python stack
answers, and the budget's limit on the extra refits. Real fits of the tabular families on
tiny generated tables."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("lightgbm")
pytest.importorskip("skl2onnx")

from training.engine import stacking  # noqa: E402
from training.engine.budget import Budget  # noqa: E402
from training.engine.calibration import calibrate_onnx  # noqa: E402
from training.engine.ensemble import fit_selection  # noqa: E402
from training.engine.live_report import LiveReport  # noqa: E402
from training.engine.search import Candidate, Search  # noqa: E402
from training.engine.spec import TabularSpec, TrainSpec  # noqa: E402
from training.engine.validation import make_folds  # noqa: E402

COLUMNS = ("attr_1", "attr_2", "attr_3", "attr_4")
KINDS = {"attr_1": "numeric", "attr_2": "numeric", "attr_3": "numeric"}


def _views_table(path: Path, *, kind: str, n: int = 1000, seed: int = 0, additive: bool = True) -> TabularSpec:
    """Two numeric columns that each carry part of the target (``additive``), or the first
    carries all of it and the second is noise; a third column of noise; every fifth row EVAL.
    Classification: a rare positive class (about 15 %) on the sum of the two parts' logits."""
    rng = np.random.default_rng(seed)
    x1, x2, x3 = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    part2 = (np.sin(3 * x2) * 2 if kind == "regression" else 4 * x2) if additive else 0 * x2
    if kind == "regression":
        target = 10 * x1 + 10 * part2 + rng.normal(0, 1.0, n)
        labels = [f"{v:.4f}" for v in target]
    else:
        z = 4 * x1 + part2 - (6 if additive else 3) + rng.logistic(size=n)
        labels = ["yes" if v > 0 else "no" for v in z]
    lines = [f"{a:.4f},{b:.4f},{c:.4f},{lab}" for a, b, c, lab in zip(x1, x2, x3, labels, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return TabularSpec(csv_path=str(path), columns=COLUMNS, kinds=KINDS, label_column="attr_4",
                       label_type="continuous" if kind == "regression" else "discrete",
                       eval_rows=tuple(range(0, n, 5)))


def _views_search(tmp_path: Path, *, kind: str, additive: bool = True, stacking_on: bool = True,
                  clock=None, seconds: float = 600.0, reserve: float | None = None):
    """A search over two candidates of different families, each reading one column (a linear
    model on attr_1, LightGBM on attr_2): what a stack can add up and a blend can only average."""
    from training.engine.models import tabular as tm
    from training.engine.trainers.tabular_data import TabularData

    spec = TrainSpec(task_type="predictive_analytics", labels=(),
                     tabular=_views_table(tmp_path / f"{kind}.csv", kind=kind, additive=additive))
    data = TabularData(spec)
    train = np.asarray(data.train_rows, dtype=np.int64)

    def families(names):
        return tm.Families(features=[f for f in data.features if f["name"] in names], frame_of=data.frame,
                           y_of=lambda rows: data.y[rows], n_classes=len(data.classes), threads=1, seed=0,
                           beat=lambda: None)

    classification = kind != "regression"
    kw = {} if clock is None else {"clock": clock}
    budget = Budget((clock or time.monotonic)() + seconds, preference="accuracy_first", export_reserve=reserve, **kw)
    folds = make_folds(data.y[train], classification=classification, seed=0)
    search = Search(y=data.y[train], rows=train, folds=folds, kind="classification" if classification else "regression",
                    budget=budget, report=LiveReport(lambda *a, **k: None, budget, metric="accuracy" if classification else "rmse"), ensemble_pool="per_family",
                    max_trials=2, stacking=stacking_on, n_classes=len(data.classes))
    search.run([
        Candidate("linear_x1", "linear", families({"attr_1"}).linear(1.0), baseline=True),
        Candidate("lgbm_x2", "lgbm_default", families({"attr_2"}).lightgbm("lgbm_x2", {}, tuned=False), baseline=True),
    ])
    search.spec = spec  # for the bundle's metadata in the tests below
    return search, data, train, budget


def _onnx_vs_python(data, csv_path: str, ensemble, rows: np.ndarray, *, regression: bool) -> float:
    import onnxruntime as ort

    from training.engine.models import tabular as tm
    from training.engine.preprocessing.tabular import columns_to_inputs

    onx = tm.export_ensemble(ensemble.models, ensemble.weights, data.features, stacker=ensemble.stacker)
    if not regression:
        onx = calibrate_onnx(onx, ensemble.calibration)
    cells = [line.split(",") for line in Path(csv_path).read_text().splitlines()]
    position = {c: k for k, c in enumerate(COLUMNS)}
    inputs = columns_to_inputs({f["name"]: [cells[i][position[f["name"]]] for i in rows] for f in data.features},
                               {"features": data.features}, strict=True)
    out = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, inputs)[0]
    got = np.asarray(out, dtype=np.float64).reshape(len(rows), -1)
    python = np.asarray(ensemble.predict(rows), dtype=np.float64).reshape(len(rows), -1)
    diff = float(np.max(np.abs(got - python)))
    return diff / max(1.0, float(np.max(np.abs(python)))) if regression else diff


@pytest.mark.parametrize("kind", ["binary", "regression"])
def test_a_stack_that_wins_in_cross_validation_is_served_and_its_graph_answers_like_python(tmp_path, kind):
    search, data, train, budget = _views_search(tmp_path, kind=kind)
    selection = search.select(ensemble=True)
    report = search.stack_report
    assert report is not None and report["chosen"], report
    assert selection.kind == "stack" and set(selection.members) == {"linear_x1", "lgbm_x2"}
    # It won its own nested cross-validation by more than one standard error against each.
    assert all(g["mean"] > g["std_error"] > 0 for g in report["gains"].values()), report["gains"]
    if kind == "regression":
        assert report["score"] < report["best_single"]["score"]  # RMSE
    else:
        assert report["score"] > report["best_single"]["score"]  # accuracy
    # Recorded where a user reads it: the selection, the leaderboard's last row.
    described = selection.describe()
    assert described["kind"] == "stack" and described["stack"]["members"] == report["members"]
    assert "stacker" in described["stack"] and "±" in report["summary"]
    row = search.leaderboard()[-1]
    assert row["family"] == "stack" and row["params"]["chosen"] and row["std_error"] > 0
    json.dumps(described)
    # The served stack: members refitted, the stacker fitted on the out-of-fold rows; ONNX = Python.
    for rows in (train, np.asarray(data.labelled_rows())):
        ensemble = fit_selection(search, selection, rows, budget)
        assert ensemble.stacker is selection.stacker
        check = np.asarray(data.eval_rows + data.train_rows[:100], dtype=np.int64)
        csv_path = str(tmp_path / f"{kind}.csv")
        assert _onnx_vs_python(data, csv_path, ensemble, check, regression=kind == "regression") <= 1e-5
    # Through the bundle a service loads (TabularPredictor): the evaluation and the parity
    # check the trainer runs, and what bundle.json records.
    from training.engine.trainers import tabular_output as output

    ensemble = fit_selection(search, selection, train, budget)
    meta = output.bundle_meta(search.spec, data, 1, search, selection, "the evaluated model")
    bundle = output.TabularBundle(data, 1, meta, selection.weights)
    folder = tmp_path / "bundle"
    folder.mkdir()
    bundle.write(ensemble, folder)
    # (output.evaluate: the members here read one column each, which the trainer's feature
    # importance, over every column, does not expect.)
    metrics, evaluation, _ = output.evaluate(data, ensemble, folder, 1)
    assert evaluation["onnx_check"]["relative_diff" if kind == "regression" else "max_abs_diff"] <= 1e-5
    assert output.parity(data, ensemble, folder, 1, data.eval_rows)["within_tolerance"]
    written = json.loads((folder / "bundle.json").read_text())["train_params"]["selection"]
    assert written["kind"] == "stack" and written["stack"]["chosen"]
    # And the stack predicts the EVAL rows better than either member alone.
    ev = np.asarray(data.eval_rows, dtype=np.int64)
    y = data.y[ev]

    def loss(pred):
        pred = np.asarray(pred)
        return float(np.mean((pred - y) ** 2)) if kind == "regression" else float(np.mean(pred.argmax(axis=1) != y))

    assert loss(ensemble.predict(ev)) < min(loss(m.predict(ev)) for m in ensemble.models.values())


def test_a_stack_that_does_not_win_leaves_the_selection_unchanged(tmp_path):
    # attr_1 carries the whole target; LightGBM on attr_2 reads noise: nothing to add.
    (tmp_path / "off").mkdir()
    (tmp_path / "on").mkdir()
    off, *_ = _views_search(tmp_path / "off", kind="binary", additive=False, stacking_on=False)
    on, *_ = _views_search(tmp_path / "on", kind="binary", additive=False)
    plain, tried = off.select(ensemble=True), on.select(ensemble=True)
    assert off.stack_report is None  # switched off: not even tried
    assert on.stack_report is not None and not on.stack_report["chosen"]
    assert tried.kind != "stack" and tried.weights == plain.weights and tried.score == plain.score
    assert tried.calibration.temperature == pytest.approx(plain.calibration.temperature)
    assert "stack" not in tried.describe()
    assert on.leaderboard()[-1]["family"] == "stack" and not on.leaderboard()[-1]["params"]["chosen"]


def test_the_switch_turns_stacking_off(tmp_path, monkeypatch):
    monkeypatch.setenv("EXEML_STACKING", "0")
    search, *_ = _views_search(tmp_path, kind="regression")
    assert search.select(ensemble=True).kind != "stack" and search.stack_report is None


class _Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_member_whose_refits_no_longer_fit_the_time_left_is_not_stacked(tmp_path):
    clock = _Clock()
    search, *_ = _views_search(tmp_path, kind="regression", clock=clock, seconds=600.0, reserve=0.0)
    # The search took no time on this clock: the fold fits' seconds are the real ones. Move to
    # where the time left covers the selection's refits and the stacker's cross-validation
    # but not a second member's refits.
    chosen = search.select(ensemble=False, calibrate=False)
    keep = search.refit_seconds(search.trial(chosen.members[0]))
    others = [search.refit_seconds(t) for t in search.done() if t.name not in chosen.members]
    clock.t = search.budget.work_deadline - (keep + search.stack_seconds() + 0.5 * min(others))
    assert len(search._stack_pool(keep=chosen.members)) == 1
    assert search.select(ensemble=True).kind != "stack"
    assert search.stack_report is None and "time left" in search.stack_note
    # What the search keeps out of its time for the end includes the stacker's cross-validation.
    assert search._finish_seconds() >= search.stack_seconds() > 0


@pytest.mark.parametrize("kind", ["binary", "multi", "regression"])
def test_a_stack_of_every_family_exports_exactly(tmp_path, kind):
    """Whatever wins: a stacker over LightGBM, linear, extra trees and CatBoost on the table
    with missing values, unseen categories and decimals between training values
    (tests/trainers/test_tabular.py) answers through ONNX what it answers in Python."""
    from tests.trainers.test_tabular import PARITY_COLUMNS, _parity_table
    from training.engine.ensemble import Ensemble
    from training.engine.models import tabular as tm
    from training.engine.preprocessing.tabular import columns_to_inputs
    from training.engine.trainers.tabular_data import TabularData

    spec = TrainSpec(task_type="predictive_analytics", labels=(), tabular=_parity_table(tmp_path / "t.csv", kind=kind))
    data = TabularData(spec)
    families = tm.Families(features=data.features, frame_of=data.frame, y_of=lambda rows: data.y[rows],
                           n_classes=len(data.classes), threads=1, seed=0, beat=lambda: None)
    train = np.asarray(data.train_rows)
    budget = Budget(time.monotonic() + 600)
    fits = {
        "lgbm_default": families.lightgbm("lgbm_default", {}, tuned=False),
        "linear": families.linear(1.0),
        "extra_trees": families.extra_trees("extra_trees", {"n_estimators": 30, "min_samples_leaf": 1}),
        "catboost": families.catboost("catboost", {"depth": 4, "learning_rate": 0.1}),
    }
    half = len(train) // 2
    level1 = {n: f(train[:half], budget) for n, f in fits.items()}
    regression = kind == "regression"
    skind = "regression" if regression else "classification"
    names = list(fits)
    x = stacking.features(skind, [level1[n].predict(train[half:]) for n in names])
    stacker = stacking.fit(skind, names, x, data.y[train[half:]], n_classes=len(data.classes))
    ensemble = Ensemble({n: f(train, budget) for n, f in fits.items()}, stacker.member_weights(), None, stacker)
    rows = np.asarray(data.eval_rows + data.train_rows)
    cells = [line.split(",") for line in Path(spec.tabular.csv_path).read_text().splitlines()]
    position = {c: k for k, c in enumerate(PARITY_COLUMNS)}
    inputs = columns_to_inputs({f["name"]: [cells[i][position[f["name"]]] for i in rows] for f in data.features},
                               {"features": data.features}, strict=True)
    import onnxruntime as ort

    onx = tm.export_ensemble(ensemble.models, ensemble.weights, data.features, stacker=stacker)
    out = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, inputs)[0]
    got = np.asarray(out, dtype=np.float64).reshape(len(rows), -1)
    python = np.asarray(ensemble.predict(rows)).reshape(len(rows), -1)
    tolerance = 1e-5 * (max(1.0, float(np.max(np.abs(python)))) if regression else 1.0)
    assert float(np.max(np.abs(got - python))) <= tolerance
    if not regression:
        assert np.allclose(python.sum(axis=1), 1.0) and python.shape[1] == len(data.classes)
    assert sum(stacker.member_weights().values()) == pytest.approx(1.0, abs=1e-5)
    # The members' weights in a stack are their shares of its coefficients: what the feature
    # importance weighs each member's own measure by.
    importance = tm.feature_importance(ensemble.models, ensemble.weights, data.features)
    assert sum(r["importance"] for r in importance) == pytest.approx(1.0, abs=1e-4)


def test_the_tabular_trainer_reports_the_stack_it_tried(tmp_path):
    """Through the trainer: the stack is evaluated after the search, the leaderboard and the
    log say so, and whatever is served answers through its graph what Python answers."""
    from training.engine.trainers import get_trainer

    spec = TrainSpec(task_type="predictive_analytics", labels=(), threads=1, params={"max_trials": 4},
                     tabular=_views_table(tmp_path / "t.csv", kind="binary"))
    result = get_trainer("predictive_analytics").fit(spec, tmp_path / "work", time.monotonic() + 600,
                                                     lambda *a, **k: None)
    search = result.evaluation["search"]
    stack_rows = [r for r in search["leaderboard"] if r["family"] == "stack"]
    assert len(stack_rows) == 1
    assert any(line.startswith("level-2 stack of ") for line in result.log)
    assert result.evaluation["onnx_check"]["max_abs_diff"] <= 1e-5
    assert result.evaluation["served_check"]["within_tolerance"]
    bundle = json.loads((result.bundle_dir / "bundle.json").read_text())
    assert bundle["train_params"]["selection"]["kind"] == search["selection"]["kind"]
    if search["selection"]["kind"] == "stack":
        assert stack_rows[0]["params"]["chosen"] and "stack" in bundle["train_params"]["selection"]


def test_a_stack_of_text_models_exports_exactly():
    """The shared ending (automl.export_ensemble) exports a stack too: char, word and
    char+word TF-IDF models under a stacker answer through ONNX what they answer in Python
    (the text trainer does not turn stacking on yet; docs/ml-notes.md)."""
    import onnxruntime as ort

    from tests.trainers.test_text import _members
    from training.engine.ensemble import Ensemble
    from training.engine.models import text as tm

    tt, data, samples, members = _members("zh")
    train = np.asarray([i for i, s in enumerate(samples) if s.usage == "train"])
    eval_rows = np.asarray([i for i, s in enumerate(samples) if s.usage == "eval"])
    names = list(members)
    x = stacking.features("classification", [members[n].predict(train) for n in names])
    stacker = stacking.fit("classification", names, x, data.y[train], n_classes=3)
    ensemble = Ensemble(members, stacker.member_weights(), None, stacker)
    model = tt.automl.export_ensemble(ensemble, tm.input_info, tm.INPUT_ORDER)
    texts = [samples[i].text for i in eval_rows]
    feeds = {**tm.textprep.block_inputs(texts, "char_counts"), **tm.textprep.block_inputs(texts, "word_counts")}
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    onnx_proba = session.run(["probabilities"], {i.name: feeds[i.name] for i in session.get_inputs()})[0]
    assert np.max(np.abs(onnx_proba - ensemble.predict(eval_rows))) <= 1e-5
