"""`fullcycle predict`: load a workspace's model and score a file with the checked scoring core
(scoring/batch.py streams row-wise kinds in chunks); other kinds, or calls with options
(horizon, top-k), get the kind's own prediction as one frame."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fullcycle.data.sources import read_source
from fullcycle.errors import DataError
from fullcycle.scoring.batch import BatchReport, OutputWriter, output_kind, predict_file
from fullcycle.scoring.served import RegistrySource, Served
from fullcycle.taskkind import PredictOptions


def run_batch(workspace: str | Path, source: str | Path | None, output: str | Path, *,
              model_ref: str = "champion", id_column: str | None = None,
              chunk_rows: int = 100_000, progress: bool = True, on_error: str = "fail",
              rejects: str | Path | None = None,
              options: PredictOptions | None = None) -> BatchReport:
    """`fullcycle predict`: load the model; row-wise kinds stream the file through the checked
    scoring core with a progress bar, other kinds (or any call with `options`) answer
    `kind.predict(model, rows or None, options)`."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    if chunk_rows < 1:
        raise DataError(f"--chunk-rows must be at least 1 (got {chunk_rows})")
    source_ = RegistrySource(workspace, model_ref)
    model = source_.load()
    options = options or PredictOptions()
    if not model.kind.row_wise or options != PredictOptions() or source is None:
        return predict_with_kind(model, source, Path(output), options)
    served = Served.prepare(model, serving_threads=False, missing=source_.missing)
    total = _row_count_hint(Path(source))
    from rich.console import Console

    # on stderr: stdout may be a pipe or `--json`'s object
    with Progress(TextColumn("scoring"), BarColumn(), TextColumn("{task.completed:,.0f} rows"),
                  TimeElapsedColumn(), disable=not progress, transient=True,
                  console=Console(stderr=True)) as bar:
        task = bar.add_task("rows", total=total)
        report = predict_file(served, source, output, id_column=id_column, chunk_rows=chunk_rows,
                              on_chunk=lambda n: bar.advance(task, n), on_error=on_error,
                              rejects=rejects)
    return report


def predict_with_kind(model: Any, source: str | Path | None, output: Path,
                      options: PredictOptions) -> BatchReport:
    """The kind's own prediction (forecast horizons, recommendation lists...), one frame."""
    start = time.perf_counter()
    frame = None if source is None else read_source(str(source))
    result = model.predict(frame, options)
    writer = OutputWriter(output_kind(output), str(output))
    writer.write(result.reset_index(drop=True))
    writer.close()
    return BatchReport(rows=len(result), seconds=time.perf_counter() - start, chunks=1,
                       output=output)


def _row_count_hint(path: Path) -> int | None:
    """Parquet knows its row count; for CSV the bar runs without a total."""
    if path.suffix.lower() in (".parquet", ".pq") and path.is_file():
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    return None
