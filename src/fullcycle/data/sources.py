"""Reading raw tables from where users keep them.

Each source kind (files, SQL databases, HTTP JSON APIs and web pages) is registered by key with
a test that recognises its locations; `read_source` picks the first kind that matches, or the one
named by `kind=`. Every kind can also be read in chunks (`iter_source`), which is what the
streamed commands use. Everything that can go wrong ends as a `SourceError`/`DataError` that
names the source (passwords masked) and says what to do."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from fullcycle.config import DataConfig
from fullcycle.data.files import FILE_READERS, iter_files, numbers_where_clean, read_files
from fullcycle.data.http import iter_http, read_http
from fullcycle.data.sql import iter_sql, mask_url, read_sql
from fullcycle.errors import DataError, SourceError, did_you_mean

__all__ = ["FILE_READERS", "SOURCE_KINDS", "ReadOptions", "SourceKind", "check_table",
           "get_source_kind", "iter_source", "numbers_where_clean", "read_source", "source_kind"]


@dataclass(frozen=True)
class ReadOptions:
    """What a reader needs besides the location: table/query for databases, the data config
    (encoding, delimiter, sheet, http) for the rest."""

    table: str | None = None
    query: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    config: DataConfig = field(default_factory=DataConfig)


@dataclass(frozen=True)
class SourceKind:
    key: str
    description: str
    matches: Callable[[str], bool]
    read: Callable[[str, ReadOptions], pd.DataFrame]
    chunks: Callable[[str, ReadOptions, int], Iterator[pd.DataFrame]]


SOURCE_KINDS: dict[str, SourceKind] = {}


def register_source(kind: SourceKind) -> SourceKind:
    SOURCE_KINDS[kind.key] = kind
    return kind


def get_source_kind(key: str) -> SourceKind:
    try:
        return SOURCE_KINDS[key]
    except KeyError:
        raise SourceError(f"unknown source kind {key!r}."
                          + did_you_mean(key, SOURCE_KINDS)) from None


def source_kind(location: str) -> SourceKind:
    """The first registered kind whose test accepts the location (files accept the rest)."""
    for kind in SOURCE_KINDS.values():
        if kind.matches(location):
            return kind
    return SOURCE_KINDS["file"]


def _is_http(location: str) -> bool:
    return location.lower().startswith(("http://", "https://"))


def _is_sql(location: str) -> bool:
    head = location.split("://", 1)[0] if "://" in location else ""
    plain = head.replace("+", "").replace("-", "")
    return bool(head) and not _is_http(location) and plain.isalnum()


def _read_sql(location: str, opts: ReadOptions) -> pd.DataFrame:
    return read_sql(location, opts.table, opts.query, opts.params)


def _iter_sql(location: str, opts: ReadOptions, chunk_rows: int) -> Iterator[pd.DataFrame]:
    return iter_sql(location, opts.table, opts.query, opts.params, chunk_rows)


def _read_http(location: str, opts: ReadOptions) -> pd.DataFrame:
    return read_http(location, opts.config.http)


def _iter_http(location: str, opts: ReadOptions, chunk_rows: int) -> Iterator[pd.DataFrame]:
    return iter_http(location, opts.config.http)


register_source(SourceKind("http", "http(s) URL: a JSON API returning records, or an HTML page "
                           "with tables", _is_http, _read_http, _iter_http))
register_source(SourceKind("sql", "SQLAlchemy database URL with a table or a query", _is_sql,
                           _read_sql, _iter_sql))
register_source(SourceKind(
    "file", "a file, folder or glob: CSV/TSV, Parquet, JSON, JSON Lines, Excel, HTML; "
    ".gz/.bz2/.xz/.zip compressed", lambda loc: True,
    lambda loc, opts: read_files(loc, opts.config),
    lambda loc, opts, n: iter_files(loc, opts.config, n)))


def _options(table: str | None, query: str | None, params: dict | None,
             config: DataConfig | None) -> ReadOptions:
    return ReadOptions(table=table, query=query, params=dict(params or {}),
                       config=config or DataConfig())


def read_source(location: str, *, table: str | None = None, query: str | None = None,
                params: dict | None = None, config: DataConfig | None = None,
                kind: str | None = None) -> pd.DataFrame:
    """Read a whole table from a file/folder/glob, a database URL (with `table` or `query`),
    or an http(s) URL. `config` carries the reading options of `data:` in fullcycle.yaml."""
    chosen = get_source_kind(kind) if kind else source_kind(location)
    frame = chosen.read(location, _options(table, query, params, config))
    return check_table(frame, mask_url(location))


def iter_source(location: str, *, table: str | None = None, query: str | None = None,
                params: dict | None = None, config: DataConfig | None = None,
                chunk_rows: int = 100_000, kind: str | None = None) -> Iterator[pd.DataFrame]:
    """The same table as `read_source`, as chunks of about `chunk_rows` rows. Files are read
    raw (CSV cells as text); consumers convert what they need."""
    chosen = get_source_kind(kind) if kind else source_kind(location)
    where = mask_url(location)
    seen = 0
    columns: list[str] | None = None
    for chunk in chosen.chunks(location, _options(table, query, params, config), chunk_rows):
        if columns is None:
            _check_columns(chunk, where)
            columns = list(chunk.columns)
        seen += len(chunk)
        yield chunk
    if not seen:
        raise DataError(f"{where}: no data rows; the table needs a header row and data rows")


def _check_columns(frame: pd.DataFrame, where: str) -> None:
    if frame.shape[1] == 0:
        raise DataError(f"{where}: no columns; the table needs a header row and data rows")
    names = pd.Index(map(str, frame.columns))
    dupes = sorted(set(names[names.duplicated()]))
    if dupes:
        raise DataError(f"{where}: duplicate column names {dupes}; rename them so each is unique")


def check_table(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """Refuse what no stage can use: no columns, no rows, duplicate names."""
    _check_columns(frame, where)
    if len(frame) == 0:
        raise DataError(f"{where}: no data rows; the table needs a header row and data rows")
    frame.columns = [str(c) for c in frame.columns]
    return frame
