"""Serving fullcycle's OWN champions: the prediction paths side by side.

    .venv/bin/python bench/serving_champion.py [--reuse] [--requests 2000] [--only lgbm,default]

Trains, under bench/results/serving-champion/ (gitignored):
- `lgbm`: one LightGBM pipeline on the bundled Telco data (the config of bench/explain.py);
- `default`: `fullcycle train`'s default config on Telco (60 s budget, usually an ensemble);
- `house`: the default config, 30 s budget, on the California housing sample (regression).

Then, per champion:
- in process, one row (median over the sample): the general path (`Model.predict_scores` on the
  canonical rows), the typed path (coercion skipped), the compiled path; and a 20k-row batch
  through `scores_columns` (what `fullcycle predict` uses) for typed and compiled, in rows/s;
- over HTTP on loopback, `fullcycle serve` (prediction log on, as shipped) with
  FULLCYCLE_SERVE_PATHS=typed (before) and with the default paths (compiled): 1-row `/predict`
  p50/p99 at concurrency 1 from a second process (`python -m fullcycle.serve.loadtest`).

Prints markdown tables."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
RESULTS = ROOT / "bench" / "results" / "serving-champion"
TELCO = ROOT / "src" / "fullcycle" / "datasets" / "telco_churn.csv"
HOUSING = ROOT / "tests" / "data" / "housing_small.csv"
CHAMPIONS = {
    "lgbm": (TELCO, "Churn", {"families": ["lightgbm"], "max_trials": 1, "ensemble": False,
                              "calibration": "none", "threshold": "none"}),
    "default": (TELCO, "Churn", {"time_budget": 60}),
    "house": (HOUSING, "median_house_value", {"time_budget": 30}),
}

sys.path.insert(0, str(ROOT / "bench"))
from serving import free_port, start, stop  # noqa: E402


def train(name: str, reuse: bool) -> Path:
    from fullcycle.config import Config
    from fullcycle.project import Project

    data, target, train_cfg = CHAMPIONS[name]
    ws = RESULTS / name
    if reuse and (ws / "fullcycle.yaml").exists():
        return ws
    shutil.rmtree(ws, ignore_errors=True)
    config = Config.from_dict({"project": f"champion-{name}",
                               "data": {"source": str(data), "target": target},
                               "train": train_cfg})
    started = time.perf_counter()
    Project(config, ws).train()
    print(f"trained {name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return ws


def sample_records(name: str, n: int) -> list[dict[str, Any]]:
    data, target, _ = CHAMPIONS[name]
    frame = pd.read_csv(data).drop(columns=[target]).sample(n=n, random_state=0)
    return [{k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v)
             for k, v in r.items()} for r in frame.to_dict("records")]


def median_ms(func: Any, items: list[Any]) -> float:
    for item in items[:20]:
        func(item)
    times = []
    for item in items:
        t0 = time.perf_counter()
        func(item)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def in_process(name: str, ws: Path) -> dict[str, Any]:
    from fullcycle.project import Project
    from fullcycle.scoring.fastpath import TypedPath, general_scores, rows_to_columns
    from fullcycle.scoring.served import Served

    model = Project.open(ws).load_model()
    served = Served.prepare(model)
    validator = served.validator
    typed = TypedPath(model, validator)
    records = sample_records(name, 300)
    rows = [validator.records([r], 10)[0] for r in records]
    out: dict[str, Any] = {"champion": name, "path": served.note}
    out["general"] = median_ms(lambda r: general_scores(model, validator.names, r), rows[:100])
    out["typed"] = median_ms(typed.scores, rows)
    out["compiled"] = median_ms(served.scores, rows)
    out["validate+compiled"] = median_ms(lambda rec: served.scores(
        validator.records([rec], 10)[0]), records)
    big = sample_records(name, min(20_000, len(pd.read_csv(CHAMPIONS[name][0]))))
    big = (big * (20_000 // len(big) + 1))[:20_000]
    batch_rows = [validator.record(r, i, [], []) for i, r in enumerate(big)]
    columns = rows_to_columns(validator, batch_rows)
    for label, path in (("typed", typed), ("compiled", served.fast)):
        t0 = time.perf_counter()
        scores = path.scores_columns(columns)
        out[f"batch {label} rows/s"] = len(big) / (time.perf_counter() - t0)
        if label == "typed":
            reference = scores
        else:
            out["batch max |compiled - typed|"] = float(np.abs(scores - reference).max())
    return out


def http(name: str, ws: Path, paths: str | None, requests: int) -> dict[str, Any]:
    port = free_port()
    env = {} if paths is None else {"FULLCYCLE_SERVE_PATHS": paths}
    process = start([sys.executable, "-m", "fullcycle", "serve", "-w", str(ws), "-p",
                     str(port)], f"http://127.0.0.1:{port}/ready",
                    env={**env, "PYTHONPATH": str(ROOT / "src")})
    try:
        import httpx

        note = httpx.get(f"http://127.0.0.1:{port}/ready").json().get("prediction_path", "")
        payloads = RESULTS / f"payloads-{name}.json"
        payloads.write_text(json.dumps(sample_records(name, 300)))
        done = subprocess.run([sys.executable, "-m", "fullcycle.serve.loadtest",
                               f"http://127.0.0.1:{port}/predict", "--payloads", str(payloads),
                               "--requests", str(requests), "--concurrency", "1"],
                              capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
        result = json.loads(done.stdout)
    finally:
        stop(process)
    return {"note": note, **result}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reuse", action="store_true", help="keep already trained workspaces")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--only", default=",".join(CHAMPIONS))
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    names = [n for n in args.only.split(",") if n]
    spaces = {n: train(n, args.reuse) for n in names}
    local = [in_process(n, spaces[n]) for n in names]
    served = [(n, label, http(n, spaces[n], paths, args.requests))
              for n in names for label, paths in (("typed (before)", "typed"),
                                                  ("compiled", None))]
    print("\n### In process, one row (median ms) and a 20k-row batch (scores_columns)\n")
    print("| champion | general | typed | compiled | validate + compiled | batch typed rows/s "
          "| batch compiled rows/s | max abs diff |")
    print("|---|---|---|---|---|---|---|---|")
    for r in local:
        print(f"| {r['champion']} | {r['general']:.2f} | {r['typed']:.2f} | {r['compiled']:.3f} "
              f"| {r['validate+compiled']:.3f} | {r['batch typed rows/s']:,.0f} | "
              f"{r['batch compiled rows/s']:,.0f} | {r['batch max |compiled - typed|']:.1e} |")
    print("\nPaths chosen:")
    for r in local:
        print(f"- {r['champion']}: {r['path']}")
    print("\n### HTTP, 1-row POST /predict at concurrency 1 (loopback, prediction log on)\n")
    print("| champion | path | requests | errors | p50 ms | p99 ms | req/s |")
    print("|---|---|---|---|---|---|---|")
    for name, label, r in served:
        errors = sum(r["errors"].values())
        print(f"| {name} | {label} | {r['ok']} | {errors} | {r['p50_ms']:.2f} | "
              f"{r['p99_ms']:.2f} | {r['rps']:.0f} |")
    print("\nServer notes (/ready prediction_path):")
    for name, label, r in served:
        print(f"- {name}, {label}: {r['note']}")


if __name__ == "__main__":
    main()
