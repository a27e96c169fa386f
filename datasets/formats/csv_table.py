"""Predictive analytics CSV: streaming profile and the guide's table rules.

Rules (guide 4.1): ``\\n`` rows, ``,`` columns, no header, no quotation marks, no Chinese
characters, the same number of columns on every row, no timestamp-format columns,
single-valued columns dropped, at least two valid columns besides the label, more than 150
valid rows and at least 100 distinct records. Columns are named ``attr_1`` … ``attr_N``.

The file is read once, line by line: only per-column counters, capped sets of distinct
values, the preview rows and one 8-byte hash per distinct record are kept, so memory does
not grow with the row count beyond those hashes.

Definitions used below:
- a missing value is an empty field (after stripping spaces);
- a valid row is a row with at least one non-missing value (",,,," rows are ignored);
- a distinct record is a distinct full row (all fields, stripped).
"""

import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from datasets.formats.errors import FormatError, human_size
from datasets.formats.filenames import contains_chinese

MAX_CSV_BYTES = 100 * 1024 * 1024
MIN_VALID_ROWS = 151  # "the number of valid data lines must be greater than 150"
MIN_DISTINCT_ROWS = 100
MIN_VALID_COLUMNS = 3  # two features besides the label
MIN_CONTINUOUS_DISTINCT = 25
PREVIEW_ROWS = 20
SAMPLE_VALUES = 5
DISTINCT_CAP = 10_000  # per column; counts above it are reported as "at least"
DISTINCT_ROWS_CAP = 2_000_000  # bounds the hash set on huge files
TIMESTAMP_SHARE = 0.9
MAX_LINE_BYTES = 1024 * 1024
# A 1 MB line of "1,2,3,..." is ~150k columns: per-column sets and counters then cost
# gigabytes on a 100 MB file. No model is trained on such tables, so they are refused,
# and wide tables share one budget of remembered distinct values.
MAX_COLUMNS = 1000
DISTINCT_VALUES_BUDGET = 2_000_000
MIN_DISTINCT_CAP = 100

_NUMERIC = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DIGITS_ONLY = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_TIMESTAMP = re.compile(
    r"(?:"
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"  # 2020-01-31, 2020/1/31
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"  # 31-01-2020, 01/31/20, 20-01-31 (yy-mm-dd)
    r")"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"  # optional time
    r"|\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"  # 12:30, 12:30:00
)
_FILE_NAME = re.compile(r"[A-Za-z0-9_-]+\.csv", re.IGNORECASE)


@dataclass(frozen=True)
class ColumnProfile:
    name: str  # attr_1 … attr_N
    index: int  # 0-based
    kind: str  # "numeric" | "categorical"
    distinct: int  # capped at DISTINCT_CAP (see distinct_capped)
    missing_share: float
    valid: bool
    reason: str | None
    sample_values: list[str]
    distinct_capped: bool = False
    digits_only: bool = False  # every value is digits with optional sign/decimal point


@dataclass(frozen=True)
class TableProfile:
    columns: list[ColumnProfile]
    rows: int  # data rows (blank lines excluded)
    valid_rows: int
    distinct_rows: int
    preview_rows: list[list[str]] = field(default_factory=list)

    def column(self, ref: int | str) -> ColumnProfile:
        """By 0-based index or by name (``attr_3``)."""
        for col in self.columns:
            if col.index == ref or col.name == ref:
                return col
        raise KeyError(ref)

    @property
    def valid_columns(self) -> list[ColumnProfile]:
        return [c for c in self.columns if c.valid]


def check_csv_file_name(name: str) -> None:
    """The guide: letters, digits, ``-`` and ``_``, extension CSV."""
    if not _FILE_NAME.fullmatch(name):
        raise FormatError(
            f"file name {name!r} must be letters, digits, '-' or '_' with the extension .csv"
        )


def is_numeric(value: str) -> bool:
    return _NUMERIC.fullmatch(value) is not None


def is_timestamp(value: str) -> bool:
    return _TIMESTAMP.fullmatch(value) is not None


class _ColumnAcc:
    __slots__ = ("missing", "present", "numeric", "digits", "timestamps", "values", "capped", "samples", "cap")

    def __init__(self, cap: int = DISTINCT_CAP) -> None:
        self.cap = cap
        self.missing = self.present = self.numeric = self.digits = self.timestamps = 0
        self.values: set[str] = set()
        self.capped = False
        self.samples: list[str] = []

    def add(self, value: str, *, first: bool = False) -> None:
        if not value:
            self.missing += 1
            return
        self.present += 1
        if _NUMERIC.fullmatch(value):
            self.numeric += 1
            if _DIGITS_ONLY.fullmatch(value):
                self.digits += 1
        elif _TIMESTAMP.fullmatch(value):
            self.timestamps += 1
        if first:  # the first row is folded in last; keep file order in samples
            self.samples = [value, *(v for v in self.samples if v != value)][:SAMPLE_VALUES]
        if value not in self.values:
            if len(self.values) < self.cap:
                self.values.add(value)
                if len(self.samples) < SAMPLE_VALUES and not first:
                    self.samples.append(value)
            else:
                self.capped = True


def profile_csv(
    stream: BinaryIO | Iterable[bytes],
    *,
    max_bytes: int = MAX_CSV_BYTES,
    min_valid_rows: int = MIN_VALID_ROWS,
    min_distinct_rows: int = MIN_DISTINCT_ROWS,
    min_valid_columns: int = MIN_VALID_COLUMNS,
    allow_timestamps: bool = False,
) -> TableProfile:
    """Profile a headerless CSV and enforce the file-level rules (FormatError on violation).

    ``stream`` is a binary file object or any iterable of byte chunks (lines or not), such
    as a boto3 ``StreamingBody.iter_chunks()``. Timestamp columns raise unless
    ``allow_timestamps``, in which case they are only marked invalid.
    """
    ncols = 0
    accs: list[_ColumnAcc] = []
    first_row: list[str] | None = None
    rows = valid_rows = 0
    row_hashes: set[bytes] = set()
    preview: list[list[str]] = []

    for line_no, raw in _lines(stream, max_bytes=max_bytes):
        line = _decode(raw, line_no)
        if not line.strip():
            continue
        if '"' in line:
            raise FormatError(f'line {line_no} contains a quotation mark ("); quotes are not supported')
        if contains_chinese(line):
            raise FormatError(f"line {line_no} contains Chinese characters, which are not supported")
        fields = [f.strip() for f in line.split(",")]
        if first_row is None:
            if len(fields) < 2:
                sep = "a semicolon" if ";" in line else "a tab" if "\t" in line else None
                hint = f"; it seems to use {sep} instead of a comma" if sep else ""
                raise FormatError(f"line {line_no} has a single column; columns must be comma-separated{hint}")
            ncols = len(fields)
            if ncols > MAX_COLUMNS:
                raise FormatError(f"line {line_no} has {ncols} columns, more than the {MAX_COLUMNS} allowed")
            cap = max(MIN_DISTINCT_CAP, min(DISTINCT_CAP, DISTINCT_VALUES_BUDGET // ncols))
            accs = [_ColumnAcc(cap) for _ in range(ncols)]
            first_row = fields
        elif len(fields) != ncols:
            raise FormatError(f"line {line_no} has {len(fields)} columns, expected {ncols} as on the first row")
        else:
            for acc, value in zip(accs, fields, strict=True):
                acc.add(value)
        rows += 1
        if len(preview) < PREVIEW_ROWS:
            preview.append(fields)
        if any(fields):
            valid_rows += 1
            if len(row_hashes) < DISTINCT_ROWS_CAP:
                row_hashes.add(hashlib.blake2b("\x1f".join(fields).encode(), digest_size=8).digest())

    if first_row is None:
        raise FormatError("the file has no data rows")
    _check_header(first_row, accs)
    for acc, value in zip(accs, first_row, strict=True):
        acc.add(value, first=True)

    columns = [_column(i, acc, rows, allow_timestamps) for i, acc in enumerate(accs)]
    if valid_rows < min_valid_rows:
        raise FormatError(f"only {valid_rows} valid rows; more than {min_valid_rows - 1} are needed")
    if len(row_hashes) < min_distinct_rows:
        raise FormatError(
            f"only {len(row_hashes)} distinct records; at least {min_distinct_rows} are needed"
        )
    valid = [c for c in columns if c.valid]
    if len(valid) < min_valid_columns:
        dropped = "; ".join(f"{c.name}: {c.reason}" for c in columns if not c.valid)
        raise FormatError(
            f"only {len(valid)} valid columns; at least {min_valid_columns - 1} are needed besides the "
            f"label column" + (f" ({dropped})" if dropped else "")
        )
    return TableProfile(
        columns=columns, rows=rows, valid_rows=valid_rows, distinct_rows=len(row_hashes), preview_rows=preview
    )


def check_label_column(profile: TableProfile, column: int | str, label_type: str) -> str | None:
    """Why ``column`` cannot be the label with ``label_type`` ("discrete" | "continuous"), or None."""
    try:
        col = profile.column(column)
    except KeyError:
        return f"there is no column {column!r}"
    if not col.valid:
        return f"{col.name} cannot be the label: {col.reason}"
    others = sum(1 for c in profile.columns if c.valid and c.index != col.index)
    if others < MIN_VALID_COLUMNS - 1:
        return f"with {col.name} as the label only {others} valid column(s) remain; at least 2 are needed"
    if label_type == "continuous":
        if not col.digits_only:
            return (
                f"{col.name} cannot be a continuous label: it holds non-numeric values "
                f"(e.g. {_non_numeric_example(col)!r}); choose discrete"
            )
        if col.distinct < MIN_CONTINUOUS_DISTINCT:
            return (
                f"{col.name} has only {col.distinct} distinct values; a continuous label needs at least "
                f"{MIN_CONTINUOUS_DISTINCT} (choose discrete)"
            )
        return None
    if label_type == "discrete":
        if col.distinct < 2:
            return f"{col.name} has only {col.distinct} class; a discrete label needs at least 2"
        return None
    return f"unknown label type {label_type!r}; expected 'discrete' or 'continuous'"


def _non_numeric_example(col: ColumnProfile) -> str:
    return next((v for v in col.sample_values if not _DIGITS_ONLY.fullmatch(v)), col.sample_values[0])


def _check_header(first_row: list[str], accs: list[_ColumnAcc]) -> None:
    """A first row of words over columns that are numeric below it is a header."""
    if not all(first_row) or any(_NUMERIC.fullmatch(v) for v in first_row):
        return
    numeric_below = [
        i for i, acc in enumerate(accs) if acc.present and acc.numeric == acc.present
    ]
    if numeric_below:
        names = ", ".join(first_row[i] for i in numeric_below[:3])
        raise FormatError(
            f"the first row looks like a header ({names} above numbers); remove the header row"
        )


def _column(index: int, acc: _ColumnAcc, rows: int, allow_timestamps: bool) -> ColumnProfile:
    name = f"attr_{index + 1}"
    distinct = len(acc.values)
    kind = "numeric" if acc.present and acc.numeric == acc.present else "categorical"
    reason = None
    if acc.present and acc.timestamps >= TIMESTAMP_SHARE * acc.present:
        example = next((v for v in acc.samples if is_timestamp(v)), acc.samples[0])
        reason = f"holds timestamps (e.g. {example!r}); timestamp columns are not supported"
        if not allow_timestamps:
            raise FormatError(f"column {name} {reason}")
    elif distinct == 0:
        reason = "has no values; column dropped"
    elif distinct == 1:
        reason = f"has a single value ({acc.samples[0]!r}); column dropped"
    return ColumnProfile(
        name=name,
        index=index,
        kind=kind,
        distinct=distinct,
        missing_share=acc.missing / rows if rows else 0.0,
        valid=reason is None,
        reason=reason,
        sample_values=list(acc.samples),
        distinct_capped=acc.capped,
        digits_only=acc.present > 0 and acc.digits == acc.present,
    )


def _lines(stream: BinaryIO | Iterable[bytes], *, max_bytes: int) -> Iterator[tuple[int, bytes]]:
    chunks: Iterable[bytes]
    if hasattr(stream, "read"):
        chunks = iter(lambda: stream.read(64 * 1024), b"")  # type: ignore[union-attr]
    else:
        chunks = stream
    total = 0
    line_no = 0
    pending = b""
    for chunk in chunks:
        total += len(chunk)
        if total > max_bytes:
            raise FormatError(f"table is larger than the {human_size(max_bytes)} limit")
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for raw in complete:
            line_no += 1
            yield line_no, raw.rstrip(b"\r")
        if len(pending) > MAX_LINE_BYTES:
            raise FormatError(f"line {line_no + 1} is longer than {human_size(MAX_LINE_BYTES)}")
    if pending:
        yield line_no + 1, pending.rstrip(b"\r")


def _decode(raw: bytes, line_no: int) -> str:
    try:
        return raw.decode("utf-8-sig" if line_no == 1 else "utf-8")
    except UnicodeDecodeError:
        pass
    try:  # name the real problem for GBK-encoded Chinese files
        if contains_chinese(raw.decode("gb18030")):
            raise FormatError(f"line {line_no} contains Chinese characters, which are not supported")
    except UnicodeDecodeError:
        pass
    raise FormatError(f"line {line_no} is not UTF-8 text")


def profile_csv_bytes(data: bytes, **limits: int) -> TableProfile:
    """Convenience for in-memory files (tests, uploads)."""
    return profile_csv(io.BytesIO(data), **limits)  # type: ignore[arg-type]
