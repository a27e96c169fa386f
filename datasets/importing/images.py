"""Image classification: JPG/PNG/BMP files and ``x.txt`` label files (one label per line)."""

from __future__ import annotations

from typing import Any

from datasets.formats.filenames import stem
from datasets.formats.images import inspect_image
from datasets.formats.labels_txt import parse_image_labels_txt
from datasets.importing.base import Importer, Role, base_name, image_keys_for, limit, sibling
from datasets.labels import ImportedAnnotations


def image_fields(data: bytes) -> dict[str, Any]:
    info = inspect_image(data, max_bytes=limit("image_max_bytes"))
    return {"line_number": 0, "format": info.format, "width": info.width, "height": info.height}


class ImageImporter(Importer):
    task_type = "image_classification"
    data_kinds = ("image",)
    label_kind = "txt"

    def max_bytes(self, role: Role) -> int:
        return limit("image_max_bytes") if role == Role.DATA else super().max_bytes(role)

    def inspect(self, name: str, data: bytes) -> list[dict[str, Any]]:
        return [image_fields(data)]

    def label_key_for(self, data_key: str) -> str | None:
        return sibling(data_key, stem(base_name(data_key)) + ".txt")

    def data_keys_for(self, label_key: str) -> list[str]:
        return image_keys_for(label_key)

    def parse_labels(self, data: bytes, samples: list[Any]) -> list[ImportedAnnotations]:
        labels = parse_image_labels_txt(data)
        return [ImportedAnnotations(sample=s, labels=labels) for s in samples]
