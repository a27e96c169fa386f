"""The small-data bench's subsampler (bench/small_data.py): N training rows per class, seeded
and deterministic, the test split untouched, and the per-(data set, N) verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench import small_data
from bench.datasets_real import SampleSet, Source, TableSet, _stratified_split

SOURCE = Source("none", "pypi", "-", "-", "made up in the test")


def _table(counts: dict[str, int]) -> TableSet:
    labels = [lab for lab, n in counts.items() for _ in range(n)]
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {"x": rng.normal(size=len(labels)), "c": [f"k{i % 3}" for i in range(len(labels))], "y": labels}
    )
    train_idx, test_idx = _stratified_split(labels, 0.25, 0)
    return TableSet("t", frame, "y", "classification", train_idx, test_idx, SOURCE)


def _samples(counts: dict[str, int]) -> SampleSet:
    rows = [(f"{lab} item {i}", lab) for lab, n in counts.items() for i in range(n)]
    return SampleSet("s", "text", rows[::2], rows[1::2], SOURCE, language="en")


def _test_rows(ds: TableSet) -> list[tuple]:
    return [tuple(r) for r in ds.frame.iloc[ds.test_idx].itertuples(index=False)]


def _train_rows(ds: TableSet) -> list[tuple]:
    return [tuple(r) for r in ds.frame.iloc[ds.train_idx].itertuples(index=False)]


COUNTS = {"a": 80, "b": 40, "c": 8}  # c has 6 training rows: fewer than N=10


@pytest.mark.parametrize("make", [_table, _samples])
def test_each_class_gets_n_rows_and_a_smaller_class_keeps_all(make) -> None:
    ds = make(COUNTS)
    full = small_data.class_counts(ds)
    for n in (1, 5, 10):
        counts = small_data.class_counts(small_data.subsample(ds, n, seed=0))
        assert counts == {lab: min(n, k) for lab, k in full.items()}
    assert full["c"] < 10  # the case the last N covers


def test_table_test_split_is_the_same_rows_in_the_same_order() -> None:
    ds = _table(COUNTS)
    sub = small_data.subsample(ds, 5, seed=3)
    assert _test_rows(sub) == _test_rows(ds)
    assert len(sub.frame) == len(sub.train_idx) + len(sub.test_idx)  # dropped rows left the frame
    assert set(_train_rows(sub)) <= set(_train_rows(ds))
    assert not set(sub.train_idx) & set(sub.test_idx)
    assert len(ds.train_idx) == sum(small_data.class_counts(ds).values())  # the original is untouched


def test_sample_test_split_is_untouched() -> None:
    ds = _samples(COUNTS)
    test_before = list(ds.test)
    sub = small_data.subsample(ds, 5, seed=3)
    assert sub.test == test_before and ds.test == test_before
    assert set(sub.train) <= set(ds.train)
    assert sub.language == "en" and sub.modality == "text"


@pytest.mark.parametrize("make", [_table, _samples])
def test_seeded_and_deterministic(make) -> None:
    ds = make(COUNTS)

    def train(seed: int, n: int = 5):
        sub = small_data.subsample(ds, n, seed)
        return _train_rows(sub) if isinstance(sub, TableSet) else sub.train

    assert train(0) == train(0)
    assert train(0) != train(1)
    assert set(train(2, 5)) <= set(train(2, 20))  # one seed: a larger N only adds rows


def test_regression_sets_are_refused() -> None:
    ds = _table(COUNTS)
    ds.task = "regression"
    with pytest.raises(ValueError, match="regression"):
        small_data.subsample(ds, 5, 0)


def _cell(seed: int, exeml: float | None, linear: float, lgbm: float, n: int = 5) -> dict:
    systems = {"linear": {"accuracy": linear}, "lgbm_default": {"accuracy": lgbm}}
    systems["exeml"] = {"accuracy": exeml} if exeml is not None else {"note": "error"}
    return {"dataset": "t", "modality": "tabular", "per_class": n, "seed": seed, "n_train": 15, "n_test": 30,
            "systems": systems}


def test_summary_verdict() -> None:
    cells = [
        # ExeML ahead on average, 1 point behind seed 1's best: ok under both readings.
        _cell(0, 0.90, 0.85, 0.80), _cell(1, 0.84, 0.85, 0.70),
        # Ahead on average but 3 points behind the best baseline (linear) on seed 1: MISS.
        _cell(0, 0.99, 0.80, 0.70, n=20), _cell(1, 0.82, 0.85, 0.70, n=20),
        # Equal means (a tie meets the goal).
        _cell(0, 0.80, 0.80, 0.60, n=50), _cell(1, 0.90, 0.90, 0.60, n=50),
        # Seed 1: within a point of linear (the best on average) but 4 points behind lgbm, that
        # seed's best: the goal is met, the strict reading is not.
        _cell(0, 0.95, 0.80, 0.70, n=100), _cell(1, 0.80, 0.81, 0.84, n=100),
    ]
    rows = small_data.summarise(cells, "accuracy")
    assert [(r["per_class"], r["best_baseline"], r["meets_goal"], r["meets_strict"]) for r in rows] == [
        (5, "linear", True, True), (20, "linear", False, False), (50, "linear", True, True),
        (100, "linear", True, False)]
    assert rows[0]["mean_diff_points"] == pytest.approx(2.0)
    assert rows[0]["worst_seed_diff_points"] == pytest.approx(-1.0)
    assert rows[1]["worst_seed_diff_points"] == pytest.approx(-3.0)
    assert rows[1]["worst_seed_vs_best_points"] == pytest.approx(-3.0)
    assert rows[3]["worst_seed_vs_best_points"] == pytest.approx(-1.0)
    assert rows[3]["worst_seed_diff_points"] == pytest.approx(-4.0)
    text = small_data.render(rows)
    assert "| t | 5 |" in text and "MISS" in text
    assert "3 of 4 (data set, N) rows meet the goal" in text and "2 of 4 the strict reading" in text
    assert "| t | 100 | 15 | 2 | 0.875 | linear | 0.805 | +7.0 | -1.0 | ok | -4.0 | MISS |" in text


def test_exeml_failing_on_a_seed_misses() -> None:
    rows = small_data.summarise([_cell(0, 0.99, 0.5, 0.5), _cell(1, None, 0.5, 0.5)], "accuracy")
    assert rows[0]["meets_goal"] is False and rows[0]["meets_strict"] is False
    assert rows[0]["note"] == "no ExeML score on seed [1]"
