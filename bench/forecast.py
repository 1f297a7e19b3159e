"""fullcycle's forecast kind against statsforecast (its own venv) and seasonal naive, on the
acceptance protocol: the last `h` points of each series held out, scored by the wave-2 scorer
(MASE with the seasonal-naive scale of the train part, sMAPE, interval coverage).

    nice .venv/bin/python bench/forecast.py [--sets m3_quarterly,walmart_sales] [--budget 300]

fullcycle is driven through its CLI exactly as the acceptance drives it (`train ... --task
forecast --horizon h --time-budget B`, then `predict`); the anchors are ../shared/tools/wave2/
anchors.py's statsforecast models (seasonal naive, AutoETS, AutoTheta and their median/mean).
walmart_sales is not one of the wave-2 sets: it is split here the same way (last 8 weeks per
store) and its holiday flag, known in advance, is given to fullcycle for the forecast weeks."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED = ROOT.parent / "shared"
WAVE2 = SHARED / "tools" / "wave2"
DATA = SHARED / "datasets"
ANCHORS = ["pandas<3", "statsforecast", "implicit", "pyod", "scikit-learn"]
sys.path.insert(0, str(WAVE2))
sys.path.insert(0, str(HERE))


def split_walmart(wd: Path, h: int = 8) -> dict:
    """The wave-2 protocol on walmart_sales: series_id/date/value, the last h weeks held out."""
    raw = pd.read_csv(DATA / "walmart_sales" / "walmart_sales.csv")
    df = pd.DataFrame({"series_id": raw["Store"].astype(str),
                       "date": pd.to_datetime(raw["Date"], format="%d-%m-%Y").dt.strftime(
                           "%Y-%m-%d"),
                       "value": raw["Weekly_Sales"], "holiday": raw["Holiday_Flag"]})
    df = df.sort_values(["series_id", "date"], kind="stable")
    test = df.groupby("series_id", sort=False).cumcount(ascending=False) < h
    wd.mkdir(parents=True, exist_ok=True)
    df[~test].to_csv(wd / "train.csv", index=False)
    df.loc[test, ["series_id", "date", "value"]].to_csv(wd / "truth.csv", index=False)
    df.loc[test, ["series_id", "date", "holiday"]].to_csv(wd / "future.csv", index=False)
    meta = {"set": "walmart_sales", "task": "forecast", "h": h, "m": 52, "freq": "W-FRI"}
    (wd / "meta.json").write_text(json.dumps(meta))
    return meta


def run_fullcycle(wd: Path, meta: dict, budget: float) -> dict:
    from score import score

    ws = wd / "ws"
    cmd = [sys.executable, "-m", "fullcycle", "train", str(wd / "train.csv"), "--task",
           "forecast", "--target", "value", "--time-column", "date", "--series-id",
           "series_id", "--horizon", str(meta["h"]), "--time-budget", str(budget),
           "--workspace", str(ws)]
    t0 = time.time()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    fit_s = time.time() - t0
    out = wd / "pred_fullcycle.csv"
    cmd = [sys.executable, "-m", "fullcycle", "predict", "--workspace", str(ws), "--output",
           str(out)]
    if (wd / "future.csv").exists():
        cmd += ["--input", str(wd / "future.csv")]
    t0 = time.time()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    predict_s = time.time() - t0
    return {"tool": "fullcycle", "fit_s": fit_s, "predict_s": predict_s,
            "scores": score(str(wd), str(out))}


DRIVER = """
import json, sys, time
sys.path.insert(0, {wave2!r})
import anchors
from score import score
wd = {wd!r}
meta = json.load(open(wd + "/meta.json"))
for name, run in anchors.forecast(wd, meta):
    t0 = time.time()
    pred, fit_s, _ = run()
    pred.to_csv(f"{{wd}}/pred_{{name}}.csv", index=False)
    print(json.dumps({{"tool": name, "fit_s": fit_s, "predict_s": None,
                      "scores": score(wd, f"{{wd}}/pred_{{name}}.csv")}}), flush=True)
"""


def run_anchors(wd: Path) -> list[dict]:
    from peers import peer_python

    python = peer_python("wave2", ANCHORS)
    code = DRIVER.format(wave2=str(WAVE2), wd=str(wd))
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([python, "-c", code], check=True, capture_output=True, text=True,
                          env=env)
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def table(results: list[dict]) -> str:
    head = ("| set | tool | MASE | sMAPE | coverage 80 | coverage 95 | fit s | predict s |\n"
            "|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in results:
        s = r["scores"]

        def f(key: str, pct: bool = False, s: dict = s) -> str:
            v = s.get(key)
            return "" if v is None else (f"{100 * v:.1f}%" if pct else f"{v:.3f}")

        lines.append(f"| {r['set']} | {r['tool']} | {f('mase')} | {f('smape')} | "
                     f"{f('coverage_80', True)} | {f('coverage_95', True)} | "
                     f"{r['fit_s']:.1f} | {_seconds(r['predict_s'])} |")
    return "\n".join(lines)


def main() -> None:
    from split import make_split

    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default="m3_quarterly,walmart_sales")
    parser.add_argument("--budget", type=float, default=300.0)
    parser.add_argument("--work", default="/tmp/fullcycle-bench-forecast")
    parser.add_argument("--skip-anchors", action="store_true")
    args = parser.parse_args()
    results = []
    for name in args.sets.split(","):
        wd = Path(args.work) / name
        meta = split_walmart(wd) if name == "walmart_sales" else \
            make_split(name, str(DATA), str(wd))
        rows = [run_fullcycle(wd, meta, args.budget)]
        if not args.skip_anchors:
            rows += run_anchors(wd)
        for r in rows:
            r["set"] = name
            print(json.dumps(r), flush=True)
        results += rows
    print(f"\nload average {os.getloadavg()[0]:.1f}; budget {args.budget:.0f} s\n")
    print(table(results))


if __name__ == "__main__":
    main()
