"""The trainer interface: plain classes, frozen specs, no Django.

A worker turns a ModelVersion into a TrainSpec (samples already downloaded into the
job's work folder), calls ``trainer.fit`` with a deadline and a progress callback, and
uploads the bundle folder the trainer wrote. Trainers never see ORM rows, so they run
and are tested without Django.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from training.engine.bundle import BUNDLE_FILE, BUNDLE_SCHEMA_VERSION, MODEL_FILE  # noqa: F401 (re-exported)

TaskType = Literal[
    "image_classification",
    "object_detection",
    "predictive_analytics",
    "sound_classification",
    "text_classification",
]
Preference = Literal["performance_first", "balance", "accuracy_first"]
Usage = Literal["train", "eval"]



class TrainingError(Exception):
    """A failure the user can act on (bad labels, wrong label type, too little data)."""


@dataclass(frozen=True)
class Box:
    label: str
    xmin: float
    ymin: float
    xmax: float
    ymax: float


@dataclass(frozen=True)
class TrainSample:
    id: str
    usage: Usage
    # Local file path for image/sound, the text itself for text classification.
    path: str = ""
    text: str = ""
    labels: tuple[str, ...] = ()
    boxes: tuple[Box, ...] = ()
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class TabularSpec:
    csv_path: str  # local path of the CSV, read with delimiter/quotechar/has_header below
    columns: tuple[str, ...]  # attr_1..attr_N, in file order: the model's input names
    kinds: dict[str, str]  # column -> "numeric" | "categorical"
    label_column: str
    label_type: Literal["discrete", "continuous"]
    dropped: tuple[str, ...] = ()  # single-valued / invalid columns
    # Row indices (0-based, in file order, over all data rows) of the eval split.
    eval_rows: tuple[int, ...] = ()
    # The columns' names for people (the header's, made safe), same order as ``columns``;
    # empty when the CSV has no header. Requests may key records by either.
    names: tuple[str, ...] = ()
    delimiter: str = ","
    quotechar: str = '"'
    has_header: bool = False


@dataclass(frozen=True)
class TrainSpec:
    task_type: TaskType
    labels: tuple[str, ...]
    samples: tuple[TrainSample, ...] = ()
    tabular: TabularSpec | None = None
    max_seconds: float = 3600.0
    preference: Preference = "balance"
    device: str = "cpu"  # "cpu" or "cuda"
    threads: int = 1
    seed: int = 0
    # Folder holding a previous version's bundle (model.onnx, bundle.json, weights) for
    # incremental training.
    base_bundle_dir: str | None = None
    # Optional local base weights an administrator registered (e.g. a YOLO .pt).
    base_weights_path: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def split(self, usage: Usage) -> list[TrainSample]:
        return [s for s in self.samples if s.usage == usage]


ProgressFn = Callable[[str, float], None]
"""progress(phase, fraction 0..1); also a heartbeat. Raises StopTraining when the user
stopped the version, so trainers need not poll anything else."""


class StopTraining(Exception):
    """Raised by the progress callback when the user asked to stop."""


@dataclass
class TrainResult:
    bundle_dir: Path  # holds model.onnx + bundle.json (+ extra files trainers keep)
    metrics: dict[str, float]
    evaluation: dict[str, Any]
    # One per eval sample: {"sample_id", "true", "predicted", "score"/"scores"/"boxes"}.
    eval_predictions: list[dict[str, Any]]
    stopped_by_deadline: bool = False
    log: list[str] = field(default_factory=list)


class Trainer(Protocol):
    task_type: TaskType

    def validate(self, spec: TrainSpec) -> list[str]:
        """Reasons the spec cannot be trained (empty when it can)."""

    def fit(self, spec: TrainSpec, workdir: Path, deadline: float, progress: ProgressFn) -> TrainResult:
        """Train within ``deadline`` (time.monotonic() seconds), evaluate on the eval
        split, export the bundle into ``workdir / "bundle"`` and return the result."""


def seconds_left(deadline: float) -> float:
    return deadline - time.monotonic()
