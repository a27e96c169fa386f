"""Detection: the EfficientNet-Lite0-pretrained YOLO vs yolov8n from scratch, same budget, same data.

``patches`` (default): sharp patches of the two real photographs sklearn ships
(load_sample_images) over blurred crops of them; ``shapes``: coloured shapes over photo
crops (easy: colour alone finds them). Prints
mAP50 / mAP50-95 on the held-out images for each model source at each budget.

    python -m bench.detection_pretrained --seconds 90 --train 40 --eval 20 --imgsz 256
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# A "tests" package some dependency installs into site-packages shadows the repo's namespace one.
sys.path.insert(0, str(ROOT / "tests" / "trainers"))

from vision_data import draw_shape  # noqa: E402

from training.engine.spec import Box, TrainSample, TrainSpec  # noqa: E402

LABELS = ("circle", "square", "triangle")


def photo_samples(folder: Path, *, n_train: int, n_eval: int, size=(160, 120), seed: int = 0) -> list[TrainSample]:
    from sklearn.datasets import load_sample_images

    photos = [Image.fromarray(a) for a in load_sample_images().images]
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    width, height = size
    out: list[TrainSample] = []
    for n in range(n_train + n_eval):
        photo = rng.choice(photos)
        x, y = rng.randrange(photo.width - width * 2), rng.randrange(photo.height - height * 2)
        img = photo.crop((x, y, x + width * 2, y + height * 2)).resize((width, height))
        draw = ImageDraw.Draw(img)
        boxes = []
        count = rng.randint(1, 3)
        for i in range(count):
            label = rng.choice(LABELS)
            s = rng.uniform(0.15, 0.35) * height
            half = width / count
            x0 = round(rng.uniform(i * half, (i + 1) * half - s))
            y0 = round(rng.uniform(0, height - s))
            x1, y1 = round(x0 + s), round(y0 + s)
            draw_shape(draw, label, (x0, y0, x1, y1))
            boxes.append(Box(label=label, xmin=x0, ymin=y0, xmax=x1, ymax=y1))
        path = folder / f"p{n:04d}.jpg"
        img.save(path, quality=90)
        out.append(
            TrainSample(
                id=f"p{n}", usage="train" if n < n_train else "eval", path=str(path),
                labels=tuple(sorted({b.label for b in boxes})), boxes=tuple(boxes), width=width, height=height,
            )
        )
    return out


def patch_samples(folder: Path, *, n_train: int, n_eval: int, size=(160, 120), seed: int = 0) -> list[TrainSample]:
    """Harder, closer to real objects: sharp patches of one photograph ("flower") or the other
    ("temple") over blurred crops of either; only texture tells object from background."""
    from PIL import ImageFilter
    from sklearn.datasets import load_sample_images

    temple, flower = (Image.fromarray(a) for a in load_sample_images().images)
    sources = {"flower": flower, "temple": temple}
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    width, height = size
    out: list[TrainSample] = []
    for n in range(n_train + n_eval):
        photo = rng.choice([temple, flower])
        x, y = rng.randrange(photo.width - width * 2), rng.randrange(photo.height - height * 2)
        img = photo.crop((x, y, x + width * 2, y + height * 2)).resize((width, height))
        img = img.filter(ImageFilter.GaussianBlur(3))
        boxes = []
        count = rng.randint(1, 3)
        for i in range(count):
            label = rng.choice(sorted(sources))
            src = sources[label]
            s = round(rng.uniform(0.25, 0.45) * height)
            px, py = rng.randrange(src.width - 2 * s), rng.randrange(src.height - 2 * s)
            patch = src.crop((px, py, px + 2 * s, py + 2 * s)).resize((s, s))
            half = width / count
            x0 = round(rng.uniform(i * half, max(i * half, (i + 1) * half - s)))
            y0 = round(rng.uniform(0, height - s))
            img.paste(patch, (x0, y0))
            boxes.append(Box(label=label, xmin=x0, ymin=y0, xmax=min(width, x0 + s), ymax=y0 + s))
        path = folder / f"q{n:04d}.jpg"
        img.save(path, quality=90)
        out.append(
            TrainSample(
                id=f"q{n}", usage="train" if n < n_train else "eval", path=str(path),
                labels=tuple(sorted({b.label for b in boxes})), boxes=tuple(boxes), width=width, height=height,
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, nargs="+", default=[90.0])
    parser.add_argument("--train", type=int, default=40)
    parser.add_argument("--eval", type=int, default=20)
    parser.add_argument("--imgsz", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sources", nargs="+", default=["lite0", "yolov8n.yaml"])
    parser.add_argument("--data", choices=["shapes", "patches"], default="patches")
    args = parser.parse_args()
    from training.engine.trainers import get_trainer

    root = Path(tempfile.mkdtemp(prefix="det-bench-"))
    make = patch_samples if args.data == "patches" else photo_samples
    samples = make(root / "data", n_train=args.train, n_eval=args.eval)
    labels = tuple(sorted({b.label for s in samples for b in s.boxes}))
    print(f"{'source':<14}{'budget s':>9}{'epochs':>8}{'mAP50 all':>10}{'mAP50-95 all':>13}"
          f"{'mAP50@.25':>10}{'P@.25':>8}{'R@.25':>8}")
    for seconds in args.seconds:
        for source in args.sources:
            params: dict = {"imgsz": args.imgsz}
            if source == "lite0-frozen":
                params["freeze"] = 1  # layer 0 is the whole Lite0 backbone
            elif source != "lite0":
                params["model"] = source
            spec = TrainSpec(task_type="object_detection", labels=labels, samples=tuple(samples),
                             threads=args.threads, params=params, max_seconds=seconds)
            work = root / f"work-{source}-{seconds}"
            result = get_trainer("object_detection").fit(spec, work, time.monotonic() + seconds, lambda p, f: None)
            ev = result.evaluation
            epochs = next((line for line in result.log if " epochs in " in line), "?").split()[0]
            print(f"{source:<14}{seconds:>9.0f}{epochs:>8}{ev['map50_all']:>10.3f}{ev['map50_95_all']:>13.3f}"
                  f"{ev['map50']:>10.3f}{ev['precision']:>8.3f}{ev['recall']:>8.3f}", flush=True)


if __name__ == "__main__":
    main()
