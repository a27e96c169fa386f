"""The training budget in seconds, per trainer and preference: a run ends within 10 % of its
budget (plus nothing: the export is inside it) and ``accuracy_first`` uses at least 80 % of it.

This is a speed property, so the tests do not assert it (a busy machine misses it); they check
what the engine decides instead (tests/trainers: the deadline ends accuracy_first's search, a
cap in candidates ends it the same way everywhere; tests/engine: each preference's patience on
a simulated clock). Run this on an otherwise idle machine.

Usage: .venv/bin/python bench/budget.py [--budget 30]
Prints one line per run; exit status 1 when a run breaks the rule.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.trainers.ml_data import EN, tabular_csv, text_samples  # noqa: E402
from training.engine.spec import TrainSpec  # noqa: E402
from training.engine.trainers import get_trainer  # noqa: E402


def _runs(folder: Path):
    table = tabular_csv(folder / "binary.csv", kind="binary")
    for preference in ("performance_first", "balance", "accuracy_first"):
        yield "tabular", preference, TrainSpec(task_type="predictive_analytics", labels=(), tabular=table, threads=1,
                                               preference=preference)
    yield "text", "accuracy_first", TrainSpec(task_type="text_classification", labels=tuple(EN),
                                              samples=text_samples("en"), threads=1, preference="accuracy_first")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=30.0)
    args = parser.parse_args()
    broken = 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n, (trainer, preference, spec) in enumerate(_runs(folder)):
            task = spec.task_type
            get_trainer(task).fit(spec, folder / f"warm{n}", time.monotonic() + 2.0, lambda p, f: None)  # imports
            started = time.monotonic()
            result = get_trainer(task).fit(spec, folder / f"run{n}", started + args.budget, lambda p, f: None)
            share = (time.monotonic() - started) / args.budget
            ok = share <= 1.1 and (preference != "accuracy_first" or share >= 0.8)
            broken += not ok
            print(f"{trainer:8} {preference:18} {share:6.2f} of {args.budget:g} s  "
                  f"{len(result.evaluation['search']['leaderboard']):3} candidates  {'ok' if ok else 'BROKEN'}")
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
