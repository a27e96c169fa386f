"""YOLO (Ultralytics) layout: ``images/{train,val}/x.jpg``, ``labels/{train,val}/x.txt`` with
``class cx cy w h`` normalised to 0..1, and ``data.yaml`` naming the classes.

Values are written with 12 decimals and read back rounded to 6, so pixel boxes (integers
or a few decimals) survive a round trip exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

from datasets.export.base import ExportFile, split_folder, stem_of, unique_file_names

DECIMALS = 12
READ_DECIMALS = 6


def box_to_yolo(box: Sequence[float], w: float, h: float) -> str:
    """``[xmin, ymin, xmax, ymax]`` in pixels → ``"cx cy bw bh"`` normalised."""
    xmin, ymin, xmax, ymax = (float(v) for v in box)
    if w <= 0 or h <= 0:
        raise ValueError("image size must be positive")
    values = ((xmin + xmax) / 2 / w, (ymin + ymax) / 2 / h, (xmax - xmin) / w, (ymax - ymin) / h)
    return " ".join(f"{v:.{DECIMALS}f}" for v in values)


def yolo_to_box(line: str, w: float, h: float) -> tuple[float, float, float, float]:
    """A YOLO line (``"cx cy bw bh"`` or ``"class cx cy bw bh"``) → pixel ``(xmin, ymin, xmax, ymax)``."""
    parts = line.split()
    if len(parts) not in (4, 5):
        raise ValueError(f"a YOLO box has 4 numbers (after an optional class), got {line!r}")
    cx, cy, bw, bh = (float(p) for p in parts[-4:])
    box = ((cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h)
    return tuple(round(v, READ_DECIMALS) + 0.0 for v in box)  # type: ignore[return-value]


def yolo_line(class_id: int, box: Sequence[float], w: float, h: float) -> str:
    return f"{class_id} {box_to_yolo(box, w, h)}"


def parse_yolo_file(text: str, w: float, h: float, names: Sequence[str]) -> list[tuple[str, tuple]]:
    out = []
    for line in text.splitlines():
        if line.strip():
            out.append((names[int(line.split()[0])], yolo_to_box(line, w, h)))
    return out


def data_yaml(names: Sequence[str]) -> str:
    lines = ["path: .", "train: images/train", "val: images/val", f"nc: {len(names)}", "names:"]
    lines += [f"  {i}: {name}" for i, name in enumerate(names)]
    return "\n".join(lines) + "\n"


def yolo_files(items, names: Sequence[str]) -> list[ExportFile]:
    """Items are FrozenItem-like (name, source, width, height, boxes, usage)."""
    index = {n: i for i, n in enumerate(names)}
    files = [ExportFile("data.yaml", data_yaml(names).encode()), ExportFile("classes.txt", ("\n".join(names) + "\n").encode())]
    for item, fname in zip(items, unique_file_names(i.name for i in items), strict=True):
        split = split_folder(item.usage)
        lines = [yolo_line(index[b["label"]], b["bbox"], item.width, item.height) for b in item.boxes]
        files.append(ExportFile(f"images/{split}/{fname}", source=item.source))
        files.append(ExportFile(f"labels/{split}/{stem_of(fname)}.txt", ("\n".join(lines) + "\n").encode()))
    return files
