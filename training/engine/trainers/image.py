"""Image classification. Single-label images go through the AutoML search (image_search.py:
pixel and embedding baselines, fine-tuning, ensembles); multi-label images and incremental
training use one EfficientNet-Lite fine-tune (image_finetune.py)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from training.engine.models.efficientnet import WEIGHTS_FILE, efficientnet, load_base_weights
from training.engine.spec import (
    ProgressFn,
    StopTraining,
    TrainResult,
    TrainSpec,
)

from .common import missing_image_files

# The Lite models were trained on (x - 127) / 128: mean = std = 0.5 on 0..1 input.
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
MULTILABEL_THRESHOLD = 0.5


def build_model(model_name: str, num_classes: int, *, pretrained: bool = True) -> Any:
    """EfficientNet-Lite with a fresh head; ImageNet weights from the local package file."""
    return efficientnet(model_name, num_classes, pretrained=pretrained)


def is_multilabel(spec: TrainSpec) -> bool:
    """The project's choice (``params["multilabel"]``, set by the runner from Project.multi_label);
    a spec without it (tests, old callers) is multi-label when a training image has two labels."""
    chosen = spec.params.get("multilabel")
    if chosen is not None:
        return bool(chosen)
    return any(len(s.labels) > 1 for s in spec.split("train"))


class ImageTrainer:
    task_type = "image_classification"

    def validate(self, spec: TrainSpec) -> list[str]:
        reasons: list[str] = []
        train = spec.split("train")
        known = set(spec.labels)
        if not train:
            reasons.append("no training images")
        unknown = {name for s in spec.samples for name in s.labels} - known
        if unknown:
            reasons.append(f"labels not in the label set: {sorted(unknown)}")
        if any(not s.labels for s in spec.samples):
            reasons.append("some images have no label")
        multilabel = is_multilabel(spec)
        several = sum(len(s.labels) > 1 for s in spec.samples)
        if several and not multilabel:
            reasons.append(
                f"{several} image{'s carry' if several > 1 else ' carries'} several labels in a single-label "
                "project (keep one label each, or make the project multi-label)"
            )
        present = {name for s in train for name in s.labels}
        if not multilabel and len(present) < 2:
            reasons.append("at least 2 labels with training images are needed")
        return reasons + missing_image_files(spec.samples)

    # ------------------------------------------------------------------ fit

    def fit(self, spec: TrainSpec, workdir: Path, deadline: float, progress: ProgressFn) -> TrainResult:
        reasons = self.validate(spec)
        multilabel = is_multilabel(spec)
        # Single-label images search, incremental ones too (from the base's weights and best
        # configurations); multi-label ones run the one fine-tune (from the base's weights).
        if not reasons and not multilabel and spec.params.get("search", True):
            from .image_search import fit_search

            return fit_search(self, spec, Path(workdir), deadline, progress)
        return self._fit_finetune(spec, workdir, deadline, progress, reasons)

    def _fit_finetune(
        self, spec: TrainSpec, workdir: Path, deadline: float, progress: ProgressFn, reasons: list[str]
    ) -> TrainResult:
        """Multi-label images and incremental training: one EfficientNet-Lite fine-tune."""
        from .image_finetune import FineTune

        run = FineTune(spec, deadline, progress, reasons)
        cache = Path(workdir) / "pixel-cache"
        try:
            run.prepare(cache)
            run.train()
            return run.finish(self.task_type, Path(workdir) / "bundle")
        finally:
            shutil.rmtree(cache, ignore_errors=True)


__all__ = ["WEIGHTS_FILE", "ImageTrainer", "StopTraining", "build_model", "load_base_weights"]
