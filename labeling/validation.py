"""Checks every label and annotation write shares."""

from __future__ import annotations

from typing import Any

from datasets.formats.errors import FormatError
from datasets.formats.label_names import check_label_name
from datasets.models import Dataset
from exeml.errors import ApplicationError
from exeml.task_types import TaskType


def check_name(name: Any, field: str = "name") -> str:
    if not isinstance(name, str):
        raise ApplicationError("label name must be a string", field=field)
    try:
        check_label_name(name)
    except FormatError as exc:
        raise ApplicationError(exc.reason, field=field)
    return name


def refuse_tabular(dataset: Dataset) -> None:
    if dataset.task_type == TaskType.PREDICTIVE_ANALYTICS:
        raise ApplicationError(
            "predictive analytics datasets have no per-sample labels; choose a label column instead"
        )
