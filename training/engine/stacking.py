"""Level-2 stacking (Wolpert 1992; Breiman 1996): a small, regularised model fitted on the
out-of-fold predictions of diverse level-1 candidates, which serves when a cross-validation
inside those out-of-fold rows says it predicts better than the best single candidate and the
greedy blend by more than one standard error (``Search._stack``).

Classification: multinomial logistic regression with an L2 penalty on the members' class
log-probabilities (``log(clip(p, 0, 1) + EPS)``, every class of every member, standardised); its
C is chosen by an inner cross-validation (log loss) inside the rows it is fitted on. On log
probabilities the stacker can add the members' evidence (a product of experts, with a prior
term) and re-weight it per class, which a weighted average of probabilities cannot; with one
member and C large it is a temperature. Regression: non-negative least squares with an
intercept on the members' predictions (Breiman's stacked regressions: the non-negativity is
the regularisation), so a stack can add members that each explain part of the target where a
convex blend can only average them.

A fitted ``Stacker`` is linear in its features with the standardisation folded in, so the
exported graph is the members' outputs concatenated, then (classification) Max/Min/Log,
MatMul, Add and Softmax, or (regression) MatMul and Add: ``onnx_blend.stack_models``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from training.engine import scoring

# Added to a probability before its log. A member's graph answers float32 probabilities: a
# class at 1 - 2.4e-4 leaves its complement with an absolute error of ~6e-8, which a log
# floored at 1e-5 turned into 2e-4 (the stack's ONNX answer then differed from Python's by
# 1.3e-5). log(p + 0.01) bounds that amplification at 100 and kept the stacker's gains on
# generated data (tests/engine/test_stacking.py) as with the 1e-5 floor.
EPS = 0.01
C_GRID = (0.01, 0.1, 1.0, 10.0)
OUTER_FOLDS = 5  # the stacker's own cross-validation over the out-of-fold rows
INNER_FOLDS = 3  # choosing C inside each outer fit's rows
INNER_MAX_ROWS = 5000  # rows the inner choice of C looks at (a sample of them above that)
ABSENT_LOGIT = -30.0  # a class no row of the stacker's fit had: never predicted
MIN_ROWS = 30  # fewer out-of-fold rows than this: no stack is tried


def enabled() -> bool:
    """``EXEML_STACKING=0`` turns level-2 stacking off (the bench compares with and without)."""
    return os.environ.get("EXEML_STACKING", "1").strip().lower() not in ("0", "false", "no", "off")


def estimated_seconds(rows: int, width: int, classes: int) -> float:
    """What ``cross_validate`` and the final ``fit`` are expected to take (the search keeps
    this much time for them): ~80 logistic fits (outer x inner folds x the C grid, and the
    final choice), each a fixed overhead plus lbfgs' passes over the rows. Regression's
    non-negative least squares takes milliseconds; a second is kept for a loaded machine."""
    if classes <= 1:
        return 1.0
    inner_fits = (OUTER_FOLDS + 1) * INNER_FOLDS * len(C_GRID)  # on at most INNER_MAX_ROWS rows
    outer_fits = OUTER_FOLDS + 1  # on (nearly) every row
    per_row = 1e-7 * width * classes
    return 1.5 * ((inner_fits + outer_fits) * 0.02 + per_row * (inner_fits * min(rows, INNER_MAX_ROWS)
                                                               + outer_fits * rows))


class StackTimeout(Exception):
    """The stacker's cross-validation ran past the time the search kept for it."""


def features(kind: scoring.Kind, preds: list[np.ndarray]) -> np.ndarray:
    """The stacker's input: each member's class log-probabilities (classification) or value
    (regression), members side by side in ``preds``' order."""
    if kind == "regression":
        return np.column_stack([np.asarray(p, dtype=np.float64).reshape(-1) for p in preds])
    return np.hstack([np.log(np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0) + EPS) for p in preds])


@dataclass
class Stacker:
    kind: scoring.Kind
    members: list[str]  # in the order of the feature blocks
    coef: np.ndarray  # (d, k) classification, (m, 1) regression: standardisation folded in
    intercept: np.ndarray  # (k,) or (1,)
    params: dict[str, Any] = field(default_factory=dict)  # {"C": ...} or {"method": "nnls"}

    def predict_features(self, x: np.ndarray) -> np.ndarray:
        z = x @ self.coef + self.intercept
        if self.kind == "regression":
            return z.reshape(-1)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, preds: dict[str, np.ndarray]) -> np.ndarray:
        """Class probabilities (n, k) or values (n,) from the members' predictions."""
        return self.predict_features(features(self.kind, [preds[n] for n in self.members]))

    def member_weights(self) -> dict[str, float]:
        """Each member's share of the stacker's absolute coefficients (on standardised inputs
        for classification): what the bundle reports as the members' weights and what the
        feature importance weighs them by."""
        m = len(self.members)
        block = self.coef.shape[0] // m
        scale = np.asarray(self.params.get("scale", np.ones(self.coef.shape[0])), dtype=np.float64)
        mass = np.array([np.abs(self.coef[i * block:(i + 1) * block] * scale[i * block:(i + 1) * block, None]).sum()
                         for i in range(m)])
        if mass.sum() <= 0:
            mass = np.ones(m)
        shares = mass / mass.sum()
        return {n: round(float(s), 6) for n, s in zip(self.members, shares, strict=True)}

    def describe(self) -> str:
        if self.kind == "regression":
            return "non-negative least squares with an intercept"
        return f"multinomial logistic regression on log-probabilities, L2, C={self.params.get('C'):g}"


def _fold_ids(y: np.ndarray, k: int, *, classification: bool, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if not classification:
        return rng.permutation(len(y)) % k
    fold = np.empty(len(y), dtype=np.int64)
    offset = 0
    for cls in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == cls))
        fold[idx] = (np.arange(len(idx)) + offset) % k
        offset += len(idx)
    return fold


def _fit_logistic(x: np.ndarray, y: np.ndarray, n_classes: int, c: float,
                  warm: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Multinomial L2 logistic regression on standardised ``x``; (coef, intercept) on the raw
    features and the standardisation's scale (to report per-member shares). ``warm``: a
    LogisticRegression(warm_start=True) to refit at this C from its last solution (the inner
    choice of C walks the grid upwards on the same rows)."""
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    xs = (x - mean) / std
    coef = np.zeros((x.shape[1], n_classes))
    intercept = np.full(n_classes, ABSENT_LOGIT)
    present = np.unique(y)
    if len(present) == 1:
        intercept[present[0]] = 0.0
        return coef, intercept, std
    model = (warm.set_params(C=c) if warm is not None else LogisticRegression(C=c, max_iter=500)).fit(xs, y)
    classes = model.classes_.astype(np.int64)
    if len(classes) == 2:  # sklearn keeps one vector: softmax([0, z]) is sigmoid(z)
        coef[:, classes[1]] = model.coef_[0]
        intercept[classes[0]], intercept[classes[1]] = 0.0, float(model.intercept_[0])
    else:
        coef[:, classes] = model.coef_.T
        intercept[classes] = model.intercept_
    # Standardisation folded in: ((x - mean) / std) @ W + b = x @ (W / std) + (b - (mean / std) @ W).
    raw = coef / std[:, None]
    return raw, intercept - (mean / std) @ coef, std


def _log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], 1e-12, 1.0))))


def _choose_c(x: np.ndarray, y: np.ndarray, n_classes: int, *, seed: int) -> float:
    """The C of the grid with the lowest inner cross-validated log loss."""
    if len(y) > INNER_MAX_ROWS:
        pick = np.sort(np.random.default_rng(seed).choice(len(y), INNER_MAX_ROWS, replace=False))
        x, y = x[pick], y[pick]
    from sklearn.linear_model import LogisticRegression

    fold = _fold_ids(y, INNER_FOLDS, classification=True, seed=seed)
    proba = {c: np.zeros((len(y), n_classes)) for c in C_GRID}
    for f in range(INNER_FOLDS):
        fit, held = fold != f, fold == f
        warm = LogisticRegression(max_iter=500, warm_start=True)
        for c in sorted(C_GRID):
            coef, b, _ = _fit_logistic(x[fit], y[fit], n_classes, c, warm)
            proba[c][held] = Stacker("classification", [], coef, b).predict_features(x[held])
    losses = [_log_loss(y, proba[c]) for c in C_GRID]
    return C_GRID[int(np.argmin(losses))]


def fit(kind: scoring.Kind, members: list[str], x: np.ndarray, y: np.ndarray, *, n_classes: int = 0,
        seed: int = 0) -> Stacker:
    """The stacker fitted on ``x`` (``features``) and the targets ``y``; for classification C
    is chosen by an inner cross-validation on these rows alone."""
    if kind == "regression":
        from scipy.optimize import nnls

        xm, ym = x.mean(axis=0), float(np.mean(y))
        w, _ = nnls(x - xm, np.asarray(y, dtype=np.float64) - ym)
        return Stacker(kind, list(members), w.reshape(-1, 1), np.array([ym - float(xm @ w)]), {"method": "nnls"})
    y = np.asarray(y, dtype=np.int64)
    c = _choose_c(x, y, n_classes, seed=seed)
    coef, b, std = _fit_logistic(x, y, n_classes, c)
    return Stacker(kind, list(members), coef, b, {"C": c, "scale": std.tolist()})


def cross_validate(kind: scoring.Kind, x: np.ndarray, y: np.ndarray, *, n_classes: int = 0,
                   seed: int = 0, out_of_time=lambda: False) -> tuple[np.ndarray, np.ndarray]:
    """Nested cross-validation of the stacker over these rows: each outer fold predicted by a
    stacker (its C chosen by its own inner cross-validation) fitted on the other folds.
    Returns the predictions, ordered like ``y``, and each row's outer fold; raises
    ``StackTimeout`` when ``out_of_time()`` says so between folds."""
    fold = _fold_ids(np.asarray(y), OUTER_FOLDS, classification=kind == "classification", seed=seed)
    out = np.zeros((len(y), n_classes)) if kind == "classification" else np.zeros(len(y))
    for f in range(OUTER_FOLDS):
        fit_rows, held = fold != f, fold == f
        if not held.any():
            continue
        if out_of_time():
            raise StackTimeout(f"outer fold {f + 1} of {OUTER_FOLDS}")
        stacker = fit(kind, [], x[fit_rows], np.asarray(y)[fit_rows], n_classes=n_classes, seed=seed + f)
        out[held] = stacker.predict_features(x[held])
    return out, fold
