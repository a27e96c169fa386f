"""Cell values (strings, as in the CSV and in inference requests) -> ONNX model inputs.

The model graph has one input per used column: numerics as float32 [N, 1], categoricals
as string [N, 1]. Missing categoricals become a sentinel before fit and inference
(encoders handle NaN inconsistently between sklearn and ONNX); missing numerics become NaN,
which LightGBM routes like it did in training.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from . import InputError

MISSING_CATEGORY = "__missing__"
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-"})


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return str(value).strip().lower() in MISSING_TOKENS


def parse_number(value: Any) -> float | None:
    """A float, NaN for a missing value, None when the value is not a number."""
    if is_missing(value):
        return float("nan")
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def numeric_column(values: Iterable[Any], *, column: str, strict: bool) -> np.ndarray:
    """float32 [N, 1]. ``strict`` rejects non-numbers (serving); otherwise they become NaN."""
    out = []
    for i, value in enumerate(values):
        number = parse_number(value)
        if number is None:
            if strict:
                raise InputError(f"column {column!r} (record {i}) must be numeric, got {value!r}")
            number = float("nan")
        out.append(number)
    return np.asarray(out, dtype=np.float32).reshape(-1, 1)


def categorical_column(values: Iterable[Any]) -> np.ndarray:
    """object [N, 1] of stripped strings; missing -> MISSING_CATEGORY."""
    out = [MISSING_CATEGORY if is_missing(v) else str(v).strip() for v in values]
    return np.asarray(out, dtype=object).reshape(-1, 1)


def used_columns(input_spec: Mapping[str, Any]) -> list[dict[str, str]]:
    """[{"name", "kind"}] in graph-input order (input_spec["features"])."""
    return list(input_spec["features"])


def columns_to_inputs(
    columns: Mapping[str, Sequence[Any]], input_spec: Mapping[str, Any], *, strict: bool
) -> dict[str, np.ndarray]:
    """Raw column values -> {input name: array} for the ONNX session (and the sklearn pipeline)."""
    inputs: dict[str, np.ndarray] = {}
    for feature in used_columns(input_spec):
        name = feature["name"]
        if name not in columns:
            raise InputError(f"missing column {name!r}")
        if feature["kind"] == "numeric":
            inputs[name] = numeric_column(columns[name], column=name, strict=strict)
        else:
            inputs[name] = categorical_column(columns[name])
    return inputs


def records_to_inputs(
    records: Sequence[Mapping[str, Any]], input_spec: Mapping[str, Any]
) -> dict[str, np.ndarray]:
    """Inference records -> ONNX inputs, strictly validated. A record keys a column by its
    name (the CSV header's, ``{"age": "58", ...}``) or by its ``attr_N`` (ModelArts)."""
    if not records:
        raise InputError("req_data is empty")
    names = dict(zip(input_spec.get("columns") or (), input_spec.get("names") or (), strict=False))
    columns: dict[str, list[Any]] = {}
    for feature in used_columns(input_spec):
        key = feature["name"]
        name = names.get(key, key)
        values = []
        for i, record in enumerate(records):
            if not isinstance(record, Mapping):
                raise InputError(f"req_data[{i}] must be an object")
            if name in record:
                values.append(record[name])
            elif key in record:
                values.append(record[key])
            else:
                also = f" (or {key!r})" if name != key else ""
                raise InputError(f"req_data[{i}] is missing column {name!r}{also}")
        columns[key] = values
    try:
        return columns_to_inputs(columns, input_spec, strict=True)
    except InputError as exc:
        if not names:
            raise
        # Name the column as the user knows it.
        message = str(exc)
        for key, name in names.items():
            message = message.replace(f"column {key!r}", f"column {name!r}")
        raise InputError(message) from None
