"""The engine's shared AutoML core: budget, folds, search, greedy ensemble, ONNX blend."""

from __future__ import annotations

import numpy as np
import pytest

from training.engine import scoring
from training.engine.budget import Budget
from training.engine.ensemble import greedy_ensemble
from training.engine.live_report import LiveReport
from training.engine.search import Candidate, Search
from training.engine.validation import make_folds


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_budget_reserves_export_time_and_judges_affordability():
    clock = FakeClock()
    budget = Budget(deadline=clock.t + 100, preference="accuracy_first", export_reserve=10, clock=clock)
    assert budget.left() == pytest.approx(90)
    assert budget.can_afford(60) and not budget.can_afford(80)
    clock.t += 89
    assert not budget.exhausted()
    clock.t += 2
    assert budget.exhausted() and budget.hard_left() == pytest.approx(9)


def test_budget_patience_follows_the_preference():
    clock = FakeClock()
    start = clock.t
    budgets = {p: Budget(deadline=start + 400, preference=p, export_reserve=0, clock=clock) for p in
               ("performance_first", "balance", "accuracy_first")}
    clock.t = start + 60  # 60 s without improvement
    assert not budgets["performance_first"].keep_searching(start)  # patience 40 s
    assert budgets["balance"].keep_searching(start)  # patience 100 s
    clock.t = start + 150
    assert not budgets["balance"].keep_searching(start)
    assert budgets["accuracy_first"].keep_searching(start)  # until the deadline
    clock.t = start + 401
    assert not budgets["accuracy_first"].keep_searching(start)


def test_tiny_budget_still_leaves_half_for_training():
    clock = FakeClock()
    budget = Budget(deadline=clock.t + 4, clock=clock)
    assert budget.left() >= 2.0


def test_folds_by_size_are_stratified_and_cover_every_row_once():
    y = np.array([0] * 30 + [1] * 10 + [2] * 5)
    folds = make_folds(y, classification=True, seed=1)
    assert folds.kind == "kfold" and len(folds.splits) == 5
    seen = np.concatenate([val for _, val in folds.splits])
    assert sorted(seen.tolist()) == list(range(len(y)))
    for fit, val in folds.splits:
        assert set(np.unique(y[fit])) == {0, 1, 2}
        assert not set(fit) & set(val)
    big = make_folds(np.arange(20000) % 3, classification=True)
    assert big.kind == "holdout" and abs(len(big.splits[0][1]) - 4000) <= 3
    assert make_folds(np.arange(500) % 2, classification=True, expensive=True).kind == "holdout"


def test_folds_shrink_when_a_class_is_tiny():
    y = np.array([0] * 20 + [1] * 3)
    folds = make_folds(y, classification=True)
    assert len(folds.splits) == 3


class _Linear:
    """Least-squares one-vs-rest scores squashed to probabilities: a real, simple model."""

    def __init__(self, x, y, rows, k):
        a = np.c_[x[rows], np.ones(len(rows))]
        target = np.eye(k)[y[rows]]
        self.w = np.linalg.lstsq(a, target, rcond=None)[0]
        self.x = x

    def predict(self, rows):
        z = np.c_[self.x[rows], np.ones(len(rows))] @ self.w * 5
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


class _Prior:
    def __init__(self, y, rows, k, x):
        self.p = np.bincount(y[rows], minlength=k) / len(rows)
        self.n = len(x)

    def predict(self, rows):
        return np.tile(self.p, (len(rows), 1))


def _data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    return x, y


def _search(y, budget, progress=lambda phase, fraction, live=None: None, **kwargs):
    folds = make_folds(y, classification=True, seed=0)
    report = LiveReport(progress, budget, metric="accuracy")
    return Search(y=y, rows=np.arange(len(y)), folds=folds, kind="classification", budget=budget, report=report,
                  **kwargs)


def test_search_picks_the_better_candidate_and_reports_live():
    x, y = _data()
    snapshots = []
    budget = Budget(deadline=__import__("time").monotonic() + 60, preference="balance", export_reserve=1)
    search = _search(y, budget, progress=lambda phase, fraction, live=None: snapshots.append(live))
    candidates = [
        Candidate("prior", "prior", lambda rows, b: _Prior(y, rows, 2, x), baseline=True),
        Candidate("linear", "linear", lambda rows, b: _Linear(x, y, rows, 2), baseline=True),
    ]
    search.run(candidates)
    selection = search.select(ensemble=True)
    assert "linear" in selection.members and selection.weights["linear"] >= 0.5
    board = {row["name"]: row for row in search.leaderboard()}
    assert board["linear"]["score"] > 0.9 > board["prior"]["score"]
    last = [s for s in snapshots if s][-1]
    assert {c["name"] for c in last["candidates"]} == {"prior", "linear"}
    assert last["curve"] and last["eta_seconds"] >= 0
    assert last["higher_is_better"] is True


def test_the_live_report_says_an_error_metric_is_lower_is_better():
    budget = Budget(deadline=__import__("time").monotonic() + 60, export_reserve=1)
    report = LiveReport(lambda phase, fraction, live=None: None, budget, metric="rmse")
    assert report.snapshot()["higher_is_better"] is False


def test_a_cap_in_candidates_ends_an_endless_portfolio():
    x, y = _data()
    budget = Budget(deadline=__import__("time").monotonic() + 3600, preference="accuracy_first", export_reserve=1)
    search = _search(y, budget, max_trials=3)

    def endless():
        n = 0
        while True:
            n += 1
            yield Candidate(f"linear {n}", "linear", lambda rows, b: _Linear(x, y, rows, 2), baseline=n == 1)

    search.run(endless())  # accuracy_first: no patience, only the hour's deadline or the cap
    assert [t.name for t in search.trials] == ["linear 1", "linear 2", "linear 3"]
    assert not search.stopped_by_deadline


def test_a_failing_candidate_does_not_end_the_search():
    x, y = _data()
    budget = Budget(deadline=__import__("time").monotonic() + 60, export_reserve=1)
    search = _search(y, budget)

    def broken(rows, b):
        raise RuntimeError("boom")

    search.run([Candidate("broken", "x", broken, baseline=True), Candidate("linear", "linear", lambda r, b: _Linear(x, y, r, 2))])
    assert search.select().members == ["linear"]
    assert search.trial("broken").status == "failed" and "boom" in search.trial("broken").error


def test_patience_stops_non_baselines_but_not_baselines():
    x, y = _data()
    clock = FakeClock()
    budget = Budget(deadline=clock.t + 1000, preference="performance_first", export_reserve=0, clock=clock)
    search = _search(y, budget)

    def slow_linear(rows, b):
        clock.t += 30  # each fit "takes" 30 s of the fake clock
        return _Linear(x, y, rows, 2)

    tried = []

    def gen():
        yield Candidate("linear", "linear", lambda r, b: _Linear(x, y, r, 2), baseline=True)
        for i in range(20):
            tried.append(i)
            yield Candidate(f"slow{i}", "slow", slow_linear)
        yield Candidate("late-baseline", "prior", lambda r, b: _Prior(y, r, 2, x), baseline=True)

    search.run(gen())
    # performance_first patience = max(20, 0.1*1000) = 100 s: 5 folds x 30 s = 150 s per slow
    # candidate, so the first slow one runs out the patience and the search stops there.
    assert len(tried) <= 2
    assert "late-baseline" not in {t.name for t in search.trials}


def test_greedy_ensemble_beats_members_when_they_err_differently():
    y = np.array([0, 1] * 50)
    a = np.where(np.arange(100)[:, None] % 4 == 0, [[0.4, 0.6]], np.eye(2)[y] * 0.8 + 0.1)  # wrong on some
    b = np.where(np.arange(100)[:, None] % 4 == 1, [[0.6, 0.4]], np.eye(2)[y] * 0.8 + 0.1)
    weights, value = greedy_ensemble({"a": a, "b": b}, y, "classification")
    assert set(weights) == {"a", "b"}
    assert value > max(scoring.score("classification", y, a), scoring.score("classification", y, b))


def test_an_ensemble_that_wants_more_members_is_capped_not_dropped():
    """Eight regressors with independent errors: the uncapped blend takes most of them; with a
    cap of three, the blend keeps three and still beats every single one (before the cap, such a
    blend was discarded and the best single model served)."""
    rng = np.random.default_rng(0)
    y = rng.normal(size=400)
    preds = {f"m{i}": y + rng.normal(scale=1.0, size=400) for i in range(8)}
    best_single = max(scoring.score("regression", y, p) for p in preds.values())
    uncapped, _ = greedy_ensemble(preds, y, "regression", rounds=25)
    assert len(uncapped) > 3
    capped, value = greedy_ensemble(preds, y, "regression", rounds=25, max_members=3)
    assert len(capped) == 3 and abs(sum(capped.values()) - 1) < 1e-9
    assert value > best_single

    budget = Budget(deadline=__import__("time").monotonic() + 60, export_reserve=1)
    folds = make_folds(y, classification=False, seed=0)
    search = Search(y=y, rows=np.arange(len(y)), folds=folds, kind="regression", budget=budget,
                    report=LiveReport(lambda phase, fraction, live=None: None, budget, metric="rmse"))

    class _Fixed:
        def __init__(self, p):
            self.p = p

        def predict(self, rows):
            return self.p[rows]

    search.run([Candidate(n, "fixed", lambda rows, b, p=p: _Fixed(p), baseline=True) for n, p in preds.items()])
    selection = search.select(max_members=3)
    assert selection.kind == "ensemble" and len(selection.members) == 3
    # What the final refits are reserved for: the default selection, capped at 5.
    likely = {t.name for t in search.likely_members()}
    assert len(likely) == 5 and likely == set(search.select().members)


def test_onnx_blend_answers_what_the_python_ensemble_answers(tmp_path):
    pytest.importorskip("skl2onnx")
    import onnxruntime as ort
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    from training.engine.onnx_blend import blend_models

    x, y = _data(300)
    x = x.astype(np.float32)
    m1 = LogisticRegression().fit(x, y)
    m2 = DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, y)
    options = {"zipmap": False}
    o1 = to_onnx(m1, x[:1], options={id(m1): options}, target_opset={"": 17, "ai.onnx.ml": 3})
    o2 = to_onnx(m2, x[:1], options={id(m2): options}, target_opset={"": 17, "ai.onnx.ml": 3})
    blended = blend_models([(o1, "probabilities"), (o2, "probabilities")], [0.7, 0.3])
    session = ort.InferenceSession(blended.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(["probabilities"], {session.get_inputs()[0].name: x})[0]
    expected = 0.7 * m1.predict_proba(x) + 0.3 * m2.predict_proba(x)
    assert np.max(np.abs(got - expected)) < 1e-5


def test_a_per_family_pool_blends_the_best_of_each_family_not_copies_of_one():
    """A tuned family leaves many near-copies at the top of the leaderboard (one shared error,
    tiny own noise); a different family ranks below all of them but errs independently. The
    top-ten pool holds only copies; the per-family pool holds the best copies (two) and the
    other family, and their blend beats anything the copies make together."""
    import time

    rng = np.random.default_rng(1)
    y = rng.normal(size=400)
    shared = rng.normal(scale=1.0, size=400)
    preds = {f"tuned_{i}": y + shared + rng.normal(scale=0.05, size=400) for i in range(12)}
    preds["linear"] = y + rng.normal(scale=1.3, size=400)
    families = {n: ("linear" if n == "linear" else "tuned") for n in preds}

    class _Fixed:
        def __init__(self, p):
            self.p = p

        def predict(self, rows):
            return self.p[rows]

    def searched(pool: str) -> Search:
        budget = Budget(deadline=time.monotonic() + 60, export_reserve=1)
        search = Search(y=y, rows=np.arange(len(y)), folds=make_folds(y, classification=False, seed=0),
                        kind="regression", budget=budget, ensemble_pool=pool,
                        report=LiveReport(lambda phase, fraction, live=None: None, budget, metric="rmse"))
        search.run([Candidate(n, families[n], lambda rows, b, p=p: _Fixed(p), baseline=True) for n, p in preds.items()])
        return search

    top, per_family = searched("top"), searched("per_family")
    ranked = sorted(top.done(), key=lambda t: -(t.score or -np.inf))
    assert "linear" not in [t.name for t in ranked[:10]]  # the other family is outside the top ten

    from_copies = top.select()
    assert "linear" not in from_copies.members
    chosen = per_family.select()
    assert chosen.kind == "ensemble" and "linear" in chosen.members
    assert sum(families[n] == "tuned" for n in chosen.members) <= 2  # at most two of a family
    assert chosen.score > from_copies.score


def test_one_time_work_of_a_family_is_counted_once_not_per_fold():
    """Image embeddings: the family's first fit computes them for every image (cached), each
    fold then fits a logistic regression. A budget that affords the embeddings once plus five
    small fits must not skip the candidate as if each fold embedded again, and the next
    candidate of the family is judged by a typical fold, not by the first."""
    x, y = _data()
    clock = FakeClock()
    budget = Budget(deadline=clock.t + 40, preference="accuracy_first", export_reserve=0, clock=clock)
    search = _search(y, budget)
    cache = {}

    def embed(rows, b):
        if "done" not in cache:
            clock.t += 20.0  # the embeddings, once
            cache["done"] = True
        clock.t += 0.5
        return _Linear(x, y, rows, 2)

    first = Candidate("embed", "embed", embed, est_seconds=0.5, setup_seconds=20.0)
    assert search.expected_seconds(first) == pytest.approx(22.5)  # not (20 + 0.5) x 5 = 102.5
    search.run([Candidate("prior", "prior", lambda r, b: _Prior(y, r, 2, x), baseline=True), first])
    assert search.trial("embed").status == "done"
    assert search.expected_seconds(Candidate("embed-C10", "embed", embed)) == pytest.approx(2.5)
