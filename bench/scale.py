"""Benchmark: the same commands on a Dask cluster, for data larger than one process should hold.

    .venv/bin/python bench/scale.py --rows 10000000 --budget 600 --markdown bench/results/scale.md

Generates (once, under bench/data/) a table of --rows rows x 30 columns (floats with blanks,
integers, categories of 4 to 500 levels, a date, a binary target from a non-linear rule with
interactions) as CSV (~2.5 GB at 10M rows), a 1M-row file from the same generator for the
single-process baseline, and a 200k-row held-out file for quality.

Then starts a real `dask scheduler` and two `dask worker` processes on loopback (one thread and
--worker-memory each, 3GB by default) and runs, as subprocesses of the real CLI:

  cluster, all rows:  train --cluster --time-budget B, predict --cluster, explore --cluster,
                      monitor --cluster
  one process, 1M:    train --time-budget B, predict, explore, monitor

For each command: wall time, the CLI process's peak RSS (GNU time), and every worker's peak
RSS (the workers are restarted before each command, so the peak is that command's). Quality:
both models score the same held-out file; ROC-AUC side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
LOGS = DATA / "scale-logs"  # the workers' own logs, kept across runs
CHUNK = 500_000
FULLCYCLE = [sys.executable, "-m", "fullcycle"]


# --- data ----------------------------------------------------------------------------------------
def block(rng: np.random.Generator, n: int) -> pd.DataFrame:
    cols: dict[str, object] = {}
    for j in range(14):
        x = rng.normal(size=n) * (1 + j % 3)
        x[rng.random(n) < 0.02] = np.nan
        cols[f"f{j}"] = x.round(4)
    for j in range(6):
        cols[f"i{j}"] = rng.integers(0, 10 ** (j % 3 + 1), n)
    levels = [4, 8, 12, 30, 60, 120, 250, 500]
    codes = [rng.integers(0, k, n) for k in levels]
    for j, code in enumerate(codes):
        cols[f"c{j}"] = np.char.add(f"v{j}_", code.astype(str))
    cols["day"] = (pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, n),
                                                                 unit="D")).strftime("%Y-%m-%d")
    frame = pd.DataFrame(cols)
    f0 = np.nan_to_num(frame["f0"].to_numpy())
    f1 = np.nan_to_num(frame["f1"].to_numpy())
    c3 = codes[3]
    logit = (0.8 * f0 - 0.5 * f1 * (frame["c0"] == "v0_1") + np.sin(f0 * 2)
             + 0.03 * (c3 % 7) + 0.002 * frame["i1"] - 0.6 + rng.normal(size=n) * 0.8)
    frame["target"] = np.where(logit > 0, "yes", "no")
    return frame


def generate(path: Path, rows: int, seed: int) -> Path:
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".partial")
    rng = np.random.default_rng(seed)
    with open(tmp, "w") as handle:
        for start in range(0, rows, CHUNK):
            block(rng, min(CHUNK, rows - start)).to_csv(handle, index=False, header=start == 0)
    os.replace(tmp, path)
    return path


# --- the cluster -------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    def __init__(self, worker_memory: str) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        dask = [sys.executable, "-m", "dask"]
        self.procs = [subprocess.Popen(
            dask + ["scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                    "--dashboard-address", ":0"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)]
        for i in range(2):
            log = open(LOGS / f"worker-{i}.log", "ab")  # why a worker left, if it does
            self.procs.append(subprocess.Popen(
                dask + ["worker", self.address, "--nthreads", "1", "--memory-limit",
                        worker_memory, "--name", f"w{i}", "--dashboard-address", ":0"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        from distributed import Client

        self.client = Client(self.address, timeout="60s")
        self.client.wait_for_workers(2, timeout=120)

    def restart(self) -> None:
        self.client.restart(wait_for_workers=True)

    def worker_peaks_mib(self) -> list[float]:
        def peak() -> float:
            import resource

            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        return sorted(round(v, 0) for v in self.client.run(peak).values())

    def close(self) -> None:
        self.client.close()
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            proc.wait(timeout=60)


# --- commands ----------------------------------------------------------------------------------
def run(args: list[str], label: str) -> dict:
    """One CLI command under GNU time: wall seconds and the process's peak RSS (MiB)."""
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-v", *FULLCYCLE, *args], capture_output=True,
                          text=True)
    seconds = time.perf_counter() - started
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    peak = int(match.group(1)) / 1024 if match else float("nan")
    ok = done.returncode in (0, 1, 4, 5)  # monitor exits with alert bits
    if not ok:
        print(done.stdout[-2000:], done.stderr[-3000:], file=sys.stderr)
    return {"command": label, "seconds": round(seconds, 1), "client_mib": round(peak),
            "exit": done.returncode}


def auc_of(ws: Path, holdout: Path, out: Path) -> float:
    from sklearn.metrics import roc_auc_score

    done = subprocess.run([*FULLCYCLE, "predict", "-w", str(ws), "--input", str(holdout),
                           "--output", str(out)], capture_output=True, text=True)
    if done.returncode:
        print(done.stderr[-2000:], file=sys.stderr)
        return float("nan")
    truth = pd.read_csv(holdout, usecols=["target"])["target"].eq("yes").to_numpy()
    return float(roc_auc_score(truth, pd.read_csv(out)["proba_yes"]))


# --- what a full-data fit holds per worker (full_fit.MATRIX_COPIES) ----------------------------
def memory_probe(rows: int = 1_000_000, width: int = 57) -> None:
    """Peak RSS of one worker fitting LightGBM / XGBoost on Dask over `rows` x `width` float32,
    in copies of that matrix (the persisted partitions included)."""
    for family in ("lightgbm", "xgboost"):
        done = subprocess.run([sys.executable, __file__, "--probe-family", family, "--rows",
                               str(rows), "--probe-width", str(width)], capture_output=True,
                              text=True)
        print(done.stdout.strip() or done.stderr[-2000:], flush=True)


def _probe_family(family: str, rows: int, width: int) -> None:
    import dask
    import dask.dataframe as dd
    from distributed import Client, LocalCluster, wait

    def rss_now() -> float:
        import psutil

        return psutil.Process().memory_info().rss

    def rss_peak() -> float:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def make(i: int) -> pd.DataFrame:
        rng = np.random.default_rng(i)
        m = rows // 8
        frame = pd.DataFrame(rng.normal(size=(m, width)).astype("float32"),
                             columns=[f"c{j}" for j in range(width)])
        frame["c0"] = rng.integers(0, 50, m).astype("float32")  # a category, as codes
        return frame

    with LocalCluster(n_workers=1, threads_per_worker=1, memory_limit=None,
                      dashboard_address=":0") as local, Client(local) as client:
        X = dd.from_delayed([dask.delayed(make)(i) for i in range(8)], meta=make(0).iloc[:0])
        y = X["c1"].map_partitions(lambda s: (s > 0).astype("int64"), meta=("c1", "i8"))
        X, y = client.persist([X, y])
        wait([X, y])
        idle = next(iter(client.run(rss_now).values()))
        if family == "lightgbm":
            from lightgbm.dask import DaskLGBMClassifier

            DaskLGBMClassifier(client=client, n_estimators=20, verbose=-1).fit(
                X, y, categorical_feature=["c0"])
        else:
            from xgboost.dask import DaskXGBClassifier

            model = DaskXGBClassifier(n_estimators=20, tree_method="hist")
            model.client = client
            model.fit(X, y)
        peak = next(iter(client.run(rss_peak).values()))
    matrix = rows * width * 4
    base = idle - matrix
    print(f"{family}: matrix {matrix / 2**20:.0f} MiB, worker idle {base / 2**20:.0f} MiB, "
          f"peak {peak / 2**20:.0f} MiB = {(peak - base) / matrix:.1f} copies of the matrix")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--baseline-rows", type=int, default=1_000_000)
    parser.add_argument("--budget", type=float, default=600)
    parser.add_argument("--worker-memory", default="3GB")
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--trains-only", action="store_true",
                        help="only the two trainings and the held-out quality")
    parser.add_argument("--memory-probe", action="store_true",
                        help="only measure what a full-data fit holds per worker, per family")
    parser.add_argument("--probe-family", help=argparse.SUPPRESS)
    parser.add_argument("--probe-width", type=int, default=57, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe_family:
        return _probe_family(args.probe_family, args.rows, args.probe_width)
    if args.memory_probe:
        return memory_probe(args.rows if args.rows != 10_000_000 else 1_000_000,
                            args.probe_width)

    big = generate(DATA / f"scale-{args.rows}.csv", args.rows, seed=1)
    small = generate(DATA / f"scale-{args.baseline_rows}.csv", args.baseline_rows, seed=2)
    holdout = generate(DATA / "scale-holdout-200000.csv", 200_000, seed=3)
    scoring = DATA / f"scale-score-{args.rows}.csv"
    if not scoring.exists():  # the same rows without the target, for predict and monitor
        pd.read_csv(big, nrows=0)  # fail early on a broken file
        subprocess.run(["sh", "-c", f"cut -d, -f1-29 {big} > {scoring}"], check=True)
    work = DATA / "scale-work"
    subprocess.run(["rm", "-rf", str(work)], check=True)
    work.mkdir(parents=True)
    rows: list[dict] = []
    quality: dict[str, float] = {}
    ws, ws1 = work / "cluster-ws", work / "single-ws"
    # Trains first, then quality, then the other commands: on a busy machine a partial run
    # still answers the main question (does the cluster model match the 1M-row one?).
    cluster_steps = [
        (["train", str(big), "--target", "target", "--time-budget", str(args.budget),
          "--cluster", "{address}", "-w", str(ws)], "train --cluster", args.rows),
        (["predict", "-w", str(ws), "--input", str(scoring), "--output",
          str(work / "cluster-pred.parquet"), "--cluster", "{address}"],
         "predict --cluster (Parquet)", args.rows),
        (["explore", str(big), "--target", "target", "-w", str(ws), "--cluster", "{address}"],
         "explore --cluster", args.rows),
        (["monitor", "-w", str(ws), "--input", str(scoring), "--cluster", "{address}"],
         "monitor --cluster", args.rows),
    ]
    single_steps = [
        (["train", str(small), "--target", "target", "--time-budget", str(args.budget),
          "-w", str(ws1)], "train", args.baseline_rows),
        (["predict", "-w", str(ws1), "--input", str(small), "--output",
          str(work / "single-pred.csv")], "predict", args.baseline_rows),
        (["explore", str(small), "--target", "target", "-w", str(ws1)], "explore",
         args.baseline_rows),
        (["monitor", "-w", str(ws1), "--input", str(small)], "monitor", args.baseline_rows),
    ]
    cluster = Cluster(args.worker_memory)
    try:
        def on_cluster(step: tuple[list[str], str, int]) -> None:
            cmd, label, n = step
            cluster.restart()
            row = run([c.replace("{address}", cluster.address) for c in cmd], label)
            row["worker_mib"] = cluster.worker_peaks_mib()
            row["rows"] = n
            rows.append(row)
            print(json.dumps(row), flush=True)
            report(rows, quality, args)

        def here(step: tuple[list[str], str, int]) -> None:
            cmd, label, n = step
            row = run(cmd, label)
            row["rows"] = n
            rows.append(row)
            print(json.dumps(row), flush=True)
            report(rows, quality, args)

        on_cluster(cluster_steps[0])
        here(single_steps[0])
        quality["cluster, all rows"] = auc_of(ws, holdout, work / "h1.csv")
        quality["one process, baseline rows"] = auc_of(ws1, holdout, work / "h2.csv")
        report(rows, quality, args)
        for step in cluster_steps[1:] if not args.trains_only else []:
            on_cluster(step)
    finally:
        cluster.close()
    for step in single_steps[1:] if not args.trains_only else []:
        here(step)


def report(rows: list[dict], quality: dict[str, float], args: argparse.Namespace) -> None:
    load = os.getloadavg()
    lines = [f"Machine: {platform.node()}, {os.cpu_count()} cores, Python "
             f"{platform.python_version()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
             f"; load average at the end {load[0]:.1f}. Two workers x 1 thread x "
             f"{args.worker_memory}; budget {args.budget:.0f} s.", "",
             "| command | rows | wall s | client peak MiB | worker peaks MiB | exit |",
             "|---|---:|---:|---:|---|---:|"]
    for r in rows:
        workers = ", ".join(f"{v:.0f}" for v in r.get("worker_mib", [])) or "–"
        lines.append(f"| {r['command']} | {r['rows']:,} | {r['seconds']} | {r['client_mib']} "
                     f"| {workers} | {r['exit']} |")
    lines += ["", "| model | held-out ROC-AUC (200k rows) |", "|---|---:|"]
    lines += [f"| {k} | {v:.4f} |" for k, v in quality.items()]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text + "\n")


if __name__ == "__main__":
    main()
