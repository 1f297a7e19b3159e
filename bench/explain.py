"""Per-row latency of explanations on a LightGBM champion: `POST /explain` over real HTTP (one
row per request, and rows in a 100-row batch), next to `POST /predict` for the same rows, and
the in-process `explain_records` call. Goal: /explain under 20 ms per row.

    .venv/bin/python bench/explain.py [--data CSV --target COL] [--requests 200]

Trains a one-model LightGBM workspace under bench/results/explain-ws (default data: the
Telco churn sample shipped with the tests), starts `fullcycle serve` on a loopback port,
and prints a markdown table."""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from fullcycle.config import Config  # noqa: E402
from fullcycle.project import Project  # noqa: E402
from fullcycle.tasks.tabular.evaluate.explain import explain_records, explainer_for  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def train(workspace: Path, data: Path, target: str) -> Project:
    if workspace.exists():
        shutil.rmtree(workspace)
    config = Config.from_dict({
        "project": "explain-bench", "data": {"source": str(data), "target": target},
        "train": {"families": ["lightgbm"], "max_trials": 1, "ensemble": False,
                  "calibration": "none", "threshold": "none"}})
    project = Project(config, workspace)
    project.train()
    return project


def serve(workspace: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "fullcycle", "serve", "--workspace",
                             str(workspace), "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(
                                ROOT / "src")})
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("server did not start")


def timed(client: httpx.Client, url: str, payloads: list, warmup: int = 5) -> list[float]:
    for body in payloads[:warmup]:
        client.post(url, json=body).raise_for_status()
    out = []
    for body in payloads:
        t0 = time.perf_counter()
        client.post(url, json=body).raise_for_status()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def row(name: str, ms: list[float], rows_per_call: int) -> str:
    ms_sorted = sorted(ms)
    p95 = ms_sorted[int(0.95 * (len(ms_sorted) - 1))]
    med = statistics.median(ms)
    return (f"| {name} | {len(ms)} | {rows_per_call} | {med:.2f} | {p95:.2f} | "
            f"{med / rows_per_call:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT / "tests" / "data" / "churn_small.csv")
    parser.add_argument("--target", default="Churn")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    workspace = ROOT / "bench" / "results" / "explain-ws"
    project = train(workspace, args.data, args.target)
    frame = pd.read_csv(args.data).drop(columns=[args.target])
    records = frame.sample(n=min(args.requests, len(frame)), random_state=0, replace=len(frame) <
                           args.requests)
    singles = [r for r in records.head(args.requests).to_dict(orient="records")]
    singles = [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in singles]
    batches = [singles[i:i + 100] for i in range(0, len(singles), 100)] * 5
    model = project.load_model()
    t0 = time.perf_counter()
    for r in singles:
        explain_records(model, r)
    in_process = (time.perf_counter() - t0) * 1000 / len(singles)
    # What explaining adds once the row is transformed (the server hands over its matrix).
    transform = explainer_for(model).transform
    matrices = [np.asarray(transform.transform(pd.DataFrame([r])), dtype="float64")
                for r in singles]
    t0 = time.perf_counter()
    for r, m in zip(singles, matrices, strict=True):
        explain_records(model, r, matrix=m)
    shap_only = (time.perf_counter() - t0) * 1000 / len(singles)
    proc, url = serve(workspace)
    try:
        with httpx.Client(timeout=60) as client:
            lines = [row("POST /explain, 1 row", timed(client, f"{url}/explain", singles), 1),
                     row("POST /predict, 1 row", timed(client, f"{url}/predict", singles), 1),
                     row("POST /explain, 100 rows", timed(client, f"{url}/explain", batches), 100),
                     row("POST /predict, 100 rows", timed(client, f"{url}/predict", batches),
                         100)]
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    print(f"model: {model.metadata.get('family')} on {args.data.name}, "
          f"{len(model.schema.features)} input columns; explainer in-process: "
          f"{in_process:.2f} ms per row (explain_records, 1 row per call); with the row "
          f"already transformed: {shap_only:.2f} ms per row\n")
    print("| call | calls | rows per call | median ms | p95 ms | median ms per row |")
    print("|---|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
