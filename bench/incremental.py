"""Does incremental training pay (issue 29, item 3)? On real sets of ``bench/quality.py``:

1. V001 trains on 75 % of the training rows (a seeded, stratified cut; the test rows as
   always), at the budget;
2. the other 25 % are added: V002 fresh trains on all of them at the budget; V002
   incremental trains on all of them from V001's bundle at HALF the budget.

The goal: incremental >= fresh in test accuracy, in <= 50 % of fresh's time. The table
prints each version's accuracy and wall seconds, and the verdict. Choices inside ExeML are
made on the training rows only; the test rows are the bench's.

    python -m bench.incremental                                   # credit, en_bbc_news, spoken_digits, digits64
    python -m bench.incremental --datasets credit --budget 60
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench import datasets_real as data
from bench.exeml_adapter import fit_predict
from bench.quality import scores

DEFAULT_SETS = ("credit", "en_bbc_news", "spoken_digits", "digits64")
FIRST_SHARE = 0.75


def first_part(ds, seed: int = 0):
    """``ds`` with FIRST_SHARE of its training rows (per class for classification)."""
    rng = np.random.default_rng(seed)
    if isinstance(ds, data.TableSet):
        y = ds.frame[ds.target].to_numpy()[ds.train_idx]
        keep = _stratified(y if ds.task == "classification" else np.zeros(len(y)), rng)
        kept = ds.train_idx[np.sort(keep)]
        order = np.concatenate([kept, ds.test_idx])
        frame = ds.frame.iloc[order].reset_index(drop=True)
        return replace(ds, frame=frame, train_idx=np.arange(len(kept)), test_idx=np.arange(len(kept), len(order)))
    labels = np.array([lab for _, lab in ds.train])
    keep = np.sort(_stratified(labels, rng))
    return replace(ds, train=[ds.train[i] for i in keep])


def _stratified(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = []
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        out.extend(rng.permutation(idx)[: max(1, int(round(FIRST_SHARE * len(idx))))])
    return np.asarray(out, dtype=np.int64)


def bench(name: str, budget: float, threads: int, root: Path) -> dict:
    ds = data.load(name, root / "data")
    metric = "rmse" if ds.task == "regression" else "accuracy"
    runs = {}
    v1 = fit_predict(first_part(ds), budget=budget, workdir=root / name / "v1", threads=threads)
    runs["V001 (75 %)"] = v1
    runs["V002 fresh"] = fit_predict(ds, budget=budget, workdir=root / name / "fresh", threads=threads)
    runs["V002 incremental (½ budget)"] = fit_predict(ds, budget=budget / 2, workdir=root / name / "inc",
                                                     threads=threads, base_bundle_dir=v1.bundle_dir)
    row = {"dataset": name, "modality": ds.modality, "metric": metric, "budget": budget, "runs": {}}
    for label, run in runs.items():
        row["runs"][label] = {metric: round(scores(ds, run.predictions)[metric], 4), "seconds": round(run.seconds, 1),
                              "log": [line for line in run.log if "incremental" in line or "continu" in line]}
    fresh, inc = row["runs"]["V002 fresh"], row["runs"]["V002 incremental (½ budget)"]
    better = inc[metric] <= fresh[metric] if metric == "rmse" else inc[metric] >= fresh[metric]
    row["meets_goal"] = better and inc["seconds"] <= 0.5 * fresh["seconds"] * 1.05
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default=",".join(DEFAULT_SETS))
    ap.add_argument("--budget", type=float, default=60.0, help="V001's and fresh V002's; incremental gets half")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data-dir", default="", help="where generated WAV/PNG files are cached")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="exeml-incremental-") as tmp:
        root = Path(tmp)
        if args.data_dir:
            (root / "data").symlink_to(Path(args.data_dir).resolve())
        for name in args.datasets.split(","):
            try:
                row = bench(name, args.budget, args.threads, root)
            except Exception as exc:  # noqa: BLE001 - one set's failure must not end the run
                print(f"{name}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
                continue
            rows.append(row)
            print(json.dumps(row), flush=True)
    print("\n| dataset | modality | V001 on 75 % | V002 fresh | V002 incremental (½ budget) | goal |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        cells = [f"{v[r['metric']]:.4f} in {v['seconds']:.0f} s" for v in r["runs"].values()]
        print(f"| {r['dataset']} | {r['modality']} | {' | '.join(cells)} | {'met' if r['meets_goal'] else 'MISSED'} |")
    print(f"\n{sum(r['meets_goal'] for r in rows)} of {len(rows)} sets meet the goal "
          f"(incremental >= fresh in {rows[0]['metric'] if rows else 'accuracy'}, in <= 50 % of its time)")


if __name__ == "__main__":
    main()
