"""PASCAL VOC layout: ``JPEGImages/x.jpg``, ``Annotations/x.xml`` and
``ImageSets/Main/{train,val}.txt`` listing the stems of each split."""

from __future__ import annotations

from datasets.export.base import ExportFile, split_folder, stem_of, unique_file_names
from datasets.formats.voc import VocObject, write_voc


def voc_xml(name: str, width: int, height: int, boxes: list[dict]) -> bytes:
    objects = [
        VocObject(name=b["label"], xmin=b["bbox"][0], ymin=b["bbox"][1], xmax=b["bbox"][2], ymax=b["bbox"][3])
        for b in boxes
    ]
    return write_voc(filename=name, width=width or 0, height=height or 0, objects=objects, folder="JPEGImages")


def voc_files(items) -> list[ExportFile]:
    files: list[ExportFile] = []
    sets: dict[str, list[str]] = {"train": [], "val": []}
    for item, fname in zip(items, unique_file_names(i.name for i in items), strict=True):
        files.append(ExportFile(f"JPEGImages/{fname}", source=item.source))
        files.append(ExportFile(f"Annotations/{stem_of(fname)}.xml", voc_xml(fname, item.width, item.height, item.boxes)))
        sets[split_folder(item.usage)].append(stem_of(fname))
    for split, stems in sets.items():
        files.append(ExportFile(f"ImageSets/Main/{split}.txt", "".join(f"{s}\n" for s in stems).encode()))
    return files
