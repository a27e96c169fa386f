"""Object detection: images and PASCAL VOC ``x.xml``; a box outside the image leaves it unlabelled."""

from __future__ import annotations

from typing import Any

from datasets.formats import FormatError
from datasets.formats.filenames import stem
from datasets.formats.label_names import check_label_name
from datasets.formats.voc import VocAnnotation, box_problems, parse_voc
from datasets.importing.base import Importer, Role, base_name, image_keys_for, limit, sibling
from datasets.importing.images import image_fields
from datasets.labels import ImportedAnnotations


def checked_voc(data: bytes) -> VocAnnotation:
    """Parse a VOC file safely and check its label names (FormatError otherwise)."""
    ann = parse_voc(data, max_bytes=limit("xml_max_bytes"))
    for obj in ann.objects:
        try:
            check_label_name(obj.name)
        except FormatError as exc:
            raise FormatError(f"annotation object {obj.name!r}: {exc.reason}")
    return ann


def voc_annotations(data: bytes | VocAnnotation, sample: Any) -> ImportedAnnotations:
    """The boxes of a VOC file for ``sample``; problems go to ``sample.label_reason``."""
    ann = data if isinstance(data, VocAnnotation) else checked_voc(data)
    problems = box_problems(ann, sample.width or 0, sample.height or 0)
    if problems:
        sample.label_reason = "; ".join(problems)
        return ImportedAnnotations(sample=sample)
    sample.label_reason = ""
    boxes = [(o.name, o.xmin, o.ymin, o.xmax, o.ymax) for o in ann.objects]
    confidences = [o.confidence for o in ann.objects if o.confidence is not None]
    return ImportedAnnotations(sample=sample, boxes=boxes, confidence=min(confidences) if confidences else None)


class DetectionImporter(Importer):
    task_type = "object_detection"
    data_kinds = ("image",)
    label_kind = "xml"

    def max_bytes(self, role: Role) -> int:
        return limit("image_max_bytes") if role == Role.DATA else super().max_bytes(role)

    def inspect(self, name: str, data: bytes) -> list[dict[str, Any]]:
        return [image_fields(data)]

    def label_key_for(self, data_key: str) -> str | None:
        return sibling(data_key, stem(base_name(data_key)) + ".xml")

    def data_keys_for(self, label_key: str) -> list[str]:
        return image_keys_for(label_key)

    def parse_labels(self, data: bytes, samples: list[Any]) -> list[ImportedAnnotations]:
        ann = checked_voc(data)
        return [voc_annotations(ann, s) for s in samples]
