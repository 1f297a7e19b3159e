"""Benchmark: streamed data passes vs a plain pandas.read_csv on a large generated CSV.

    .venv/bin/python bench/data_read.py --size-mb 2048 --markdown bench/results-data.md

Generates (once) a CSV of about --size-mb with 50 columns (floats, integers, categories, ids,
dates, numbers stored as text with blanks) under bench/data/, then runs each path in its own
subprocess and reports wall time and peak resident memory (VmHWM) of that process:

  pandas.read_csv        the baseline: the whole file as pandas objects
  read_source (whole)    fullcycle's whole-file read (text first, clean numbers converted)
  scan (inspect)         streamed: fingerprint + row count + missing counts + 100k-row sample
                         + schema inferred on the sample (what `fullcycle inspect` does)
  fingerprint            streamed: the data version only
  validate               streamed: every row checked against a schema (`fullcycle validate`)
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
DATA = HERE / "data"
CHUNK = 200_000


def _block(rng: np.random.Generator, first_row: int) -> pd.DataFrame:
    """CHUNK rows, 50 columns: floats with 2% missing, integers, categories, ids, dates, and
    numbers stored as text with 1% blanks."""
    n = CHUNK
    labels = [np.array([f"cat{j}_{k}" for k in range(5 + 5 * j)]) for j in range(10)]
    cols: dict[str, object] = {}
    for j in range(20):
        values = rng.normal(100 * j, 10 + j, n).round(2)
        values[rng.random(n) < 0.02] = np.nan
        cols[f"f{j}"] = values
    for j in range(10):
        cols[f"i{j}"] = rng.integers(0, 10 ** (j % 6 + 1), n)
    for j in range(10):
        cols[f"c{j}"] = rng.choice(labels[j], n)
    for j in range(5):
        cols[f"id{j}"] = np.char.add("ID-", (first_row + np.arange(n) + j * 7).astype(str))
    base = np.datetime64("2020-01-01")
    for j in range(3):
        days = rng.integers(0, 1500, n).astype("timedelta64[D]")
        cols[f"d{j}"] = np.datetime_as_string(base + days, unit="D")
    for j in range(2):
        text = rng.uniform(0, 5000, n).round(2).astype(str).astype(object)
        text[rng.random(n) < 0.01] = " "
        cols[f"t{j}"] = text
    return pd.DataFrame(cols)


def generate(path: Path, size_mb: int, seed: int = 0, distinct_blocks: int = 4) -> int:
    """Write about size_mb of CSV; returns the row count. Generating random text is slow, so
    `distinct_blocks` blocks of CHUNK rows are made and then written in turn until the size is
    reached (reading cost does not depend on rows being unique)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    rng = np.random.default_rng(seed)
    blocks = []
    for b in range(distinct_blocks):
        sink = pa.BufferOutputStream()
        table = pa.Table.from_pandas(_block(rng, b * CHUNK), preserve_index=False)
        pcsv.write_csv(table, sink, pcsv.WriteOptions(include_header=b == 0))
        data = sink.getvalue().to_pybytes()
        blocks.append(data)
    header_end = blocks[0].index(b"\n") + 1
    bodies = [blocks[0][header_end:]] + blocks[1:]
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with open(path, "wb") as handle:
        handle.write(blocks[0][:header_end])
        while handle.tell() < size_mb * 1024 * 1024:
            handle.write(bodies[(rows // CHUNK) % len(bodies)])
            rows += CHUNK
    return rows


CHILD = r'''
import json, sys, time
path, mode = sys.argv[1], sys.argv[2]
start = time.perf_counter()
rows = None
if mode == "pandas":
    import pandas as pd
    rows = len(pd.read_csv(path))
elif mode == "whole":
    from fullcycle.data import read_source
    rows = len(read_source(path))
elif mode == "scan":
    from fullcycle.data import scan
    result = scan(path)
    rows = result.rows
    extra = {"fingerprint": result.fingerprint}
elif mode == "fingerprint":
    from fullcycle.data import fingerprint_source
    version, rows = fingerprint_source(path)
    extra = {"fingerprint": version}
elif mode == "validate":
    import pandas as pd
    from fullcycle.data import infer_schema, validate_source
    from fullcycle.data.files import numbers_where_clean
    head = numbers_where_clean(pd.read_csv(path, nrows=50_000, dtype=str, keep_default_na=False))
    schema = infer_schema(head)
    start = time.perf_counter()  # time the streamed check only
    violations, rows = validate_source(path, schema)
    extra = {"violations": len(violations)}
seconds = time.perf_counter() - start
peak = 0
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        peak = int(line.split()[1]) / 1024
print(json.dumps({"mode": mode, "seconds": seconds, "peak_mb": peak, "rows": rows,
                  **(extra if "extra" in dir() else {})}))
'''

MODES = [("pandas", "pandas.read_csv (whole file)"), ("whole", "fullcycle read_source (whole)"),
         ("scan", "scan: schema on sample + fingerprint (streamed)"),
         ("fingerprint", "fingerprint (streamed)"), ("validate", "validate (streamed)")]


def run(path: Path, mode: str) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), mode], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        return {"mode": mode, "error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(results: list[dict], size_mb: float, rows: int) -> str:
    lines = ["| path | seconds | peak memory (MB) | rows/s |", "|---|---:|---:|---:|"]
    for (_mode, label), r in zip(MODES, results, strict=True):
        if "error" in r:
            lines.append(f"| {label} | failed: {r['error']} | | |")
            continue
        lines.append(f"| {label} | {r['seconds']:.1f} | {r['peak_mb']:.0f} | "
                     f"{r['rows'] / r['seconds']:,.0f} |")
    return "\n".join(lines) + f"\n\nfile: {size_mb:.0f} MB, {rows:,} rows, 50 columns"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=2048)
    parser.add_argument("--modes", default=",".join(m for m, _ in MODES))
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    path = DATA / f"wide-{args.size_mb}mb.csv"
    if not path.exists():
        t0 = time.perf_counter()
        generate(path, args.size_mb)
        print(f"generated {path} in {time.perf_counter() - t0:.0f} s", flush=True)
    chosen = args.modes.split(",")
    results = []
    for mode, label in MODES:
        if mode not in chosen:
            results.append({"mode": mode, "error": "not run"})
            continue
        results.append(run(path, mode))
        print(f"{label}: {results[-1]}", flush=True)
    rows = next((r["rows"] for r in results if r.get("rows")), 0)
    text = table(results, path.stat().st_size / 2**20, rows)
    fingerprints = {r["mode"]: r["fingerprint"] for r in results if "fingerprint" in r}
    print(text)
    print(f"fingerprints (scan vs fingerprint must agree): {fingerprints}")
    if args.markdown:
        args.markdown.write_text(
            "# Data reading benchmark\n\n"
            f"Command: `.venv/bin/python bench/data_read.py --size-mb {args.size_mb}`\n\n"
            f"Machine: 2 cores, 24 GiB, Python {platform.python_version()}; date "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. The machine was shared "
            "with other engineers' jobs during the run, so times are noisy; memory is not.\n\n"
            + text + f"\n\nfingerprints: {fingerprints}\n")


if __name__ == "__main__":
    main()
