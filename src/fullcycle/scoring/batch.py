"""Batch scoring that streams: files of any size in chunks, memory bounded by the chunk size.

Every chunk is validated with the model's contract, vectorised: each column is factorized and
only its distinct values go through the same per-value rules as the HTTP validator
(`fullcycle.scoring.validation`), so a 1M-row file with a few thousand distinct values per column
costs a few thousand Python calls, not a million. Bad values stop the run with the row numbers,
columns and values; unseen categories are counted and reported. The output is written to a
temporary file and renamed into place only when every chunk succeeded."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from fullcycle.data.contract import check_column, describe
from fullcycle.errors import DataError
from fullcycle.scoring.served import Served
from fullcycle.scoring.validation import RequestInvalid, problem
from fullcycle.taskkind import PredictOptions

NAN = float("nan")


@dataclass
class BatchReport:
    rows: int = 0
    seconds: float = 0.0
    chunks: int = 0
    unseen: Counter = field(default_factory=Counter)  # column -> rows with an unseen category
    imputed: Counter = field(default_factory=Counter)  # column -> missing values filled
    rejected: int = 0  # rows refused (--on-error skip) and written to `rejects`
    output: Path | None = None
    rejects: Path | None = None

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


# --- reading -------------------------------------------------------------------------------------
def _kind(name: str | None, head: bytes = b"") -> str:
    suffix = Path(name or "").suffix.lower()
    if suffix in (".parquet", ".pq") or head[:4] == b"PAR1":
        return "parquet"
    if suffix in (".csv", ".tsv", ".txt", ""):
        return "csv"
    raise DataError(f"{name}: unknown file type; use .csv, .tsv or .parquet")


def iter_chunks(source: str | Path | IO[bytes], chunk_rows: int, *, name: str | None = None,
                id_column: str | None = None) -> Iterator[pd.DataFrame]:
    """DataFrames of at most `chunk_rows` rows from a CSV/TSV or Parquet file (path or handle)."""
    label = name or str(source)
    head = b""
    if hasattr(source, "read"):
        head = source.read(4)  # type: ignore[union-attr]
        source.seek(0)  # type: ignore[union-attr]
    elif not Path(source).is_file():
        raise DataError(f"input {source} does not exist")
    if _kind(label, head) == "parquet":
        yield from _parquet_chunks(source, chunk_rows, label)
        return
    sep = "\t" if label.lower().endswith(".tsv") else ","
    try:
        reader = pd.read_csv(source, sep=sep, chunksize=chunk_rows, encoding="utf-8",
                             dtype={id_column: str} if id_column else None, low_memory=False)
        yield from reader
    except UnicodeDecodeError as exc:
        raise DataError(f"{label}: not UTF-8 text (byte {exc.start}); re-save it as UTF-8") \
            from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{label}: the file is empty; it needs a header row") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"{label}: not a well-formed CSV ({exc})") from None


def _parquet_chunks(source: Any, chunk_rows: int, label: str) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        handle = pq.ParquetFile(source)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{label}: not a readable Parquet file ({exc})") from None
    for batch in handle.iter_batches(batch_size=chunk_rows):
        yield batch.to_pandas()


def read_ahead(chunks: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The same chunks, the next one parsed in a thread while the caller scores this one.

    Scoring a chunk is single-threaded Python and numpy except for the model itself, so one core
    idles while the other validates; the CSV parser releases the GIL for much of its work and
    fills that core. At most two chunks are in memory. Errors reach the caller at the chunk
    where they happened; a caller that stops early stops the reader and waits for it (at most
    the chunk it is parsing): no thread is left in native code when the process exits."""
    import queue
    import threading

    ready: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()
    done = object()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not offer(chunk):
                    return
            offer(done)
        except BaseException as exc:  # handed to the consuming thread
            offer(exc)

    reader = threading.Thread(target=produce, name="fullcycle-batch-reader", daemon=True)
    reader.start()
    try:
        while (item := ready.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


# --- validation ----------------------------------------------------------------------------------
def canonical_columns(frame: pd.DataFrame, served: Served, offset: int, unseen: Counter,
                      imputed: Counter | None = None, rejects: list | None = None,
                      row_warnings: list | None = None) -> list[np.ndarray]:
    """One canonical array per feature (contract order), or DataError naming the bad rows.

    The checks are the data contract's (`check_column`): the same rules as `fullcycle validate`,
    the server and `Project.predict`. With `rejects` (a list), refused rows are not an error:
    each is appended as (row position, column, reason) and the caller drops them. With
    `row_warnings` (a list), each row's warnings are appended as the server's /predict reports
    them ({"loc": ["body", row position, column], "type"}), for the prediction log."""
    validator = served.validator
    absent = [n for n in validator.names if n not in frame.columns]
    if absent:
        raise DataError(f"rows {offset + 1}-{offset + len(frame)}: missing column(s) the model "
                        f"needs: {', '.join(absent[:10])}. Add them (empty values are allowed).")
    problems: list[str] = []
    total = 0
    out = []
    for col in validator.columns:
        name = col.spec.name
        series = frame[name]
        result = check_column(series, col.spec, missing=validator.missing)
        refused = int(result.bad.sum())
        if refused:
            total += refused
            if rejects is None:
                problems += result.first_problems(series, name, offset)
            else:
                rejects += [(int(i), name, series.iloc[i], result.reason(int(i)))
                            for i in np.flatnonzero(result.bad)]
        if result.unseen.any():
            unseen[name] += int(result.unseen.sum())
        if result.imputed and imputed is not None and result.missing.any():
            imputed[name] += int(result.missing.sum())
        if row_warnings is not None:
            row_warnings += _row_warnings(result, col.spec)
        out.append(result.values)
    if problems:
        raise DataError(f"{total} invalid value(s) (first shown): " + "; ".join(problems[:10])
                        + ". Fix the input rows, or score the valid ones with "
                        "`fullcycle predict --on-error skip`.")
    return out


def _row_warnings(result: Any, spec: Any) -> list[dict[str, Any]]:
    """The warnings /predict gives each row of this column: missing_imputed, unseen_category,
    out_of_range (refused rows get none: they are not scored)."""
    found = [(result.missing & ~result.bad, "missing_imputed") if result.imputed else None,
             (result.unseen & ~result.bad, "unseen_category")]
    if spec.role == "numeric" and spec.minimum is not None and spec.maximum is not None:
        with np.errstate(invalid="ignore"):
            values = result.values.astype("float64", copy=False)
            found.append(((values < spec.minimum) | (values > spec.maximum), "out_of_range"))
    return [{"loc": ["body", int(i), spec.name], "type": kind}
            for mask, kind in filter(None, found) for i in np.flatnonzero(mask)]


# --- scoring -------------------------------------------------------------------------------------
def score_chunk(served: Served, frame: pd.DataFrame, offset: int, unseen: Counter,
                id_column: str | None, *, imputed: Counter | None = None,
                rejects: list | None = None, row_warnings: list | None = None,
                ) -> tuple[pd.DataFrame, np.ndarray | None, Any]:
    """Validated predictions of one chunk as an output frame (+ raw scores, None for kinds
    that predict rows themselves, and labels). With `rejects`, refused rows are appended there
    (position in the chunk, column, value, reason) and left out of the output; with
    `row_warnings`, each row's data-quality warnings (see `canonical_columns`)."""
    if id_column and id_column not in frame.columns:
        raise DataError(f"id column {id_column!r} is not in the input."
                        f" Columns: {', '.join(map(str, frame.columns[:20]))}")
    start = len(rejects) if rejects is not None else 0
    columns = canonical_columns(frame, served, offset, unseen, imputed, rejects, row_warnings)
    if rejects is not None and len(rejects) > start:
        keep = np.ones(len(frame), dtype=bool)
        keep[[r[0] for r in rejects[start:]]] = False
        columns = [c[keep] for c in columns]
        frame = frame.iloc[np.flatnonzero(keep)]
    model = served.model
    kind = model.kind
    canonical: pd.DataFrame | None = None
    if not kind.scored:  # the kind predicts the checked rows itself
        canonical = pd.DataFrame(dict(zip(served.validator.names, columns, strict=True)))
        result = kind.predict(model, canonical, PredictOptions()) if len(frame) else \
            pd.DataFrame({c: [] for c in kind.output_columns(model)})
        result = result.reset_index(drop=True)
        if id_column:
            result.insert(0, id_column, frame[id_column].to_numpy())
        first = "prediction" if "prediction" in result.columns else result.columns[-1]
        return result, None, result[first].to_numpy()
    if not len(frame):
        width = len(model.card.classes)
        scores = np.empty((0, width)) if width else np.empty(0)
    elif served.fast is not None:
        scores = served.fast.scores_columns(columns)
    else:
        canonical = pd.DataFrame(dict(zip(served.validator.names, columns, strict=True)))
        scores = model.predict_scores(canonical)
    out = kind.frame_from_scores(model, scores)  # prediction (+ proba_<class>) columns
    if id_column:
        out.insert(0, id_column, frame[id_column].to_numpy())
    return out, scores, out["prediction"].to_numpy()


class RejectsWriter:
    """`--on-error skip`: refused rows, one line per refused value, with the reason."""

    def __init__(self, path: Path) -> None:
        self.path, self.rows, self._first = path, 0, True

    def write(self, frame: pd.DataFrame, offset: int, rejects: list) -> None:
        """`rejects` of `frame`, a chunk that starts at input row `offset + 1`."""
        if rejects:
            rows = sorted({r[0] for r in rejects})
            self.write_refused(frame.iloc[rows].set_axis(rows), offset, rejects)

    def write_refused(self, refused: pd.DataFrame, offset: int, rejects: list) -> None:
        """Like `write`, given only the refused rows, indexed by their position in the chunk
        (what a Dask worker sends back for its partition)."""
        by_row: dict[int, list[str]] = {}
        for position, column, value, reason in rejects:
            by_row.setdefault(position, []).append(
                describe(offset + position + 1, column, value, reason))
        picked = refused.loc[sorted(by_row)].copy()
        picked.insert(0, "reason", ["; ".join(by_row[p]) for p in sorted(by_row)])
        picked.insert(0, "row", [offset + p + 1 for p in sorted(by_row)])
        picked.to_csv(self.path, mode="w" if self._first else "a", header=self._first,
                      index=False)
        self._first = False
        self.rows += len(by_row)


class _Sink:
    """A write-only file object whose contents are taken after each write (for streaming)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


class OutputWriter:
    """CSV or Parquet, to a path or to a byte stream (`take()` after each `write`)."""

    def __init__(self, kind: str, target: Any = None) -> None:
        self.kind, self.target, self.first = kind, target, True
        self._parquet: Any = None

    def write(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._parquet is None:
            if self.kind == "csv":  # Arrow's CSV writer: ~5x faster than DataFrame.to_csv
                import pyarrow.csv as pcsv

                self._parquet = pcsv.CSVWriter(self.target, table.schema)
            else:
                import pyarrow.parquet as pq

                self._parquet = pq.ParquetWriter(self.target, table.schema)
        self._parquet.write_table(table)
        self.first = False

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()


def output_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".csv", ".txt"):
        return "csv"
    raise DataError(f"output {path}: unknown file type; use .csv or .parquet")


def predict_file(served: Served, source: str | Path, output: str | Path, *,
                 id_column: str | None = None, chunk_rows: int = 100_000,
                 on_chunk: Callable[[int], None] | None = None, on_error: str = "fail",
                 rejects: str | Path | None = None) -> BatchReport:
    """Score `source` into `output` chunk by chunk; the output appears only on success.

    `on_error="skip"`: rows the contract refuses are left out of the output and written, with
    the reason, to `rejects` (default: `<output>.rejects.csv`); the valid rows are scored."""
    if on_error not in ("fail", "skip"):
        raise DataError(f"--on-error must be fail or skip (got {on_error!r})")
    output = Path(output)
    kind = output_kind(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    report = BatchReport(output=output)
    sink = None
    if on_error == "skip":
        report.rejects = Path(rejects) if rejects else output.with_name(
            f"{output.stem}.rejects.csv")
        report.rejects.unlink(missing_ok=True)
        sink = RejectsWriter(report.rejects)
    start = time.perf_counter()
    try:
        with open(partial, "wb") as handle:
            writer = OutputWriter(kind, handle)
            chunks = read_ahead(iter_chunks(source, chunk_rows, id_column=id_column))
            for chunk, scored in _score_chunks(served, chunks, report, id_column, sink):
                writer.write(scored)
                if on_chunk is not None:
                    on_chunk(len(chunk))
            writer.close()
        if report.rows == 0:
            raise DataError(f"{source}: no rows to score")
        os.replace(partial, output)
    finally:
        if partial.exists():
            partial.unlink()
    report.seconds = time.perf_counter() - start
    return report


def score_frame(served: Served, frame: pd.DataFrame, *, id_column: str | None = None,
                chunk_rows: int = 100_000) -> tuple[pd.DataFrame, BatchReport]:
    """An in-memory frame scored with the same contract checks and prediction path as
    `predict_file`: a bad value is a DataError naming its row, column and value. The result
    keeps the frame's index, so it joins back onto the input."""
    report = BatchReport()
    start = time.perf_counter()
    chunks = (frame.iloc[i:i + chunk_rows] for i in range(0, len(frame), chunk_rows))
    parts = [scored.set_axis(chunk.index)
             for chunk, scored in _score_chunks(served, chunks, report, id_column)]
    if not parts:
        raise DataError("no rows to score")
    report.seconds = time.perf_counter() - start
    return pd.concat(parts) if len(parts) > 1 else parts[0], report


def _score_chunks(served: Served, chunks: Iterator[pd.DataFrame], report: BatchReport,
                  id_column: str | None, sink: RejectsWriter | None = None,
                  ) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """(input chunk, its output frame) pairs; the report counts rows, chunks, unseen values."""
    for chunk in chunks:
        refused: list | None = [] if sink is not None else None
        scored, _, _ = score_chunk(served, chunk, report.rows, report.unseen, id_column,
                                   imputed=report.imputed, rejects=refused)
        if sink is not None and refused:
            sink.write(chunk, report.rows, refused)
            report.rejected = sink.rows
        report.rows += len(chunk)
        report.chunks += 1
        yield chunk, scored


def score_upload(served: Served, handle: IO[bytes], filename: str | None, output: str | None,
                 id_column: str | None, predlog: Any,
                 chunk_rows: int = 20_000) -> tuple[str, str, Iterator[bytes]]:
    """For POST /predict/file: validate the whole upload first (so problems are a 422, not a
    broken stream), then stream the scored file chunk by chunk."""
    import uuid


    head = handle.read(4)
    handle.seek(0)
    kind = output or _kind(filename, head)
    try:
        chunks = list(iter_chunks(handle, chunk_rows, name=filename or "upload",
                                  id_column=id_column))
        unseen: Counter = Counter()
        scored, offset = [], 0
        warned: list[list[dict[str, Any]]] = []  # per chunk: its rows' warnings
        for chunk in chunks:
            warned.append([])
            scored.append(score_chunk(served, chunk, offset, unseen, id_column,
                                      row_warnings=warned[-1]))
            offset += len(chunk)
    except DataError as exc:
        raise RequestInvalid([problem(["body", "file"], str(exc), "value_error")]) from None
    if not offset:
        raise RequestInvalid([problem(["body", "file"], "the file has no rows", "value_error")])
    request_id = uuid.uuid4().hex
    if predlog is not None:
        _log_upload(predlog, served, chunks, scored, warned, request_id)

    def stream() -> Iterator[bytes]:
        sink = _Sink()
        writer = OutputWriter(kind, sink)
        for frame, _, _ in scored:
            writer.write(frame)
            yield sink.take()
        writer.close()
        yield sink.take()

    return kind, request_id, stream()


def _log_upload(predlog: Any, served: Served, chunks: list[pd.DataFrame], scored: list,
                warned: list[list[dict[str, Any]]], request_id: str) -> None:
    classes = served.model.card.classes
    row = 0
    for chunk, (_, scores, labels), warnings in zip(chunks, scored, warned, strict=True):
        records = chunk.astype(object).where(chunk.notna(), None).to_dict("records")
        ids = [f"{request_id}-{row + i}" for i in range(len(chunk))]
        predlog.record(ids, records, labels, scores if classes else None,
                       classes, version=served.version, latency_ms=0.0,
                       request_id=request_id, source="file", warnings=warnings)
        row += len(chunk)
