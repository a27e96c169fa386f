"""Predictive analytics CSV: streaming profile and the guide's table rules.

Rules (guide 4.1): ``\\n`` rows, the same number of columns on every row, no Chinese
characters, no timestamp-format columns, single-valued columns dropped, at least two valid
columns besides the label, more than 150 valid rows and at least 100 distinct records.

The guide's file (``,``, no header, no quotes) is read exactly as ModelArts reads it. Beyond
it, the CSV a spreadsheet exports works too (one dialect detection, here): the separator
(``,`` ``;`` tab ``|``) is sniffed from the first 64 KB and checked for a consistent column
count, fields may be quoted (a separator or a doubled quote inside), a UTF-8 BOM is dropped and a
header row is detected (or set by the user). Columns are named by the header (made safe)
or ``attr_1`` … ``attr_N``; ``attr_N`` stays an alias of column N either way.

The file is read once, line by line: only per-column counters, capped sets of distinct
values, the preview rows and one 8-byte hash per distinct record are kept, so memory does
not grow with the row count beyond those hashes.

Definitions used below:
- a missing value is an empty field (after stripping spaces);
- a valid row is a row with at least one non-missing value (",,,," rows are ignored);
- a distinct record is a distinct full row (all fields, stripped).
"""

import csv
import hashlib
import io
import itertools
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
_ATTR = re.compile(r"attr_\d+")
DELIMITERS = (",", ";", "\t", "|")
SNIFF_BYTES = 64 * 1024  # the sample the separator and the header are detected on
MAX_NAME_CHARS = 64
CONSISTENT_SHARE = 0.9  # a few ragged rows still tell the separator (and are then refused by row)
_FILE_NAME = re.compile(r"[A-Za-z0-9_-]+\.csv", re.IGNORECASE)


@dataclass(frozen=True)
class CsvDialect:
    """How to read the file: what the profile found, and what the trainer re-reads it with."""

    delimiter: str = ","
    quotechar: str = '"'
    has_header: bool = False


@dataclass(frozen=True)
class ColumnProfile:
    name: str  # the header's name (made safe), or attr_N when the CSV has no header
    index: int  # 0-based
    kind: str  # "numeric" | "categorical"
    distinct: int  # capped at DISTINCT_CAP (see distinct_capped)
    missing_share: float
    valid: bool
    reason: str | None
    sample_values: list[str]
    distinct_capped: bool = False
    digits_only: bool = False  # every value is digits with optional sign/decimal point

    @property
    def key(self) -> str:
        """``attr_N``: the column's id in the engine and model graph, and a ModelArts alias."""
        return column_key(self.index)


@dataclass(frozen=True)
class TableProfile:
    columns: list[ColumnProfile]
    rows: int  # data rows (blank lines and the header excluded)
    valid_rows: int
    distinct_rows: int
    preview_rows: list[list[str]] = field(default_factory=list)
    delimiter: str = ","
    quotechar: str = '"'
    has_header: bool = False
    # "detected" or "user": whether has_header is the detection's guess or the user's choice.
    header_source: str = "detected"

    def column(self, ref: int | str) -> ColumnProfile:
        """By 0-based index, by name (``age``) or by its ``attr_N`` alias."""
        for col in self.columns:
            if col.index == ref or col.name == ref:
                return col
        for col in self.columns:
            if col.key == ref:
                return col
        raise KeyError(ref)

    @property
    def valid_columns(self) -> list[ColumnProfile]:
        return [c for c in self.columns if c.valid]

    @property
    def dialect(self) -> CsvDialect:
        return CsvDialect(self.delimiter, self.quotechar, self.has_header)


def column_key(index: int) -> str:
    return f"attr_{index + 1}"


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
    has_header: bool | None = None,
) -> TableProfile:
    """Profile a CSV and enforce the file-level rules (FormatError on violation).

    ``stream`` is a binary file object or any iterable of byte chunks (lines or not), such
    as a boto3 ``StreamingBody.iter_chunks()``. Timestamp columns raise unless
    ``allow_timestamps``, in which case they are only marked invalid. ``has_header`` is the
    user's choice; None detects it.
    """
    header_source = "detected" if has_header is None else "user"
    dialect, table_rows = open_table(stream, max_bytes=max_bytes, has_header=has_header)
    has_header = dialect.has_header

    ncols = 0
    accs: list[_ColumnAcc] = []
    names: list[str] = []
    first_row: list[str] | None = None
    rows = valid_rows = 0
    row_hashes: set[bytes] = set()
    preview: list[list[str]] = []
    what = "the header" if has_header else "the first row"

    for row_no, fields in table_rows:
        if contains_chinese("".join(fields)):
            raise FormatError(f"line {row_no} contains Chinese characters, which are not supported")
        if not names:
            if len(fields) < 2:
                raise FormatError(
                    f"row {row_no} has a single column; columns must be separated by a comma, a semicolon, "
                    "a tab or |"
                )
            ncols = len(fields)
            if ncols > MAX_COLUMNS:
                raise FormatError(f"row {row_no} has {ncols} columns, more than the {MAX_COLUMNS} allowed")
            cap = max(MIN_DISTINCT_CAP, min(DISTINCT_CAP, DISTINCT_VALUES_BUDGET // ncols))
            accs = [_ColumnAcc(cap) for _ in range(ncols)]
            names = safe_column_names(fields) if has_header else [column_key(i) for i in range(ncols)]
            if has_header:
                continue
        if len(fields) != ncols:
            raise FormatError(_ragged(row_no, fields, ncols, what, dialect))
        if first_row is None:
            first_row = fields
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
        raise FormatError("the file has no data rows" + (" below the header" if has_header else ""))
    for acc, value in zip(accs, first_row, strict=True):
        acc.add(value, first=True)

    columns = [_column(i, names[i], acc, rows, allow_timestamps) for i, acc in enumerate(accs)]
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
        columns=columns, rows=rows, valid_rows=valid_rows, distinct_rows=len(row_hashes), preview_rows=preview,
        delimiter=dialect.delimiter, quotechar=dialect.quotechar, has_header=has_header,
        header_source=header_source,
    )


# ------------------------------------------------------------------ dialect


def open_table(
    stream: BinaryIO | Iterable[bytes], *, max_bytes: int = MAX_CSV_BYTES, has_header: bool | None = None
) -> tuple[CsvDialect, Iterator[tuple[int, list[str]]]]:
    """The one dialect and header detection (the profile's, and batch prediction's on each
    of its files): the dialect found on the first 64 KB, and every row of the file, the
    header included, as (1-based line number, stripped fields). ``has_header`` is the
    user's choice; None detects it."""
    lines = _text_lines(stream, max_bytes=max_bytes)
    sample = _take_sample(lines)
    if not any(line.strip() for line in sample):
        raise FormatError("the file has no data rows")
    dialect = sniff_dialect(sample)
    if has_header is None:
        has_header = detect_header(sample, dialect)
    dialect = CsvDialect(dialect.delimiter, dialect.quotechar, has_header)
    return dialect, _rows(itertools.chain(sample, lines), dialect)


def sniff_dialect(sample: list[str]) -> CsvDialect:
    """The separator: of ``,`` ``;`` tab ``|``, those that split the sample's rows (up to a
    malformed one) into the first row's number (≥ 2) of columns, nearly always; csv.Sniffer's
    guess among them, else the most consistent, else ``,`` (whose errors then name the row).
    Quoting is always ``"``, doubled inside a quoted field, as spreadsheets write it."""
    shares = {d: share for d in DELIMITERS if (share := _consistency(sample, d)) >= CONSISTENT_SHARE}
    if not shares:
        return CsvDialect(",")
    try:
        guess = csv.Sniffer().sniff("".join(sample), delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        guess = None
    if guess in shares:
        return CsvDialect(guess)
    return CsvDialect(max(shares, key=lambda d: (shares[d], -DELIMITERS.index(d))))


def detect_header(sample: list[str], dialect: CsvDialect) -> bool:
    """A first row of words (no numbers, none empty, all different) is a header when it sits
    over a column that is numeric below it (the rule that refused headers before), or when
    csv.Sniffer thinks so and none of its words appears again in its own column (so a
    header-less table of categories keeps its first row as data)."""
    try:
        parsed = [fields for _, fields in _rows(iter(sample), CsvDialect(dialect.delimiter, dialect.quotechar))]
    except FormatError:
        return False
    if len(parsed) < 2:
        return False
    first, below = parsed[0], [r for r in parsed[1:] if len(r) == len(parsed[0])]
    if len(first) < 2 or not all(first) or any(_NUMERIC.fullmatch(v) for v in first):
        return False
    if len(set(first)) != len(first) or not below:
        return False
    for i in range(len(first)):
        present = [r[i] for r in below if r[i]]
        if present and all(_NUMERIC.fullmatch(v) for v in present):
            return True
    try:
        sniffed = csv.Sniffer().has_header("".join(sample))
    except csv.Error:
        return False
    return sniffed and not any(first[i] in {r[i] for r in below} for i in range(len(first)))


def safe_column_names(header: list[str]) -> list[str]:
    """Header cells as column names: stripped, an empty one becomes ``attr_N``, a name that
    is another column's ``attr_K`` alias or a response key becomes ``<name>_N``, repeats get
    ``_2``, ``_3``…"""
    reserved = {"predictioncol", "probabilities"}
    names: list[str] = []
    taken: set[str] = set()
    for i, raw in enumerate(header):
        name = header_cell_name(raw) or column_key(i)
        if (_ATTR.fullmatch(name) and name != column_key(i)) or name in reserved:
            name = f"{name}_{i + 1}"
        base, k = name, 1
        while name in taken:
            k += 1
            name = f"{base}_{k}"
        taken.add(name)
        names.append(name)
    return names


def header_cell_name(raw: str) -> str:
    """A header cell as a name: spaces collapsed, at most MAX_NAME_CHARS ("" when empty)."""
    return " ".join(raw.split())[:MAX_NAME_CHARS]


def read_rows(stream: BinaryIO | Iterable[bytes], dialect: CsvDialect) -> Iterator[list[str]]:
    """The data rows as the profile counted them (blank lines and the header skipped,
    fields stripped): row i here is data row i of the profile and of the eval split."""
    rows = _rows(_text_lines(stream, max_bytes=MAX_CSV_BYTES), dialect)
    if dialect.has_header:
        next(rows, None)
    for _, fields in rows:
        yield fields


def _consistency(sample: list[str], delimiter: str) -> float:
    """The share of rows (up to a malformed one) with the first row's column count, 0 when
    that count is 1."""
    counts: list[int] = []
    try:
        for _, fields in _rows(iter(sample), CsvDialect(delimiter)):
            counts.append(len(fields))
    except FormatError:
        pass
    if not counts or counts[0] < 2:
        return 0.0
    return counts.count(counts[0]) / len(counts)


def _take_sample(lines: Iterator[str]) -> list[str]:
    sample: list[str] = []
    size = 0
    for line in lines:
        sample.append(line)
        size += len(line)
        if size >= SNIFF_BYTES:
            break
    return sample


class _Feed:
    """Lines into csv.reader, remembering those of the current row (to name a bad quote's
    column) and refusing a row that grows past MAX_LINE_BYTES (an unclosed quote)."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.row: list[str] = []
        self.size = 0
        self.line_no = 0

    def __iter__(self) -> "_Feed":
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.line_no += 1
        self.row.append(line)
        self.size += len(line)
        if self.size > MAX_LINE_BYTES:
            raise FormatError(
                f"row {self.line_no - len(self.row) + 1} is longer than {human_size(MAX_LINE_BYTES)}"
                + ("; a closing quote (\") is probably missing" if len(self.row) > 1 else "")
            )
        return line

    def start_row(self) -> int:
        self.row, self.size = [], 0
        return self.line_no + 1



def _rows(lines: Iterator[str], dialect: CsvDialect) -> Iterator[tuple[int, list[str]]]:
    """(1-based line number where the row starts, stripped fields), blank lines skipped."""
    feed = _Feed(lines)
    reader = csv.reader(
        feed, delimiter=dialect.delimiter, quotechar=dialect.quotechar, doublequote=True,
        skipinitialspace=True, strict=True,
    )
    while True:
        row_no = feed.start_row()
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FormatError(_quote_problem(row_no, "".join(feed.row), dialect, str(exc))) from None
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        yield row_no, [f.strip() for f in fields]


def _quote_problem(row_no: int, text: str, dialect: CsvDialect, error: str) -> str:
    """Name the column whose quoting is broken: a closing quote followed by text, or a
    quoted field that never ends."""
    q, d = dialect.quotechar, dialect.delimiter
    column, i, n = 1, 0, len(text)
    while i < n:
        while i < n and text[i] == " ":
            i += 1
        if i < n and text[i] == q:
            i += 1
            while True:
                j = text.find(q, i)
                if j < 0:
                    return f"row {row_no}, column {column}: a quoted field is not closed (a {q} is missing)"
                if j + 1 < n and text[j + 1] == q:
                    i = j + 2
                    continue
                i = j + 1
                break
            rest = text[i:].lstrip(" ")
            if rest and rest[0] not in (d, "\r", "\n"):
                return (
                    f"row {row_no}, column {column}: text follows a closing quote ({q}); quote the whole field "
                    f"and double the quotes inside it ({q}{q})"
                )
        while i < n and text[i] not in (d, "\n"):
            i += 1
        if i < n and text[i] == "\n":
            break
        i += 1
        column += 1
    return f"row {row_no}: {error}"


def _ragged(row_no: int, fields: list[str], ncols: int, what: str, dialect: CsvDialect) -> str:
    sep = {",": "comma", ";": "semicolon", "\t": "tab", "|": "|"}[dialect.delimiter]
    hint = "" if len(fields) < ncols else f"; a value holding a {sep} must be quoted (\"…\")"
    return f"row {row_no} has {len(fields)} columns, {what} has {ncols}{hint}"


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


def _column(index: int, name: str, acc: _ColumnAcc, rows: int, allow_timestamps: bool) -> ColumnProfile:
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


def _text_lines(stream: BinaryIO | Iterable[bytes], *, max_bytes: int) -> Iterator[str]:
    """Decoded lines with their newline, for csv.reader (a quoted field may span lines)."""
    for line_no, raw in _lines(stream, max_bytes=max_bytes):
        yield _decode(raw, line_no) + "\n"


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
