"""Data read by the workers in partitions: CSV byte ranges or Parquet row groups, never
gathered on the client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from fullcycle.compute.cluster import connect
from fullcycle.errors import DataError

BLOCKSIZE = "64MB"  # CSV bytes per partition: a few hundred thousand rows, tens of MB in memory


def read_partitions(source: str | Path, *, blocksize: str | int = BLOCKSIZE,
                    id_column: str | None = None) -> Any:
    """A dask DataFrame over `source` (CSV/TSV or Parquet; a file, folder or glob). CSV columns
    are read as text and typed per partition like pandas does, so one odd value cannot break
    the shared schema dask would otherwise infer from the first block."""
    import dask.dataframe as dd

    text = str(source)
    if "://" in text:
        raise DataError(f"{text.split('://')[0]}:// source: on a cluster the workers read "
                        "files (CSV, TSV or Parquet, a file, folder or glob on storage they "
                        "all see); export the table to Parquet, or drop --cluster to read it "
                        "here")
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


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns turned numeric where every present value is a number, as pd.read_csv
    would have done for this partition."""
    out = {}
    for name, column in frame.items():
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            numbers = pd.to_numeric(column, errors="coerce")
            out[name] = numbers if numbers.notna().sum() == column.notna().sum() else column
        else:
            out[name] = column
    return pd.DataFrame(out, index=frame.index)


def sample_on_cluster(address: str, source: str | Path, *, rows: int, seed: int,
                      worker_memory: str | None = None,
                      blocksize: str | int = BLOCKSIZE) -> pd.DataFrame:
    """A seeded uniform sample of at most `rows` rows of `source`, read by the workers, with
    the exact facts that are cheap out of core (row count, missing values per column) in
    `attrs["cluster"]`. Monitoring and EDA use it where their statistics are quantile-based:
    a documented approximation, exact counts beside it."""
    with connect(address, worker_memory=worker_memory) as session:
        frame = read_partitions(source, blocksize=blocksize)
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
