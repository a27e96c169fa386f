"""What a running search shows: progress, ETA, leaderboard and score curve, handed to the
runner's progress callback (the runner stores the ``live`` dict with the version, so the
console can draw the leaderboard and the curve while the search runs)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from training.engine import scoring
from training.engine.budget import Budget
from training.engine.spec import ProgressFn

if TYPE_CHECKING:
    from training.engine.search import Trial


class LiveReport:
    """Progress, ETA, leaderboard and score curve of one search."""

    def __init__(self, progress: ProgressFn, budget: Budget, *, metric: str) -> None:
        self.progress = progress
        self.budget = budget
        self.metric = metric
        self.candidates: list[dict[str, Any]] = []
        self.curve: list[dict[str, Any]] = []
        self.last_improvement = budget.started
        self._accepts_live = _accepts_kwarg(progress, "live")

    def snapshot(self) -> dict[str, Any]:
        eta = self.budget.expected_end(self.last_improvement) - self.budget.now() + float(self.budget.export_reserve or 0)
        return {
            "eta_seconds": round(max(0.0, eta), 1),
            "metric": self.metric,
            "higher_is_better": scoring.higher_is_better(self.metric),
            "candidates": list(self.candidates[-200:]),
            "curve": list(self.curve[-500:]),
        }

    def beat(self, phase: str, fraction: float) -> None:
        """A heartbeat; raises StopTraining when the user stopped the version."""
        if self._accepts_live:
            self.progress(phase, fraction, live=self.snapshot())
        else:
            self.progress(phase, fraction)

    def candidate(self, trial: Trial, display_score: float | None) -> None:
        row = {
            "name": trial.name,
            "family": trial.family,
            "status": trial.status,
            "score": None if display_score is None else round(float(display_score), 6),
            "std_error": None if trial.std_error is None else round(float(trial.std_error), 6),
            "repeats": trial.repeats,
            "metric": self.metric,
            "seconds": round(trial.seconds + trial.extra_seconds, 2),
        }
        self.candidates = [c for c in self.candidates if c["name"] != trial.name] + [row]

    def point(self, candidate: str, value: float, *, epoch: int | None = None) -> None:
        self.curve.append(
            {"t": round(self.budget.elapsed(), 2), "candidate": candidate, "epoch": epoch, "score": round(float(value), 6)}
        )


def _accepts_kwarg(fn: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
