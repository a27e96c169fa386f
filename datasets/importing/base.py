"""The small interface every project type's importer implements."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.conf import settings

from datasets.formats.filenames import file_kind, stem
from datasets.labels import ImportedAnnotations


class Role(StrEnum):
    DATA = "data"
    LABEL = "label"
    MANIFEST = "manifest"


def limit(name: str) -> int:
    return int(settings.EXEML_LIMITS[name])


def sibling(key: str, name: str) -> str:
    """``a/b/10.jpg`` + ``10.txt`` -> ``a/b/10.txt``."""
    folder = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
    return folder + name


def base_name(key: str) -> str:
    return key.rsplit("/", 1)[-1]


class Importer:
    """Defaults suit types whose only label source is a manifest (sound)."""

    task_type: str = ""
    data_kinds: tuple[str, ...] = ()
    label_kind: str | None = None
    accepts_manifest = True

    def role(self, name: str) -> Role | None:
        kind = file_kind(name)
        if kind in self.data_kinds:
            return Role.DATA
        if kind is not None and kind == self.label_kind:
            return Role.LABEL
        if kind == "manifest" and self.accepts_manifest:
            return Role.MANIFEST
        return None

    def max_bytes(self, role: Role) -> int:
        if role == Role.LABEL:
            return limit("xml_max_bytes")
        return limit("text_max_bytes")

    def inspect(self, name: str, data: bytes) -> list[dict[str, Any]]:
        """Sample fields per sample this data file yields (each with ``line_number``)."""
        raise NotImplementedError

    def label_key_for(self, data_key: str) -> str | None:
        return None

    def data_keys_for(self, label_key: str) -> list[str]:
        return []

    def parse_labels(self, data: bytes, samples: list[Any]) -> list[ImportedAnnotations]:
        """Annotations a label file gives ``samples`` (its data file's samples); FormatError if bad."""
        return []


_IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".JPG", ".JPEG", ".PNG", ".BMP")


def image_keys_for(label_key: str) -> list[str]:
    return [sibling(label_key, stem(base_name(label_key)) + ext) for ext in _IMAGE_EXTS]


def importer_for(task_type: str) -> Importer:
    from datasets.importing import detection, images, sound, text

    table = {
        "image_classification": images.ImageImporter,
        "object_detection": detection.DetectionImporter,
        "sound_classification": sound.SoundImporter,
        "text_classification": text.TextImporter,
    }
    if task_type not in table:
        raise ValueError(f"no file importer for {task_type}")
    return table[task_type]()
