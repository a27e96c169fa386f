"""Training a large predictive-analytics table: wall time, budget kept, peak RSS, rows the
search and the final fits used, and the EVAL metric, for 100k and 1M rows x 30 columns.

Each size trains in its own child process (peak RSS is per process). The CSVs are written
to a local folder outside the repository (default /tmp/exeml_table_scale) and reused.

    python -m bench.table_scale                      # 100k and 1M rows, 150 s budget
    python -m bench.table_scale --rows 100000 --budget 60
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import time
from pathlib import Path

import numpy as np

N_NUMERIC = 18
N_CATEGORICAL = 11  # + the label: 30 columns


def write_csv(path: Path, n: int, seed: int = 0) -> None:
    """Mixed numeric / categorical columns with blanks; a binary label from a few of them."""
    if path.is_file():
        return
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".part")
    chunk = 100_000
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(",".join([f"num{i}" for i in range(N_NUMERIC)] + [f"cat{i}" for i in range(N_CATEGORICAL)] + ["label"]) + "\n")
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            num = rng.normal(0, 1, (m, N_NUMERIC)).round(4)
            cats = rng.integers(0, 12, (m, N_CATEGORICAL))
            score = num[:, 0] + 0.8 * num[:, 1] - 0.5 * num[:, 2] * num[:, 3] + (cats[:, 0] % 3 == 0) * 0.9
            score += rng.normal(0, 0.7, m)
            label = np.where(score > 0.4, "yes", "no")
            num_s = num.astype(str)
            num_s[rng.random((m, N_NUMERIC)) < 0.02] = ""
            cat_s = np.char.add("v", cats.astype(str))
            cat_s[rng.random((m, N_CATEGORICAL)) < 0.02] = ""
            table = np.concatenate([num_s, cat_s, label[:, None]], axis=1)
            fh.write("\n".join(",".join(row) for row in table.tolist()) + "\n")
    tmp.rename(path)


def _spec(path: Path, n: int, budget: float):
    from training.engine.spec import TabularSpec, TrainSpec

    columns = tuple(f"attr_{i + 1}" for i in range(N_NUMERIC + N_CATEGORICAL + 1))
    kinds = {c: ("numeric" if i < N_NUMERIC else "categorical") for i, c in enumerate(columns[:-1])}
    names = tuple([f"num{i}" for i in range(N_NUMERIC)] + [f"cat{i}" for i in range(N_CATEGORICAL)] + ["label"])
    tab = TabularSpec(csv_path=str(path), columns=columns, kinds=kinds, label_column=columns[-1],
                      label_type="discrete", eval_rows=tuple(range(0, n, 5)), names=names, has_header=True)
    return TrainSpec(task_type="predictive_analytics", labels=(), tabular=tab, threads=os.cpu_count() or 1,
                     max_seconds=budget)


def _hwm_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def _train(path: str, n: int, budget: float, queue) -> None:
    from training.engine.trainers import get_trainer

    spec = _spec(Path(path), n, budget)
    work = Path(path).with_suffix(".work")
    started = time.monotonic()
    read_rss = None
    try:
        from training.engine.trainers.tabular_data import TabularData

        t0 = time.monotonic()
        TabularData(spec)  # the read alone, for where the memory goes
        read_s, read_rss = time.monotonic() - t0, _hwm_kib()
        started = time.monotonic()
        result = get_trainer("predictive_analytics").fit(spec, work, started + budget, lambda *a, **k: None)
        wall = time.monotonic() - started
        search = result.evaluation.get("search", {})
        queue.put({
            "rows": n, "wall_s": round(wall, 1), "budget_s": budget, "kept": wall <= budget * 1.05,
            "read_s": round(read_s, 1), "read_rss_mib": round(read_rss / 1024),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "searched": search.get("searched_rows", "all"), "fitted": search.get("served_model", "?"),
            "accuracy": round(result.metrics.get("accuracy", float("nan")), 4),
            "candidates": len(search.get("leaderboard", [])), "log": result.log,
        })
    except Exception as exc:  # noqa: BLE001 - a bench reports, it does not stop
        queue.put({"rows": n, "error": repr(exc), "read_rss_mib": read_rss and round(read_rss / 1024),
                   "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="*", default=[100_000, 1_000_000])
    ap.add_argument("--budget", type=float, default=150.0)
    ap.add_argument("--dir", default="/tmp/exeml_table_scale")
    args = ap.parse_args()
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    ctx = mp.get_context("spawn")
    results = []
    for n in args.rows:
        path = folder / f"table_{n}.csv"
        write_csv(path, n)
        queue = ctx.Queue()
        proc = ctx.Process(target=_train, args=(str(path), n, args.budget, queue))
        proc.start()
        res = queue.get()
        proc.join()
        res["csv_mb"] = round(path.stat().st_size / 1e6)
        results.append(res)
        print(json.dumps(res, indent=1), flush=True)
    print(f"\n{'rows':>9} {'MB':>4} {'read s':>6} {'read MiB':>8} {'wall s':>7} {'budget':>6} {'kept':>5} "
          f"{'peak MiB':>8} {'acc':>6}  searched / fitted")
    for r in results:
        if "error" in r:
            print(f"{r['rows']:>9} error {r['error']} peak {r['peak_rss_mib']} MiB")
            continue
        print(f"{r['rows']:>9} {r['csv_mb']:>4} {r['read_s']:>6} {r['read_rss_mib']:>8} {r['wall_s']:>7} "
              f"{r['budget_s']:>6.0f} {str(r['kept']):>5} {r['peak_rss_mib']:>8} {r['accuracy']:>6}  "
              f"{r['searched']} / {r['fitted']}")


if __name__ == "__main__":
    main()
