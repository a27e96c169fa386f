"""The AutoML loop shared by every trainer: candidates, validation, selection, ensemble.

A trainer describes its task as rows (an index space it owns: the rows of a table, the
samples of a dataset) and a portfolio of candidates; each candidate knows how to fit on a
set of row positions and predict others. The search:

1. validates each candidate on the shared folds, cheapest baselines first, and keeps its
   out-of-fold predictions and cost;
2. skips a candidate the budget cannot afford (judged by what its family cost before);
3. stops when the budget's preference says so (patience) or at the work deadline; on small
   data (repeated folds) patience does not end the search: the time left goes to more repeats
   of the leading candidates (``repeat_leaders``); a perfect validation score ends the
   portfolio only when it settles the choice, and then the time left goes to repeats
   (``_stop_perfect``);
4. builds a greedy ensemble (Caruana et al. 2004: forward selection with replacement) over
   the candidates' out-of-fold predictions and keeps it only when it beats the best single
   candidate; on small data, candidates within one standard error of the best are tied and
   the simplest of them (the plain baselines), or their blend, is preferred (``_break_tie``);
   where a trainer turns it on (tables), a level-2 stack of each family's best replaces that
   choice only when its own nested cross-validation over the out-of-fold rows beats the best
   single candidate and the blend by more than one standard error (``_stack``);
5. reports progress, an ETA, a leaderboard (score ± standard error) and a score curve as
   candidates finish.

The trainer then refits the selection (on the TRAIN split for the honest evaluation, on all
labelled rows for the served model), exports it and checks the export.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from training.engine import calibration as calib
from training.engine import scoring, stacking, validation
from training.engine.budget import Budget
from training.engine.ensemble import ENSEMBLE_MIN_GAIN, ENSEMBLE_ROUNDS, blend, greedy_ensemble
from training.engine.live_report import LiveReport
from training.engine.spec import StopTraining
from training.engine.stacking import enabled as stacking_enabled
from training.engine.validation import Folds

logger = logging.getLogger(__name__)

POOL_PER_FAMILY = 2  # ensemble_pool="per_family": candidates of one family greedy selection sees
# A perfect validation ends the search only from this many rows: all n right bounds the error
# rate below 3/n at 95 % (the rule of three), 0.5 % here; on fewer rows it says little.
PERFECT_MIN_ROWS = 600
LEADERS = 5  # candidates the spare time re-validates on further repeats
# The time repeats may take, as a share of the time the search took before them (None: all
# the budget left): a user who asked for a fast result gets a bounded refinement.
REPEAT_SHARE: dict[str, float | None] = {"performance_first": 0.5, "balance": 1.0, "accuracy_first": None}


class Fitted(Protocol):
    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Class probabilities (n, k) for classification, values (n,) for regression."""


@dataclass
class Candidate:
    name: str
    family: str
    # fit(row positions, budget) -> a fitted model. It may stop early at budget.left().
    fit: Callable[[np.ndarray, Budget], Fitted]
    baseline: bool = False  # always tried, first, even once patience ran out
    params: dict[str, Any] = field(default_factory=dict)
    # An estimate of one fit's seconds when nothing of the family ran yet (None: unknown).
    est_seconds: float | None = None
    # One-time work the family's first fit does and later fits reuse (image embeddings): the
    # first validation costs it once, not once per fold.
    setup_seconds: float = 0.0
    exportable: bool = True
    # Whether spare time may re-validate it on further repeats of the folds (not for a fit
    # whose length follows the time left: a repeat would be another candidate).
    repeatable: bool = True


@dataclass
class Trial:
    name: str
    family: str
    status: str  # done | failed | skipped
    score: float | None = None
    seconds: float = 0.0
    oof: np.ndarray | None = None  # predictions on folds.validation_rows, in that order
    shown: float | None = None  # the user's metric (accuracy, RMSE) of ``oof``
    params: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    finished_at: float = 0.0
    candidate: Candidate | None = None
    # Per repeat of the folds (repeat 0 is ``oof``/the first validation): out-of-fold
    # predictions, the ranking score and the user's metric; and the metric per fold.
    oofs: list[np.ndarray] = field(default_factory=list)
    repeat_scores: list[float] = field(default_factory=list)
    repeat_shown: list[float] = field(default_factory=list)
    fold_shown: list[float] = field(default_factory=list)
    std_error: float | None = None  # of ``shown``
    # The same prediction for every row of every validation fold (a LightGBM that cannot split
    # ten rows predicts the prior): it says nothing about the input.
    constant: bool = False
    extra_seconds: float = 0.0  # spent on repeats after the first validation

    @property
    def repeats(self) -> int:
        return len(self.oofs)


@dataclass
class Selection:
    weights: dict[str, float]  # candidate name -> weight (one entry: a single model)
    score: float
    kind: str  # single | ensemble
    # Classification: temperature scaling (and, where a cross-validation of them says so, a
    # top-label isotonic map) fitted on the selection's out-of-fold predictions;
    # every fit of the selection (fit_selection) and its export apply it.
    calibration: calib.Calibration | None = None
    # kind "stack": the level-2 model on the members' predictions (``weights`` are then each
    # member's share of its coefficients), its nested out-of-fold predictions and the
    # cross-validation that chose it (``Search._stack``).
    stacker: stacking.Stacker | None = None
    stack_oof: np.ndarray | None = field(default=None, repr=False)
    stack_report: dict[str, Any] | None = None

    @property
    def members(self) -> list[str]:
        return list(self.weights)

    def describe(self) -> dict[str, Any]:
        """What evaluation["search"] and bundle.json's train_params record of it."""
        out: dict[str, Any] = {"kind": self.kind, "weights": self.weights}
        if self.stack_report is not None:
            out["stack"] = self.stack_report
        if self.calibration is not None:
            # Applied inside model.onnx (the graph's last nodes), so a predictor needs nothing.
            out["calibration"] = {**self.calibration.as_dict(), "applied_in": "model.onnx"}
        return out


class Search:
    """Runs a portfolio over shared folds within a budget; see the module docstring."""

    def __init__(
        self,
        *,
        y: np.ndarray,
        rows: np.ndarray,
        folds: Folds,
        kind: scoring.Kind,
        budget: Budget,
        report: LiveReport,
        progress_span: tuple[float, float] = (0.05, 0.85),
        ensemble_pool: Literal["top", "per_family"] = "top",
        max_trials: int | None = None,
        stacking: bool = False,
        n_classes: int = 0,
        refit_factor: float = 2.6,
        member_overhead: float = 0.0,
    ) -> None:
        self.y = np.asarray(y)  # target per position of ``rows``
        self.rows = np.asarray(rows)  # the trainer's row ids, by position
        self.folds = folds
        self.kind = kind
        self.budget = budget
        self.report = report
        self.span = progress_span
        self.ensemble_pool = ensemble_pool
        # A cap in candidates besides the one in time (a trainer's ``max_trials`` param): a run
        # that must end the same way on a fast and on a busy machine (tests, comparisons).
        self.max_trials = max_trials
        self.val_positions = folds.validation_rows
        self.trials: list[Trial] = []
        self.best: Trial | None = None
        self._family_seconds: dict[str, float] = {}
        self._skipped_for_time = False
        self._settled = False  # a perfect plain baseline ended the portfolio (``_stop_perfect``)
        self.repeats_used = 1
        # Level-2 stacking (``_stack``): tried after the selection when on (EXEML_STACKING=0
        # turns it off everywhere). ``n_classes``: the classes of a classification (a fold's
        # out-of-fold rows may lack one). A member's final refits cost ``refit_factor`` times
        # one of its search fits, plus ``member_overhead`` seconds (its export).
        self.stacking = stacking and stacking_enabled()
        self.n_classes = n_classes or (int(np.max(self.y)) + 1 if kind == "classification" and len(self.y) else 0)
        self.refit_factor = refit_factor
        self.member_overhead = member_overhead
        self.stack_report: dict[str, Any] | None = None  # the last stack tried, chosen or not
        self.stack_note = ""  # why no stack was tried, when two families could have been stacked
        self._greedy_choice: Selection | None = None

    # --------------------------------------------------------------- the loop

    def fraction(self) -> float:
        lo, hi = self.span
        return lo + (hi - lo) * self.budget.used_fraction()

    @property
    def small(self) -> bool:
        """Small data: the folds repeat, so the search can tell noise from a difference only by
        repeating, and ties are broken by ``_break_tie``."""
        return self.folds.repeats > 1

    def run(self, candidates: Iterable[Candidate]) -> list[Trial]:
        for cand in candidates:
            if self.max_trials is not None and len(self.trials) >= self.max_trials:
                break
            if self.budget.exhausted() and self.best is not None:
                break
            if not cand.baseline and self.best is not None and not self.budget.keep_searching(
                self.report.last_improvement
            ):
                logger.info(
                    "search: no improvement for %.0f s, stopping%s", self.budget.patience_seconds() or 0,
                    f" the portfolio; {len(self.val_positions)} validation rows are few, so the time left "
                    "goes to repeats of the leading candidates" if self.small else "",
                )
                break
            if not cand.baseline and self.budget.preference != "accuracy_first" and self._stop_perfect():
                break
            self.evaluate(cand)
        # A capped run (max_trials) must end the same way on a fast and on a busy machine.
        if self.small and self.max_trials is None:
            self.repeat_leaders()
        return self.trials

    def _stop_perfect(self) -> bool:
        """Nothing left to win. On enough rows: the best candidate is right on every validation
        row with confident probabilities. On fewer rows a perfect score says little of the
        candidate, and the search goes on, unless a plain baseline is perfect: that settles
        the choice, since the one-standard-error rule serves it (``_break_tie``) whatever ties
        with it and no blend can score more than one standard error above it (the score's
        log-loss part is a tie-break worth at most ``LOGLOSS_WEIGHT`` × 10). The portfolio then
        stops, and the time left goes to repeats of the tied leaders, without the preference's
        bound (``repeat_leaders``): the one thing left that can still move the choice."""
        if self.kind != "classification":
            return False
        if len(self.val_positions) >= PERFECT_MIN_ROWS:
            best = self.best
            if (best is not None and best.oof is not None and best.shown == 1.0
                    and scoring.log_loss(self.y[self.val_positions], best.oof) < 0.05):
                logger.info("search: a candidate is already perfect on validation, stopping")
                return True
            return False
        if not self.small:
            return False
        for t in self.done():
            if (t.candidate is not None and t.candidate.baseline and not t.constant and t.shown == 1.0
                    and (t.score or 0.0) + (t.std_error or 0.0) >= 1.0):
                logger.info(
                    "search: plain baseline %s is right on every one of %d validation rows, which settles "
                    "the choice (the one-standard-error rule serves it whatever ties with it): the portfolio "
                    "stops and the time left goes to repeats of the tied leaders", t.name, len(self.val_positions),
                )
                self._settled = True
                return True
        return False

    def repeat_leaders(self) -> None:
        """Spend time left on further repeats of the folds for the candidates tied with the
        best (within one standard error), one repeat each per round, while the budget affords
        them and a choice among them is still to be made: their scores then average several
        shuffles. The preference bounds the time repeats may take (``REPEAT_SHARE``), unless
        the portfolio ended settled (``_stop_perfect``): repeats are then all that is left."""
        share = None if self._settled else REPEAT_SHARE.get(self.budget.preference, REPEAT_SHARE["balance"])
        until = None if share is None else self.budget.now() + share * self.budget.elapsed()
        for r in range(1, self.folds.repeats):
            leaders = self._leaders()
            if len(leaders) < 2 or (until is not None and self.budget.now() >= until):
                break  # one clear leader: more repeats would not change the choice
            ran = False
            for trial in leaders:
                if trial.repeats > r or trial.candidate is None or not trial.candidate.repeatable:
                    continue
                one = self._family_seconds.get(trial.family)
                if one is None or not self.budget.can_afford(one * len(self.folds.splits) + self._finish_seconds()):
                    continue
                self._repeat(trial, r)
                ran = True
            if not ran:
                break
            self.repeats_used = max(self.repeats_used, r + 1)
            logger.info(
                "search: repeat %d of the folds for %s", r + 1, ", ".join(t.name for t in leaders if t.repeats > r)
            )

    def _finish_seconds(self) -> float:
        """What the trainer's ending costs beyond the export reserve, kept out of the repeats:
        two refits of the selection's members (TRAIN, then all rows; more rows than a fold's)."""
        return sum(self.refit_seconds(t) for t in self.likely_members()) + self.stack_seconds()

    def stack_seconds(self, pool: list[Trial] | None = None) -> float:
        """The time the level-2 stack's cross-validation is expected to take (0 when none
        would be tried): kept out of the search like the final refits. The refits of members
        the selection does not hold are not kept: a member joins the stack only when its
        refits fit the time left at the end (``_stack_pool``); keeping them for every
        family's best cost loans 8 of its 12 candidates (docs/ml-notes.md)."""
        if not self.stacking:
            return 0.0
        pool = self._stack_pool(limit_by_budget=False) if pool is None else pool
        if len(pool) < 2 or len(self.val_positions) < stacking.MIN_ROWS:
            return 0.0
        width = max(1, self.n_classes)
        return stacking.estimated_seconds(len(self.val_positions), len(pool) * width, self.n_classes)

    def refit_seconds(self, trial: Trial) -> float:
        """The final refits of ``trial`` (TRAIN, then all rows), from its measured fold fits."""
        return self.refit_factor * trial.seconds / max(1, len(self.folds.splits)) + self.member_overhead

    def _leaders(self) -> list[Trial]:
        pool = sorted(self.done(exportable_only=False), key=lambda t: -(t.score or -np.inf))
        return self._tied(pool)[:LEADERS]

    def _repeat(self, trial: Trial, r: int) -> None:
        cand = trial.candidate
        assert cand is not None
        self.report.beat(f"repeating {cand.name}"[:40], self.fraction())
        started = time.monotonic()
        try:
            parts, _ = self._validate(cand, self.folds.repeat(r))
        except StopTraining:
            raise
        except Exception as exc:  # a repeat that fails leaves the trial as the first repeat scored it
            logger.warning("repeat %d of %s failed: %s", r + 1, cand.name, exc)
            return
        trial.extra_seconds += time.monotonic() - started
        self._add_repeat(trial, parts)
        # The mean over more repeats may move any leader down or up.
        self.best = max(self.done(exportable_only=False), key=lambda t: t.score or -np.inf)
        self.report.candidate(trial, trial.shown)

    @property
    def stopped_by_deadline(self) -> bool:
        """Whether the time limit cut the search (rather than patience or the end of the portfolio):
        the work time ran out, or a candidate was skipped because it no longer fitted."""
        return self.budget.exhausted() or self._skipped_for_time

    def cut_by_time(self) -> None:
        """A portfolio that stops proposing because the time left no longer fits a candidate
        (and the final fits after it) says so here: the deadline cut the search."""
        self._skipped_for_time = True

    def expected_seconds(self, cand: Candidate) -> float | None:
        k = len(self.folds.splits)
        if cand.family in self._family_seconds:
            return self._family_seconds[cand.family] * k
        if cand.est_seconds is None:
            return None
        return cand.setup_seconds + cand.est_seconds * k

    def evaluate(self, cand: Candidate) -> Trial:
        expected = self.expected_seconds(cand)
        if self.best is not None and expected is not None and not self.budget.can_afford(expected):
            trial = Trial(cand.name, cand.family, "skipped", params=cand.params, error="not enough time left")
            self._skipped_for_time = True
            self._record(trial, None)
            return trial
        self.report.beat(f"trying {cand.name}"[:40], self.fraction())
        started = time.monotonic()
        try:
            parts, fold_seconds = self._validate(cand, self.folds.splits)
        except StopTraining:
            raise
        except Exception as exc:  # one broken candidate must not end the search
            logger.warning("candidate %s failed: %s", cand.name, exc, exc_info=True)
            trial = Trial(cand.name, cand.family, "failed", seconds=time.monotonic() - started, error=str(exc)[:300])
            self._record(trial, None)
            return trial
        seconds = time.monotonic() - started
        # The median fold: a first fold that did the family's one-time work (embeddings) does
        # not make every later candidate of the family look that expensive.
        self._family_seconds[cand.family] = float(np.median(fold_seconds))
        trial = Trial(cand.name, cand.family, "done", seconds=seconds, params=cand.params,
                      finished_at=self.budget.now(), candidate=cand)
        self._add_repeat(trial, parts)
        self._record(trial, trial.score)
        return trial

    def _validate(self, cand: Candidate, splits) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[float]]:
        """Out-of-fold predictions per split, and each split's seconds."""
        parts, seconds = [], []
        for fit_pos, val_pos in splits:
            started = self.budget.now()  # the budget's clock: what affordability is judged in
            model = cand.fit(self.rows[fit_pos], self.budget)
            parts.append((val_pos, np.asarray(model.predict(self.rows[val_pos]))))
            seconds.append(self.budget.now() - started)
            self.report.beat(f"trying {cand.name}"[:40], self.fraction())
        return parts, seconds

    def _add_repeat(self, trial: Trial, parts: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Adds one validation (one repeat of the folds) to ``trial``: its score and metric
        become the means over repeats, and its standard error is updated."""
        oof = self._assemble(parts)
        truth = self.y[self.val_positions]
        trial.oofs.append(oof)
        trial.repeat_scores.append(scoring.score(self.kind, truth, oof))
        trial.repeat_shown.append(scoring.metric(self.kind, truth, oof))
        if self.folds.kind == "kfold":
            trial.fold_shown.extend(scoring.metric(self.kind, self.y[val], pred) for val, pred in parts)
        if len(trial.oofs) == 1:
            trial.constant = all(len(pred) < 2 or float(np.ptp(pred, axis=0).max()) < 1e-9 for _, pred in parts)
        trial.oof = trial.oofs[0]
        trial.score = float(np.mean(trial.repeat_scores))
        trial.shown = float(np.mean(trial.repeat_shown))
        trial.std_error = self._standard_error(trial)

    def _standard_error(self, trial: Trial) -> float:
        """Of the trial's metric: the corrected spread of its fold scores, and never below what
        the number of validation rows allows (a perfect score on 40 rows is not certain)."""
        folds = validation.standard_error(trial.fold_shown, k=len(self.folds.splits))
        return max(folds, scoring.row_standard_error(self.kind, self.y[self.val_positions], trial.oofs[0]))

    def _assemble(self, parts: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Out-of-fold predictions ordered like ``val_positions``."""
        order = {int(p): i for i, p in enumerate(self.val_positions)}
        first = parts[0][1]
        shape = (len(self.val_positions),) + first.shape[1:]
        out = np.zeros(shape, dtype=np.float64)
        for val_pos, pred in parts:
            out[[order[int(p)] for p in val_pos]] = pred
        return out

    def _tied(self, ranked: list[Trial]) -> list[Trial]:
        """The candidates of ``ranked`` (best first) whose metric is within one standard error
        of the best's: the validation cannot tell them apart."""
        if not ranked or ranked[0].shown is None:
            return ranked[:1]
        best = ranked[0]
        tol = best.std_error or 0.0
        sign = 1.0 if self.kind == "classification" else -1.0  # accuracy up, RMSE down
        return [t for t in ranked if t.shown is not None and sign * (t.shown - best.shown) >= -tol - 1e-12]

    def _record(self, trial: Trial, value: float | None) -> None:
        self.trials.append(trial)
        if value is not None and (self.best is None or value > (self.best.score or -np.inf)):
            self.best = trial
            self.report.last_improvement = self.budget.now()
        shown = trial.shown
        self.report.candidate(trial, shown)
        if shown is not None:
            self.report.point(trial.name, shown)
            if self.best is not None and self.best.shown is not None:
                self.report.point("best", self.best.shown)
        logger.info(
            "candidate %-28s %-8s score %s in %.1f s%s",
            trial.name, trial.status, "-" if shown is None else f"{shown:.5g}", trial.seconds,
            f" ({trial.error})" if trial.error else "",
        )
        self.report.beat(f"searched {len(self.trials)} candidates", self.fraction())

    # --------------------------------------------------------------- selection

    def done(self, *, exportable_only: bool = True) -> list[Trial]:
        return [
            t for t in self.trials
            if t.status == "done" and t.oof is not None and (not exportable_only or (t.candidate and t.candidate.exportable))
        ]

    def select(self, *, ensemble: bool = True, max_members: int = 5, compatible: Callable[[list[Trial]], bool] | None = None,
               quiet: bool = False, calibrate: bool = True) -> Selection:
        """The best single candidate, or a greedy ensemble when it scores higher; for
        classification (unless ``quiet``, a look-ahead during the search) with its calibration."""
        selection = self._select(ensemble=ensemble, max_members=max_members, compatible=compatible, quiet=quiet)
        if self.stacking and ensemble and not quiet:
            selection = self._stack(selection, max_members=max_members, compatible=compatible) or selection
        if self.kind == "classification" and calibrate and not quiet:
            selection.calibration = self.calibrate(selection)
            c = selection.calibration
            logger.info(
                "calibration: %s, T=%.4g on %d out-of-fold rows, ECE %.4f -> %.4f, log loss %.4f -> %.4f %s",
                c.method, c.temperature, c.rows, c.ece_before, c.ece_after, c.log_loss_before, c.log_loss_after, c.note,
            )
        return selection

    def oof(self, selection: Selection) -> np.ndarray:
        """The selection's out-of-fold predictions (its members' blended), ordered like
        ``val_positions``; a stack's are its nested cross-validation's."""
        if selection.stack_oof is not None:
            return selection.stack_oof
        return blend({n: self.trial(n).oof for n in selection.weights}, selection.weights)

    def calibrate(self, selection: Selection) -> calib.Calibration:
        """The calibrator (calibration.fit) fitted on the selection's out-of-fold predictions: rows no
        model of the selection was fitted on, so the over-confidence it corrects is the one
        unseen inputs meet."""
        return calib.fit(self.y[self.val_positions], self.oof(selection))

    def cv_score(self, weights: dict[str, float]) -> float:
        """The blend's ranking score averaged over the repeats its members all have."""
        members = [self.trial(n) for n in weights]
        common = min(t.repeats for t in members)
        truth = self.y[self.val_positions]
        return float(np.mean([
            scoring.score(self.kind, truth, blend({t.name: t.oofs[r] for t in members}, weights)) for r in range(common)
        ]))

    def _select(self, *, ensemble: bool, max_members: int, compatible: Callable[[list[Trial]], bool] | None,
                quiet: bool) -> Selection:
        pool = self.done()
        if not pool:
            raise RuntimeError("no candidate finished")
        best = max(pool, key=lambda t: t.score or -np.inf)
        single = Selection({best.name: 1.0}, float(best.score or 0.0), "single")
        greedy = self._greedy(pool, best, single, ensemble=ensemble, max_members=max_members, compatible=compatible)
        self._greedy_choice = greedy
        if self.small:
            return self._break_tie(pool, best, greedy, ensemble=ensemble, max_members=max_members,
                                   compatible=compatible, quiet=quiet)
        if greedy is not None and not quiet:
            logger.info("ensemble %s scores %.5g over the best single %.5g", greedy.weights, greedy.score, single.score)
        return greedy or single

    def _break_tie(self, pool: list[Trial], best: Trial, greedy: Selection | None, *, ensemble: bool,
                   max_members: int, compatible: Callable[[list[Trial]], bool] | None, quiet: bool) -> Selection:
        """Small data: the one-standard-error rule. Candidates within one standard error of the
        best are tied; among them the plain baselines (library defaults, regularised linear
        models: the simplest candidates) are preferred when any is tied, and the best of
        those is served, or their equal blend when it gets at least one more row right in
        cross-validation (regression: a better score). A greedy blend replaces the choice (tied
        or not) only when it scores more than one standard error higher."""
        ranked = sorted(pool, key=lambda t: -(t.score or -np.inf))
        tied = self._tied(ranked)
        margin = best.std_error or 0.0
        if len(tied) < 2:
            single = Selection({best.name: 1.0}, float(best.score or 0.0), "single")
            return greedy if greedy is not None and greedy.score > single.score + margin else single
        # A constant model is the simplest of all but says nothing: preferred only when nothing
        # that looks at the input is tied.
        informative = [t for t in tied if not t.constant] or tied
        simple = [t for t in informative if t.candidate is not None and t.candidate.baseline] or informative
        lead = simple[0]
        chosen, how = Selection({lead.name: 1.0}, float(lead.score or 0.0), "single"), f"the simplest tied ({lead.name})"
        members = simple[:max_members]
        if ensemble and len(members) > 1 and (compatible is None or compatible(members)):
            weights = {t.name: 1.0 / len(members) for t in members}
            if self._blend_gains(weights, lead):
                chosen, how = Selection(weights, self.cv_score(weights), "ensemble"), "their equal blend"
        if greedy is not None and greedy.score > chosen.score + margin:
            chosen, how = greedy, "a greedy blend, better by more than one standard error"
        if not quiet:
            logger.info(
                "selection: %d candidates tie within one standard error (%.4g) of %s; serving %s: %s",
                len(tied), best.std_error or 0.0, best.name, how, chosen.weights,
            )
        return chosen

    def _blend_gains(self, weights: dict[str, float], lead: Trial) -> bool:
        """Whether the blend beats ``lead`` over the repeats they share: classification by at
        least one validation row right on average (a log-loss gain alone is noise there),
        regression by any score."""
        members = [self.trial(n) for n in weights]
        common = min(t.repeats for t in [*members, lead])
        truth = self.y[self.val_positions]
        gains = []
        for r in range(common):
            blended = blend({t.name: t.oofs[r] for t in members}, weights)
            if self.kind == "classification":
                gains.append((scoring.metric(self.kind, truth, blended) - scoring.metric(self.kind, truth, lead.oofs[r]))
                             * len(truth))
            else:
                gains.append(scoring.score(self.kind, truth, blended) - scoring.score(self.kind, truth, lead.oofs[r]))
        return float(np.mean(gains)) >= (0.5 if self.kind == "classification" else ENSEMBLE_MIN_GAIN)

    def _greedy(self, pool: list[Trial], best: Trial, single: Selection, *, ensemble: bool, max_members: int,
                compatible: Callable[[list[Trial]], bool] | None) -> Selection | None:
        """A greedy ensemble when it beats the best single model (the gates below), else None."""
        if not ensemble or len(pool) < 2:
            return None
        top = self._ensemble_pool(pool, max_members)
        weights, value = greedy_ensemble(
            {t.name: t.oof for t in top}, self.y[self.val_positions], self.kind, rounds=ENSEMBLE_ROUNDS,
            max_members=max_members,
        )
        members = [t for t in top if t.name in weights]
        if compatible is not None and not compatible(members):
            return None
        if len(weights) < 2 or value <= single.score + ENSEMBLE_MIN_GAIN:
            return None
        if self.kind == "classification" and not self._more_rows_right(weights, best):
            return None
        return Selection(weights, value, "ensemble")

    def _ensemble_pool(self, pool: list[Trial], max_members: int) -> list[Trial]:
        """The candidates greedy selection may blend.

        "top": the strongest few, so greedy selection over noisy small folds cannot wander far.
        "per_family": the strongest ``POOL_PER_FAMILY`` of each family. A tuned family (an
        Optuna study) leaves dozens of near-copies at the top of the leaderboard; greedy
        selection over them re-weights copies to fit the validation rows' noise, which did not
        carry over to held-out rows (docs/ml-notes.md: credit and ames tables)."""
        ranked = sorted(pool, key=lambda t: -(t.score or -np.inf))
        if self.ensemble_pool == "top":
            return ranked[: max(2, max_members * 2)]
        taken: Counter[str] = Counter()
        chosen = []
        for t in ranked:
            taken[t.family] += 1
            if taken[t.family] <= POOL_PER_FAMILY:
                chosen.append(t)
        return chosen

    # ------------------------------------------------------------ level 2

    def _stack_pool(self, *, limit_by_budget: bool = True, max_members: int = 5,
                    keep: Iterable[str] = ()) -> list[Trial]:
        """The stack's members: the best candidate of each family (diverse families, not
        near-copies of one tuned model), best first, at most ``max_members``; a model that
        predicts the same for every row adds nothing. With ``limit_by_budget`` a member is
        taken only while the final refits of all taken (their measured fold fits, as the
        blend's are reserved) still fit the time left; ``keep`` (the current selection's
        members, reserved for already) are counted first."""
        ranked = sorted((t for t in self.done() if not t.constant), key=lambda t: -(t.score or -np.inf))
        best_of: dict[str, Trial] = {}
        for t in ranked:
            best_of.setdefault(t.family, t)
        pool = list(best_of.values())[:max_members]
        if not limit_by_budget:
            return pool
        reserve = float(self.budget.export_reserve or 0.0)
        cost = sum(self.refit_seconds(self.trial(n)) for n in keep) + self.stack_seconds(pool)
        taken = []
        for t in pool:
            extra = 0.0 if t.name in keep else self.refit_seconds(t)
            if cost + extra - reserve <= self.budget.left():
                cost += extra
                taken.append(t)
        return taken

    def _stack(self, selection: Selection, *, max_members: int,
               compatible: Callable[[list[Trial]], bool] | None) -> Selection | None:
        """Level-2 stacking (``training/engine/stacking.py``): a regularised model on the
        out-of-fold predictions of the best candidate of each family, scored by its own
        cross-validation over those out-of-fold rows (nested: its C chosen inside each outer
        fit). It replaces ``selection`` only when it beats the best single candidate, the
        greedy blend and ``selection`` each by more than one standard error of the per-row
        difference (classification: rows right; regression: squared errors), the
        one-standard-error rule of the rest of the selection. None: nothing changes."""
        pool = self._stack_pool(max_members=max_members, keep=selection.members)
        truth = self.y[self.val_positions]
        if len(pool) < 2 or len(truth) < stacking.MIN_ROWS:
            if len(self._stack_pool(limit_by_budget=False, max_members=max_members)) >= 2:
                self.stack_note = ("too few out-of-fold rows" if len(truth) < stacking.MIN_ROWS else
                                   "the stacker and the refits of two families' best no longer fit the time left")
                logger.info("stacking: not tried (%s)", self.stack_note)
            return None
        if compatible is not None and not compatible(pool):
            return None
        started = time.monotonic()
        names = [t.name for t in pool]
        x = stacking.features(self.kind, [t.oof for t in pool])
        # It may take twice what the search kept for it (a loaded machine), and never the time
        # the refits need: the refits, the export and the evaluation come after it.
        budget = self.budget
        refits = sum(self.refit_seconds(t) for t in pool)
        until = budget.now() + min(2.0 * self.stack_seconds(pool), max(0.0, budget.hard_left() - refits))
        try:
            stacked, fold = stacking.cross_validate(self.kind, x, truth, n_classes=self.n_classes,
                                                    out_of_time=lambda: budget.now() > until)
        except Exception as exc:  # a stacker that cannot be fitted leaves the selection as it is
            self.stack_note = f"its cross-validation stopped: {exc}"
            logger.warning("stacking: not evaluated: %s", exc)
            return None
        best = max(self.done(), key=lambda t: t.score or -np.inf)
        refs = {f"best single ({best.name})": best.oof, "selection": self.oof(selection)}
        if self._greedy_choice is not None:
            refs["greedy blend"] = self.oof(self._greedy_choice)
        mine = _row_loss(self.kind, truth, stacked)
        gains = {}
        for label, pred in refs.items():
            diff = _row_loss(self.kind, truth, pred) - mine  # > 0: the stack does better on the row
            gains[label] = (float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0)
        wins = all(gain > se for gain, se in gains.values())
        fold_metrics = [scoring.metric(self.kind, truth[fold == f], stacked[fold == f]) for f in np.unique(fold)]
        shown = scoring.metric(self.kind, truth, stacked)
        se = max(validation.standard_error(fold_metrics, k=stacking.OUTER_FOLDS),
                 scoring.row_standard_error(self.kind, truth, stacked))
        blend_shown = None if self._greedy_choice is None else scoring.metric(self.kind, truth, refs["greedy blend"])
        report: dict[str, Any] = {
            "members": names,
            "chosen": wins,
            "validation": f"{stacking.OUTER_FOLDS}-fold cross-validation over the {len(truth)} out-of-fold rows",
            "score": round(shown, 6),
            "std_error": round(se, 6),
            "best_single": {"name": best.name, "score": best.shown},
            "blend": None if blend_shown is None else round(blend_shown, 6),
            "selection": round(scoring.metric(self.kind, truth, refs["selection"]), 6),
            "gains": {k: {"mean": round(g, 6), "std_error": round(s, 6)} for k, (g, s) in gains.items()},
            "seconds": 0.0,
        }
        line = (f"stack of {', '.join(names)}: {shown:.4g} ± {se:.2g} vs best single {best.name} {best.shown:.4g}"
                + ("" if blend_shown is None else f", blend {blend_shown:.4g}"))
        # The console's leaderboard (the live report) shows the stack beside the candidates.
        self.report.candidate(Trial("stack(" + "+".join(names) + ")", "stack", "done", score=shown,
                                    seconds=time.monotonic() - started, shown=shown, std_error=se), shown)
        if not wins:
            report["seconds"] = round(time.monotonic() - started, 3)
            self.stack_report = {**report, "summary": line}
            logger.info("stacking: %s; kept %s %s (the stack must win by more than one standard error: %s)",
                        line, selection.kind, selection.weights,
                        ", ".join(f"{k} {g:+.4g} ± {s:.2g}" for k, (g, s) in gains.items()))
            return None
        stacker = stacking.fit(self.kind, names, x, truth, n_classes=self.n_classes)
        report["stacker"] = stacker.describe()
        report["seconds"] = round(time.monotonic() - started, 3)
        self.stack_report = {**report, "summary": line}
        logger.info("stacking: %s; serving the stack (%s)", line, stacker.describe())
        return Selection(stacker.member_weights(), scoring.score(self.kind, truth, stacked), "stack",
                         stacker=stacker, stack_oof=stacked, stack_report=self.stack_report)

    def likely_members(self) -> list[Trial]:
        """The candidates ``select`` would choose now: what the final refits will fit, so the
        time reserved for them is their cost (not a fixed top few; an ensemble may hold more)."""
        if not self.done():
            return []
        return [self.trial(name) for name in self.select(quiet=True).weights]

    def _more_rows_right(self, weights: dict[str, float], best: Trial) -> bool:
        """Whether the blend classifies at least one more validation row correctly than the
        best single model. A gain in log loss alone is what greedy selection over a few hundred
        rows finds by chance, and it did not carry over to held-out rows on real tables."""
        y = self.y[self.val_positions]
        blended = blend({n: self.trial(n).oof for n in weights}, weights)
        gained = scoring.metric(self.kind, y, blended) - scoring.metric(self.kind, y, best.oof)
        return gained * len(y) >= 0.5  # accuracy in whole rows

    def trial(self, name: str) -> Trial:
        return next(t for t in self.trials if t.name == name)

    def leaderboard(self) -> list[dict[str, Any]]:
        rows = []
        for t in self.trials:
            rows.append(
                {
                    "name": t.name,
                    "family": t.family,
                    "status": t.status,
                    "score": t.shown,
                    "std_error": None if t.std_error is None else round(t.std_error, 6),
                    "repeats": t.repeats,
                    "seconds": round(t.seconds + t.extra_seconds, 2),
                    "params": t.params,
                    **({"error": t.error} if t.error else {}),
                }
            )
        if self.stack_report is not None:  # the level-2 stack tried after the search
            r = self.stack_report
            rows.append({"name": "stack(" + "+".join(r["members"]) + ")", "family": "stack", "status": "done",
                         "score": r["score"], "std_error": r["std_error"], "repeats": 1, "seconds": r["seconds"],
                         "params": {"members": r["members"], "chosen": r["chosen"],
                                    **({"stacker": r["stacker"]} if "stacker" in r else {})}})
        return rows


def _row_loss(kind: scoring.Kind, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Per row, what the stacking rule compares: a wrong answer (1) or a right one (0) for
    classification, the squared error for regression."""
    if kind == "regression":
        return (np.asarray(pred, dtype=np.float64).reshape(-1) - y) ** 2
    return (np.argmax(pred, axis=1) != y).astype(np.float64)
