"""How candidates are validated: the strategy is chosen by data size and candidate cost.

Small data gets k-fold cross-validation, so every training row is predicted once out of
fold and the comparison between candidates is not decided by which 20 rows landed in one
hold-out; large data (or expensive candidates such as CNN fine-tuning) gets one stratified
hold-out. All candidates of one search share the same folds, so their out-of-fold
predictions line up row for row, which the ensemble needs.

Small data (up to ``REPEAT_MAX_ROWS``) also gets further repeats of the k-fold split, each
shuffled anew: one 5-fold split of 60 rows decides a comparison by which dozen rows share a
fold, so the search spends time it has left on more repeats of its leading candidates (a
score then has a standard error, ``standard_error``), not on stopping early.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

KFOLD_MAX_ROWS = 2000  # up to here: 5-fold
THREE_FOLD_MAX_ROWS = 10000  # up to here: 3-fold; above: one hold-out
HOLDOUT_SHARE = 0.2
REPEAT_MAX_ROWS = KFOLD_MAX_ROWS  # up to here: repeated k-fold (below a few thousand rows)
MAX_REPEATS = 10  # repeats of the k-fold split the search may spend spare time on


@dataclass(frozen=True)
class Folds:
    kind: Literal["kfold", "holdout"]
    # (fit positions, validation positions), positions into the candidates' row index.
    splits: tuple[tuple[np.ndarray, np.ndarray], ...]
    # Further repeats of ``splits`` (each a new shuffle, same k); empty: no repeats.
    more_repeats: tuple[tuple[tuple[np.ndarray, np.ndarray], ...], ...] = ()

    @property
    def repeats(self) -> int:
        return 1 + len(self.more_repeats)

    def repeat(self, r: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        return self.splits if r == 0 else self.more_repeats[r - 1]

    @property
    def validation_rows(self) -> np.ndarray:
        """Every position some fold validates on, sorted (all rows for k-fold)."""
        return np.unique(np.concatenate([val for _, val in self.splits]))

    def describe(self, repeats_used: int = 1) -> str:
        if self.kind == "kfold":
            k = f"{len(self.splits)}-fold cross-validation"
            return k if repeats_used <= 1 else f"{k}, repeated up to {repeats_used} times for the leading candidates"
        return f"hold-out of {len(self.splits[0][1])} rows"


def _stratified_assign(y: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Fold number per row, each class spread evenly over the folds."""
    fold = np.empty(len(y), dtype=np.int64)
    offset = 0
    for cls in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == cls))
        fold[members] = (np.arange(len(members)) + offset) % k
        offset += len(members)  # rotate so small classes don't all start in fold 0
    return fold


def make_folds(
    y: np.ndarray,
    *,
    classification: bool,
    seed: int = 0,
    expensive: bool = False,
    k: int | None = None,
    repeat: bool = True,
) -> Folds:
    """Folds over ``len(y)`` rows; ``y`` holds class indices (classification) or values."""
    y = np.asarray(y)
    n = len(y)
    rng = np.random.default_rng(seed)
    if n < 4:
        raise ValueError(f"too few rows to validate ({n}); at least 4 are needed")
    if k is None and not expensive and n <= THREE_FOLD_MAX_ROWS:
        k = 5 if n <= KFOLD_MAX_ROWS else 3
    if classification:
        # A class with fewer rows than folds cannot be in every fit: fewer folds then.
        smallest = int(np.min(np.unique(y, return_counts=True)[1]))
        if k is not None:
            k = max(2, min(k, smallest)) if smallest >= 2 else None
    if k:
        def one_split() -> tuple[tuple[np.ndarray, np.ndarray], ...]:
            fold = _stratified_assign(y, k, rng) if classification else rng.permutation(n) % k
            return tuple((np.flatnonzero(fold != f), np.flatnonzero(fold == f)) for f in range(k))

        splits = one_split()
        more = tuple(one_split() for _ in range(MAX_REPEATS - 1)) if n <= REPEAT_MAX_ROWS and repeat else ()
        return Folds("kfold", splits, more)
    return Folds("holdout", (_holdout(y, classification=classification, rng=rng),))


def _holdout(y: np.ndarray, *, classification: bool, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = len(y)
    if not classification:
        perm = rng.permutation(n)
        n_val = max(1, int(round(n * HOLDOUT_SHARE)))
        return np.sort(perm[n_val:]), np.sort(perm[:n_val])
    fit, val = [], []
    for cls in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == cls))
        # Every class keeps at least one row in fit; classes of 2+ rows give one to validation.
        n_val = min(len(members) - 1, int(round(len(members) * HOLDOUT_SHARE)))
        if n_val == 0 and len(members) >= 2:
            n_val = 1
        val.extend(members[:n_val].tolist())
        fit.extend(members[n_val:].tolist())
    if not val:
        val = fit[-1:]
    return np.sort(np.asarray(fit, dtype=np.int64)), np.sort(np.asarray(val, dtype=np.int64))


# Nadeau & Bengio (2003), as used by Bouckaert & Frank's corrected repeated k-fold t-test: the
# fold scores of k-fold share training rows, so their spread over sqrt(k*r) understates the
# error; the correction adds the test/train share, which repeats cannot average away.
def standard_error(fold_scores: list[float], *, k: int) -> float:
    """The standard error of the mean of ``fold_scores`` (k folds per repeat, any repeats)."""
    if len(fold_scores) < 2 or k < 2:
        return 0.0
    sd = float(np.std(fold_scores, ddof=1))
    return sd * float(np.sqrt(1.0 / len(fold_scores) + 1.0 / (k - 1)))
