"""Vision quality bench: ExeML's trainers vs plain baselines at the same time budget.

image: ExeML (EfficientNet-Lite transfer learning) vs torchvision mobilenet_v3_small from
scratch with default settings, on generated shapes, generated textures and sklearn's
bundled digits (upscaled). detection: ExeML's recipe vs ultralytics' default train()
settings (offline-safe: amp=False, workers=0) on generated shapes. Held-out accuracy /
mAP50, training images/s. Everything local: no download.

    python -m bench.quality_vision --seconds 60
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.trainers.vision_data import classification_samples, detection_samples  # noqa: E402
from training.engine.preprocessing.image import classification_input, decode_image  # noqa: E402
from training.engine.spec import TrainSample, TrainSpec  # noqa: E402


def _texture_samples(
    folder: Path, *, per_label_train: int, per_label_eval: int, size: int = 96
) -> list[TrainSample]:
    rng = random.Random(1)
    folder.mkdir(parents=True, exist_ok=True)
    labels = ("stripes", "checker", "dots")
    out: list[TrainSample] = []
    n = 0
    for usage, count in (("train", per_label_train), ("eval", per_label_eval)):
        for label in labels:
            for _ in range(count):
                base = (
                    np.random.default_rng(rng.randrange(1 << 30))
                    .integers(60, 200, (size, size, 3))
                    .astype(np.uint8)
                )
                img = Image.fromarray(base)
                draw = ImageDraw.Draw(img)
                step = rng.randint(8, 16)
                color = tuple(rng.randint(0, 255) for _ in range(3))
                for k in range(0, size, step):
                    if label == "stripes":
                        draw.rectangle((0, k, size, k + step // 2), fill=color)
                    else:
                        for m in range(0, size, step):
                            if label == "checker" and (k // step + m // step) % 2 == 0:
                                draw.rectangle((m, k, m + step - 1, k + step - 1), fill=color)
                            elif label == "dots":
                                draw.ellipse((m + 2, k + 2, m + step // 2 + 2, k + step // 2 + 2), fill=color)
                if rng.random() < 0.5:
                    img = img.rotate(90)
                path = folder / f"t{n:04d}.png"
                img.save(path)
                out.append(
                    TrainSample(
                        id=f"t{n}", usage=usage, path=str(path), labels=(label,), width=size, height=size
                    )
                )
                n += 1
    return out


def _digit_samples(folder: Path, *, per_label_train: int, per_label_eval: int) -> list[TrainSample]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    folder.mkdir(parents=True, exist_ok=True)
    out: list[TrainSample] = []
    seen: dict[int, int] = {}
    for i, (image, target) in enumerate(zip(digits.images, digits.target, strict=True)):
        k = seen.get(int(target), 0)
        if k >= per_label_train + per_label_eval:
            continue
        seen[int(target)] = k + 1
        arr = (image / 16.0 * 255).astype(np.uint8)
        img = Image.fromarray(arr).resize((64, 64), Image.BILINEAR).convert("RGB")
        path = folder / f"d{i:04d}.png"
        img.save(path)
        usage = "train" if k < per_label_train else "eval"
        out.append(
            TrainSample(id=f"d{i}", usage=usage, path=str(path), labels=(str(target),), width=64, height=64)
        )
    return out


def _mobilenet_baseline(
    samples: list[TrainSample], labels: list[str], budget: float, size: int
) -> tuple[float, float, float]:
    """torchvision mobilenet_v3_small, random init, Adam defaults, until the budget ends."""
    import torch
    from torchvision.models import mobilenet_v3_small

    torch.manual_seed(0)
    index = {name: i for i, name in enumerate(labels)}
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

    def tensors(usage: str) -> tuple[Any, Any]:
        rows = [s for s in samples if s.usage == usage]
        x = np.concatenate(
            [classification_input(decode_image(s.path), size=size, mean=mean, std=std) for s in rows]
        )
        return torch.from_numpy(x), torch.tensor([index[s.labels[0]] for s in rows])

    x_train, y_train = tensors("train")
    x_eval, y_eval = tensors("eval")
    model = mobilenet_v3_small(weights=None, num_classes=len(labels))
    optimizer = torch.optim.Adam(model.parameters())
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.monotonic()
    seen = 0
    while time.monotonic() - start < budget:
        model.train()
        perm = torch.randperm(len(x_train))
        for i in range(0, len(perm), 16):
            batch = perm[i : i + 16]
            if len(batch) < 2:
                continue
            optimizer.zero_grad()
            loss_fn(model(x_train[batch]), y_train[batch]).backward()
            optimizer.step()
            seen += len(batch)
            if time.monotonic() - start >= budget:
                break
    elapsed = time.monotonic() - start
    model.eval()
    with torch.no_grad():
        accuracy = float((model(x_eval).argmax(1) == y_eval).float().mean())
    return accuracy, elapsed, seen / max(elapsed, 1e-6)


def _image_rows(budget: float, root: Path) -> list[dict[str, Any]]:
    from training.engine.trainers.image import ImageTrainer

    datasets = {
        "shapes": classification_samples(
            root / "shapes", labels=("circle", "square", "triangle"), per_label_train=20, per_label_eval=10
        ),
        "textures": _texture_samples(root / "textures", per_label_train=20, per_label_eval=10),
        "digits": _digit_samples(root / "digits", per_label_train=15, per_label_eval=10),
    }
    rows = []
    for name, samples in datasets.items():
        labels = sorted({s.labels[0] for s in samples})
        spec = TrainSpec(
            task_type="image_classification", labels=tuple(labels), samples=tuple(samples), threads=2
        )
        start = time.monotonic()
        result = ImageTrainer().fit(spec, root / f"work-{name}", start + budget, lambda p, f: None)
        seconds = time.monotonic() - start
        bundle = json.loads((result.bundle_dir / "bundle.json").read_text())
        size = bundle["preprocessing"]["size"]
        b_acc, b_sec, _ = _mobilenet_baseline(samples, labels, budget, size)
        rows.append(
            {
                "trainer": "image",
                "dataset": name,
                "exeml_score": round(result.metrics["accuracy"], 4),
                "exeml_seconds": round(seconds, 1),
                "baseline": "mobilenet_v3_small scratch",
                "baseline_score": round(b_acc, 4),
                "baseline_seconds": round(b_sec, 1),
                "metric": "accuracy",
                "images_per_s": bundle["train_params"].get("images_per_second"),
            }
        )
    return rows


def _detection_rows(budget: float, root: Path) -> list[dict[str, Any]]:
    from training.engine.predictors.detection import DetectionPredictor
    from training.engine.trainers import yolo_bootstrap
    from training.engine.trainers.detection import DetectionTrainer
    from training.engine.trainers.detection_data import write_yolo_dataset
    from training.engine.trainers.detection_output import evaluate_detector, export_onnx

    labels = ["circle", "square"]
    samples = detection_samples(root / "det", labels=tuple(labels), n_train=40, n_eval=12, size=(160, 120))
    imgsz = 160
    spec = TrainSpec(
        task_type="object_detection",
        labels=tuple(labels),
        samples=tuple(samples),
        threads=2,
        params={"imgsz": imgsz},
    )
    start = time.monotonic()
    result = DetectionTrainer().fit(spec, root / "work-det", start + budget, lambda p, f: None)
    seconds = time.monotonic() - start
    bundle = json.loads((result.bundle_dir / "bundle.json").read_text())

    # Baseline: ultralytics defaults (batch 16, nbs 64, ...) for the same wall time.
    YOLO = yolo_bootstrap.yolo_class()
    data = write_yolo_dataset(root / "baseline-data", spec.split("train"), spec.split("eval"), labels)
    model = YOLO("yolov8n.yaml", task="detect")
    start = time.monotonic()
    model.train(
        data=str(data),
        imgsz=imgsz,
        time=budget / 3600,
        epochs=300,
        workers=0,
        amp=False,
        plots=False,
        device="cpu",
        project=str(root / "baseline-runs"),
        name="b",
        exist_ok=True,
        verbose=False,
    )
    b_seconds = time.monotonic() - start
    best = Path(model.trainer.best) if Path(model.trainer.best).exists() else Path(model.trainer.last)
    # The baseline's graph served like ExeML's: the same bundle.json (size, labels, thresholds).
    baseline_dir = root / "baseline-bundle"
    baseline_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(result.bundle_dir / "bundle.json", baseline_dir / "bundle.json")
    export_onnx(best, baseline_dir / "model.onnx", imgsz=imgsz)
    b_metrics, _, _ = evaluate_detector(DetectionPredictor(baseline_dir), spec.split("eval"), labels)
    return [
        {
            "trainer": "detection",
            "dataset": "shapes",
            "exeml_score": round(result.metrics["map50"], 4),
            "exeml_seconds": round(seconds, 1),
            "baseline": "ultralytics defaults",
            "baseline_score": round(b_metrics["map50"], 4),
            "baseline_seconds": round(b_seconds, 1),
            "metric": "mAP50",
            "images_per_s": bundle["train_params"].get("images_per_second"),
        }
    ]


def run(budget_seconds: float) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="exeml-bench-vision-") as tmp:
        root = Path(tmp)
        return _image_rows(budget_seconds, root) + _detection_rows(budget_seconds, root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget per training run")
    args = parser.parse_args()
    for row in run(args.seconds):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
