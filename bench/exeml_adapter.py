"""The ONE place the benchmark touches ExeML's trainers.

The trainers are being moved into an engine; when their import path or spec changes, only
this file changes. ``fit_predict`` builds the trainer's spec from a benchmark data set
(train rows as TRAIN, test rows as EVAL), fits it at the budget and returns the predictions
ExeML's own evaluation made on the test rows (the exported ONNX model's answers, i.e. what
the service answers).
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.datasets_real import SampleSet, TableSet

SEED = 0

_TASK_TYPES = {
    "tabular": "predictive_analytics",
    "text": "text_classification",
    "sound": "sound_classification",
    "image": "image_classification",
}


@dataclass
class ExemlRun:
    predictions: list[Any]  # one per test item, in the data set's test order
    seconds: float
    metrics: dict[str, float] = field(default_factory=dict)  # as ExeML reported them
    log: list[str] = field(default_factory=list)
    # ECE / accuracy on the test rows without and with ExeML's calibration (classification).
    calibration: dict[str, Any] = field(default_factory=dict)
    bundle_dir: str = ""  # the served bundle (a base for an incremental run)


def _noop(phase: str, fraction: float) -> None:
    return None


def _table_spec(ds: TableSet, folder: Path):
    from training.engine.spec import TabularSpec

    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / f"{ds.name}.csv"
    columns = [*ds.features(), ds.target]
    categorical = set(ds.categorical())
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        # Header-less CSV as the platform stores it; missing values as empty fields.
        for row in ds.frame[columns].itertuples(index=False):
            writer.writerow(["" if _missing(v) else _cell(v) for v in row])
    kinds = {c: ("categorical" if c in categorical else "numeric") for c in ds.features()}
    kinds[ds.target] = "categorical" if ds.task == "classification" else "numeric"
    return TabularSpec(
        csv_path=str(csv_path),
        columns=tuple(columns),
        kinds=kinds,
        label_column=ds.target,
        label_type="discrete" if ds.task == "classification" else "continuous",
        eval_rows=tuple(int(i) for i in ds.test_idx),
    )


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def _cell(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _samples(ds: SampleSet):
    from PIL import Image

    from training.engine.spec import TrainSample

    out = []
    for usage, rows in (("train", ds.train), ("eval", ds.test)):
        for i, (item, label) in enumerate(rows):
            sid = f"{usage}-{i}"
            if ds.modality == "text":
                out.append(TrainSample(id=sid, usage=usage, text=item, labels=(label,)))
            elif ds.modality == "image":
                with Image.open(item) as img:
                    width, height = img.size
                out.append(
                    TrainSample(id=sid, usage=usage, path=item, labels=(label,), width=width, height=height)
                )
            else:
                out.append(TrainSample(id=sid, usage=usage, path=item, labels=(label,)))
    return tuple(out)


def fit_predict(
    ds: TableSet | SampleSet,
    *,
    budget: float,
    workdir: Path,
    preference: str = "balance",
    threads: int = 2,
    base_bundle_dir: str | None = None,
) -> ExemlRun:
    """Train ExeML on ``ds``'s train split within ``budget`` seconds (the trainer's own
    deadline, export included) and return its predictions for the test split;
    ``base_bundle_dir``: trained incrementally from that version's bundle."""
    from training.engine.spec import TrainSpec
    from training.engine.trainers import get_trainer

    workdir = Path(workdir)
    task_type = _TASK_TYPES[ds.modality]
    if isinstance(ds, TableSet):
        spec = TrainSpec(
            task_type=task_type,
            labels=(),
            tabular=_table_spec(ds, workdir / "data"),
            threads=threads,
            seed=SEED,
            preference=preference,  # type: ignore[arg-type]
            max_seconds=budget,
            base_bundle_dir=base_bundle_dir,
        )
        test_ids = [f"row-{int(i)}" for i in ds.test_idx]
    else:
        spec = TrainSpec(
            task_type=task_type,
            labels=tuple(ds.labels()),
            samples=_samples(ds),
            threads=threads,
            seed=SEED,
            preference=preference,  # type: ignore[arg-type]
            max_seconds=budget,
            base_bundle_dir=base_bundle_dir,
        )
        test_ids = [f"eval-{i}" for i in range(len(ds.test))]
    started = time.monotonic()
    result = get_trainer(task_type).fit(spec, workdir / "work", started + budget, _noop)
    seconds = time.monotonic() - started
    by_id = {p["sample_id"]: p["predicted"] for p in result.eval_predictions}
    predictions = [_single(by_id.get(sid)) for sid in test_ids]
    return ExemlRun(predictions, seconds, dict(result.metrics), list(result.log), _calibration(result.evaluation),
                    str(result.bundle_dir))


def _calibration(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The calibration summary of ExeML's evaluation of the test rows (empty when none)."""
    block = evaluation.get("calibration")
    if not block:
        return {}
    return {
        "method": block.get("method", "temperature"),
        "temperature": block["temperature"],
        "ece_before": block["before"]["ece"],
        "ece_after": block["after"]["ece"],
        "ece_floor": block["after"].get("ece_noise_floor", 0.0),
        "accuracy_before": block["before"]["accuracy"],
        "accuracy_after": block["after"]["accuracy"],
    }


def _single(predicted: Any) -> Any:
    """Single-label answers may come as a one-element list (image trainer)."""
    if isinstance(predicted, list | tuple):
        return predicted[0] if predicted else None
    return predicted
