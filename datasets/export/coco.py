"""COCO detection layout: ``train/x.jpg``, ``val/x.jpg`` and
``annotations/instances_{train,val}.json`` (bbox ``[x, y, width, height]`` in pixels,
category ids from 1)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from datasets.export.base import ExportFile, split_folder, unique_file_names

READ_DECIMALS = 6


def build_coco(entries: Sequence[tuple[str, int, int, list[dict]]], names: Sequence[str]) -> dict:
    """``entries``: (file_name, width, height, boxes [{"label","bbox":[xmin,ymin,xmax,ymax]}])."""
    cat = {n: i for i, n in enumerate(names, start=1)}
    images, annotations = [], []
    for image_id, (file_name, w, h, boxes) in enumerate(entries, start=1):
        images.append({"id": image_id, "file_name": file_name, "width": w, "height": h})
        for b in boxes:
            xmin, ymin, xmax, ymax = b["bbox"]
            bw, bh = xmax - xmin, ymax - ymin
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": cat[b["label"]],
                "bbox": [xmin, ymin, bw, bh], "area": bw * bh, "iscrowd": 0, "segmentation": [],
            })
    return {
        "info": {"description": "ExeML export"},
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i, "name": n, "supercategory": ""} for n, i in cat.items()],
    }


def coco_boxes(coco: dict) -> dict[str, list[tuple[str, tuple[float, float, float, float]]]]:
    """file_name → [(label, (xmin, ymin, xmax, ymax))] read back from a COCO dict."""
    names = {c["id"]: c["name"] for c in coco["categories"]}
    files = {img["id"]: img["file_name"] for img in coco["images"]}
    out: dict[str, list] = {name: [] for name in files.values()}
    for a in coco["annotations"]:
        x, y, w, h = a["bbox"]
        box = tuple(round(v, READ_DECIMALS) + 0.0 for v in (x, y, x + w, y + h))
        out[files[a["image_id"]]].append((names[a["category_id"]], box))
    return out


def coco_files(items, names: Sequence[str]) -> list[ExportFile]:
    files: list[ExportFile] = []
    per_split: dict[str, list] = {"train": [], "val": []}
    for item, fname in zip(items, unique_file_names(i.name for i in items), strict=True):
        split = split_folder(item.usage)
        files.append(ExportFile(f"{split}/{fname}", source=item.source))
        per_split[split].append((fname, item.width, item.height, item.boxes))
    for split, entries in per_split.items():
        doc = build_coco(entries, names)
        files.append(ExportFile(f"annotations/instances_{split}.json", json.dumps(doc, indent=1).encode()))
    return files
