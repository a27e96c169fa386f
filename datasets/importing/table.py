"""Predictive analytics: the dataset's ONE CSV file, profiled into Dataset.table_profile."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from datasets.formats import FormatError
from datasets.formats.csv_table import ColumnProfile, TableProfile, profile_csv
from datasets.importing.base import limit
from exeml.storage import ObjectInfo, ObjectStore

_DIALECT_FIELDS = ("delimiter", "quotechar", "has_header", "header_source")


def profile_to_json(profile: TableProfile) -> dict[str, Any]:
    return asdict(profile)


def profile_from_json(data: dict[str, Any]) -> TableProfile | None:
    """A stored profile; one stored before dialects were detected reads as the guide's CSV."""
    if not data or "columns" not in data:
        return None
    return TableProfile(
        columns=[ColumnProfile(**c) for c in data["columns"]],
        rows=data["rows"],
        valid_rows=data["valid_rows"],
        distinct_rows=data["distinct_rows"],
        preview_rows=data.get("preview_rows", []),
        **{k: data[k] for k in _DIALECT_FIELDS if k in data},
    )


def profile_object(
    store: ObjectStore, bucket: str, info: ObjectInfo, *, has_header: bool | None = None
) -> TableProfile:
    """Stream the CSV through the profiler; never holds the file in memory. ``has_header``
    is the user's override (Dataset.csv_has_header), None to detect."""
    max_bytes = limit("csv_max_bytes")
    if info.size > max_bytes:
        raise FormatError(f"the CSV is larger than the {max_bytes // (1024 * 1024)} MB limit")
    with store.open(bucket, info.key) as fh:
        return profile_csv(fh, max_bytes=max_bytes, has_header=has_header)
