"""Incremental training of the searching trainers: a version trained from V00k evaluates
V00k's best configurations before anything else, and serves the new label set when labels
were added and removed since (the log says which)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

pytest.importorskip("sklearn")

from tests.trainers.ml_data import tabular_csv, text_samples  # noqa: E402
from training.engine.predictors import load_predictor  # noqa: E402
from training.engine.spec import TrainSample, TrainSpec  # noqa: E402
from training.engine.trainers import get_trainer  # noqa: E402


def _fit(spec: TrainSpec, work: Path, seconds: float = 60.0):
    return get_trainer(spec.task_type).fit(spec, work, time.monotonic() + seconds, lambda *a, **k: None)


def _best_configs(result) -> list[dict]:
    return json.loads((result.bundle_dir / "bundle.json").read_text())["train_params"]["best_configs"]


def _tech(per_class: int = 24) -> list[TrainSample]:
    forms = ["the new {} phone has a faster chip", "a software update for the {} laptop", "the {} app crashed again"]
    fill = ["north", "city", "big", "local", "old", "new"]
    return [TrainSample(id=f"tech-{i}", usage="eval" if i % 4 == 0 else "train",
                        text=forms[i % 3].format(fill[i % len(fill)]), labels=("tech",)) for i in range(per_class)]


def test_text_starts_from_the_base_search_and_serves_the_new_labels(tmp_path):
    params = {"text_models": ("char_ngram", "word_ngram"), "max_trials": 4, "refit_on_all": False}
    first = _fit(TrainSpec(task_type="text_classification", labels=("sports", "finance", "weather"),
                           samples=text_samples(), threads=1, params=params), tmp_path / "v1")
    kept = _best_configs(first)
    scores = {r["name"]: r["score"] for r in first.evaluation["search"]["leaderboard"] if r["status"] == "done"}
    assert kept and scores[kept[0]["name"]] == max(scores.values())

    samples = tuple(s for s in text_samples(seed=1) if s.labels != ("weather",)) + tuple(_tech())
    spec = TrainSpec(task_type="text_classification", labels=("sports", "finance", "tech"), samples=samples,
                     threads=1, params=params, base_bundle_dir=str(first.bundle_dir))
    second = _fit(spec, tmp_path / "v2")
    board = second.evaluation["search"]["leaderboard"]
    assert board[0]["params"] == {k: tuple(v) if isinstance(v, list) else v for k, v in kept[0]["params"].items()}
    assert any("best configurations first" in line for line in second.log)
    assert any("labels added ['tech'], removed ['weather']" in line for line in second.log)
    bundle = json.loads((second.bundle_dir / "bundle.json").read_text())
    assert bundle["labels"] == ["sports", "finance", "tech"]
    answer = load_predictor(second.bundle_dir).predict({"text": "a software update for the old laptop"})
    assert answer["predicted_label"] == "tech"


def test_tabular_evaluates_the_base_best_configuration_first(tmp_path):
    params = {"max_trials": 5, "refit_on_all": False}
    first = _fit(TrainSpec(task_type="predictive_analytics", labels=(), threads=1, params=params,
                           tabular=tabular_csv(tmp_path / "v1.csv", kind="multi")), tmp_path / "v1")
    kept = _best_configs(first)
    assert kept
    spec = TrainSpec(task_type="predictive_analytics", labels=(), threads=1, params=params,
                     tabular=tabular_csv(tmp_path / "v2.csv", kind="binary", seed=1),
                     base_bundle_dir=str(first.bundle_dir))
    second = _fit(spec, tmp_path / "v2")
    first_trial = second.evaluation["search"]["leaderboard"][0]
    assert first_trial["name"] in (kept[0]["name"], f"warm_{kept[0]['name']}")
    assert first_trial["family"] == kept[0]["family"]
    assert any("labels added ['no', 'yes'], removed ['high', 'low', 'mid']" in line for line in second.log)
    assert sorted(json.loads((second.bundle_dir / "bundle.json").read_text())["labels"]) == ["no", "yes"]


def test_a_base_without_search_state_starts_a_fresh_search_and_says_so(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    (base / "bundle.json").write_text(json.dumps({"labels": ["sports"], "train_params": {}}))
    params = {"text_models": ("char_ngram",), "max_trials": 2, "refit_on_all": False}
    result = _fit(TrainSpec(task_type="text_classification", labels=("sports", "finance", "weather"),
                            samples=text_samples(), threads=1, params=params, base_bundle_dir=str(base)),
                  tmp_path / "v2")
    assert result.evaluation["search"]["leaderboard"][0]["family"].startswith("tfidf_lr")
    assert any("kept no search configurations; a fresh search" in line for line in result.log)


def test_the_image_search_runs_the_base_best_candidates_first(tmp_path):
    pytest.importorskip("efficientnet_lite_pytorch")
    from tests.trainers.test_image_search import digit_samples

    params = {"finetune": False, "refit_on_all": False, "max_trials": 3}
    labels = ("0", "1", "2", "3")
    first = _fit(TrainSpec(task_type="image_classification", labels=labels, threads=2, params=params,
                           samples=tuple(digit_samples(tmp_path / "d1", per_class_train=6, per_class_eval=2,
                                                       classes=4))), tmp_path / "v1")
    kept = _best_configs(first)
    assert kept
    more = digit_samples(tmp_path / "d2", per_class_train=8, per_class_eval=2, classes=5)
    second = _fit(TrainSpec(task_type="image_classification", labels=(*labels, "4"), threads=2, params=params,
                            samples=tuple(more), base_bundle_dir=str(first.bundle_dir)), tmp_path / "v2")
    assert second.evaluation["search"]["leaderboard"][0]["name"] == kept[0]["name"]
    assert any("labels added ['4'], removed none" in line for line in second.log)
    assert json.loads((second.bundle_dir / "bundle.json").read_text())["labels"] == [*labels, "4"]
