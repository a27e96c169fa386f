"""Image classification search on sklearn's digits (8x8 upscaled to 32 px PNGs): the leaderboard
and what was selected. ``python -m bench.image_digits --seconds 120 --per-class 8``."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tests.trainers.test_image_search import digit_samples
from training.engine.spec import TrainSpec
from training.engine.trainers import get_trainer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--per-class", type=int, default=8)
    parser.add_argument("--eval-per-class", type=int, default=3)
    parser.add_argument("--finetune", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="digits-"))
    samples = digit_samples(root / "data", per_class_train=args.per_class, per_class_eval=args.eval_per_class)
    spec = TrainSpec(
        task_type="image_classification", labels=tuple(str(d) for d in range(10)), samples=tuple(samples),
        threads=2, preference="accuracy_first", params={"finetune": args.finetune},
    )
    result = get_trainer("image_classification").fit(spec, root / "work", time.monotonic() + args.seconds, lambda *a, **k: None)
    search = result.evaluation["search"]
    print(f"validation: {search['validation']}")
    for row in search["leaderboard"]:
        score = "-" if row["score"] is None else f"{row['score']:.3f}"
        print(f"{row['name']:<24}{row['status']:<9}{score:>7}{row['seconds']:>8.1f}s")
    print(f"selected: {search['selection']}; EVAL accuracy {result.metrics['accuracy']:.3f}; onnx {result.evaluation['onnx_check']}")


if __name__ == "__main__":
    main()
