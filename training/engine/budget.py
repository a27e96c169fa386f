"""The time budget every trainer spends: one object instead of per-trainer deadline arithmetic.

A training run gets a hard deadline (the user's max minutes, less the runner's margin). The
budget keeps an export reserve at the end of it (ONNX export, evaluation, bundle writing),
answers "can I afford a candidate that took t seconds last time", and decides when the
search should stop, by preference:

- ``accuracy_first`` searches until the work deadline;
- ``balance`` stops once the validation score has not improved for a quarter of the budget;
- ``performance_first`` stops after a tenth of the budget without improvement.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Share of the whole budget the validation score may go without improving before the
# search stops (None: search until the deadline).
PATIENCE: dict[str, float | None] = {"performance_first": 0.10, "balance": 0.25, "accuracy_first": None}
MIN_PATIENCE_S = 20.0
# What the export phase costs relative to the whole budget, and its bounds in seconds.
EXPORT_SHARE, EXPORT_MIN_S, EXPORT_MAX_S = 0.08, 3.0, 90.0


def default_export_reserve(total_seconds: float) -> float:
    return max(EXPORT_MIN_S, min(EXPORT_MAX_S, EXPORT_SHARE * max(0.0, total_seconds)))


@dataclass
class Budget:
    """``deadline`` and ``started`` are ``clock()`` seconds (time.monotonic by default)."""

    deadline: float
    preference: str = "balance"
    export_reserve: float | None = None
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=-1.0)

    def __post_init__(self) -> None:
        if self.started < 0:
            self.started = self.clock()
        if self.export_reserve is None:
            self.export_reserve = default_export_reserve(self.total)
        # Never reserve more than half the budget for the export: a tiny budget still trains.
        self.export_reserve = min(float(self.export_reserve), 0.5 * max(0.0, self.total))

    @property
    def total(self) -> float:
        return max(0.0, self.deadline - self.started)

    @property
    def work_deadline(self) -> float:
        """Where training and search must end so the export still fits before ``deadline``."""
        return self.deadline - float(self.export_reserve or 0.0)

    def now(self) -> float:
        return self.clock()

    def elapsed(self) -> float:
        return self.clock() - self.started

    def left(self) -> float:
        """Seconds of training/search time left (the export reserve excluded)."""
        return max(0.0, self.work_deadline - self.clock())

    def hard_left(self) -> float:
        """Seconds until the hard deadline (the export reserve included)."""
        return max(0.0, self.deadline - self.clock())

    def used_fraction(self) -> float:
        work = self.work_deadline - self.started
        return 1.0 if work <= 0 else min(1.0, max(0.0, self.elapsed() / work))

    def exhausted(self) -> bool:
        return self.left() <= 0.0

    def can_afford(self, seconds: float, *, safety: float = 1.25) -> bool:
        """Whether a step expected to take ``seconds`` (e.g. what it took last time) fits."""
        return max(0.0, seconds) * safety <= self.left()

    def until(self, fraction_of_left: float) -> float:
        """An absolute deadline ``fraction_of_left`` of the remaining work time from now."""
        return self.clock() + max(0.0, min(1.0, fraction_of_left)) * self.left()

    def patience_seconds(self) -> float | None:
        share = PATIENCE.get(self.preference, PATIENCE["balance"])
        if share is None:
            return None
        return max(MIN_PATIENCE_S, share * self.total)

    def keep_searching(self, last_improvement: float) -> bool:
        """Whether the search goes on, given when (``clock()``) the best score last improved."""
        if self.exhausted():
            return False
        patience = self.patience_seconds()
        return patience is None or self.clock() - last_improvement < patience

    def expected_end(self, last_improvement: float) -> float:
        """When the search is expected to stop (for an ETA): the work deadline, or earlier
        when the preference's patience runs out first."""
        patience = self.patience_seconds()
        end = self.work_deadline
        if patience is not None:
            end = min(end, last_improvement + patience)
        return max(self.clock(), end)
