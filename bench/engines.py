"""Two versions of fullcycle's model search side by side, on several train/test splits.

A single 80/20 split of a small table cannot say whether a new engine is worse than an old
one: on credit_g (200 test rows) two runs of the same code on the same split differ by 0.008
ROC-AUC. This script runs an older commit (`--base`, its `src` taken with `git archive`) and
the working tree on the same tables, on several splits (`--seeds`: the config seed drives the
split and the search), each pair at the same moment so both see the same load, and reports the
paired differences per table.

    nice .venv/bin/python bench/engines.py run --base 6c7f96a --budget 60 \\
        --tables credit_g,segment,cpu_act --seeds 0-5
    .venv/bin/python bench/engines.py table --base 6c7f96a --budget 60

Seed 0 is the split of bench/automl.py. Results: bench/results/automl/engines/.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import time
from io import BytesIO
from pathlib import Path

import automl
import numpy as np

REPO = automl.ROOT.parent
OUT = automl.RESULTS / "engines"


def _seeds(text: str) -> list[int]:
    if "-" in text:
        lo, hi = text.split("-", 1)
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def _base_src(base: str) -> Path:
    """The `src` folder of commit `base`, extracted once under the results folder."""
    folder = OUT / f"src-{base}"
    if not (folder / "src").exists():
        data = subprocess.run(["git", "-C", str(REPO), "archive", base, "src"], check=True,
                              capture_output=True).stdout
        folder.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=BytesIO(data)) as tar:
            tar.extractall(folder, filter="data")
    return folder / "src"


def _results(base: str, budget: float) -> Path:
    return OUT / f"{base}-vs-head-{budget:g}s.jsonl"


def run(base: str, tables: list[str], seeds: list[int], budget: float) -> None:
    """Each (table, seed): the base engine and the working tree's at the same time."""
    sources = {"base": _base_src(base), "head": REPO / "src"}
    path = _results(base, budget)
    path.parent.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        for name in tables:
            procs = {engine: subprocess.Popen(
                [sys.executable, __file__, "one", "--table", name, "--seed", str(seed),
                 "--budget", str(budget)],
                env={**os.environ, "PYTHONPATH": str(src)}, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True) for engine, src in sources.items()}
            for engine, proc in procs.items():
                out, err = proc.communicate()
                lines = [line for line in out.splitlines() if line.startswith("{")]
                record = json.loads(lines[-1]) if lines else {
                    "failed": proc.returncode, "error": err.strip().splitlines()[-1:]}
                record.update(engine=engine, table=name, seed=seed, budget=budget, base=base)
                with path.open("a") as fh:
                    fh.write(json.dumps(record) + "\n")
                print(f"{name} seed {seed} {engine}: {record.get('score', 'FAILED')}",
                      flush=True)


def one(name: str, seed: int, budget: float) -> None:
    """One training run of whichever engine is on PYTHONPATH; prints a JSON line."""
    from fullcycle.config import Config
    from fullcycle.data.dataset import Dataset
    try:
        from fullcycle.tasks.tabular.search.train import train_model
    except ImportError:  # engines before the re-layering (issue 14)
        from fullcycle.automl.train import train_model  # type: ignore[no-redef]
    meta = automl._meta(name)
    config = Config.from_dict({"project": name, "seed": seed, "problem": {"task": meta["task"]},
                               "train": {"time_budget": budget}})
    dataset = Dataset.read(str(automl.DATA / name / "full.csv"), target=meta["target"])
    t0 = time.perf_counter()
    out = train_model(dataset, config, started_at=t0)
    members = (out.final or {}).get("members") or []
    print(json.dumps({"score": out.test_metrics[automl.METRIC[meta["task"]]],
                      "wall": time.perf_counter() - t0, "load": os.getloadavg()[0],
                      "trials": out.search.trials, "finished": len(out.search.candidates),
                      "members": [m.get("model") for m in members]}))


def table(base: str, budget: float) -> str:
    runs: dict[tuple[str, int], dict[str, float]] = {}
    for line in _results(base, budget).read_text().splitlines():
        rec = json.loads(line)
        if "score" in rec:
            runs.setdefault((rec["table"], rec["seed"]), {})[rec["engine"]] = rec["score"]
    rows = []
    for name in dict.fromkeys(t for t, _ in runs):
        task = automl._meta(name)["task"]
        pairs = [(s, r["base"], r["head"]) for (t, s), r in sorted(runs.items())
                 if t == name and {"base", "head"} <= r.keys()]
        if not pairs:
            continue
        adv = np.array([automl.margins(task, h, b) for _, b, h in pairs])
        spread = adv.std(ddof=1) / np.sqrt(len(adv)) if len(adv) > 1 else float("nan")
        mean = adv.mean()
        verdict = "tie" if abs(mean) <= 1 else ("better" if mean > 0 else "worse")
        if verdict != "tie" and abs(mean) < 2 * spread:
            verdict += ", within 2 standard errors"
        per_seed = ", ".join(f"{s}: {b:.4f} / {h:.4f}" for s, b, h in pairs)
        rows.append(f"| {name} | {automl.METRIC[task]} | {per_seed} | "
                    f"{np.mean([b for _, b, _ in pairs]):.4f} | "
                    f"{np.mean([h for _, _, h in pairs]):.4f} | {int((adv > 0).sum())}/{len(adv)} "
                    f"| {mean:+.2f} ± {spread:.2f} | {verdict} |")
    return (f"Base {base} vs the working tree, {budget:g} s, paired by split. Advantage in tie "
            "margins (0.002 ROC-AUC, 1% log loss or RMSE), + = the working tree better; ± is "
            "the standard error over the splits.\n\n"
            "| table | metric | seed: base / head | base mean | head mean | head better | "
            "advantage | mean verdict |\n|---|---|---|---|---|---|---|---|\n" + "\n".join(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=["run", "one", "table"])
    parser.add_argument("--base", default="6c7f96a", help="the older commit to compare with")
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--tables", default="credit_g,segment,cpu_act")
    parser.add_argument("--table", help="one: the table")
    parser.add_argument("--seeds", default="0-5", help="e.g. 0-5 or 0,3,7")
    parser.add_argument("--seed", type=int, default=0, help="one: the seed")
    args = parser.parse_args()
    if args.step == "run":
        run(args.base, args.tables.split(","), _seeds(args.seeds), args.budget)
    elif args.step == "one":
        one(args.table, args.seed, args.budget)
    else:
        print(table(args.base, args.budget))


if __name__ == "__main__":
    main()
