"""EDA report benchmark: fullcycle vs ydata-profiling on the same generated data.

    .venv/bin/python bench/eda.py                         # fullcycle at 100k, 1M, 5M rows
    .venv/bin/python bench/eda.py --peer-rows 100000 1000000   # + ydata default and minimal

Data: N rows x 30 mixed columns (14 numeric with skew, integers and missing values, 10 text
categoricals from 3 to 5,000 values, 2 yes/no flags, 1 datetime, 1 numbers-as-text column, 1
identifier-like code, and a binary target), written once to bench/data/ as Parquet. Each run is a
fresh subprocess that reads the Parquet file, then times the report call alone; the peak memory is
the subprocess' maximum resident set size (data included, for both tools alike). ydata-profiling
runs in its own virtual environment, bench/.venvs/ydata (`pip install ydata-profiling` there)."""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RESULTS = HERE / "results"
YDATA_PYTHON = HERE / ".venvs" / "ydata" / "bin" / "python"


def generate(rows: int, seed: int = 0) -> Path:
    """The benchmark table, cached as Parquet; written column by column to bound memory."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = DATA / f"eda-{rows}.parquet"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cols: dict[str, pa.Array] = {}

    def with_missing(values: np.ndarray, share: float) -> np.ndarray:
        values = values.astype("float64")
        values[rng.random(rows) < share] = np.nan
        return values

    for i in range(6):
        cols[f"normal_{i}"] = pa.array(with_missing(rng.normal(i, 1 + i, rows), 0.02 * (i % 3)))
    for i in range(4):
        cols[f"skewed_{i}"] = pa.array(with_missing(rng.lognormal(3, 1 + i / 2, rows), 0.01 * i))
    for i in range(4):
        cols[f"count_{i}"] = pa.array(rng.poisson(1 + 3 * i, rows).astype("int64"))
    for i, k in enumerate((3, 5, 8, 12, 20, 50, 100, 300, 1000, 5000)):
        labels = np.array([f"{chr(97 + i)}_{j}" for j in range(k)], dtype=object)
        codes = np.minimum(rng.zipf(1.6, rows) - 1, k - 1).astype("int32")
        arr = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(labels)).cast(pa.string())
        if i % 4 == 1:
            arr = pa.array(np.where(rng.random(rows) < 0.05, None, arr.to_numpy(False)))
        cols[f"cat_{i}"] = arr
    for i in range(2):
        cols[f"flag_{i}"] = pa.array(np.where(rng.random(rows) < 0.3 + 0.2 * i, "yes", "no"))
    start = np.datetime64("2020-01-01T00:00:00", "s")
    offsets = rng.integers(0, 3 * 365 * 86400, rows).astype("timedelta64[s]")
    cols["signup"] = pa.array(start + offsets)
    text_numbers = np.round(rng.gamma(2, 500, rows), 2).astype(str).astype(object)
    text_numbers[rng.random(rows) < 0.002] = " "
    cols["charges_text"] = pa.array(text_numbers)
    cols["code"] = pa.array(np.char.add("C", rng.permutation(rows).astype(str)).astype(object))
    score = cols["normal_0"].to_numpy(zero_copy_only=False)
    logit = np.nan_to_num(score) * 0.8 - 1.5 + (rng.random(rows) < 0.1)
    cols["target"] = pa.array((rng.random(rows) < 1 / (1 + np.exp(-logit))).astype("int64"))
    pq.write_table(pa.table(cols), path, row_group_size=250_000)
    return path


def worker(tool: str, data: Path, out: Path) -> None:
    """Runs inside the measured subprocess: read the data, time the report, print JSON."""
    import pandas as pd

    frame = pd.read_parquet(data)
    loaded_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    if tool == "fullcycle":
        from fullcycle.explore.report import build_report

        analysis = build_report(frame, out, "target", source=str(data))
        extra = {"timings": analysis.timings}
    else:
        from ydata_profiling import ProfileReport

        ProfileReport(frame, minimal=tool == "ydata-minimal", progress_bar=False,
                      title="bench").to_file(out)
        extra = {}
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "loaded_mb": loaded_mb,
                      "report_mb": out.stat().st_size / 1e6, **extra}))


def measure(tool: str, rows: int, timeout: float) -> dict:
    data = generate(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"eda-{tool}-{rows}.html"
    python = str(YDATA_PYTHON) if tool.startswith("ydata") else sys.executable
    try:
        proc = subprocess.run([python, __file__, "--worker", tool, "--data", str(data),
                               "--out", str(out)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"tool": tool, "rows": rows, "error": f"timeout after {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"tool": tool, "rows": rows, "error": proc.stderr.strip().splitlines()[-1:]}
    return {"tool": tool, "rows": rows, **json.loads(proc.stdout.strip().splitlines()[-1])}


def table(results: list[dict]) -> str:
    lines = ["| tool | rows | time (s) | peak memory (MB) | data alone (MB) | report (MB) |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['tool']} | {r['rows']:,} | {r['error']} | | | |")
            continue
        lines.append(f"| {r['tool']} | {r['rows']:,} | {r['seconds']:.1f} | {r['peak_mb']:,.0f} "
                     f"| {r['loaded_mb']:,.0f} | {r['report_mb']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[100_000, 1_000_000, 5_000_000])
    parser.add_argument("--peer-rows", type=int, nargs="*", default=[],
                        help="row counts at which to run ydata-profiling (default and minimal)")
    parser.add_argument("--peers", nargs="*", default=["ydata-minimal", "ydata-default"])
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--worker")
    parser.add_argument("--data", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.data, args.out)
        return
    runs = [("fullcycle", n) for n in args.rows]
    runs += [(peer, n) for n in args.peer_rows for peer in args.peers]
    results = []
    for tool, rows in runs:
        result = measure(tool, rows, args.timeout)
        results.append(result)
        print(json.dumps(result), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "eda.json").write_text(json.dumps(results, indent=2))
    print(table(results))


if __name__ == "__main__":
    main()
