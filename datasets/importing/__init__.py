"""Per-type import rules: which files are data or labels, how they are validated and applied.

The registry of importers by project type lives here, so ``base`` knows none of its
subclasses; predictive analytics (one CSV) is profiled by ``table``, not imported file by file."""

from datasets.importing.base import Importer, Role
from datasets.importing.detection import DetectionImporter
from datasets.importing.images import ImageImporter
from datasets.importing.sound import SoundImporter
from datasets.importing.text import TextImporter

IMPORTERS: dict[str, type[Importer]] = {
    "image_classification": ImageImporter,
    "object_detection": DetectionImporter,
    "sound_classification": SoundImporter,
    "text_classification": TextImporter,
}


def importer_for(task_type: str) -> Importer:
    if task_type not in IMPORTERS:
        raise ValueError(f"no file importer for {task_type}")
    return IMPORTERS[task_type]()


__all__ = ["IMPORTERS", "Importer", "Role", "importer_for"]
