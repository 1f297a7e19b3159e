"""Content fingerprints: the data version.

Choices, and why:

- Row order does not matter. The fingerprint is a multiset hash: the sum of per-row hashes modulo
  2**64, plus the row count and the sorted column names. The same rows read from a CSV or from a
  database query with another ORDER BY are the same data version; a duplicated row counts twice.
- Column order does not matter: columns are combined in sorted-name order.
- Cells are hashed by value, not by the reader's dtype, so a CSV read as text, a Parquet file
  and a PostgreSQL table holding the same rows agree: a cell that is a number (or text that parses
  as one: "7", "7.0", 7, Decimal("7.00")) hashes as that float64; an empty string, None and NaN
  are all "missing" (a CSV cannot tell them apart); booleans hash as "True"/"False" (what a CSV
  holds); datetimes as ISO 8601 text (date only at midnight, as pandas writes them); anything
  else as its text.
- Because every cell's hash depends only on the cell, a file can be fingerprinted in chunks
  (`Fingerprinter.update`) and gives the same answer as the whole frame at once."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from fullcycle.data.numbers import parse_numbers

VERSION = "fc2"
_MISSING = np.uint64(0x9E3779B97F4A7C15)
_TEXT_TAG = np.uint64(0xD6E8FEB86659FD93)
_PRIME = np.uint64(0x100000001B3)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    z = z ^ (z >> np.uint64(30))
    z = z * np.uint64(0xBF58476D1CE4E5B9)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _name_key(name: str) -> np.uint64:
    return np.uint64(int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little"))


def _datetime_text(series: pd.Series) -> pd.Series:
    stamp = series.dt.strftime("%Y-%m-%d %H:%M:%S")
    midnight = series.dt.normalize() == series
    frac = series.dt.microsecond != 0
    out = stamp.where(~midnight, stamp.str[:10])
    return out.where(~frac, series.dt.strftime("%Y-%m-%d %H:%M:%S.%f"))


def cell_hashes(series: pd.Series) -> np.ndarray:
    """One uint64 per cell that depends only on the cell's value (see the module notes)."""
    kind = series.dtype.kind
    n = len(series)
    if kind == "b":
        series = series.astype("string")
        kind = "O"
    if kind in "iuf":
        numbers = series.to_numpy(dtype="float64", na_value=np.nan)
        out = pd.util.hash_array(np.nan_to_num(numbers, nan=0.0))
        return np.where(np.isnan(numbers), _MISSING, out)
    if kind == "M":
        series = _datetime_text(series)
    text = series if isinstance(series.dtype, pd.StringDtype) else series.astype("string")
    missing = (text.isna() | (text == "")).to_numpy(dtype=bool, na_value=True)
    numbers = parse_numbers(text)
    numbers[missing] = np.nan
    is_number = ~np.isnan(numbers)
    out = np.full(n, _MISSING, dtype=np.uint64)
    if is_number.any():
        out[is_number] = pd.util.hash_array(numbers[is_number])
    is_text = ~missing & ~is_number
    if is_text.any():
        out[is_text] = _text_hashes(text, is_text) ^ _TEXT_TAG
    return out


def _text_hashes(text: pd.Series, rows: np.ndarray) -> np.ndarray:
    """Hashes of the text cells at `rows`. Arrow's dictionary encoding finds the distinct values
    without making a Python string per cell; only the distinct ones are hashed (the same values
    pandas' hash_array gives cell by cell)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(text, from_pandas=True).filter(pa.array(rows))
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    encoded = pc.dictionary_encode(arr)
    distinct = encoded.dictionary.to_numpy(zero_copy_only=False).astype(object)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    return pd.util.hash_array(distinct, categorize=False)[codes]


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """One uint64 per row from its cells' values, independent of column order."""
    frame = frame.set_axis(list(map(str, frame.columns)), axis=1)
    row = np.zeros(len(frame), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for name in sorted(frame.columns):
            cell = _mix(cell_hashes(frame[name]) ^ _name_key(name))
            row = _mix(row * _PRIME + cell)
    return row


class Fingerprinter:
    """Incremental fingerprint: `update(chunk)` for every chunk, then `hexdigest()`."""

    def __init__(self) -> None:
        self.columns: list[str] | None = None
        self.rows = 0
        self.total = np.uint64(0)

    def update(self, frame: pd.DataFrame) -> None:
        cols = sorted(map(str, frame.columns))
        if self.columns is None:
            self.columns = cols
        elif cols != self.columns:
            raise ValueError("every chunk must have the same columns")
        row = row_hashes(frame)
        with np.errstate(over="ignore"):
            self.total = np.uint64(self.total + row.sum(dtype=np.uint64))  # wraps by design
        self.rows += len(frame)

    def hexdigest(self) -> str:
        meta = "|".join(self.columns or []) + f"|rows={self.rows}"
        return hashlib.sha256(f"{VERSION}|{meta}|{int(self.total)}".encode()).hexdigest()[:16]


def fingerprint(frame: pd.DataFrame) -> str:
    """A 16-hex-digit content hash of a frame, independent of row order, column order and of
    the dtypes a reader chose."""
    printer = Fingerprinter()
    printer.update(frame)
    return printer.hexdigest()
