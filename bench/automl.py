"""The other AutoML systems, at the same budget as ExeML: FLAML in process (tables) and
AutoGluon as a subprocess of its own venv (tables, and text as one free-text column).

Each returns ``(predictions, None)`` or ``(None, "n/a (reason)")``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench.datasets_real import SampleSet, TableSet

SEED = 0
ROOT = Path(__file__).resolve().parent.parent
AUTOGLUON_PYTHON = Path(os.environ.get("BENCH_AUTOGLUON_PYTHON", ROOT / ".venv-bench" / "bin" / "python"))


def flaml_tables(ds: TableSet, budget: float, threads: int = 2) -> tuple[list[Any] | None, str | None]:
    try:
        from flaml import AutoML
    except ImportError:
        return None, "n/a (flaml not installed: pip install the bench extra)"
    import pandas as pd

    frame = ds.frame[ds.features()].copy()
    for c in ds.categorical():
        frame[c] = pd.Categorical(frame[c])
    y = ds.frame[ds.target].to_numpy()
    automl = AutoML()
    task = "classification" if ds.task == "classification" else "regression"
    automl.fit(
        frame.iloc[ds.train_idx],
        y[ds.train_idx].astype(float) if task == "regression" else y[ds.train_idx],
        task=task,
        metric="accuracy" if task == "classification" else "rmse",
        time_budget=budget,
        n_jobs=threads,
        seed=SEED,
        verbose=0,
    )
    return list(automl.predict(frame.iloc[ds.test_idx])), None


def _space_words(text: str) -> str:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return " ".join(w for w in jieba.lcut(text) if w.strip())


def autogluon_available() -> str | None:
    """None when AutoGluon can run, else why not."""
    if not AUTOGLUON_PYTHON.is_file():
        return "n/a (no AutoGluon venv: run bench/setup_autogluon.sh)"
    return None


def autogluon(
    ds: TableSet | SampleSet, budget: float, workdir: Path, threads: int = 2, presets: str = "best_quality"
) -> tuple[list[Any] | None, str | None]:
    """AutoGluon's TabularPredictor with ``presets`` (best_quality: bagging and stacking, its
    strongest), time_limit = budget."""
    reason = autogluon_available()
    if reason:
        return None, reason
    import pandas as pd

    folder = Path(workdir) / "autogluon"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    if isinstance(ds, TableSet):
        frame = ds.frame
        train, test = frame.iloc[ds.train_idx], frame.iloc[ds.test_idx].drop(columns=[ds.target])
        label, categorical, text = ds.target, ds.categorical(), []
        problem = (
            "regression"
            if ds.task == "regression"
            else ("binary" if frame[label].nunique() == 2 else "multiclass")
        )
    elif ds.modality == "text":
        # AutoGluon's n-gram featuriser splits on spaces: unsegmented Chinese gives it zero
        # features ("No useful features"), so it gets the text cut into words by jieba.
        prep = _space_words if ds.language == "zh" else (lambda t: t)
        train = pd.DataFrame({"text": [prep(t) for t, _ in ds.train], "label": [lab for _, lab in ds.train]})
        test = pd.DataFrame({"text": [prep(t) for t, _ in ds.test]})
        label, categorical, text = "label", [], ["text"]
        problem = "binary" if len(ds.labels()) == 2 else "multiclass"
    else:
        return None, "—"
    train.to_csv(folder / "train.csv", index=False)
    test.to_csv(folder / "test.csv", index=False)
    job = {
        "label": label,
        "problem_type": problem,
        "eval_metric": "root_mean_squared_error" if problem == "regression" else "accuracy",
        "time_limit": budget,
        "presets": presets,
        "num_cpus": threads,
        "categorical": categorical,
        "text": text,
    }
    (folder / "job.json").write_text(json.dumps(job))
    runner = Path(__file__).resolve().parent / "autogluon_runner.py"
    env = {**os.environ, "PYTHONPATH": "", "OMP_NUM_THREADS": str(threads)}
    try:
        proc = subprocess.run(
            [str(AUTOGLUON_PYTHON), str(runner), str(folder)],
            capture_output=True,
            text=True,
            timeout=budget * 3 + 300,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, "error (AutoGluon ran past 3x its budget)"
    # AutoGluon's own log, for when its column says error.
    (folder / "autogluon.log").write_text(proc.stdout + proc.stderr)
    out = folder / "predictions.json"
    if proc.returncode != 0 or not out.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return None, f"error ({tail[0][:120]})"
    predictions = json.loads(out.read_text())["predictions"]
    return predictions, None
