"""Detection samples as an ultralytics YOLO dataset: images, one label file per image
(class x_center y_center width height, normalised), and the data.yaml naming them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from training.engine.preprocessing.image import box_to_yolo, image_size
from training.engine.spec import Box, TrainSample


def clip_box(box: Box, width: int, height: int) -> tuple[float, float, float, float] | None:
    x0, y0 = max(0.0, min(box.xmin, box.xmax)), max(0.0, min(box.ymin, box.ymax))
    x1, y1 = min(float(width), max(box.xmin, box.xmax)), min(float(height), max(box.ymin, box.ymax))
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    return x0, y0, x1, y1


def yolo_label_text(sample: TrainSample, labels: list[str], width: int, height: int) -> str:
    """A sample's boxes as a YOLO label file (one ``cls cx cy w h`` line per box)."""
    index = {name: i for i, name in enumerate(labels)}
    lines = []
    for box in sample.boxes:
        clipped = clip_box(box, width, height)
        if clipped is None:
            continue
        lines.append(box_to_yolo(index[box.label], *clipped, width=width, height=height))
    return "\n".join(lines) + ("\n" if lines else "")


def write_yolo_dataset(
    root: Path, train: list[TrainSample], evals: list[TrainSample], labels: list[str]
) -> Path:
    """images/{train,val} (symlinks) + labels/{train,val}/*.txt + data.yaml with absolute paths."""
    if root.exists():
        shutil.rmtree(root)
    for split, samples in (("train", train), ("val", evals)):
        img_dir, lbl_dir = root / "images" / split, root / "labels" / split
        img_dir.mkdir(parents=True)
        lbl_dir.mkdir(parents=True)
        for i, s in enumerate(samples):
            src = Path(s.path).resolve()
            suffix = src.suffix.lower() if src.suffix.lower() in {".jpg", ".jpeg", ".png", ".bmp"} else ".jpg"
            name = f"{i:06d}"
            dst = img_dir / f"{name}{suffix}"
            try:
                os.symlink(src, dst)
            except OSError:
                shutil.copyfile(src, dst)
            # Oriented like decode_image (ultralytics' loader applies EXIF rotation too).
            width, height = image_size(src)
            (lbl_dir / f"{name}.txt").write_text(yolo_label_text(s, labels, width, height), encoding="utf-8")
    names = "\n".join(f"  {i}: {_yaml_str(name)}" for i, name in enumerate(labels))
    data = (
        f"path: {_yaml_str(str(root.resolve()))}\n"
        f"train: {_yaml_str(str((root / 'images' / 'train').resolve()))}\n"
        f"val: {_yaml_str(str((root / 'images' / 'val').resolve()))}\n"
        f"names:\n{names}\n"
    )
    yaml_path = root / "data.yaml"
    yaml_path.write_text(data, encoding="utf-8")
    return yaml_path


def _yaml_str(value: str) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid YAML scalar
