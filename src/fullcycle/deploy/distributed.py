"""`fullcycle predict --cluster`: batch scoring on a Dask cluster.

The input is read by the workers in partitions (CSV byte ranges, Parquet row groups), never
gathered on the client. The model is shipped once to every worker; each worker compiles it once
and scores its partitions with the same checked `score_chunk` as the single-process path, then
writes its part of the output. The client only collects row counts and notes.

Output: a CSV file (the parts are joined in order on the client, byte for byte, so memory stays
flat) or a partitioned Parquet folder. Everything is written under a temporary name beside the
output and renamed into place only when every partition succeeded, so a failure leaves nothing
half-written. A worker that dies mid-run has its partitions re-run by the scheduler on another
worker (`RETRIES`); the output is complete or absent, never short."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fullcycle.compute.cluster import ClusterError, ClusterSession, connect
from fullcycle.compute.frames import BLOCKSIZE, read_partitions, typed
from fullcycle.deploy.batch import run_batch
from fullcycle.errors import DataError
from fullcycle.model import Model
from fullcycle.scoring.batch import BatchReport, output_kind, score_chunk
from fullcycle.scoring.served import RegistrySource, Served

RETRIES = 3  # extra attempts per partition when its worker dies or the task fails transiently
_SERVED: dict[str, Served] = {}  # per worker process: the compiled model of each shipped version


@dataclass
class PartResult:
    index: int
    rows: int
    unseen: Counter
    error: str | None = None


def predict_on_cluster(session: ClusterSession, model: Model, source: str | Path,
                       output: str | Path, *, id_column: str | None = None,
                       blocksize: str | int = BLOCKSIZE,
                       on_part: Callable[[int, int], None] | None = None) -> BatchReport:
    """Score `source` into `output` on the cluster; returns the same report as `predict_file`."""
    output = Path(output)
    kind = output_kind(output)
    parts = read_partitions(source, blocksize=blocksize, id_column=id_column)
    report = BatchReport(output=output)
    start = time.perf_counter()
    staging = output.with_name(f".{output.name}.partial-{uuid.uuid4().hex[:8]}")
    staging.mkdir(parents=True)
    try:
        results = _run(session, model, parts, staging, kind, id_column, on_part)
        _raise_first_error(results)
        report.rows = sum(r.rows for r in results)
        report.chunks = len(results)
        for r in results:
            report.unseen.update(r.unseen)
        if report.rows == 0:
            raise DataError(f"{source}: no rows to score")
        _publish(staging, output, kind, len(results))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report.seconds = time.perf_counter() - start
    return report


def _run(session: ClusterSession, model: Model, parts: Any, staging: Path, kind: str,
         id_column: str | None, on_part: Callable[[int, int], None] | None) -> list[PartResult]:
    import dask
    from distributed import as_completed

    client = session.client
    [shipped] = client.scatter([model], broadcast=True, hash=False)
    key = f"{model.version_label}-{uuid.uuid4().hex[:8]}"
    score = dask.delayed(_score_part, pure=False)
    tasks = [score(part, i, shipped, key, str(staging), kind, id_column)
             for i, part in enumerate(parts.to_delayed())]
    futures = client.compute(tasks, retries=RETRIES)
    results: list[PartResult] = []
    try:
        for future in as_completed(futures):
            result = future.result()
            results.append(result)
            if on_part is not None:
                on_part(result.rows, len(futures))
    except Exception as exc:  # a task that failed RETRIES + 1 times, or a lost cluster
        for f in futures:
            f.cancel()
        if isinstance(exc, DataError):
            raise
        raise ClusterError(f"the cluster could not finish scoring: {type(exc).__name__}: "
                           f"{exc}. Nothing was written; check the workers' logs and memory "
                           "limits, then run again") from None
    return sorted(results, key=lambda r: r.index)


def _score_part(frame: Any, index: int, model: Model, key: str, staging: str, kind: str,
                id_column: str | None) -> PartResult:
    """Runs on a worker: type, validate and score one partition, write its part file."""
    served = _SERVED.get(key)
    if served is None:
        _SERVED.clear()  # one shipped version at a time per worker
        served = _SERVED[key] = Served.prepare(model, serving_threads=False)
    frame = typed(frame)
    unseen: Counter = Counter()
    try:
        scored, _, _ = score_chunk(served, frame, 0, unseen, id_column)
    except DataError as exc:  # reported by the client with the partition's place in the input
        return PartResult(index, len(frame), unseen, error=str(exc))
    path = Path(staging) / f"part-{index:06d}.{'csv' if kind == 'csv' else 'parquet'}"
    tmp = path.with_name(path.name + f".tmp-{uuid.uuid4().hex[:6]}")
    if kind == "csv":
        scored.to_csv(tmp, index=False)
    else:
        scored.to_parquet(tmp, index=False)
    os.replace(tmp, path)  # a re-run partition overwrites its part whole
    return PartResult(index, len(frame), unseen)


def _raise_first_error(results: list[PartResult]) -> None:
    bad = next((r for r in results if r.error), None)
    if bad is None:
        return
    before = sum(r.rows for r in results if r.index < bad.index)
    raise DataError(f"input partition {bad.index + 1} of {len(results)} (rows {before + 1}-"
                    f"{before + bad.rows}; row numbers below count from its start): "
                    f"{bad.error}")


def _publish(staging: Path, output: Path, kind: str, parts: int) -> None:
    """CSV: the parts joined (one header) into one file; Parquet: the folder of parts."""
    output.parent.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        joined = staging / "joined.csv"
        with open(joined, "wb") as out:
            for i in range(parts):
                with open(staging / f"part-{i:06d}.csv", "rb") as part:
                    if i:
                        part.readline()  # every part has a header; keep the first one only
                    shutil.copyfileobj(part, out, 1 << 20)
        os.replace(joined, output)
        return
    final = staging / "final"
    final.mkdir()
    for i in range(parts):
        os.replace(staging / f"part-{i:06d}.parquet", final / f"part-{i:06d}.parquet")
    if output.exists():
        old = output.with_name(f".{output.name}.old-{uuid.uuid4().hex[:6]}")
        os.replace(output, old)
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()
    os.replace(final, output)


def run_on_cluster(workspace: str | Path, source: str | Path | None, output: str | Path, *,
                   address: str, model_ref: str = "champion", id_column: str | None = None,
                   worker_memory: str | None = None, blocksize: str | int = BLOCKSIZE,
                   progress: bool = True) -> tuple[BatchReport, str]:
    """`fullcycle predict --cluster`: (report, note). Kinds whose predictions are not one row
    per input row (forecasts, recommendation lists) are answered on this machine, and the
    note says so."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    model = RegistrySource(workspace, model_ref).load()
    if source is None or not model.kind.row_wise:
        report = run_batch(workspace, source, output, model_ref=model_ref, id_column=id_column,
                           progress=progress)
        return report, (f"{model.kind.name} predictions are computed on this machine (the "
                        "model answers for all series/users at once); --cluster was not used")
    with connect(address, worker_memory=worker_memory) as session, \
            Progress(TextColumn("scoring on the cluster"), BarColumn(),
                     TextColumn("{task.completed:,.0f} of {task.total} partitions"),
                     TimeElapsedColumn(), disable=not progress, transient=True) as bar:
        task = bar.add_task("parts", total=None)

        def advance(rows: int, total: int) -> None:
            bar.update(task, total=total, advance=1)

        report = predict_on_cluster(session, model, source, output, id_column=id_column,
                                    blocksize=blocksize, on_part=advance)
        where = session.describe()
    return report, f"scored on {where}"
