"""Suspected label errors: out-of-fold predictions of a fast model, then confident learning.

Confident learning (Northcutt et al., 2021) in its simplest, well-tested form: a class's
threshold is the mean probability the model gives that class on the samples labelled with
it; a sample is suspect when the most probable class whose probability passes its own
threshold is not the given label. Suspects are ranked by how much more the model believes
the suggested label than the given one. The probabilities are out of fold (each sample is
predicted by a model that never saw it), so a wrong label cannot vouch for itself.

The fast model per task: char n-gram TF-IDF + logistic regression for text, frozen
EfficientNet-Lite0 embeddings + logistic regression for images, log-mel/MFCC statistics +
logistic regression for sound.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from training.engine.validation import make_folds


@dataclass(frozen=True)
class Suspect:
    index: int  # position in the input
    given: int
    suggested: int
    given_probability: float
    suggested_probability: float


def out_of_fold_probabilities(
    fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray], y: np.ndarray, *, n_classes: int, seed: int = 0
) -> np.ndarray:
    """(n, n_classes) probabilities, each row from a model fit on the other folds.

    ``fit_predict(fit_idx, predict_idx)`` returns (len(predict_idx), n_classes)."""
    folds = make_folds(y, classification=True, seed=seed, k=5)
    proba = np.zeros((len(y), n_classes), dtype=np.float64)
    for fit, val in folds.splits:
        proba[val] = fit_predict(fit, val)
    return proba


def find_suspects(proba: np.ndarray, y: np.ndarray) -> list[Suspect]:
    """Suspected label errors, most suspicious first (confident learning, see the module doc)."""
    n, k = proba.shape
    thresholds = np.array([proba[y == j, j].mean() if np.any(y == j) else 1.0 for j in range(k)])
    suspects = []
    for i in range(n):
        passing = np.flatnonzero(proba[i] >= thresholds)
        if len(passing) == 0:
            continue
        j = int(passing[np.argmax(proba[i, passing])])
        if j != int(y[i]):
            suspects.append(Suspect(i, int(y[i]), j, float(proba[i, y[i]]), float(proba[i, j])))
    return sorted(suspects, key=lambda s: s.given_probability - s.suggested_probability)


def _logistic(x: np.ndarray, y: np.ndarray, n_classes: int, seed: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    def fit_predict(fit: np.ndarray, val: np.ndarray) -> np.ndarray:
        scaler = StandardScaler().fit(x[fit])
        model = LogisticRegression(C=1.0, max_iter=2000, random_state=seed).fit(scaler.transform(x[fit]), y[fit])
        out = np.zeros((len(val), n_classes))
        out[:, model.classes_] = model.predict_proba(scaler.transform(x[val]))
        return out

    return fit_predict


def text_suspects(texts: Sequence[str], y: np.ndarray, *, n_classes: int, seed: int = 0) -> list[Suspect]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts = list(texts)

    def fit_predict(fit: np.ndarray, val: np.ndarray) -> np.ndarray:
        vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, min_df=1, max_features=200_000)
        xf = vec.fit_transform([texts[i] for i in fit])
        model = LogisticRegression(C=10.0, max_iter=2000, random_state=seed).fit(xf, y[fit])
        out = np.zeros((len(val), n_classes))
        out[:, model.classes_] = model.predict_proba(vec.transform([texts[i] for i in val]))
        return out

    return find_suspects(out_of_fold_probabilities(fit_predict, y, n_classes=n_classes, seed=seed), y)


def image_embeddings(paths: Sequence[str], *, size: int = 160, batch: int = 32) -> np.ndarray:
    """Frozen ImageNet EfficientNet-Lite0 features (global average pool), one row per image."""
    import torch

    from training.engine.models.efficientnet import efficientnet
    from training.engine.preprocessing.image import classification_input, decode_image

    model = efficientnet("efficientnet-lite0", 2, pretrained=True).eval()
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    rows = []
    with torch.inference_mode():
        for start in range(0, len(paths), batch):
            x = np.concatenate(
                [classification_input(decode_image(p), size=size, mean=mean, std=std) for p in paths[start : start + batch]]
            )
            features = model.extract_features(torch.from_numpy(x))
            rows.append(features.mean(dim=(2, 3)).numpy())
    return np.concatenate(rows).astype(np.float64)


def image_suspects(paths: Sequence[str], y: np.ndarray, *, n_classes: int, seed: int = 0) -> list[Suspect]:
    x = image_embeddings(paths)
    return find_suspects(out_of_fold_probabilities(_logistic(x, y, n_classes, seed), y, n_classes=n_classes, seed=seed), y)


def sound_suspects(paths: Sequence[str], y: np.ndarray, *, n_classes: int, seed: int = 0) -> list[Suspect]:
    from pathlib import Path

    from training.engine.preprocessing import audio

    x = np.stack([audio.features_from_wav(Path(p).read_bytes(), audio.DEFAULT_CONFIG) for p in paths]).astype(np.float64)
    return find_suspects(out_of_fold_probabilities(_logistic(x, y, n_classes, seed), y, n_classes=n_classes, seed=seed), y)
