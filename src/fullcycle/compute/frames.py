"""Data read by the workers in partitions: CSV byte ranges, Parquet row groups or ranges of a
database table's integer key, never gathered on the client."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.compute.cluster import connect
from fullcycle.data.sql import key_ranges, mask_url, read_key_range
from fullcycle.errors import DataError

BLOCKSIZE = "64MB"  # CSV bytes per partition: a few hundred thousand rows, tens of MB in memory
SQL_ROWS = 250_000  # database rows per partition: about what a CSV block holds


@dataclass(frozen=True)
class TableSource:
    """A database table to read in key ranges (data.table, compute.sql_key)."""
    table: str | None = None
    query: str | None = None
    key: str | None = None
    rows_per_part: int = SQL_ROWS


def read_partitions(source: str | Path, *, blocksize: str | int = BLOCKSIZE,
                    id_column: str | None = None, sql: TableSource | None = None) -> Any:
    """A dask DataFrame over `source` (CSV/TSV or Parquet; a file, folder or glob; or a
    database URL with `sql.table`). CSV and database columns are text, typed per partition
    like pandas does, so one odd value cannot break the shared schema dask would otherwise
    infer from the first block."""
    import dask.dataframe as dd

    text = str(source)
    if text.startswith(("http://", "https://")):
        raise DataError(f"{text.split('://')[0]}:// source: on a cluster the workers read "
                        "files (CSV, TSV or Parquet, a file, folder or glob on storage they "
                        "all see) or database tables; save the data to Parquet, or drop "
                        "--cluster to read it here")
    if "://" in text:
        return _database_partitions(text, sql or TableSource())
    if not any(ch in text for ch in "*?[") and not Path(text).exists():
        raise DataError(f"input {source} does not exist")
    lower = text.lower().rstrip("/")
    if lower.endswith((".parquet", ".pq")) or (Path(text).is_dir() and
                                              any(Path(text).glob("*.parquet"))):
        return dd.read_parquet(text)
    sep = "\t" if lower.endswith(".tsv") else ","
    try:
        return dd.read_csv(text, sep=sep, blocksize=blocksize, dtype=str,
                           keep_default_na=True)
    except (ValueError, OSError) as exc:
        raise DataError(f"{source}: cannot be read as CSV ({exc})") from None


def _database_partitions(url: str, sql: TableSource) -> Any:
    """One partition per range of the table's integer key, each read by a worker."""
    import dask
    import dask.dataframe as dd

    if sql.query or not sql.table:
        raise DataError(f"{mask_url(url)}: on a cluster the workers read a database TABLE in "
                        "ranges of an integer key (data.table, compute.sql_key); a query "
                        "cannot be split. Create a view or table from the query, or drop "
                        "--cluster to run it here")
    key, ranges = key_ranges(url, sql.table, sql.key, sql.rows_per_part)
    low = ranges[0][0]
    head = _as_text(read_key_range(url, sql.table, key, low, low))  # no rows: the columns only
    parts = [dask.delayed(_key_range_text)(url, sql.table, key, low, high)
             for low, high in ranges]
    return dd.from_delayed(parts, meta=head, verify_meta=False)


def _key_range_text(url: str, table: str, key: str, low: int, high: int) -> pd.DataFrame:
    """Runs on a worker: one key range of the table, as text (as a CSV block is read)."""
    return _as_text(read_key_range(url, table, key, low, high))


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({name: column.map(str).where(column.notna()).astype(object)
                         for name, column in frame.items()}, index=frame.index)


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns turned numeric where every present value is a number, with the dtypes
    pd.read_csv gives (float64/int64, its default text dtype), so a partition is the frame
    one process would have read."""
    out = {}
    for name, column in frame.items():
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            values = pd.Series(column.to_numpy(dtype=object, na_value=np.nan),
                               index=frame.index)
            numbers = pd.to_numeric(values, errors="coerce")
            out[name] = numbers if numbers.notna().sum() == values.notna().sum() else \
                values.astype("str")
        else:
            out[name] = column
    return pd.DataFrame(out, index=frame.index)


def sample_on_cluster(address: str, source: str | Path, *, rows: int, seed: int,
                      worker_memory: str | None = None, blocksize: str | int = BLOCKSIZE,
                      sql: TableSource | None = None) -> pd.DataFrame:
    """A seeded uniform sample of at most `rows` rows of `source`, read by the workers, with
    the exact facts that are cheap out of core (row count, missing values per column) in
    `attrs["cluster"]`. Monitoring and EDA use it where their statistics are quantile-based:
    a documented approximation, exact counts beside it."""
    with connect(address, worker_memory=worker_memory) as session:
        frame = read_partitions(source, blocksize=blocksize, sql=sql)
        total, missing = session.client.compute([frame.shape[0], frame.isna().sum()], sync=True)
        total = int(total)
        if total == 0:
            raise DataError(f"{source} has no rows")
        frac = min(1.0, rows / total)
        picked = frame.sample(frac=frac, random_state=seed) if frac < 1 else frame
        sample = typed(picked.compute()).reset_index(drop=True)
        where = session.describe()
    sample.attrs["source"] = (f"{source} (a random {len(sample):,} of {total:,} rows, read on "
                              f"{where})" if frac < 1 else f"{source} (read on {where})")
    sample.attrs["cluster"] = {"rows": total, "sampled_rows": len(sample),
                               "missing": {str(k): int(v) for k, v in missing.items()},
                               "cluster": where}
    return sample
