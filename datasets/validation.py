"""Checks of user input shared by dataset and project creation (paths, names, label sets)."""

from __future__ import annotations

import re
from typing import Any

from datasets.formats import FormatError
from datasets.formats.csv_table import check_csv_file_name
from datasets.formats.label_names import check_label_name
from exeml.errors import ApplicationError
from exeml.storage import StoragePath, StoragePathError, ensure_within_roots, is_under, parse_storage_path
from exeml.task_types import COLOR_REQUIRED

_DATASET_NAME = re.compile(r"^[^\W\d_][\w-]{0,63}$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def clean_path(*, tenant, path: Any, field: str) -> StoragePath:
    """A user-given storage path inside the tenant's roots (StoragePathError -> 400 on ``field``)."""
    if not isinstance(path, str) or not path:
        raise ApplicationError("a storage path (s3://bucket/folder/) is required", field=field)
    try:
        return ensure_within_roots(parse_storage_path(path), tenant.storage_roots)
    except StoragePathError as exc:
        raise ApplicationError(f"{exc.reason}: {path}", field=field)


def clean_folder(*, tenant, path: Any, field: str) -> StoragePath:
    return clean_path(tenant=tenant, path=path, field=field).as_folder()


def check_output_path(*, input_path: StoragePath, output_path: StoragePath, field: str) -> None:
    if str(output_path) == str(input_path) or is_under(output_path, input_path):
        raise ApplicationError("the output path must be neither the input path nor lie under it", field=field)


def clean_csv_path(*, tenant, path: Any, field: str = "training_data") -> StoragePath:
    """Predictive analytics training data: a ``.csv`` object inside a folder (not the bucket root)."""
    p = clean_path(tenant=tenant, path=path, field=field)
    if p.is_folder:
        raise ApplicationError("training data must be a CSV file, not a folder", field=field)
    if "/" not in p.key:
        raise ApplicationError("the CSV file must lie in a folder, not in the bucket root", field=field)
    try:
        check_csv_file_name(p.name)
    except FormatError as exc:
        raise ApplicationError(exc.reason, field=field)
    return p


def check_dataset_name(name: Any, *, field: str) -> str:
    if not isinstance(name, str) or not _DATASET_NAME.match(name):
        raise ApplicationError(
            "dataset name: 1-64 characters, letters, digits, '_' or '-', starting with a letter", field=field
        )
    return name


# One bulk insert per dataset creation: bounded so a request cannot mint a million rows.
MAX_INITIAL_LABELS = 1000


def clean_labels(*, task_type: str, labels: Any, field: str) -> list[dict[str, str]]:
    """[{"name","color"}]: valid distinct names; colors (#rrggbb) required for detection and text."""
    if labels in (None, ""):
        return []
    if not isinstance(labels, list):
        raise ApplicationError('labels must be a list of {"name", "color"}', field=field)
    if len(labels) > MAX_INITIAL_LABELS:
        raise ApplicationError(f"at most {MAX_INITIAL_LABELS} labels can be given at creation", field=field)
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for item in labels:
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict):
            raise ApplicationError('each label must be {"name", "color"}', field=field)
        name, color = item.get("name"), item.get("color") or ""
        try:
            check_label_name(name if isinstance(name, str) else "")
        except FormatError as exc:
            raise ApplicationError(exc.reason, field=field)
        if name in seen:
            raise ApplicationError(f"label {name!r} is given twice", field=field)
        seen.add(name)
        if not color and task_type in COLOR_REQUIRED:
            raise ApplicationError(f"label {name!r} needs a color (#rrggbb) for this project type", field=field)
        if color and (not isinstance(color, str) or not _COLOR.match(color)):
            raise ApplicationError(f"label {name!r}: color must look like #rrggbb", field=field)
        out.append({"name": name, "color": color.lower()})
    return out
