"""Model quality per trainer: ExeML's model vs a plain baseline at the same budget.

Usage: .venv/bin/python bench/train_quality.py [--budget 30] [--only tabular,text,sound,image,detection]
FLAML (the tables' baseline) comes with `pip install -e '.[bench]'`; without it that
column says n/a. Prints one table; nothing here is asserted by tests.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

COLUMNS = ["trainer", "dataset", "metric", "exeml_score", "exeml_seconds", "baseline", "baseline_score",
           "baseline_seconds", "images_per_s"]


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--budget", type=float, default=30.0, help="seconds per model")
    parser.add_argument("--only", default="tabular,text,sound,image,detection")
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    rows: list[dict] = []
    if wanted & {"tabular", "text", "sound"}:
        from bench import quality_tabular_text_sound

        rows += [r for r in quality_tabular_text_sound.run(args.budget) if _kind(r) in wanted]
    if wanted & {"image", "detection"}:
        from bench import quality_vision

        rows += [r for r in quality_vision.run(args.budget) if _kind(r) in wanted]
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) if rows else len(c) for c in COLUMNS}
    print("  ".join(c.ljust(widths[c]) for c in COLUMNS))
    for row in rows:
        print("  ".join(_fmt(row.get(c)).ljust(widths[c]) for c in COLUMNS))
    return 0


def _kind(row: dict) -> str:
    trainer = str(row.get("trainer", ""))
    for kind in ("tabular", "text", "sound", "image", "detection"):
        if kind in trainer:
            return kind
    return {"predictive_analytics": "tabular"}.get(trainer, trainer)


if __name__ == "__main__":
    raise SystemExit(main())
