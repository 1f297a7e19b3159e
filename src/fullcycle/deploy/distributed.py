"""`fullcycle predict --cluster`: batch scoring on a Dask cluster.

The input is read by the workers in partitions (CSV byte ranges, Parquet row groups), never
gathered on the client. The model is shipped once to every worker; each worker compiles it once
and scores its partitions with the same checked `score_chunk` as the single-process path, then
writes its part of the output. The client only collects row counts and notes.

Output: a CSV file (the parts are joined in order on the client, byte for byte, so memory stays
flat) or a partitioned Parquet folder. With `on_error="skip"` each worker also writes the rows the
contract refuses, with the reason, and the client joins them into one rejects file with row
numbers counted from the start of the input, as the single-process path does. Everything is
written under a temporary name beside the output and renamed into place only when every partition
succeeded, so a failure leaves nothing half-written. A worker that dies mid-run has its
partitions re-run by the scheduler on another worker (`RETRIES`); the output is complete or
absent, never short."""

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

import pandas as pd

from fullcycle.compute.cluster import ClusterError, ClusterSession, connect
from fullcycle.compute.frames import BLOCKSIZE, read_partitions, typed
from fullcycle.deploy.batch import run_batch
from fullcycle.errors import DataError
from fullcycle.model import Model
from fullcycle.scoring.batch import BatchReport, RejectsWriter, output_kind, score_chunk
from fullcycle.scoring.served import RegistrySource, Served

RETRIES = 3  # extra attempts per partition when its worker dies or the task fails transiently
_SERVED: dict[str, Served] = {}  # per worker process: the compiled model of each shipped version


@dataclass
class PartResult:
    index: int
    rows: int
    unseen: Counter
    error: str | None = None
    imputed: Counter | None = None  # column -> missing values the model's imputer filled
    rejected: int = 0  # rows refused and written to the partition's rejects part (skip mode)


@dataclass(frozen=True)
class PartJob:
    """What every partition task needs besides its rows (one small object per run)."""
    key: str  # the shipped model version on the workers
    staging: str
    kind: str  # output file kind: csv or parquet
    id_column: str | None
    missing: str  # contract.missing: impute or strict
    skip: bool  # on_error == "skip"


def predict_on_cluster(session: ClusterSession, model: Model, source: str | Path,
                       output: str | Path, *, id_column: str | None = None,
                       blocksize: str | int = BLOCKSIZE,
                       on_part: Callable[[int, int], None] | None = None,
                       on_error: str = "fail", rejects: str | Path | None = None,
                       missing: str = "impute") -> BatchReport:
    """Score `source` into `output` on the cluster; returns the same report as `predict_file`
    (`on_error`, `rejects` and `missing` mean what they mean there)."""
    if on_error not in ("fail", "skip"):
        raise DataError(f"--on-error must be fail or skip (got {on_error!r})")
    output = Path(output)
    kind = output_kind(output)
    parts = read_partitions(source, blocksize=blocksize, id_column=id_column)
    report = BatchReport(output=output)
    if on_error == "skip":
        report.rejects = Path(rejects) if rejects else output.with_name(
            f"{output.stem}.rejects.csv")
        report.rejects.unlink(missing_ok=True)
    start = time.perf_counter()
    staging = output.with_name(f".{output.name}.partial-{uuid.uuid4().hex[:8]}")
    staging.mkdir(parents=True)
    job = PartJob(key=f"{model.version_label}-{uuid.uuid4().hex[:8]}", staging=str(staging),
                  kind=kind, id_column=id_column, missing=missing,
                  skip=on_error == "skip")
    try:
        results = _run(session, model, parts, job, on_part)
        _raise_first_error(results)
        report.rows = sum(r.rows for r in results)
        report.chunks = len(results)
        for r in results:
            report.unseen.update(r.unseen)
            report.imputed.update(r.imputed or Counter())
        if report.rows == 0:
            raise DataError(f"{source}: no rows to score")
        if report.rejects is not None:
            report.rejected = _join_rejects(staging, results, report.rejects)
        _publish(staging, output, kind, len(results))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report.seconds = time.perf_counter() - start
    return report


def _run(session: ClusterSession, model: Model, parts: Any, job: PartJob,
         on_part: Callable[[int, int], None] | None) -> list[PartResult]:
    import dask
    from distributed import as_completed

    client = session.client
    [shipped] = client.scatter([model], broadcast=True, hash=False)
    score = dask.delayed(_score_part, pure=False)
    tasks = [score(part, i, shipped, job) for i, part in enumerate(parts.to_delayed())]
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


def _score_part(frame: Any, index: int, model: Model, job: PartJob) -> PartResult:
    """Runs on a worker: type, validate and score one partition, write its part file (and,
    skipping, its refused rows with row numbers counted from the partition's start)."""
    served = _SERVED.get(job.key)
    if served is None:
        _SERVED.clear()  # one shipped version at a time per worker
        served = _SERVED[job.key] = Served.prepare(model, serving_threads=False,
                                                   missing=job.missing)
    frame = typed(frame)
    unseen: Counter = Counter()
    imputed: Counter = Counter()
    refused: list | None = [] if job.skip else None
    try:
        scored, _, _ = score_chunk(served, frame, 0, unseen, job.id_column, imputed=imputed,
                                   rejects=refused)
    except DataError as exc:  # reported by the client with the partition's place in the input
        return PartResult(index, len(frame), unseen, error=str(exc))
    rejected = 0
    if refused:  # the client numbers them from the input's start, once it knows every offset
        rows = sorted({r[0] for r in refused})
        tmp = _part_path(job.staging, "rejects", index, "pickle", temporary=True)
        pd.to_pickle((frame.iloc[rows].set_axis(rows), refused), tmp)
        os.replace(tmp, _part_path(job.staging, "rejects", index, "pickle"))
        rejected = len(rows)
    tmp = _part_path(job.staging, "part", index, job.kind, temporary=True)
    if job.kind == "csv":
        scored.to_csv(tmp, index=False)
    else:
        scored.to_parquet(tmp, index=False)
    os.replace(tmp, _part_path(job.staging, "part", index, job.kind))  # a re-run overwrites whole
    return PartResult(index, len(frame), unseen, imputed=imputed, rejected=rejected)


def _part_path(staging: str | Path, stem: str, index: int, kind: str, *,
               temporary: bool = False) -> Path:
    path = Path(staging) / f"{stem}-{index:06d}.{'parquet' if kind == 'parquet' else kind}"
    return path.with_name(path.name + f".tmp-{uuid.uuid4().hex[:6]}") if temporary else path


def _join_rejects(staging: Path, results: list[PartResult], target: Path) -> int:
    """The partitions' refused rows in input order in one file, numbered from the input's
    start as `predict --on-error skip` numbers them on one machine; returns how many."""
    sink = RejectsWriter(target)
    offset = 0
    for r in results:  # sorted by partition index
        if r.rejected:  # written by this run's own workers into its staging folder
            refused, rejects = pd.read_pickle(_part_path(staging, "rejects", r.index, "pickle"))
            sink.write_refused(refused, offset, rejects)
        offset += r.rows
    return sink.rows


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
                with open(_part_path(staging, "part", i, "csv"), "rb") as part:
                    if i:
                        part.readline()  # every part has a header; keep the first one only
                    shutil.copyfileobj(part, out, 1 << 20)
        os.replace(joined, output)
        return
    final = staging / "final"
    final.mkdir()
    for i in range(parts):
        os.replace(_part_path(staging, "part", i, kind), final / f"part-{i:06d}.parquet")
    if output.exists():
        old = output.with_name(f".{output.name}.old-{uuid.uuid4().hex[:6]}")
        os.replace(output, old)
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()
    os.replace(final, output)


def run_on_cluster(workspace: str | Path, source: str | Path | None, output: str | Path, *,
                   address: str, model_ref: str = "champion", id_column: str | None = None,
                   worker_memory: str | None = None, blocksize: str | int = BLOCKSIZE,
                   progress: bool = True, on_error: str = "fail",
                   rejects: str | Path | None = None) -> tuple[BatchReport, str]:
    """`fullcycle predict --cluster`: (report, note). Kinds whose predictions are not one row
    per input row (forecasts, recommendation lists) are answered on this machine, and the
    note says so."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    registered = RegistrySource(workspace, model_ref)
    model = registered.load()
    if source is None or not model.kind.row_wise:
        report = run_batch(workspace, source, output, model_ref=model_ref, id_column=id_column,
                           progress=progress, on_error=on_error, rejects=rejects)
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
                                    blocksize=blocksize, on_part=advance, on_error=on_error,
                                    rejects=rejects, missing=registered.missing)
        where = session.describe()
    return report, f"scored on {where}"
