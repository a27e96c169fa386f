"""Quality rows for the tabular, text and sound trainers (used by bench/train_quality.py).

Each row: the ExeML model's held-out score and wall time at a budget vs a plain baseline:
FLAML at the same budget for tables (optional: n/a when not installed), word TF-IDF +
logistic regression defaults for text, MFCC means + logistic regression for sound.
Datasets are generated or bundled with scikit-learn (nothing is downloaded).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from training.engine.spec import TabularSpec, TrainSample, TrainSpec
from training.engine.trainers.sound import SoundTrainer
from training.engine.trainers.tabular import TabularTrainer
from training.engine.trainers.text import TextTrainer

SEED = 0


def _noop(phase: str, fraction: float) -> None:
    return None


# ---------------------------------------------------------------- tables


def _tables() -> list[tuple[str, np.ndarray, np.ndarray, str, list[str]]]:
    """(name, X, y, label_type, kinds of X's columns)."""
    from sklearn.datasets import (
        load_breast_cancer,
        load_diabetes,
        load_digits,
        load_wine,
        make_classification,
        make_friedman1,
    )

    out = []
    for name, loader, label_type in (
        ("breast_cancer", load_breast_cancer, "discrete"),
        ("wine", load_wine, "discrete"),
        ("digits", load_digits, "discrete"),
        ("diabetes", load_diabetes, "continuous"),
    ):
        x, y = loader(return_X_y=True)
        out.append((name, x, y, label_type, ["numeric"] * x.shape[1]))
    x, y = make_classification(
        n_samples=20000, n_features=20, n_informative=8, n_redundant=4, flip_y=0.05, random_state=SEED
    )
    # Two categorical columns derived from informative features, as strings.
    cats = np.stack([np.digitize(x[:, 0], [-1, 0, 1]), np.digitize(x[:, 1], [-0.5, 0.5])], axis=1)
    x_mixed = np.concatenate([x[:, 2:], cats], axis=1).astype(object)
    x_mixed[:, -2:] = np.vectorize(lambda v: f"k{int(v)}")(cats)
    out.append(
        ("synthetic_classification_20k", x_mixed, y, "discrete", ["numeric"] * 18 + ["categorical"] * 2)
    )
    x, y = make_friedman1(n_samples=10000, n_features=10, noise=1.0, random_state=SEED)
    out.append(("friedman1_10k", x, y, "continuous", ["numeric"] * 10))
    return out


def _table_row(name, x, y, label_type, kinds, budget: float, folder: Path) -> dict[str, Any]:
    n = len(y)
    rng = np.random.default_rng(SEED)
    test = np.sort(rng.permutation(n)[: n // 5])
    train = np.setdiff1d(np.arange(n), test)
    y_str = [str(v) if label_type == "continuous" else f"c{int(v)}" for v in y]
    lines = [",".join([*(str(v) for v in row), lab]) for row, lab in zip(x, y_str, strict=True)]
    csv = folder / f"{name}.csv"
    csv.write_text("\n".join(lines) + "\n")
    columns = tuple(f"attr_{i + 1}" for i in range(x.shape[1] + 1))
    tab = TabularSpec(
        csv_path=str(csv),
        columns=columns,
        kinds={c: k for c, k in zip(columns, [*kinds, "categorical"], strict=True)},
        label_column=columns[-1],
        label_type=label_type,
        eval_rows=tuple(int(i) for i in test),
    )
    spec = TrainSpec(task_type="predictive_analytics", labels=(), tabular=tab, threads=2, seed=SEED)
    started = time.monotonic()
    result = TabularTrainer().fit(spec, folder / f"work_{name}", time.monotonic() + budget, _noop)
    exeml_seconds = time.monotonic() - started
    metric = "rmse" if label_type == "continuous" else "accuracy"
    row = {
        "trainer": "tabular",
        "dataset": f"{name} ({n}x{x.shape[1]})",
        "metric": metric,
        "exeml_score": result.metrics[metric],
        "exeml_seconds": exeml_seconds,
        "baseline": "flaml",
    }
    row.update(_flaml(x, y, train, test, label_type, kinds, budget))
    return row


def _flaml(x, y, train, test, label_type, kinds, budget) -> dict[str, Any]:
    try:
        from flaml import AutoML
    except ImportError:
        return {"baseline": "n/a (flaml not installed)", "baseline_score": None, "baseline_seconds": None}
    import pandas as pd

    frame = pd.DataFrame(
        {
            f"f{i}": (pd.Categorical(x[:, i]) if k == "categorical" else x[:, i].astype(float))
            for i, k in enumerate(kinds)
        }
    )
    automl = AutoML()
    started = time.monotonic()
    task = "regression" if label_type == "continuous" else "classification"
    automl.fit(frame.iloc[train], y[train], task=task, time_budget=budget, n_jobs=2, verbose=0, seed=SEED)
    pred = automl.predict(frame.iloc[test])
    seconds = time.monotonic() - started
    if label_type == "continuous":
        score = float(np.sqrt(np.mean((np.asarray(pred, dtype=float) - y[test]) ** 2)))
    else:
        score = float(np.mean(np.asarray(pred) == y[test]))
    return {"baseline_score": score, "baseline_seconds": seconds}


# ---------------------------------------------------------------- text


_TOPICS_EN = {
    "sports": ["match", "team", "goal", "player", "coach", "season", "league", "score"],
    "finance": ["stock", "bank", "market", "rates", "bonds", "profit", "investor", "shares"],
    "weather": ["rain", "storm", "sunny", "wind", "forecast", "snow", "cloud", "temperature"],
    "tech": ["software", "phone", "chip", "app", "network", "computer", "cloud", "data"],
}
_TOPICS_ZH = {
    "sports": ["比赛", "球队", "进球", "球员", "教练", "赛季", "联赛", "比分"],
    "finance": ["股票", "银行", "市场", "利率", "债券", "利润", "投资者", "股份"],
    "weather": ["下雨", "风暴", "晴朗", "大风", "预报", "下雪", "多云", "气温"],
    "tech": ["软件", "手机", "芯片", "应用", "网络", "电脑", "云端", "数据"],
}
_FILLER_EN = ["the", "a", "today", "news", "report", "said", "new", "big", "latest", "people", "city", "week"]
_FILLER_ZH = ["今天", "新闻", "报道", "表示", "最新", "人们", "城市", "本周", "的", "了", "在", "有"]


def _text_samples(language: str, per_class: int = 150) -> tuple[TrainSample, ...]:
    """Bag-of-words sentences: 2 topic words among 6 fillers, 10 % of topic words from other
    topics (so it is not trivially separable). Chinese has no spaces, like real Chinese."""
    topics, filler = (_TOPICS_EN, _FILLER_EN) if language == "en" else (_TOPICS_ZH, _FILLER_ZH)
    rng = np.random.default_rng(SEED)
    names = list(topics)
    out = []
    for label in names:
        for i in range(per_class):
            words = list(rng.choice(filler, 6))
            for _ in range(2):
                source = label if rng.random() > 0.25 else names[rng.integers(len(names))]
                words.insert(int(rng.integers(len(words) + 1)), str(rng.choice(topics[source])))
            text = (" " if language == "en" else "").join(words)
            out.append(
                TrainSample(
                    id=f"{label}-{i}", usage="eval" if i % 5 == 0 else "train", text=text, labels=(label,)
                )
            )
    return tuple(out)


def _text_row(language: str, budget: float, folder: Path) -> dict[str, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    samples = _text_samples(language)
    spec = TrainSpec(
        task_type="text_classification", labels=tuple(_TOPICS_EN), samples=samples, threads=2, seed=SEED
    )
    started = time.monotonic()
    result = TextTrainer().fit(spec, folder / f"text_{language}", time.monotonic() + budget, _noop)
    exeml_seconds = time.monotonic() - started
    train, test = spec.split("train"), spec.split("eval")
    started = time.monotonic()
    vec = TfidfVectorizer()
    model = LogisticRegression(max_iter=1000).fit(
        vec.fit_transform([s.text for s in train]), [s.labels[0] for s in train]
    )
    pred = model.predict(vec.transform([s.text for s in test]))
    baseline = float(np.mean(pred == np.asarray([s.labels[0] for s in test])))
    return {
        "trainer": "text",
        "dataset": f"topics_{language} ({len(samples)})",
        "metric": "accuracy",
        "exeml_score": result.metrics["accuracy"],
        "exeml_seconds": exeml_seconds,
        "baseline": "word tfidf+logreg",
        "baseline_score": baseline,
        "baseline_seconds": time.monotonic() - started,
    }


# ---------------------------------------------------------------- sound


def _sound_samples(folder: Path, per_class: int = 40) -> tuple[TrainSample, ...]:
    """Five overlapping synthetic classes at mixed rates with background noise."""
    import soundfile

    rng = np.random.default_rng(SEED)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    labels = ("low_tone", "high_tone", "noise", "chirp_up", "beeps")
    for label in labels:
        for i in range(per_class):
            rate = int(rng.choice([8000, 16000, 22050, 44100]))
            t = np.arange(int(rate * rng.uniform(1.1, 2.5))) / rate
            if label == "low_tone":
                x = np.sin(2 * np.pi * rng.uniform(200, 500) * t)
            elif label == "high_tone":
                x = np.sin(2 * np.pi * rng.uniform(450, 1000) * t)
            elif label == "noise":
                x = np.convolve(rng.normal(0, 1, len(t)), np.ones(int(rng.integers(1, 6))), "same")
            elif label == "chirp_up":
                x = np.sin(2 * np.pi * (300 + rng.uniform(100, 600) * t) * t)
            else:
                x = np.sin(2 * np.pi * rng.uniform(400, 900) * t) * (
                    np.sin(2 * np.pi * rng.uniform(2, 6) * t) > 0
                )
            x = x / (np.max(np.abs(x)) + 1e-9) + rng.normal(0, rng.uniform(0.05, 0.6), len(t))
            x = 0.8 * x / np.max(np.abs(x))
            path = folder / f"{label}{i}.wav"
            soundfile.write(path, x, rate, subtype="PCM_16")
            out.append(
                TrainSample(
                    id=path.stem, usage="eval" if i % 5 == 0 else "train", path=str(path), labels=(label,)
                )
            )
    return tuple(out)


def _sound_row(budget: float, folder: Path, preference: str) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    from training.engine.preprocessing import audio

    samples = _sound_samples(folder / "wav")
    spec = TrainSpec(
        task_type="sound_classification",
        labels=(),
        samples=samples,
        threads=2,
        seed=SEED,
        preference=preference,
    )
    started = time.monotonic()
    result = SoundTrainer().fit(spec, folder / f"sound_{preference}", time.monotonic() + budget, _noop)
    exeml_seconds = time.monotonic() - started

    def mfcc_means(s: TrainSample) -> np.ndarray:
        signal = audio.load_signal(Path(s.path).read_bytes(), audio.DEFAULT_CONFIG)
        lm = audio.log_mel(signal, audio.DEFAULT_CONFIG)
        return (audio.dct_matrix(audio.N_MFCC, audio.N_MELS) @ lm).mean(axis=1)

    started = time.monotonic()
    train, test = spec.split("train"), spec.split("eval")
    model = LogisticRegression(max_iter=2000).fit(
        np.stack([mfcc_means(s) for s in train]), [s.labels[0] for s in train]
    )
    pred = model.predict(np.stack([mfcc_means(s) for s in test]))
    baseline = float(np.mean(pred == np.asarray([s.labels[0] for s in test])))
    return {
        "trainer": "sound",
        "dataset": f"synthetic_5class ({len(samples)}, {preference})",
        "metric": "accuracy",
        "exeml_score": result.metrics["accuracy"],
        "exeml_seconds": exeml_seconds,
        "baseline": "mfcc means+logreg",
        "baseline_score": baseline,
        "baseline_seconds": time.monotonic() - started,
    }


def run(budget_seconds: float) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="exeml-bench-") as tmp:
        folder = Path(tmp)
        jobs: list[Callable[[], dict[str, Any]]] = [
            *(lambda t=t: _table_row(*t, budget_seconds, folder) for t in _tables()),
            lambda: _text_row("en", budget_seconds, folder),
            lambda: _text_row("zh", budget_seconds, folder),
            lambda: _sound_row(budget_seconds, folder, "balance"),
            lambda: _sound_row(budget_seconds, folder, "accuracy_first"),
        ]
        for job in jobs:
            row = job()
            print(row, flush=True)
            rows.append(row)
    return rows
