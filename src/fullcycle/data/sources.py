"""Reading raw tables from where users keep them.

Each source kind is registered by a key; `read_source` picks one from the location string.
Everything that can go wrong while reading ends as a `SourceError`/`DataError` that names the
source and says what to do."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from fullcycle.errors import DataError, SourceError

Reader = Callable[[Path], pd.DataFrame]
FILE_READERS: dict[str, Reader] = {}


def file_reader(*suffixes: str) -> Callable[[Reader], Reader]:
    def register(func: Reader) -> Reader:
        for suffix in suffixes:
            FILE_READERS[suffix] = func
        return func

    return register


def _sniff_delimiter(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        head = handle.read(64_000)
    try:
        return csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
    except csv.Error:
        return "\t" if path.suffix.lower() == ".tsv" else ","


@file_reader(".csv", ".tsv", ".txt")
def read_delimited(path: Path) -> pd.DataFrame:
    _refuse_binary(path)
    try:
        # Read every column as text first: schema inference decides the types, so '007' or
        # ' ' are seen as they were written.
        frame = pd.read_csv(path, sep=_sniff_delimiter(path), dtype=str, keep_default_na=False,
                            na_values=[], encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start}); re-save it as UTF-8") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty; it needs a header row and data rows") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: not a well-formed table ({exc}); check the delimiter and "
                        "that every row has the same number of fields") from None
    return numbers_where_clean(frame)


def numbers_where_clean(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns whose every non-empty value is a number become numeric. Anything less clean
    (a ' ' among numbers, '1,234') stays text for schema inference to judge and report."""
    for name in frame.columns:
        col = frame[name]
        if col.dtype.kind not in "OUS" and str(col.dtype) != "str" and str(col.dtype) != "string":
            continue
        filled = col[col != ""]
        if not len(filled):
            continue
        parsed = pd.to_numeric(filled, errors="coerce")
        if parsed.notna().all():
            frame[name] = pd.to_numeric(col.where(col != "", None), errors="coerce")
    return frame


@file_reader(".parquet", ".pq")
def read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for a bad file
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from None


def _refuse_binary(path: Path) -> None:
    with open(path, "rb") as handle:
        head = handle.read(8192)
    if b"\x00" in head:
        raise DataError(f"{path}: binary content, not a text table; give a CSV, TSV or Parquet file")


def read_source(location: str, *, table: str | None = None, query: str | None = None,
                params: dict | None = None) -> pd.DataFrame:
    """Read a table from a file path (CSV/TSV/Parquet)."""
    path = Path(location)
    if not path.exists():
        raise SourceError(f"data source {location!r} does not exist; check the path")
    if path.is_dir():
        raise SourceError(f"data source {location!r} is a folder; name a file")
    reader = FILE_READERS.get(path.suffix.lower())
    if reader is None:
        raise SourceError(f"{location}: unknown file type {path.suffix!r}; "
                          f"supported: {', '.join(sorted(FILE_READERS))}")
    frame = reader(path)
    if frame.shape[1] == 0 or len(frame) == 0:
        raise DataError(f"{location}: no data rows; the table needs a header row and data rows")
    if frame.shape[1] == 1 and path.suffix.lower() in (".csv", ".tsv", ".txt") and len(frame) > 1:
        raise DataError(f"{location}: only one column was found; this does not look like a "
                        "delimited table (expected ',', ';', tab or '|' between fields)")
    dupes = frame.columns[frame.columns.duplicated()].tolist()
    if dupes:
        raise DataError(f"{location}: duplicate column names {dupes}; rename them")
    return frame
