"""Runs AutoGluon inside its own venv (.venv-bench, made by bench/setup_autogluon.sh).

    .venv-bench/bin/python bench/autogluon_runner.py JOB_DIR

JOB_DIR holds train.csv, test.csv (no label column needed) and job.json
{"label", "problem_type", "eval_metric", "time_limit", "num_cpus", "categorical", "text"};
the runner writes predictions.json {"predictions": [...], "fit_seconds": s}. It imports
nothing from the project, so AutoGluon's pins never meet the project's.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(job_dir: str) -> None:
    import pandas as pd
    from autogluon.tabular import TabularPredictor

    folder = Path(job_dir)
    job = json.loads((folder / "job.json").read_text())
    dtypes = {c: "string" for c in job["categorical"] + job["text"]}
    if job["problem_type"] != "regression":
        dtypes[job["label"]] = "string"
    train = pd.read_csv(folder / "train.csv", dtype=dtypes, keep_default_na=True)
    test = pd.read_csv(folder / "test.csv", dtype=dtypes, keep_default_na=True)
    for c in job["categorical"]:
        train[c] = train[c].astype("category")
        test[c] = pd.Categorical(test[c], categories=train[c].cat.categories)
    for c in job["text"]:  # AutoGluon turns free-text columns into n-gram features
        train[c] = train[c].astype(object)
        test[c] = test[c].astype(object)
    started = time.monotonic()
    predictor = TabularPredictor(
        label=job["label"],
        problem_type=job["problem_type"],
        eval_metric=job["eval_metric"],
        path=str(folder / "ag_model"),
        verbosity=int(job.get("verbosity", 2)),
    ).fit(train, time_limit=job["time_limit"], num_cpus=job["num_cpus"], presets=job.get("presets", "medium_quality"))
    predictions = predictor.predict(test).tolist()
    out = {"predictions": predictions, "fit_seconds": time.monotonic() - started}
    (folder / "predictions.json").write_text(json.dumps(out, default=str))


if __name__ == "__main__":
    main(sys.argv[1])
