"""A window of data, column by column, in the form the drift and quality checks need.

Each column is reduced once: numeric columns to their sorted present values, categorical columns
to (label, count) pairs. Raw text is coerced the way the data contract coerces it
(`fullcycle.data.schema`), but on the column's distinct values only, then mapped back through
`pd.factorize` codes: a million rows with a few hundred distinct strings cost one hash pass, not
a million string operations."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fullcycle.data.schema import (
    ColumnSpec,
    Schema,
    normalise_missing,
    to_boolean,
    to_category_text,
    to_datetime,
    to_numeric,
)

NUMERIC_ROLES = ("numeric", "boolean", "datetime")
DAY_NS = 86_400e9


@dataclass
class NumericColumn:
    name: str
    rows: int
    missing: int  # absent, blank or a missing marker
    invalid: int  # present but not readable as the column's type (a contract violation)
    values: np.ndarray  # the present values, sorted ascending
    kind: str = "numeric"


@dataclass
class CategoricalColumn:
    name: str
    rows: int
    missing: int
    labels: np.ndarray  # distinct present values, as text
    counts: np.ndarray  # how often each label occurs
    invalid: int = 0
    kind: str = "categorical"

    def shares(self) -> dict[str, float]:
        total = max(int(self.counts.sum()), 1)
        return {str(k): float(v / total) for k, v in zip(self.labels, self.counts, strict=True)}


Column = NumericColumn | CategoricalColumn


@dataclass
class Window:
    """The columns of a data window, plus the rows it came from (for reporting)."""

    rows: int
    columns: dict[str, Column] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)  # features the window does not have at all


def kind_of(spec: ColumnSpec) -> str:
    return "numeric" if spec.role in NUMERIC_ROLES else "categorical"


def _days(values: pd.Series) -> np.ndarray:
    """Datetimes as fractional days since the epoch, NaN where missing (as the profile does)."""
    stamps = pd.to_datetime(values, errors="coerce")
    as_ns = stamps.astype("datetime64[ns]").astype("int64").astype("float64")
    return np.where(stamps.isna().to_numpy(), np.nan, as_ns / DAY_NS)


def _coerce_numeric(uniques: pd.Series, role: str) -> np.ndarray:
    if role == "boolean":
        return to_boolean(uniques).to_numpy(dtype="float64")
    if role == "datetime":
        return _days(to_datetime(uniques))
    return to_numeric(uniques).to_numpy(dtype="float64")


def numeric_column(series: pd.Series, spec: ColumnSpec) -> NumericColumn:
    kind = series.dtype.kind
    invalid = 0
    if kind in "biuf" and spec.role != "datetime":
        values = series.to_numpy(dtype="float64", na_value=np.nan)
    elif kind == "M":
        values = _days(series)
    else:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        raw = pd.Series(uniques, dtype=object)
        coerced = _coerce_numeric(raw, spec.role)
        bad = np.isnan(coerced) & normalise_missing(raw).notna().to_numpy()
        if bad.any():
            invalid = int(np.isin(codes, np.flatnonzero(bad)).sum())
        values = np.where(codes >= 0, coerced[np.maximum(codes, 0)], np.nan)
    present = values[~np.isnan(values)]
    present.sort()
    return NumericColumn(spec.name, len(values), len(values) - len(present) - invalid, invalid,
                         present)


def categorical_column(series: pd.Series, spec: ColumnSpec) -> CategoricalColumn:
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    labels = to_category_text(pd.Series(uniques))
    grouped = pd.Series(counts).groupby(labels.to_numpy(dtype=object), dropna=True).sum()
    grouped = grouped[grouped > 0].sort_values(ascending=False, kind="stable")
    present = int(grouped.sum())
    return CategoricalColumn(spec.name, len(series), len(series) - present,
                             grouped.index.to_numpy(dtype=object).astype(str),
                             grouped.to_numpy(dtype="int64"))


def column_of(series: pd.Series, spec: ColumnSpec) -> Column:
    if kind_of(spec) == "numeric":
        return numeric_column(series, spec)
    return categorical_column(series, spec)


def read_window(frame: pd.DataFrame, schema: Schema, *, threads: int = 2) -> Window:
    """Reduce every feature column of `frame` (raw or typed) once.

    Columns are independent and numpy's sort and pandas' hashing release the GIL, so two
    threads use both cores of a small machine."""
    specs = [s for s in schema.features if s.name in frame.columns]
    absent = [s.name for s in schema.features if s.name not in frame.columns]
    if threads > 1 and len(specs) > 1 and len(frame) >= 50_000:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads) as pool:
            cols = list(pool.map(lambda s: column_of(frame[s.name], s), specs))
    else:
        cols = [column_of(frame[s.name], s) for s in specs]
    return Window(rows=len(frame), columns={c.name: c for c in cols}, absent=absent)
