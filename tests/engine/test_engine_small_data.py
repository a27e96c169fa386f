"""Small data (issue 30): repeated folds, standard errors, stopping rules that know the noise,
and the choice among candidates the validation cannot tell apart."""

from __future__ import annotations

import numpy as np

from training.engine import scoring
from training.engine.budget import Budget
from training.engine.live_report import LiveReport
from training.engine.search import Candidate, Search
from training.engine.validation import MAX_REPEATS, make_folds, standard_error


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class _Fixed:
    """Predictions that depend on the row only: the same on every fold and every repeat."""

    def __init__(self, proba: np.ndarray) -> None:
        self.proba = proba

    def predict(self, rows: np.ndarray) -> np.ndarray:
        return self.proba[rows]


def _confident(y: np.ndarray, unsure: list[int], p_unsure: float = 0.6, p: float = 0.99) -> np.ndarray:
    """Right on every row: ``p`` on the true class, ``p_unsure`` on the rows in ``unsure``."""
    proba = np.full((len(y), 2), 1 - p)
    proba[np.arange(len(y)), y] = p
    for i in unsure:
        proba[i, y[i]], proba[i, 1 - y[i]] = p_unsure, 1 - p_unsure
    return proba


def _search(y, budget, **kwargs) -> Search:
    folds = make_folds(y, classification=True, seed=0)
    report = LiveReport(lambda phase, fraction, live=None: None, budget, metric="accuracy")
    return Search(y=y, rows=np.arange(len(y)), folds=folds, kind="classification", budget=budget, report=report, **kwargs)


def test_small_data_gets_repeated_folds_and_large_data_does_not():
    small = make_folds(np.arange(60) % 3, classification=True, seed=0)
    assert small.kind == "kfold" and small.repeats == MAX_REPEATS
    first = [val.tolist() for _, val in small.splits]
    again = [val.tolist() for _, val in small.repeat(1)]
    assert first != again  # a new shuffle
    for r in range(small.repeats):
        seen = np.concatenate([val for _, val in small.repeat(r)])
        assert sorted(seen.tolist()) == list(range(60))  # every row validated once per repeat
    assert make_folds(np.arange(5000) % 3, classification=True).repeats == 1
    assert make_folds(np.arange(60) % 3, classification=True, repeat=False).repeats == 1


def test_the_standard_error_is_corrected_for_shared_training_rows():
    scores = [0.9, 0.8, 1.0, 0.85, 0.95]
    naive = float(np.std(scores, ddof=1) / np.sqrt(5))
    corrected = standard_error(scores, k=5)
    assert corrected > naive
    # Repeats shrink it, but never below what the k-fold overlap leaves.
    many = standard_error(scores * 10, k=5)
    assert np.std(scores * 10, ddof=1) * np.sqrt(1 / 4) <= many < corrected
    # A perfect score on 40 rows still has an error from the rows alone.
    y = np.arange(40) % 2
    assert scoring.row_standard_error("classification", y, np.eye(2)[y]) > 0.02


def test_tied_perfect_candidates_do_not_end_the_search_on_few_rows():
    """The issue's case: a candidate is perfect and confident on a validation of 40 rows.
    Before, the search stopped there and served it; now every candidate runs, the leaders are
    repeated and tie within one standard error (a perfect score on 40 rows is not certain).
    No plain baseline is perfect here: that would settle the choice (the test below)."""
    y = np.array([0, 1] * 20)
    clock = FakeClock()
    budget = Budget(deadline=clock.t + 600, preference="balance", export_reserve=10, clock=clock)
    search = _search(y, budget)
    preds = {
        "a": _confident(y, unsure=[3]),
        "b": _confident(y, unsure=[10]),
        "c": _confident(y, unsure=[20]),
    }
    weak = np.full((len(y), 2), 0.5)
    weak[np.arange(len(y)), y] = np.where(np.arange(len(y)) % 4 == 0, 0.3, 0.8)  # a quarter wrong
    def fixed(p):
        def fit(rows, b):
            clock.t += 0.1  # every fit takes 0.1 s of the fake clock
            return _Fixed(p)
        return fit

    cands = [Candidate("weak", "weak", fixed(weak), baseline=True)]
    cands += [Candidate(n, "fixed", fixed(preds[n])) for n in ("a", "b", "c")]
    assert scoring.log_loss(y, preds["a"]) < 0.05  # what stopped the old search after "a"

    search.run(cands)

    assert [t.name for t in search.trials] == ["weak", "a", "b", "c"]
    board = {row["name"]: row for row in search.leaderboard()}
    assert all(board[n]["score"] == 1.0 for n in ("a", "b", "c"))
    assert all(board[n]["std_error"] > 0 for n in board)  # "1.00 ± 0.02", not a certain 1.0
    # Spare time went to repeats of the tied leaders, as long as the search itself took (balance).
    assert all(board[n]["repeats"] >= 2 for n in ("a", "b", "c"))
    assert board["weak"]["repeats"] == 1
    assert clock.t - 1000.0 <= 2 * 2.0 + 2.0  # 20 fits of the search, about as long again in repeats
    assert len(search._tied(sorted(search.done(), key=lambda t: -t.score))) == 3
    assert list(search.select().weights) in (["a"], ["b"], ["c"])  # all right everywhere: no blend


def test_tied_baselines_are_blended_when_the_blend_gets_rows_right():
    y = np.array([0, 1] * 20)
    budget = Budget(deadline=FakeClock().t + 600, preference="balance", export_reserve=10, clock=FakeClock())
    search = _search(y, budget)
    p = _confident(y, unsure=[3], p_unsure=0.45)  # wrong, narrowly, on row 3
    q = _confident(y, unsure=[10], p_unsure=0.45)  # and on row 10: the blend is right on both
    search.run([Candidate("p", "char", lambda rows, b: _Fixed(p), baseline=True),
                Candidate("q", "word", lambda rows, b: _Fixed(q), baseline=True)])
    selection = search.select()
    assert selection.kind == "ensemble" and selection.weights == {"p": 0.5, "q": 0.5}


def test_among_tied_baselines_without_a_better_blend_the_best_scored_is_served():
    """Tied on accuracy, both right everywhere: a blend gets no row more right, so the
    better-scored one (the log-loss tie-break of the score) is served, whatever order they ran in;
    and a constant model tied on few rows does not win over a better one."""
    y = np.array([0, 1] * 20)
    budget = Budget(deadline=FakeClock().t + 600, preference="balance", export_reserve=10, clock=FakeClock())
    search = _search(y, budget)
    unsure = _confident(y, unsure=list(range(0, 40, 2)), p_unsure=0.55)
    sure = _confident(y, unsure=[])
    search.run([Candidate("unsure", "fixed", lambda rows, b: _Fixed(unsure), baseline=True),
                Candidate("sure", "fixed", lambda rows, b: _Fixed(sure), baseline=True)])
    assert search.select().weights == {"sure": 1.0}

    y = np.array([0, 1] * 5)  # ten rows: a prior and a 60 % model tie within one standard error
    search = _search(y, Budget(deadline=FakeClock().t + 600, export_reserve=10, clock=FakeClock()))
    prior = np.full((10, 2), 0.5)
    better = _confident(y, unsure=[])
    better[[0, 3, 5, 8]] = better[[0, 3, 5, 8]][:, ::-1]  # four rows wrong, confidently
    search.run([Candidate("prior", "prior", lambda rows, b: _Fixed(prior), baseline=True),
                Candidate("linear", "linear", lambda rows, b: _Fixed(better), baseline=True)])
    assert len(search._tied(sorted(search.done(), key=lambda t: -t.score))) == 2
    assert search.select().weights == {"linear": 1.0}


def test_a_clear_winner_is_not_blended_with_what_it_beats():
    rng = np.random.default_rng(0)
    y = np.array([0, 1] * 100)
    good = _confident(y, unsure=[])
    bad = np.full((len(y), 2), 0.5)
    wrong = rng.random(len(y)) < 0.4
    bad[np.arange(len(y)), np.where(wrong, 1 - y, y)] = 0.7
    bad[np.arange(len(y)), np.where(wrong, y, 1 - y)] = 0.3
    budget = Budget(deadline=FakeClock().t + 600, export_reserve=10, clock=FakeClock())
    search = _search(y, budget)
    search.run([Candidate("bad", "x", lambda rows, b: _Fixed(bad), baseline=True),
                Candidate("good", "y", lambda rows, b: _Fixed(good), baseline=True)])
    assert search.select().weights == {"good": 1.0}
    assert search.trial("good").repeats == 1  # no choice left to refine: no repeats


def test_a_perfect_score_on_enough_rows_still_ends_the_search():
    y = np.array([0, 1] * 400)  # 800 validation rows: the rule of three bounds the error below 0.4 %
    budget = Budget(deadline=FakeClock().t + 600, preference="balance", export_reserve=10, clock=FakeClock())
    search = _search(y, budget)
    perfect = _confident(y, unsure=[])
    search.run([Candidate("perfect", "fixed", lambda rows, b: _Fixed(perfect), baseline=True),
                Candidate("later", "fixed", lambda rows, b: _Fixed(perfect))])
    assert [t.name for t in search.trials] == ["perfect"]


def test_on_few_rows_a_perfect_plain_baseline_ends_the_portfolio_and_the_time_goes_to_repeats():
    """Everything ties at 1.0 on 40 rows, the plain baselines too. A perfect plain baseline is
    what the one-standard-error rule serves whatever else ties with it (even unsure), so the
    rest of the portfolio cannot change the choice and is not run; the search does not stop
    there, though: the time goes to repeats of the tied leaders, all of them, beyond the
    preference's bound, and the served model is the tie-broken choice among them."""
    y = np.array([0, 1] * 20)
    clock = FakeClock()
    budget = Budget(deadline=clock.t + 600, preference="performance_first", export_reserve=10, clock=clock)
    search = _search(y, budget)
    sure = _confident(y, unsure=[])
    unsure = _confident(y, unsure=list(range(40)), p_unsure=0.7)  # right everywhere, never sure

    def fixed(p):
        def fit(rows, b):
            clock.t += 0.1
            return _Fixed(p)
        return fit

    search.run([Candidate("prior", "prior", fixed(np.full((40, 2), 0.5)), baseline=True),
                Candidate("unsure", "linear", fixed(unsure), baseline=True),
                Candidate("sure", "lgbm", fixed(sure), baseline=True),
                Candidate("later", "fixed", fixed(sure))])
    assert [t.name for t in search.trials] == ["prior", "unsure", "sure"]
    board = {row["name"]: row for row in search.leaderboard()}
    # performance_first alone would have allowed repeats for half the search's 1.5 s: one round.
    assert board["unsure"]["repeats"] == board["sure"]["repeats"] == MAX_REPEATS
    assert board["prior"]["repeats"] == 1
    assert search.select().weights == {"sure": 1.0}  # the better-scored of the tied baselines


def test_patience_on_small_data_hands_the_time_to_repeats_not_to_idleness():
    y = np.array([0, 1] * 30)
    clock = FakeClock()
    budget = Budget(deadline=clock.t + 1000, preference="performance_first", export_reserve=0, clock=clock)
    search = _search(y, budget)
    def noisy(seed):
        def fit(rows, b):
            clock.t += 8  # each fit "takes" 8 s: five folds take 40 s, past the 100 s patience in three
            r = np.random.default_rng(seed + len(rows))
            proba = np.clip(np.eye(2)[y] * 0.6 + 0.2 + r.normal(scale=0.25, size=(len(y), 2)), 0.01, 0.99)
            return _Fixed(proba / proba.sum(axis=1, keepdims=True))
        return fit

    # Equally good candidates (the same noise): all tied, so repeats have a choice to refine.
    search.run([Candidate("base", "n", noisy(0), baseline=True)]
               + [Candidate(f"c{i}", "n", noisy(0)) for i in range(30)])
    tried = [t.name for t in search.trials]
    assert len(tried) < 31  # patience stopped the portfolio
    assert max(t.repeats for t in search.trials) > 1  # and the time left went to repeats
    assert search.repeats_used > 1
    assert not budget.exhausted() or max(t.repeats for t in search.trials) < MAX_REPEATS


def test_a_capped_run_is_not_repeated():
    y = np.array([0, 1] * 20)
    budget = Budget(deadline=FakeClock().t + 600, export_reserve=10, clock=FakeClock())
    search = _search(y, budget, max_trials=1)
    search.run([Candidate("a", "fixed", lambda rows, b: _Fixed(_confident(y, [])), baseline=True)])
    assert search.trials[0].repeats == 1


def test_a_candidate_whose_fit_follows_the_time_left_is_not_repeated():
    y = np.array([0, 1] * 20)
    budget = Budget(deadline=FakeClock().t + 600, preference="accuracy_first", export_reserve=10, clock=FakeClock())
    search = _search(y, budget)
    search.run([Candidate("tune", "finetune", lambda rows, b: _Fixed(_confident(y, [])), baseline=True,
                          repeatable=False),
                Candidate("plain", "fixed", lambda rows, b: _Fixed(_confident(y, [1])), baseline=True)])
    assert search.trial("tune").repeats == 1 and search.trial("plain").repeats == MAX_REPEATS


def test_a_constant_model_tied_with_one_that_reads_the_input_is_not_served():
    """Ten rows: a model that predicts the prior for every row ties with a logistic regression
    (and scores higher by chance); the simplest-first rule must not serve a model that says
    nothing about its input."""
    y = np.array([0, 1] * 5)
    search = _search(y, Budget(deadline=FakeClock().t + 600, export_reserve=10, clock=FakeClock()))
    prior = np.tile([0.55, 0.45], (10, 1))
    reads = _confident(y, unsure=[])
    reads[[0, 3, 5, 8]] = reads[[0, 3, 5, 8]][:, ::-1]  # 60 % right
    search.run([Candidate("prior", "lgbm_default", lambda rows, b: _Fixed(prior), baseline=True),
                Candidate("linear", "linear", lambda rows, b: _Fixed(reads), baseline=True)])
    assert search.trial("prior").constant and not search.trial("linear").constant
    assert len(search._tied(sorted(search.done(), key=lambda t: -t.score))) == 2
    assert search.select().weights == {"linear": 1.0}


def test_on_small_data_a_greedy_blend_must_beat_the_best_by_a_standard_error():
    y = np.array([0, 1] * 20)
    budget = Budget(deadline=FakeClock().t + 600, export_reserve=10, clock=FakeClock())
    search = _search(y, budget)
    best = _confident(y, unsure=[1, 2], p_unsure=0.45)  # 38 of 40
    other = _confident(y, unsure=[1, 7, 9, 11, 13, 15], p_unsure=0.45)  # wrong on 6; right where best is unsure at 2
    other[2] = np.eye(2)[y[2]] * 0.98 + 0.01
    search.run([Candidate("best", "a", lambda rows, b: _Fixed(best), baseline=True),
                Candidate("other", "b", lambda rows, b: _Fixed(other), baseline=True)])
    greedy = search._greedy(search.done(), search.trial("best"), search.select(ensemble=False), ensemble=True,
                            max_members=5, compatible=None)
    chosen = search.select()
    # The rule for larger data would take the blend (a row more right, 39 of 40) ...
    assert greedy is not None and greedy.kind == "ensemble"
    # ... but on 40 rows that is within one standard error of the best: the best is served.
    assert greedy.score <= search.trial("best").score + search.trial("best").std_error
    assert chosen.weights == {"best": 1.0}
