"""What converters produce: files to write, either bytes or a copy of a stored object."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

SPLIT_FOLDERS = {"TRAIN": "train", "EVAL": "val"}


@dataclass(frozen=True)
class ExportFile:
    path: str  # relative to the export root, "/"-separated
    data: bytes | None = None
    source: str | None = None  # s3://bucket/key to copy instead of data


def split_folder(usage: str) -> str:
    return SPLIT_FOLDERS.get(usage, "train")


def unique_file_names(names: Iterable[str]) -> list[str]:
    """The names, made unique by ``_2``, ``_3`` … before the extension where they repeat."""
    used: set[str] = set()
    out = []
    for name in names:
        base, dot, ext = name.rpartition(".")
        if not dot:
            base, ext = name, ""
        candidate, k = name, 1
        while candidate in used:
            k += 1
            candidate = f"{base}_{k}.{ext}" if dot else f"{base}_{k}"
        used.add(candidate)
        out.append(candidate)
    return out


def stem_of(name: str) -> str:
    return name.rpartition(".")[0] or name
