"""Serving benchmark: fullcycle serve vs `mlflow models serve` on the same registered model,
plus the in-process floor, a 20k-request load run and the 1M-row batch run.

    .venv/bin/python bench/serving.py            # everything (~2-3 min on a quiet 2-core box)
    .venv/bin/python bench/serving.py --quick    # fewer requests

The model is the Telco churn reference pipeline of the issue (contract coercion, median impute
+ missing indicator, one-hot, scale, LightGBM 200 trees) trained on the bundled Telco data and
registered in a workspace under bench/results/ (gitignored). Load comes from a second process
(`python -m fullcycle.serve.loadtest`, an asyncio keep-alive client)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
WS = RESULTS / "serving-ws"
PY = sys.executable
BIN = Path(PY).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def telco_frame():
    import pandas as pd

    from fullcycle.demo import bundled_dataset

    return pd.read_csv(bundled_dataset(), dtype=str, keep_default_na=False)


def workspace() -> tuple[Path, str]:
    """The reference LightGBM model registered as champion of model 'telco' (reused)."""
    from fullcycle.config import Config
    from fullcycle.demo import bundled_dataset
    from fullcycle.deploy.reference import build_reference_model, register_reference
    from fullcycle.project import Project

    if (WS / "fullcycle.yaml").exists():
        return WS, "1"
    shutil.rmtree(WS, ignore_errors=True)
    Project(Config.from_dict({"project": "telco"}), WS).save_config()
    model = build_reference_model(str(bundled_dataset()), "Churn",
                                  roles={"customerID": "identifier"}, estimator="lightgbm")
    return WS, register_reference(WS, model)


def records(n: int, start: int = 0) -> list[dict]:
    frame = telco_frame().drop(columns=["Churn"]).iloc[start:start + n]
    out = frame.to_dict("records")
    for row in out:
        row["tenure"], row["SeniorCitizen"] = int(row["tenure"]), int(row["SeniorCitizen"])
        row["MonthlyCharges"] = float(row["MonthlyCharges"])
    return out


def median_ms(func, reps: int) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def floor(ws: Path) -> dict[str, float]:
    """In-process predict: the model's own pipeline vs fullcycle's serving path."""
    import numpy as np

    from fullcycle.project import Project
    from fullcycle.scoring.served import Served

    model = Project.open(ws).load_model("champion")
    served = Served.prepare(model)
    one, hundred = records(1, 11), records(100, 200)
    row, _ = served.validator.records(one, 10)
    rows, _ = served.validator.records(hundred, 1000)
    booster = model.pipeline.steps[-1][1].booster_
    x = served.fast.matrix(row)
    return {
        "Model.predict_scores, 1 row (sklearn pipeline)": median_ms(
            lambda: model.predict_scores(one), 100),
        "Model.predict_scores, 100 rows": median_ms(lambda: model.predict_scores(hundred), 50),
        "fullcycle serving path, 1 row (validate + compiled)": median_ms(
            lambda: served.scores(served.validator.records(one, 10)[0]), 2000),
        "fullcycle serving path, 100 rows": median_ms(
            lambda: served.scores(served.validator.records(hundred, 1000)[0]), 300),
        "LightGBM booster alone, 1 row": median_ms(lambda: booster.predict(x, num_threads=1),
                                                   2000),
        "check: max |fast - pipeline| (100 rows)": float(np.abs(
            served.scores(rows) - model.predict_scores(hundred)).max()),
    }


def start(cmd: list[str], url: str, env: dict | None = None, timeout: float = 180) \
        -> subprocess.Popen:
    log = open(RESULTS / f"server-{url.rsplit(':', 1)[1].split('/')[0]}.log", "w")
    process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}",
                                    **(env or {})})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {' '.join(cmd)}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
    process.terminate()
    raise RuntimeError(f"server did not start: {' '.join(cmd)}")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()


def load(url: str, bodies: list, requests: int, concurrency: int) -> dict:
    path = RESULTS / "payloads.json"
    path.write_text(json.dumps(bodies))
    out = subprocess.run([PY, "-m", "fullcycle.serve.loadtest", url, "--payloads", str(path),
                          "--requests", str(requests), "--concurrency", str(concurrency)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def fullcycle_server(ws: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = start([str(BIN / "fullcycle"), "serve", "-w", str(ws), "-p", str(port), *extra],
                    f"http://127.0.0.1:{port}/ready")
    return process, f"http://127.0.0.1:{port}"


def http_matrix(ws: Path, version: str, scale: float) -> list[dict]:
    singles = [records(1, i)[0] for i in range(0, 400, 2)]
    batches = [records(100, i) for i in range(0, 2000, 100)]
    n = lambda k: max(20, int(k * scale))  # noqa: E731
    plan = [(1, 1, n(2000)), (1, 16, n(6000)), (100, 1, n(300)), (100, 16, n(800))]
    rows = []
    for label, extra in (("fullcycle", ()), ("fullcycle, log off", ("--no-log",))):
        log_db = RESULTS / f"bench-log-{time.time_ns()}.db"
        process, url = fullcycle_server(ws, "--log-url", f"sqlite:///{log_db}", *extra)
        try:
            for size, conc, count in plan:
                if extra and size == 100:
                    continue
                body = singles if size == 1 else batches
                rows.append({"server": label, "rows": size, "concurrency": conc,
                             **load(url + "/predict", body, count, conc)})
        finally:
            stop(process)
    port = free_port()
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{ws / 'mlflow.db'}"}
    process = start([str(BIN / "mlflow"), "models", "serve", "-m", f"models:/telco/{version}",
                     "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
                    f"http://127.0.0.1:{port}/ping", env=env, timeout=300)
    mplan = [(1, 1, n(100)), (1, 16, n(300)), (100, 1, n(30)), (100, 16, n(80))]
    try:
        for size, conc, count in mplan:
            body = [{"dataframe_records": [r]} for r in singles] if size == 1 else \
                [{"dataframe_records": b} for b in batches]
            rows.append({"server": "mlflow models serve", "rows": size, "concurrency": conc,
                         **load(f"http://127.0.0.1:{port}/invocations", body, count, conc)})
    finally:
        stop(process)
    return rows


def load_run(ws: Path, requests: int) -> dict:
    """20k one-row requests at concurrency 32; the log must hold exactly what was served."""
    from fullcycle.monitor.predlog import read_log

    log_db = RESULTS / f"load-log-{time.time_ns()}.db"
    process, url = fullcycle_server(ws, "--log-url", f"sqlite:///{log_db}")
    try:
        result = load(url + "/predict", [records(1, i)[0] for i in range(300)], requests, 32)
    finally:
        stop(process)
    result["log_rows"] = len(read_log(f"sqlite:///{log_db}"))
    return result


def batch_run(rows: int, chunk_rows: int) -> dict:
    import pandas as pd

    data = ROOT / "data" / f"telco_{rows}.csv"
    if not data.exists():
        data.parent.mkdir(parents=True, exist_ok=True)
        frame = telco_frame().drop(columns=["Churn"])
        big = pd.concat([frame] * (rows // len(frame) + 1), ignore_index=True).iloc[:rows]
        big["customerID"] = [f"C{i:07d}" for i in range(rows)]
        big.to_csv(data, index=False)
    out = RESULTS / "batch-out.parquet"
    start_time = time.perf_counter()
    # A fresh parent per run, so RUSAGE_CHILDREN's peak is this run's alone.
    wrapper = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], "
               "capture_output=True, text=True); print(p.stdout + p.stderr); "
               "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
               "print('CPU', u.ru_utime + u.ru_stime); print('PEAK', u.ru_maxrss); "
               "sys.exit(p.returncode)")
    proc = subprocess.run([PY, "-c", wrapper, str(BIN / "fullcycle"), "predict", "-w", str(WS),
                           "-i", str(data), "-o", str(out), "--id-column", "customerID",
                           "--chunk-rows", str(chunk_rows)], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"})  # the summary on one line
    seconds = time.perf_counter() - start_time
    if proc.returncode:
        raise RuntimeError(proc.stdout + proc.stderr)
    lines = proc.stdout.strip().splitlines()
    peak = int(lines[-1].split()[1]) / 1024
    cpu = float(lines[-2].split()[1])
    return {"rows": rows, "chunk_rows": chunk_rows, "seconds": round(seconds, 1),
            "rows_per_s_end_to_end": round(rows / seconds), "cpu_seconds": round(cpu, 1),
            "rows_per_cpu_s": round(rows / cpu),
            "reported": next(line for line in lines if line.startswith("wrote")),
            "peak_rss_mib": round(peak), "input_mib": round(data.stat().st_size / 2**20)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="floor,http,load,batch")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    scale = 0.25 if args.quick else 1.0
    ws, version = workspace()
    report: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    if "floor" in args.only:
        report["floor_ms"] = floor(ws)
        print(json.dumps(report["floor_ms"], indent=1))
    if "http" in args.only:
        report["http"] = http_matrix(ws, version, scale)
        for row in report["http"]:
            print(f"{row['server']:<22} rows={row['rows']:<4} c={row['concurrency']:<3} "
                  f"ok={row['ok']:<6} err={row['errors']} p50={row['p50_ms']} ms "
                  f"p99={row['p99_ms']} ms rps={row['rps']}")
    if "load" in args.only:
        report["load"] = load_run(ws, int(20000 * scale))
        print(json.dumps(report["load"]))
    if "batch" in args.only:
        report["batch"] = [batch_run(int(1_000_000 * scale), 100_000),
                           batch_run(int(1_000_000 * scale), 20_000)]
        print(json.dumps(report["batch"], indent=1))
    (RESULTS / "serving.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
