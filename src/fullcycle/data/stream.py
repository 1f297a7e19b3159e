"""Streamed passes over sources too large to hold as pandas objects.

Each pass reads the source chunk by chunk (`iter_source`) and keeps only small state, so memory
is bounded by one chunk plus what the pass keeps:

- `scan`: one pass for the fingerprint (exactly the one `Dataset` records), the row count, exact
  missing-value counts, and a uniform random sample of `sample_rows` rows (reservoir by random
  keys) on which the schema is inferred. Roles, categories and ranges come from the sample;
  rows, missing rates and the fingerprint are exact.
- `validate_source`: the data contract check of every row against a model's schema.

`on_progress(rows_done, rows_expected_or_None)` is called after every chunk; the CLI draws a
Rich progress bar with it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fullcycle.config import DataConfig
from fullcycle.data.contract import ContractCheck, Violation
from fullcycle.data.files import numbers_where_clean
from fullcycle.data.fingerprint import Fingerprinter
from fullcycle.data.schema import Schema, infer_schema, normalise_missing
from fullcycle.data.sources import iter_source

Progress = Callable[[int, int | None], None]
CHUNK_ROWS = 100_000
SAMPLE_ROWS = 100_000


@dataclass
class ScanResult:
    schema: Schema
    fingerprint: str
    rows: int
    sample: pd.DataFrame
    missing: dict[str, int]


def estimate_rows(location: str) -> int | None:
    """Rows in a plain CSV/TSV/JSON Lines file, from its size and its first megabyte."""
    path = Path(location)
    if not path.is_file() or path.suffix.lower() not in (".csv", ".tsv", ".txt", ".jsonl",
                                                          ".ndjson"):
        return None
    with open(path, "rb") as handle:
        head = handle.read(1 << 20)
    lines = head.count(b"\n")
    if not lines:
        return None
    per_row = len(head) / lines
    return max(int(path.stat().st_size / per_row) - 1, 1)


def _chunks(location: str, config: DataConfig | None, table: str | None, query: str | None,
            params: dict | None, chunk_rows: int,
            on_progress: Progress | None) -> Iterator[pd.DataFrame]:
    expected = estimate_rows(location)
    done = 0
    for chunk in iter_source(location, table=table, query=query, params=params, config=config,
                             chunk_rows=chunk_rows):
        yield chunk
        done += len(chunk)
        if on_progress is not None:
            on_progress(done, max(expected, done) if expected else None)


class Reservoir:
    """A uniform sample without replacement of every row seen: each row gets a random key and
    the `size` smallest keys are kept. Once full, a chunk only contributes rows whose key beats
    the current largest kept key, and the kept rows are copied into fresh buffers so they never
    pin whole chunks in memory."""

    def __init__(self, size: int, seed: int = 0) -> None:
        self.size = size
        self.rng = np.random.default_rng(seed)
        self.kept: pd.DataFrame | None = None
        self.keys = np.empty(0)

    def update(self, chunk: pd.DataFrame) -> None:
        keys = self.rng.random(len(chunk))
        if self.kept is not None and len(self.keys) >= self.size:
            better = keys < self.keys.max()
            chunk, keys = chunk.loc[better], keys[better]
            if not len(chunk):
                return
        both = chunk if self.kept is None else pd.concat([self.kept, chunk], ignore_index=True)
        all_keys = np.concatenate([self.keys, keys])
        if len(all_keys) > self.size:
            keep = np.sort(np.argpartition(all_keys, self.size - 1)[: self.size])
            both, all_keys = both.iloc[keep], all_keys[keep]
        self.kept, self.keys = _compact(both.reset_index(drop=True)), all_keys

    def sample(self) -> pd.DataFrame:
        if self.kept is None:
            return pd.DataFrame()
        return self.kept.iloc[np.argsort(self.keys, kind="stable")].reset_index(drop=True)


def _compact(frame: pd.DataFrame) -> pd.DataFrame:
    """Arrow-backed text columns copied into fresh buffers (a take of every row), so the kept
    rows do not keep the buffers of the chunks they came from alive."""
    import pyarrow as pa

    out = {}
    for name in frame.columns:
        col = frame[name]
        if isinstance(col.dtype, pd.StringDtype):
            arr = pa.array(col, from_pandas=True)
            fresh = arr.take(pa.array(np.arange(len(arr))))
            if isinstance(fresh, pa.ChunkedArray):
                fresh = fresh.combine_chunks()
            out[name] = fresh.to_pandas()
        else:
            out[name] = col.to_numpy(copy=True) if col.dtype.kind in "biufM" else col
    return pd.DataFrame(out, index=frame.index) if out else frame


def scan(location: str, *, target: str | None = None, config: DataConfig | None = None,
         table: str | None = None, query: str | None = None, params: dict | None = None,
         sample_rows: int = SAMPLE_ROWS, chunk_rows: int = CHUNK_ROWS,
         on_progress: Progress | None = None, seed: int = 0) -> ScanResult:
    """One streamed pass: fingerprint, row count, missing counts, a sample and its schema."""
    cfg = config or DataConfig()
    printer = Fingerprinter()
    reservoir = Reservoir(sample_rows, seed)
    missing: dict[str, int] = {}
    for chunk in _chunks(location, cfg, table, query, params, chunk_rows, on_progress):
        chunk.columns = [str(c) for c in chunk.columns]
        printer.update(chunk)
        reservoir.update(chunk)
        for name in chunk.columns:
            missing[name] = missing.get(name, 0) + int(normalise_missing(chunk[name]).isna().sum())
    sample = numbers_where_clean(reservoir.sample())
    schema = infer_schema(sample, target=target, overrides=cfg.roles,
                          exclude_identifiers=cfg.exclude_identifiers,
                          drop_constant=cfg.drop_constant)
    rows = printer.rows
    for spec in schema.columns:
        spec.missing_rate = missing.get(spec.name, 0) / rows if rows else 0.0
    if rows > len(sample):
        schema.warnings.append(f"roles, categories and ranges inferred from a random sample of "
                               f"{len(sample)} of {rows} rows; missing rates are exact")
    return ScanResult(schema=schema, fingerprint=printer.hexdigest(), rows=rows, sample=sample,
                      missing=missing)


def fingerprint_source(location: str, *, config: DataConfig | None = None,
                       table: str | None = None, query: str | None = None,
                       params: dict | None = None, chunk_rows: int = CHUNK_ROWS,
                       on_progress: Progress | None = None) -> tuple[str, int]:
    """The data version of a source, streamed: (fingerprint, rows)."""
    printer = Fingerprinter()
    for chunk in _chunks(location, config, table, query, params, chunk_rows, on_progress):
        printer.update(chunk)
    return printer.hexdigest(), printer.rows


def validate_source(location: str, schema: Schema, *, config: DataConfig | None = None,
                    table: str | None = None, query: str | None = None,
                    params: dict | None = None, chunk_rows: int = CHUNK_ROWS,
                    on_progress: Progress | None = None, missing: str = "impute",
                    ) -> tuple[list[Violation], int]:
    """Every contract violation of a source, streamed: (violations, rows checked). The row
    checks are the ones `predict` and the server apply (`contract.missing` policy included)."""
    check = ContractCheck(schema, missing=missing)
    for chunk in _chunks(location, config, table, query, params, chunk_rows, on_progress):
        check.update(chunk)
    return check.violations(), check.rows
