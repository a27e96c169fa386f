"""Text classification: one sample per non-empty line; ``name_result.txt`` labels rows in order."""

from __future__ import annotations

from typing import Any

from datasets.formats.filenames import file_kind, stem
from datasets.formats.text import (
    RESULT_SUFFIX,
    is_result_file,
    iter_text_lines,
    parse_result_labels,
    result_name_for,
)
from datasets.importing.base import Importer, Role, base_name, limit, sibling
from datasets.labels import ImportedAnnotations


class TextImporter(Importer):
    task_type = "text_classification"
    data_kinds = ("txt", "csv")

    def role(self, name: str) -> Role | None:
        if is_result_file(name):
            return Role.LABEL
        return super().role(name)

    def max_bytes(self, role: Role) -> int:
        return limit("text_max_bytes")

    def inspect(self, name: str, data: bytes) -> list[dict[str, Any]]:
        return [
            {"line_number": no, "text": text, "format": (file_kind(name) or "txt").upper()}
            for no, text in iter_text_lines(data, max_bytes=limit("text_max_bytes"))
        ]

    def label_key_for(self, data_key: str) -> str | None:
        return sibling(data_key, result_name_for(base_name(data_key)))

    def data_keys_for(self, label_key: str) -> list[str]:
        text_stem = stem(base_name(label_key))[: -len(RESULT_SUFFIX)]
        return [sibling(label_key, text_stem + ext) for ext in (".txt", ".csv")]

    def parse_labels(self, data: bytes, samples: list[Any]) -> list[ImportedAnnotations]:
        labels = parse_result_labels(data, max_bytes=limit("text_max_bytes"))
        # Row i of the result file labels the i-th non-empty line; lines past its end keep theirs.
        rows = sorted(samples, key=lambda s: s.line_number)
        return [ImportedAnnotations(sample=s, labels=[label]) for s, label in zip(rows, labels, strict=False)]
