"""Standalone check of both vision trainers on one device (CUDA when available, else CPU).

Generates data, trains each trainer for --seconds, prints one JSON line per trainer with
the metric, training images/s, epochs and the device actually used. Runs anywhere:

    python bench/gpu_check.py --seconds 60          # on a GPU machine
    python bench/gpu_check.py --seconds 15 --cpu    # smoke run on CPU
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tests.trainers.vision_data import classification_samples, detection_samples  # noqa: E402
from training.engine.spec import TrainSpec  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description="train each vision trainer on generated data")
    parser.add_argument("--seconds", type=float, default=60.0, help="budget per trainer")
    parser.add_argument("--cpu", action="store_true", help="force CPU even when CUDA is available")
    parser.add_argument("--threads", type=int, default=min(8, os.cpu_count() or 1))
    parser.add_argument("--only", choices=("image", "detection"), default=None)
    args = parser.parse_args()

    import torch

    device = "cuda" if torch.cuda.is_available() and not args.cpu else "cpu"
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "device": device,
                "gpu": torch.cuda.get_device_name(0) if device == "cuda" else None,
            }
        )
    )
    with tempfile.TemporaryDirectory(prefix="exeml-gpu-check-") as tmp:
        root = Path(tmp)
        if args.only in (None, "image"):
            from training.engine.trainers.image import ImageTrainer

            samples = classification_samples(
                root / "img",
                labels=("circle", "square", "triangle"),
                per_label_train=40,
                per_label_eval=15,
                size=128,
            )
            spec = TrainSpec(
                task_type="image_classification",
                labels=("circle", "square", "triangle"),
                samples=tuple(samples),
                device=device,
                threads=args.threads,
            )
            _report("image", ImageTrainer(), spec, root / "work-img", args.seconds, "accuracy")
        if args.only in (None, "detection"):
            from training.engine.trainers.detection import DetectionTrainer

            samples = detection_samples(
                root / "det", labels=("circle", "square"), n_train=60, n_eval=16, size=(320, 240)
            )
            spec = TrainSpec(
                task_type="object_detection",
                labels=("circle", "square"),
                samples=tuple(samples),
                device=device,
                threads=args.threads,
                params={"imgsz": 320},
            )
            _report("detection", DetectionTrainer(), spec, root / "work-det", args.seconds, "map50")


def _report(name: str, trainer, spec: TrainSpec, workdir: Path, seconds: float, metric: str) -> None:
    start = time.monotonic()
    result = trainer.fit(spec, workdir, start + seconds, lambda phase, fraction: None)
    elapsed = time.monotonic() - start
    params = json.loads((result.bundle_dir / "bundle.json").read_text())["train_params"]
    print(
        json.dumps(
            {
                "trainer": name,
                "device": params.get("device"),
                metric: round(result.metrics[metric], 4),
                "images_per_s": params.get("images_per_second"),
                "epochs": params.get("epochs"),
                "seconds": round(elapsed, 1),
                "stopped_by_deadline": result.stopped_by_deadline,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
