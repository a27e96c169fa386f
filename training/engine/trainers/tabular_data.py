"""A predictive-analytics CSV as the tabular trainer reads it: the cells as strings, the
TRAIN/EVAL rows, the label as numbers, and the per-column frame the model families take."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from training.engine.preprocessing.tabular import columns_to_inputs, is_missing, parse_number
from training.engine.spec import TrainingError, TrainSpec

MIN_CONTINUOUS_DISTINCT = 25  # ModelArts' rule for a continuous label column
MIN_TRAIN_ROWS = 10


class TabularData:
    """The CSV as strings plus the derived split and label arrays."""

    def __init__(self, spec: TrainSpec) -> None:
        tab = spec.tabular
        assert tab is not None
        self.names = dict(zip(tab.columns, tab.names or tab.columns, strict=True))
        table = read_table(tab)
        self.raw = {c: [row[k] for row in table] for k, c in enumerate(tab.columns)}
        self._table = None
        self.n_rows = len(table)
        self.label_column = tab.label_column
        self.label_type = tab.label_type
        self.features = [
            {"name": c, "kind": tab.kinds.get(c, "numeric")}
            for c in tab.columns
            if c != tab.label_column and c not in tab.dropped
        ]
        if not self.features:
            raise TrainingError("no feature columns left besides the label column")
        raw_labels = self.raw[tab.label_column]
        labelled = [i for i, v in enumerate(raw_labels) if not is_missing(v)]
        eval_set = {i for i in tab.eval_rows if 0 <= i < self.n_rows}
        if not eval_set:  # no split given: hold out a fifth, reproducibly
            rng = np.random.default_rng(spec.seed)
            chosen = rng.permutation(labelled)[: max(1, len(labelled) // 5)]
            eval_set = {int(i) for i in chosen}
        self.train_rows = [i for i in labelled if i not in eval_set]
        self.eval_rows = [i for i in labelled if i in eval_set]
        if len(self.train_rows) < MIN_TRAIN_ROWS:
            raise TrainingError(
                f"only {len(self.train_rows)} labelled training rows; at least {MIN_TRAIN_ROWS} needed"
            )
        if self.label_type == "continuous":
            values = [parse_number(raw_labels[i]) for i in labelled]
            bad = [raw_labels[i] for i, v in zip(labelled, values, strict=True) if v is None]
            if bad:
                raise TrainingError(
                    f"label column {self.names[tab.label_column]} is continuous but holds non-numeric values "
                    f"(e.g. {bad[0]!r}); choose discrete or fix the data"
                )
            distinct = len({raw_labels[i].strip() for i in self.train_rows})
            if distinct < MIN_CONTINUOUS_DISTINCT:
                raise TrainingError(
                    f"label column {self.names[tab.label_column]} is continuous but has only {distinct} distinct values in "
                    f"the training rows (at least {MIN_CONTINUOUS_DISTINCT} needed); choose discrete instead"
                )
            self.classes: list[str] = []
            self.y = np.asarray([parse_number(v) for v in raw_labels], dtype=np.float64)
        else:
            self.classes = sorted({raw_labels[i].strip() for i in self.train_rows})
            if len(self.classes) < 2:
                raise TrainingError(
                    f"label column {self.names[tab.label_column]} has fewer than two classes in the training rows"
                )
            index = {c: k for k, c in enumerate(self.classes)}
            self.y = np.asarray([index.get(v.strip(), -1) for v in raw_labels], dtype=np.int64)

    def frame(self, rows: Sequence[int]):
        """The model input as a DataFrame (one column per feature, the conversions serving
        makes: float32 numerics with NaN, categorical strings with the missing sentinel)."""
        if self._table is None:
            import pandas as pd

            spec = {"features": self.features}
            inputs = columns_to_inputs({f["name"]: self.raw[f["name"]] for f in self.features}, spec, strict=False)
            self._table = pd.DataFrame({name: arr.reshape(-1) for name, arr in inputs.items()})
        return self._table.iloc[np.asarray(rows, dtype=np.int64)].reset_index(drop=True)

    def labelled_rows(self) -> np.ndarray:
        """TRAIN + EVAL rows whose label the model can learn (a class absent from TRAIN is not)."""
        rows = np.asarray(sorted(self.train_rows + self.eval_rows), dtype=np.int64)
        return rows if self.label_type == "continuous" else rows[self.y[rows] >= 0]

    def records(self, rows: Sequence[int], *, by_name: bool = False) -> list[dict[str, str]]:
        """Rows as request records, keyed by attr_N or by the columns' names."""
        key = self.names.get if by_name else str
        return [{key(c): self.raw[c][i] for c in self.raw} for i in rows]


def read_table(tab) -> list[list[str]]:
    """The CSV's data rows as the profile counted them (same dialect; blank lines and the
    header skipped; fields stripped), each of len(tab.columns) fields."""
    import csv

    rows: list[list[str]] = []
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
                rows.append([f.strip() for f in fields])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TrainingError(f"cannot read the training CSV: {exc}") from None
    return rows[1:] if tab.has_header else rows
