"""What tracking and registration add to `fullcycle train` on the Telco churn data.

Three measurements, side by side in one run (the machine is noisy, so compare within a run):

1. in-process phases of `Project.train` in a fresh workspace each repeat: the model search and
   fit (`train_model`), then building the run record, and logging + verified registration +
   alias move (`ModelRegistry.register`);
2. whole commands in fresh processes: `fullcycle train` against a script that only reads the
   data and runs `train_model` (so MLflow's import and store opening count as overhead);
3. a new workspace's SQLite store: MLflow's own migrations against fullcycle's seeded copy.

Usage: .venv/bin/python bench/tracking.py [--repeats 2] [--max-trials 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "src" / "fullcycle" / "datasets" / "telco_churn.csv"
TRAIN_ONLY = """
import sys, time
from fullcycle import Config, Project
from fullcycle.tasks.tabular.search.train import train_model
cfg = Config.from_dict({"data": {"source": sys.argv[1], "target": "Churn"},
                        "train": {"max_trials": int(sys.argv[2])}})
train_model(Project(cfg, sys.argv[3]).load_data(), cfg)
"""


def config(max_trials: int):
    from fullcycle import Config

    return Config.from_dict({"project": "telco", "data": {"source": str(DATA), "target": "Churn"},
                             "train": {"max_trials": max_trials}})


def in_process(repeats: int, max_trials: int) -> list[dict[str, float]]:
    import fullcycle.registry.tracking as tracking
    import fullcycle.tasks.tabular.search.train as automl_train
    from fullcycle import Project
    from fullcycle.registry.store import ModelRegistry

    timings: dict[str, float] = {}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                timings[name] = timings.get(name, 0.0) + time.perf_counter() - start
        return wrapper

    automl_train.train_model = timed("train_model", automl_train.train_model)
    tracking.build_record = timed("build_record", tracking.build_record)
    ModelRegistry.register = timed("register", ModelRegistry.register)
    rows = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="fc-bench-tracking-") as ws:
            project = Project(config(max_trials), ws)
            dataset = project.load_data()
            timings.clear()
            start = time.perf_counter()
            project.train(dataset)
            total = time.perf_counter() - start
            rows.append({"total": total, **timings})
    return rows


def subprocess_seconds(args: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{args} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - start


def whole_commands(repeats: int, max_trials: int) -> tuple[list[float], list[float]]:
    full, alone = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="fc-bench-cmd-") as ws:
            full.append(subprocess_seconds(
                [sys.executable, "-m", "fullcycle", "train", str(DATA), "--target", "Churn",
                 "--max-trials", str(max_trials), "--workspace", ws]))
        with tempfile.TemporaryDirectory(prefix="fc-bench-cmd-") as ws:
            alone.append(subprocess_seconds([sys.executable, "-c", TRAIN_ONLY, str(DATA),
                                             str(max_trials), ws]))
    return full, alone


def store_creation() -> tuple[float, float]:
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    from fullcycle.registry.store import seed_sqlite_store

    with tempfile.TemporaryDirectory(prefix="fc-bench-store-") as tmp:
        seed_sqlite_store(f"sqlite:///{tmp}/warm.db", Path(tmp))  # make sure a template exists
        start = time.perf_counter()
        SqlAlchemyStore(f"sqlite:///{tmp}/migrated.db", tmp).engine.dispose()
        migrated = time.perf_counter() - start
        start = time.perf_counter()
        seed_sqlite_store(f"sqlite:///{tmp}/seeded.db", Path(tmp))
        seeded = time.perf_counter() - start
    return migrated, seeded


def med(values: list[float]) -> str:
    return f"{statistics.median(values):7.2f}" if values else "      -"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--max-trials", type=int, default=3)
    args = parser.parse_args()

    rows = in_process(args.repeats, args.max_trials)
    full, alone = whole_commands(args.repeats, args.max_trials)
    migrated, seeded = store_creation()

    def col(key: str) -> list[float]:
        return [r.get(key, 0.0) for r in rows]

    tracking = [r.get("build_record", 0) + r.get("register", 0) for r in rows]
    after = [r["total"] - r.get("train_model", 0) for r in rows]
    print(f"Telco churn ({DATA.name}), train.max_trials={args.max_trials}, "
          f"median of {args.repeats} (seconds)\n")
    print("| measurement | seconds | share of train |")
    print("|---|---:|---:|")
    train = statistics.median(col("train_model"))
    for label, values in [
        ("in-process: model search + fit (train_model)", col("train_model")),
        ("in-process: build run record (config, snapshot, env, candidates)", col("build_record")),
        ("in-process: log run + pyfunc model, verify upload, register, alias", col("register")),
        ("in-process: tracking total (record + register)", tracking),
        ("in-process: everything after training (reports, holdout, save, tracking)", after),
    ]:
        print(f"| {label} | {med(values)} | {statistics.median(values) / train:6.1%} |")
    gap = [f - a for f, a in zip(full, alone, strict=True)]
    print(f"| command: `fullcycle train` (fresh process, new workspace) | {med(full)} | |")
    print(f"| command: read data + train_model only (fresh process) | {med(alone)} | |")
    print(f"| command: difference (tracking incl. MLflow import/store open, CLI) | {med(gap)} | "
          f"{statistics.median(gap) / statistics.median(alone):6.1%} |")
    print(f"| new SQLite store: MLflow migrations | {migrated:7.2f} | |")
    print(f"| new SQLite store: fullcycle seeded copy | {seeded:7.2f} | |")


if __name__ == "__main__":
    main()
