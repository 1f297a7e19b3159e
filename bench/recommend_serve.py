"""Recommendation serving speed: `/recommend` latency over HTTP (concurrency 1, k=10) on a
10,000-item catalogue, and `/similar-items`.

    OPENBLAS_NUM_THREADS=1 nice .venv/bin/python bench/recommend_serve.py [--items 10000]
        [--users 5000] [--requests 500] [--time-budget 60]

The interactions are synthetic with the shapes that matter for speed: a power-law item
popularity over the whole catalogue, 40 interactions per user on average (taste groups). The
model is trained with `fullcycle train --task recommend` and served with `fullcycle serve`; the
latencies are client-side wall times of sequential requests (one connection, keep-alive).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
EXE = str(ROOT / ".venv" / "bin" / "fullcycle")


def synthetic(n_users: int, n_items: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.9
    groups = 20
    rows_u, rows_i = [], []
    for u in range(n_users):
        g = u % groups
        n = max(2, int(rng.poisson(40)))
        shifted = np.roll(pop, g * (n_items // groups))  # each group has its own favourites
        items = rng.choice(n_items, size=n, replace=False, p=shifted / shifted.sum())
        rows_u += [u] * n
        rows_i += items.tolist()
    return pd.DataFrame({"user": rows_u, "item": rows_i})


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    import httpx

    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--time-budget", type=float, default=60.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fc_recserve_"))
    data = work / "interactions.csv"
    frame = synthetic(args.users, args.items)
    frame.to_csv(data, index=False)
    print(f"{len(frame)} interactions, {frame.item.nunique()} items, {args.users} users")
    ws = work / "ws"
    t0 = time.perf_counter()
    subprocess.run([EXE, "train", str(data), "--task", "recommend", "--user-column", "user",
                    "--item-column", "item", "--time-budget", str(args.time_budget),
                    "--workspace", str(ws), "--quiet"], check=True)
    print(f"train {time.perf_counter() - t0:.1f} s")
    port = free_port()
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    server = subprocess.Popen([EXE, "serve", "--workspace", str(ws), "--port", str(port),
                               "--workers", "1"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=30) as client:
            for _ in range(600):
                try:
                    if client.get(f"{url}/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            rng = np.random.default_rng(1)
            users = rng.integers(0, args.users, size=args.requests + 50)
            for name, path, body in (
                    ("/recommend", "/recommend", lambda u: {"user": str(u), "k": 10}),
                    ("/similar-items", "/similar-items",
                     lambda u: {"item": int(frame.item.iloc[u % len(frame)]), "k": 10})):
                times = []
                for j, u in enumerate(users):
                    t = time.perf_counter()
                    r = client.post(url + path, json=body(u))
                    if j >= 50:  # warm-up excluded
                        times.append((time.perf_counter() - t) * 1000)
                    r.raise_for_status()
                ms = np.array(times)
                print(f"{name}: p50 {np.percentile(ms, 50):.2f} ms, p90 "
                      f"{np.percentile(ms, 90):.2f} ms, p99 {np.percentile(ms, 99):.2f} ms "
                      f"({len(ms)} requests, concurrency 1)")
            info = client.get(f"{url}/metadata").json()
            print("model:", info.get("task_info", {}).get("model") or info.get("model", ""))
    finally:
        server.terminate()
        server.wait(timeout=30)
    users_file = work / "users.csv"
    pd.DataFrame({"user": range(args.users)}).to_csv(users_file, index=False)
    t0 = time.perf_counter()
    subprocess.run([EXE, "predict", "--workspace", str(ws), "--input", str(users_file),
                    "--output", str(work / "recs.csv"), "--top-k", "10", "--quiet"], check=True)
    print(f"batch top-10 for {args.users} users: {time.perf_counter() - t0:.1f} s "
          "(whole command)")


if __name__ == "__main__":
    sys.exit(main())
