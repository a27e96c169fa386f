"""Tiny generated datasets for the tabular, text and sound trainer tests."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from training.engine.spec import TabularSpec, TrainSample

COLUMNS = ("attr_1", "attr_2", "attr_3", "attr_4", "attr_5")
KINDS = {
    "attr_1": "numeric",
    "attr_2": "categorical",
    "attr_3": "numeric",
    "attr_4": "categorical",
    "attr_5": "categorical",
}


def tabular_csv(path: Path, *, kind: str, n: int = 300, seed: int = 0) -> TabularSpec:
    """age, job (with blanks), balance (with blanks), city, label in attr_5.

    kind: "binary" | "multi" | "regression"; every fifth row is an eval row.
    """
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    job = rng.choice(["admin", "tech", "mgmt", ""], n)
    balance = rng.normal(1000, 500, n)
    city = rng.choice(["a", "b", "c"], n)
    score = (age - 40) / 20 + (job == "tech") * 1.0 + balance / 1000 + rng.normal(0, 0.3, n)
    if kind == "binary":
        label = np.where(score > 1.0, "yes", "no")
    elif kind == "multi":
        label = np.select([score < 0.5, score < 1.5], ["low", "mid"], "high")
    else:
        label = np.round(score * 10, 3).astype(str)
    rows = [
        f"{a},{j},{'' if i % 17 == 0 else round(b, 2)},{c},{lab}"
        for i, (a, j, b, c, lab) in enumerate(zip(age, job, balance, city, label, strict=True))
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return TabularSpec(
        csv_path=str(path),
        columns=COLUMNS,
        kinds=KINDS,
        label_column="attr_5",
        label_type="continuous" if kind == "regression" else "discrete",
        eval_rows=tuple(range(0, n, 5)),
    )


EN = {
    "sports": [
        "the team won the {} match",
        "a great {} game last night",
        "the player scored in the {} final",
    ],
    "finance": [
        "the stock of {} fell sharply",
        "the bank raised {} interest rates",
        "the market for {} bonds rallied",
    ],
    "weather": [
        "heavy rain expected in the {} tomorrow",
        "a sunny afternoon ahead for the {}",
        "storm warnings for the {} coast",
    ],
}
ZH = {
    "sports": ["球队赢得了{}比赛", "昨晚{}的比赛很精彩", "球员在{}决赛中进球"],
    "finance": ["{}股票大幅下跌", "银行提高了{}利率", "{}债券市场上涨"],
    "weather": ["明天{}预计有大雨", "{}下午阳光明媚", "{}沿海发布风暴警告"],
}
FILL_EN = ["north", "city", "big", "local", "old", "new", "red", "blue", "east", "west", "summer", "winter"]
FILL_ZH = ["北方", "城市", "大型", "本地", "老城", "新区", "红色", "蓝色", "东部", "西部", "夏季", "冬季"]


def text_samples(language: str = "en", *, per_class: int = 24, seed: int = 0) -> tuple[TrainSample, ...]:
    """Three classes from templates; every fourth sample of a class is an eval sample."""
    templates, fill = (EN, FILL_EN) if language == "en" else (ZH, FILL_ZH)
    rng = np.random.default_rng(seed)
    out = []
    for label, forms in templates.items():
        for i in range(per_class):
            text = forms[i % len(forms)].format(fill[rng.integers(len(fill))])
            usage = "eval" if i % 4 == 0 else "train"
            out.append(TrainSample(id=f"{language}-{label}-{i}", usage=usage, text=text, labels=(label,)))
    return tuple(out)


def wav_bytes(signal: np.ndarray, rate: int, subtype: str = "PCM_16") -> bytes:
    import soundfile

    buf = io.BytesIO()
    soundfile.write(buf, signal, rate, subtype=subtype, format="WAV")
    return buf.getvalue()


SOUND_LABELS = ("tone", "noise", "chirp")


def sound_samples(folder: Path, *, per_class: int = 12, seed: int = 0) -> tuple[TrainSample, ...]:
    """Tones, noise and chirps of 1.1-1.5 s at mixed sample rates, written as 16-bit WAV."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for label in SOUND_LABELS:
        for i in range(per_class):
            rate = int(rng.choice([16000, 22050, 8000]))
            t = np.arange(int(rate * rng.uniform(1.1, 1.5))) / rate
            if label == "tone":
                x = np.sin(2 * np.pi * rng.uniform(300, 900) * t)
            elif label == "noise":
                x = rng.normal(0, 0.5, len(t))
            else:
                x = np.sin(2 * np.pi * (200 + rng.uniform(500, 1500) * t) * t)
            x = 0.4 * x / np.max(np.abs(x)) + rng.normal(0, 0.01, len(t))
            path = folder / f"{label}{i}.wav"
            path.write_bytes(wav_bytes(x, rate))
            usage = "eval" if i % 4 == 0 else "train"
            out.append(TrainSample(id=f"{label}{i}", usage=usage, path=str(path), labels=(label,)))
    return tuple(out)


HEAVY_MODULES = ("torch", "lightgbm", "sklearn", "librosa", "numba", "transformers", "pandas", "scipy")


def heavy_modules_loaded_by_serving(bundle_dir: Path, payload_file: Path) -> list[str]:
    """Load the bundle's predictor and answer one request in a fresh interpreter; return the
    heavy training libraries that got imported (should be none)."""
    import subprocess
    import sys

    code = f"""
import json, sys
from pathlib import Path
from training.engine.predictors import load_predictor
p = load_predictor(Path({str(bundle_dir)!r}))
p.warmup()
raw = Path({str(payload_file)!r}).read_bytes()
p.predict(raw if {str(payload_file)!r}.endswith('.wav') else json.loads(raw))
print(json.dumps([m for m in {HEAVY_MODULES!r} if m in sys.modules]))
"""
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True)
    import json

    return json.loads(out.stdout.strip().splitlines()[-1])
