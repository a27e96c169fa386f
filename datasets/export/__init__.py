"""Dataset exports: pure converters (voc, coco, yolo, folders) that turn frozen items into
a list of :class:`ExportFile`, and ``service`` which runs one as a job into storage or a zip."""

from datasets.export.base import ExportFile, split_folder, unique_file_names

__all__ = ["ExportFile", "split_folder", "unique_file_names"]
