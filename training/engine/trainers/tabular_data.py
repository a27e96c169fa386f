"""A predictive-analytics CSV as the tabular trainer reads it: the columns parsed once into
arrays (float32 numerics with NaN, categorical codes), the TRAIN/EVAL rows, the label as
numbers, and the per-column frame the model families take.

No cell is kept as its own Python string: a million-row table costs its arrays (a few bytes
a cell), not ~60 bytes a cell. Request records (evaluation through the serving predictor)
are written back from the parsed values, which serving parses to the same model inputs.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence

import numpy as np

from training.engine.preprocessing.tabular import MISSING_CATEGORY, is_missing, parse_number
from training.engine.spec import TrainingError, TrainSpec

MIN_CONTINUOUS_DISTINCT = 25  # ModelArts' rule for a continuous label column
MIN_TRAIN_ROWS = 10
READ_CHUNK_ROWS = 50_000  # rows held as strings at once while reading


class _Codes:
    """A column as int32 codes into its distinct stripped values (first-seen order)."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.parts: list[np.ndarray] = []

    def add(self, values: Sequence[str]) -> None:
        index = self.index
        self.parts.append(np.fromiter((index.setdefault(v, len(index)) for v in values), dtype=np.int32,
                                      count=len(values)))

    def finish(self) -> tuple[np.ndarray, list[str]]:
        codes = np.concatenate(self.parts) if self.parts else np.zeros(0, dtype=np.int32)
        self.parts = []
        return codes, list(self.index)


def _numbers(values: Sequence[str]) -> np.ndarray:
    """float32 as serving's parse_number (non-numbers and missing tokens are NaN)."""
    import pandas as pd

    out = np.array(pd.to_numeric(pd.Series(values, dtype=object), errors="coerce"), dtype=np.float64)
    for i in np.flatnonzero(np.isnan(out)):  # rare: what the fast parser refused, as Python parses it
        number = parse_number(values[i])
        out[i] = float("nan") if number is None else number
    out[~np.isfinite(out)] = np.nan
    return out.astype(np.float32)


class TabularData:
    """The CSV's columns as arrays plus the derived split and label arrays."""

    def __init__(self, spec: TrainSpec) -> None:
        tab = spec.tabular
        assert tab is not None
        self.names = dict(zip(tab.columns, tab.names or tab.columns, strict=True))
        self.label_column = tab.label_column
        self.label_type = tab.label_type
        self.features = [
            {"name": c, "kind": tab.kinds.get(c, "numeric")}
            for c in tab.columns
            if c != tab.label_column and c not in tab.dropped
        ]
        if not self.features:
            raise TrainingError("no feature columns left besides the label column")
        self.numeric: dict[str, np.ndarray] = {}
        self.codes: dict[str, tuple[np.ndarray, list[str]]] = {}  # categorical features and the label
        self._read(tab)
        self._table = None
        label_codes, label_values = self.codes[tab.label_column]
        self.n_rows = len(label_codes)
        missing = np.fromiter((is_missing(v) for v in label_values), dtype=bool, count=len(label_values))
        labelled = np.flatnonzero(~missing[label_codes]) if len(label_values) else np.zeros(0, dtype=np.int64)
        eval_mask = np.zeros(self.n_rows, dtype=bool)
        given = np.asarray([i for i in tab.eval_rows if 0 <= i < self.n_rows], dtype=np.int64)
        eval_mask[given] = True
        if not eval_mask.any():  # no split given: hold out a fifth, reproducibly
            rng = np.random.default_rng(spec.seed)
            eval_mask[rng.permutation(labelled)[: max(1, len(labelled) // 5)]] = True
        self.train_rows = [int(i) for i in labelled[~eval_mask[labelled]]]
        self.eval_rows = [int(i) for i in labelled[eval_mask[labelled]]]
        if len(self.train_rows) < MIN_TRAIN_ROWS:
            raise TrainingError(
                f"only {len(self.train_rows)} labelled training rows; at least {MIN_TRAIN_ROWS} needed"
            )
        label_name = self.names[tab.label_column]
        train_codes = np.unique(label_codes[np.asarray(self.train_rows, dtype=np.int64)])
        if self.label_type == "continuous":
            numbers = [parse_number(v) for v in label_values]
            used = np.unique(label_codes[labelled])
            bad = [label_values[k] for k in used if numbers[k] is None]
            if bad:
                raise TrainingError(
                    f"label column {label_name} is continuous but holds non-numeric values "
                    f"(e.g. {bad[0]!r}); choose discrete or fix the data"
                )
            if len(train_codes) < MIN_CONTINUOUS_DISTINCT:
                raise TrainingError(
                    f"label column {label_name} is continuous but has only {len(train_codes)} distinct values in "
                    f"the training rows (at least {MIN_CONTINUOUS_DISTINCT} needed); choose discrete instead"
                )
            self.classes: list[str] = []
            lookup = np.asarray([math.nan if v is None else v for v in numbers], dtype=np.float64)
            self.y = lookup[label_codes] if len(lookup) else np.zeros(0, dtype=np.float64)
        else:
            self.classes = sorted({label_values[k] for k in train_codes})
            if len(self.classes) < 2:
                raise TrainingError(f"label column {label_name} has fewer than two classes in the training rows")
            index = {c: k for k, c in enumerate(self.classes)}
            lookup = np.asarray([index.get(v, -1) for v in label_values], dtype=np.int64)
            self.y = lookup[label_codes]

    def _read(self, tab) -> None:
        kinds = {f["name"]: f["kind"] for f in self.features}
        wanted = [(k, c) for k, c in enumerate(tab.columns) if c in kinds or c == tab.label_column]
        coders = {c: _Codes() for _, c in wanted if c == tab.label_column or kinds[c] != "numeric"}
        numbers: dict[str, list[np.ndarray]] = {c: [] for _, c in wanted if c not in coders}
        for rows in _chunks(tab):
            columns = list(zip(*rows, strict=True)) if rows else [() for _ in tab.columns]
            for k, c in wanted:
                values = [v.strip() for v in columns[k]]
                if c in coders:
                    coders[c].add(values)
                else:
                    numbers[c].append(_numbers(values))
        for c, parts in numbers.items():
            self.numeric[c] = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        for c, coder in coders.items():
            self.codes[c] = coder.finish()

    def frame(self, rows: Sequence[int]):
        """The model input as a DataFrame (one column per feature, the conversions serving
        makes: float32 numerics with NaN, categorical strings with the missing sentinel)."""
        if self._table is None:
            import pandas as pd

            table = {}
            for f in self.features:
                name = f["name"]
                if f["kind"] == "numeric":
                    table[name] = self.numeric[name]
                else:
                    # One string object per distinct value, shared by its cells.
                    codes, values = self.codes[name]
                    shown = np.asarray([MISSING_CATEGORY if is_missing(v) else v for v in values] or [""], dtype=object)
                    table[name] = shown[codes]
            self._table = pd.DataFrame(table)
        return self._table.iloc[np.asarray(rows, dtype=np.int64)].reset_index(drop=True)

    def labelled_rows(self) -> np.ndarray:
        """TRAIN + EVAL rows whose label the model can learn (a class absent from TRAIN is not)."""
        rows = np.asarray(sorted(self.train_rows + self.eval_rows), dtype=np.int64)
        return rows if self.label_type == "continuous" else rows[self.y[rows] >= 0]

    def label_text(self, row: int) -> str:
        codes, values = self.codes[self.label_column]
        return values[codes[row]]

    def column_text(self, column: str, rows: np.ndarray) -> list[str]:
        """A column's cells at ``rows`` as a request carries them; serving parses each to the
        value training used (float32's shortest text is exact; "nan" is a missing token)."""
        if column in self.numeric:
            return self.numeric[column][rows].astype(str).tolist()
        codes, values = self.codes[column]
        return np.asarray(values or [""], dtype=object)[codes[rows]].tolist()

    def records(self, rows: Sequence[int], *, by_name: bool = False) -> list[dict[str, str]]:
        """Rows as request records (the feature and label columns), keyed by attr_N or by the
        columns' names."""
        columns = [f["name"] for f in self.features] + [self.label_column]
        keys = [self.names[c] if by_name else c for c in columns]
        at = np.asarray(rows, dtype=np.int64)
        texts = [self.column_text(c, at) for c in columns]
        return [dict(zip(keys, cells, strict=True)) for cells in zip(*texts, strict=True)]


def _chunks(tab) -> Iterator[list[list[str]]]:
    """The CSV's data rows as the profile counted them (same dialect; blank lines and the
    header skipped), each of len(tab.columns) fields, READ_CHUNK_ROWS at a time."""
    rows: list[list[str]] = []
    skip_header = tab.has_header
    try:
        with open(tab.csv_path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, delimiter=tab.delimiter, quotechar=tab.quotechar, doublequote=True,
                                skipinitialspace=True, strict=True)
            for fields in reader:
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue
                if len(fields) != len(tab.columns):
                    raise TrainingError(
                        f"row {reader.line_num} of the CSV has {len(fields)} columns, expected {len(tab.columns)}"
                    )
                if skip_header:
                    skip_header = False
                    continue
                rows.append(fields)
                if len(rows) >= READ_CHUNK_ROWS:
                    yield rows
                    rows = []
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TrainingError(f"cannot read the training CSV: {exc}") from None
    if rows:
        yield rows
