"""Drift on 1M rows x 50 columns (40 numeric, 10 categorical): fullcycle vs Evidently's
DataDriftPreset on the same Parquet files, each in its own process (peak RSS measured there).

    .venv/bin/python bench/monitor.py [--rows 1000000] [--skip-evidently]

Evidently runs from bench/.venvs/evidently (`python -m venv bench/.venvs/evidently &&
bench/.venvs/evidently/bin/pip install evidently "pandas<3"`). The current window has known
shifts: 5 numeric mean shifts (0.3 sd), one scale change, one log-normal shift, one categorical
share change and one new category; the other 41 columns are fresh draws of the reference
distributions. Results go to bench/results/monitor.json; the table is printed."""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data" / "monitor"
EVIDENTLY = ROOT / ".venvs" / "evidently" / "bin" / "python"
N_NUM, N_CAT = 40, 10
SHIFTED = ["n00", "n01", "n02", "n03", "n04", "n05", "n06", "c00", "c01"]


def _column(kind: int, rng: np.random.Generator, n: int, shift: str | None) -> np.ndarray:
    if kind == 0:
        values = rng.normal(50, 10, n)
    elif kind == 1:
        values = rng.lognormal(3, 0.6 + (0.3 if shift == "lognormal" else 0.0), n)
    elif kind == 2:
        values = rng.poisson(4, n).astype(float)
    else:
        values = rng.uniform(0, 100, n)
    if shift == "mean":
        values = values + 0.3 * values.std()
    if shift == "scale":
        values = values.mean() + (values - values.mean()) * 1.5
    values[rng.random(n) < 0.02] = np.nan
    return values


def make_frame(n: int, seed: int, current: bool):  # pandas imported lazily
    import pandas as pd

    rng = np.random.default_rng(seed)
    shape = np.random.default_rng(123)  # the same category sets and shares in both files
    cols: dict[str, np.ndarray] = {}
    for i in range(N_NUM):
        shift = None
        if current:
            shift = "mean" if i < 5 else "scale" if i == 5 else None
        kind = 0 if i in (0, 1, 2, 5) else i % 4
        if i == 6:
            kind, shift = 1, ("lognormal" if current else None)
        cols[f"n{i:02d}"] = _column(kind, rng, n, shift)
    for j in range(N_CAT):
        k = 4 + j * 3
        labels = np.array([f"cat{j}_{v}" for v in range(k)], dtype=object)
        shares = shape.dirichlet(np.ones(k) * 2)
        if current and j == 0:
            shares = shares[::-1].copy()  # share change
        values = labels[rng.choice(k, n, p=shares)]
        if current and j == 1:
            values[rng.random(n) < 0.2] = f"cat{j}_new"  # a category training never saw
        cols[f"c{j:02d}"] = values
    return pd.DataFrame(cols)


def ensure_data(rows: int) -> tuple[Path, Path]:
    DATA.mkdir(parents=True, exist_ok=True)
    ref, cur = DATA / f"reference-{rows}.parquet", DATA / f"current-{rows}.parquet"
    if not ref.exists() or not cur.exists():
        make_frame(rows, 1, False).to_parquet(ref, index=False)
        make_frame(rows, 2, True).to_parquet(cur, index=False)
    return ref, cur


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_fullcycle(ref_path: str, cur_path: str) -> dict:
    import pandas as pd
    import scipy.stats  # noqa: F401 - imported before the clock, as Evidently's imports are

    from fullcycle.config import MonitorConfig
    from fullcycle.data.schema import ColumnSpec, Schema
    from fullcycle.monitor.columns import read_window
    from fullcycle.monitor.drift import detect_drift
    from fullcycle.monitor.reference import build_reference

    ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    loaded = _rss_mb()
    schema = Schema([ColumnSpec(c, "numeric" if c.startswith("n") else "categorical",
                                str(ref[c].dtype)) for c in ref.columns])
    t0 = time.perf_counter()
    reference = build_reference(ref, schema)
    t1 = time.perf_counter()
    del ref
    c1 = time.process_time()
    result = detect_drift(read_window(cur, schema), reference, MonitorConfig())
    t2 = time.perf_counter()
    return {"tool": "fullcycle", "reference_seconds": t1 - t0, "drift_seconds": t2 - t1,
            "drift_cpu_seconds": time.process_time() - c1,
            "peak_rss_mb": _rss_mb(), "rss_after_load_mb": loaded,
            "reference_json_kb": len(json.dumps(reference)) / 1024,
            "flagged": sorted(result["drifted_features"]),
            "values": {f["feature"]: f.get("wasserstein_norm", f.get("jensenshannon"))
                       for f in result["features"]}}


def worker_evidently(ref_path: str, cur_path: str) -> dict:
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    loaded = _rss_mb()
    definition = DataDefinition(numerical_columns=[c for c in ref.columns if c.startswith("n")],
                                categorical_columns=[c for c in ref.columns if c.startswith("c")])
    t0, c0 = time.perf_counter(), time.process_time()
    snapshot = Report([DataDriftPreset()]).run(Dataset.from_pandas(cur, data_definition=definition),
                                               Dataset.from_pandas(ref, data_definition=definition))
    t1 = time.perf_counter()
    flagged, values = [], {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith("ValueDrift"):
            values[config["column"]] = metric["value"]
            if metric["value"] >= config["threshold"]:
                flagged.append(config["column"])
    return {"tool": "evidently", "drift_seconds": t1 - t0,
            "drift_cpu_seconds": time.process_time() - c0, "peak_rss_mb": _rss_mb(),
            "rss_after_load_mb": loaded, "flagged": sorted(flagged), "values": values}


def run_worker(python: Path, tool: str, ref: Path, cur: Path) -> dict:
    out = subprocess.run([str(python), __file__, "--worker", tool, str(ref), str(cur)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{tool} worker failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--worker", nargs=3, metavar=("TOOL", "REF", "CUR"))
    args = parser.parse_args()
    if args.worker:
        tool, ref, cur = args.worker
        fn = worker_fullcycle if tool == "fullcycle" else worker_evidently
        print(json.dumps(fn(ref, cur)))
        return
    ref, cur = ensure_data(args.rows)
    results = [run_worker(Path(sys.executable), "fullcycle", ref, cur)]
    if not args.skip_evidently:
        if not EVIDENTLY.exists():
            raise SystemExit(f"{EVIDENTLY} is missing; see this script's docstring")
        results.append(run_worker(EVIDENTLY, "evidently", ref, cur))
    report(args.rows, results)


def report(rows: int, results: list[dict]) -> None:
    print(f"drift on {rows:,} rows x {N_NUM + N_CAT} columns ({N_NUM} numeric, {N_CAT} "
          f"categorical); known shifted: {', '.join(SHIFTED)}")
    print(f"{'tool':<10} {'drift s':>9} {'CPU s':>7} {'peak RSS MB':>12} {'RSS after load':>15} "
          f"{'flagged':>8}  right?")
    for r in results:
        print(f"{r['tool']:<10} {r['drift_seconds']:>9.2f} {r.get('drift_cpu_seconds', 0):>7.2f} "
              f"{r['peak_rss_mb']:>12.0f} "
              f"{r['rss_after_load_mb']:>15.0f} {len(r['flagged']):>8}  "
              f"{r['flagged'] == sorted(SHIFTED)}")
    fc = results[0]
    print(f"fullcycle reference sketch (once, at training): {fc['reference_seconds']:.2f} s, "
          f"{fc['reference_json_kb']:.0f} KiB of JSON in the model")
    if len(results) > 1:
        ev = results[1]
        print(f"speed-up {ev['drift_seconds'] / fc['drift_seconds']:.1f}x; same features "
              f"flagged: {fc['flagged'] == ev['flagged']}")
    out = ROOT / "results" / "monitor.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "results": results}, indent=1))


if __name__ == "__main__":
    main()
