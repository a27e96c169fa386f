"""Suspected-label-error detection on real labelled text with injected label noise.

Flips a share of the labels of a real data set (seeded), runs the same out-of-fold confident
learning the platform's label-check job runs (training/engine/label_quality.py) and prints
precision@k and recall@k of the ranked list against the flipped samples, k = number flipped.
Real data carries some label noise of its own, so precision against the injected flips is a
lower bound.

    python -m bench.label_noise [--noise 0.1] [--per-class 500]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench import datasets_real
from training.engine import label_quality


def run(name: str, rows: list[tuple[str, str]], noise: float, seed: int) -> dict:
    labels = sorted({lb for _, lb in rows})
    index = {lb: i for i, lb in enumerate(labels)}
    y_true = np.array([index[lb] for _, lb in rows])
    rng = np.random.default_rng(seed)
    flipped = rng.choice(len(rows), size=int(round(noise * len(rows))), replace=False)
    y = y_true.copy()
    for i in flipped:
        y[i] = rng.choice([k for k in range(len(labels)) if k != y_true[i]])
    started = time.monotonic()
    suspects = label_quality.text_suspects([t for t, _ in rows], y, n_classes=len(labels), seed=seed)
    seconds = time.monotonic() - started
    k = len(flipped)
    top = {s.index for s in suspects[:k]}
    hits = len(top & set(flipped.tolist()))
    return {"dataset": name, "rows": len(rows), "classes": len(labels), "flipped": k, "listed": len(suspects),
            "precision@k": hits / k, "recall_all": len({s.index for s in suspects} & set(flipped.tolist())) / k,
            "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--per-class", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sets = [datasets_real.chinese_reviews(per_class=args.per_class), datasets_real.bbc_news()]
    print("| dataset | rows | classes | flipped (k) | listed | precision@k | recall (whole list) | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for s in sets:
        r = run(s.name, s.train + s.test, args.noise, args.seed)
        print(f"| {r['dataset']} | {r['rows']} | {r['classes']} | {r['flipped']} | {r['listed']} | "
              f"{r['precision@k']:.2f} | {r['recall_all']:.2f} | {r['seconds']:.1f} |")


if __name__ == "__main__":
    main()
