"""Typed, compact columns for the EDA: one pass of typing per column, on the distinct values only.

A raw column is factorised once (hash-based, linear); missing markers, numbers stored as text,
booleans and dates are decided on the *distinct* values and mapped back through the codes. On
large data this is what keeps typing cheap: a 5M-row text column usually has a few hundred
distinct values. Numeric columns become float64 arrays (NaN = missing), the rest integer codes
(-1 = missing) with their labels."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fullcycle.data.schema import (
    normalise_missing,
    to_category_text,
    to_datetime,
    to_numeric,
)

NUMERIC_ROLES = ("numeric",)
THREADS = 2  # numpy sorts, pandas/pyarrow factorising and hashing release the GIL
DAY_NS = 86_400e9


@dataclass
class TypedColumn:
    name: str
    role: str
    kind: str  # "numeric" | "datetime" | "categorical"
    raw_missing: int  # missing as read (NaN/None)
    disguised: int  # blank/'?'/'NA'/... markers turned into missing
    values: np.ndarray | None = None  # float64; datetime: days since 1970-01-01
    codes: np.ndarray | None = None  # int32, -1 = missing
    labels: np.ndarray | None = None  # object array of category labels
    na_token: int = 0  # rows written as the literal 'NA' (Ames: 'NA' means 'none')

    @property
    def missing(self) -> np.ndarray:
        if self.codes is not None:
            return self.codes < 0
        assert self.values is not None
        return np.isnan(self.values)

    @property
    def n_missing(self) -> int:
        return int(self.missing.sum())


def kind_of(role: str) -> str:
    if role in NUMERIC_ROLES:
        return "numeric"
    if role == "datetime":
        return "datetime"
    return "categorical"


def type_column(raw: pd.Series, role: str) -> TypedColumn:
    """Raw column -> TypedColumn, following the role the schema gave it."""
    kind = kind_of(role)
    raw_missing = int(raw.isna().sum())
    if kind == "numeric" and raw.dtype.kind in "biuf":
        values = raw.to_numpy(dtype="float64", na_value=np.nan)
        return TypedColumn(str(raw.name), role, kind, raw_missing, 0, values=values)
    if kind == "datetime" and raw.dtype.kind == "M":
        return TypedColumn(str(raw.name), role, kind, raw_missing, 0, values=_days(raw))
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    uniq = pd.Series(np.asarray(uniques, dtype=object) if raw.dtype.kind == "O" else uniques)
    clean = normalise_missing(uniq)
    # An empty cell is how a CSV says 'missing'; anything else that cleans to missing
    # (' ', '?', 'NA', 'null') is a disguised missing value.
    empty = uniq.astype("string").eq("").fillna(False).to_numpy(bool)
    hidden = (clean.isna() & uniq.notna()).to_numpy() & ~empty
    counts = np.bincount(codes[codes >= 0], minlength=len(uniq)) if len(uniq) else np.zeros(0)
    disguised = int(counts[hidden].sum()) if len(uniq) else 0
    raw_missing += int(counts[empty].sum()) if len(uniq) else 0
    na_token = 0
    if len(uniq) and uniq.dtype.kind not in "biufM":
        is_na = uniq.astype("string").str.strip().eq("NA").fillna(False).to_numpy(bool)
        na_token = int(counts[is_na].sum())
    col = TypedColumn(str(raw.name), role, kind, raw_missing, disguised, na_token=na_token)
    if kind == "numeric":
        col.values = _take(to_numeric(clean).to_numpy(dtype="float64"), codes)
    elif kind == "datetime":
        col.values = _take(_days(to_datetime(clean)), codes)
    else:
        # only an object column can hold 1 and '1', two values that clean to one label
        col.codes, col.labels = _recode(codes, to_category_text(clean), raw.dtype.kind == "O")
    return col


def _days(stamps: pd.Series) -> np.ndarray:
    """Datetimes as fractional days since 1970-01-01 (UTC for aware ones), NaN where missing."""
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert(None)
    ok = stamps.notna().to_numpy()
    days = np.full(len(stamps), np.nan)
    if ok.any():
        ns = stamps[ok].astype("datetime64[ns]").astype("int64").to_numpy(dtype="float64")
        days[ok] = ns / DAY_NS
    return days


def _take(per_unique: np.ndarray, codes: np.ndarray) -> np.ndarray:
    out = np.full(len(codes), np.nan)
    present = codes >= 0
    if len(per_unique):
        out[present] = per_unique[codes[present]]
    return out


def _recode(codes: np.ndarray, text: pd.Series,
            may_merge: bool) -> tuple[np.ndarray, np.ndarray]:
    """Codes over the raw distinct values -> codes over the cleaned labels. Cleaning only turns
    markers into missing, so distinct values stay distinct and the codes are just shifted; only
    a mixed-type column (1 and '1') can merge two values, and is re-factorised."""
    keep = text.notna().to_numpy(bool)
    labels = text[keep].astype("string").to_numpy(dtype=object)
    if may_merge and len(labels) != len(pd.unique(labels)):
        lab_codes, uniq = pd.factorize(text.astype(object), use_na_sentinel=True)
        mapping = np.append(lab_codes, -1).astype(np.int32)
        return mapping[codes], np.asarray([str(v) for v in uniq], dtype=object)
    mapping = np.append(np.where(keep, np.cumsum(keep) - 1, -1), -1).astype(np.int32)
    return mapping[codes], labels


def capped_codes(col: TypedColumn, top: int = 50,
                 rows: np.ndarray | None = None) -> tuple[np.ndarray, int, list[str]]:
    """Codes limited to the `top` most frequent labels, then 'other', then 'missing', all >= 0:
    what contingency tables and mutual information are computed on. The top labels come from
    every row; the codes are returned for `rows` only (all rows by default)."""
    assert col.codes is not None and col.labels is not None
    counts = np.bincount(col.codes[col.codes >= 0], minlength=len(col.labels))
    order = np.argsort(-counts, kind="stable")
    keep = order[:top]
    remap = np.full(len(col.labels) + 1, -1, dtype=np.int32)
    remap[keep] = np.arange(len(keep), dtype=np.int32)
    names = [str(col.labels[i]) for i in keep]
    k = len(keep)
    if len(order) > top:
        remap[order[top:]] = k
        names.append("(other)")
        k += 1
    remap[-1] = k  # missing
    names.append("(missing)")
    return remap[col.codes if rows is None else col.codes[rows]], k + 1, names


def binned_codes(values: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, int]:
    """Numeric values -> bin codes over inner `edges`, missing as the last code."""
    inner = np.asarray(edges)[1:-1]
    codes = np.searchsorted(inner, values, side="right").astype(np.int32)
    k = len(inner) + 1
    codes[np.isnan(values)] = k
    return codes, k + 1


def data_version(frame: pd.DataFrame) -> str:
    """`fullcycle.data.fingerprint.fingerprint(frame)`, computed faster on wide text data.

    A cell's hash depends only on its value, so a text column is hashed on its distinct values
    and mapped back through factorised codes (a 5M-row column with 300 distinct values hashes
    300 strings, not 5M). The combination is the Fingerprinter's; a test checks both agree."""
    import importlib

    # the package re-exports the function under the module's name: import the module itself
    fp = importlib.import_module("fullcycle.data.fingerprint")
    printer = fp.Fingerprinter()
    cols = sorted(map(str, frame.columns))
    frame = frame.set_axis(list(map(str, frame.columns)), axis=1)
    row = np.zeros(len(frame), dtype=np.uint64)
    with np.errstate(over="ignore"), ThreadPoolExecutor(THREADS) as pool:
        for start in range(0, len(cols), THREADS):  # THREADS columns' hashes in memory at once
            names = cols[start:start + THREADS]
            for name, hashes in zip(names, pool.map(
                    lambda c: _cell_hashes(frame[c], fp), names), strict=True):
                cell = fp._mix(hashes ^ fp._name_key(name))
                row = fp._mix(row * fp._PRIME + cell)
        printer.total = np.uint64(row.sum(dtype=np.uint64))
    printer.columns, printer.rows = cols, len(frame)
    return printer.hexdigest()


def _cell_hashes(series: pd.Series, fp: object) -> np.ndarray:
    if series.dtype.kind in "iufb":
        return fp.cell_hashes(series)  # type: ignore[attr-defined]
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    per_unique = fp.cell_hashes(pd.Series(uniques, dtype=series.dtype))  # type: ignore[attr-defined]
    return np.append(per_unique, fp._MISSING)[codes]  # type: ignore[attr-defined]
