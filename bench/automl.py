"""AutoML benchmark: fullcycle vs FLAML (and AutoGluon) at equal budget on the benchmark tables.

One fixed seeded 80/20 split per table (fullcycle's own split function, so `fullcycle train` on
the whole table holds out exactly the same rows), every tool trained on the same 80% through its
public interface with the same wall-clock budget, all scored on the same 20% by this script:
ROC-AUC (binary), log loss (multiclass), RMSE (regression).

Steps (each runner writes predictions under bench/results/automl/<tool>/):

    .venv/bin/python bench/automl.py prepare
    bench/.venvs/flaml/bin/python bench/automl.py flaml --budget 60
    bench/.venvs/autogluon/bin/python bench/automl.py autogluon --budget 60
    .venv/bin/python bench/automl.py fullcycle --budget 60
    .venv/bin/python bench/automl.py table

The runner steps import only pandas/numpy (plus the tool), so they run in the tools' own venvs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent
DATASETS = Path(os.environ.get("FULLCYCLE_DATASETS", ROOT.parent.parent / "shared" / "datasets"))
if not DATASETS.exists():
    DATASETS = Path("/work/shared/datasets")
DATA = ROOT / "data" / "automl"
RESULTS = ROOT / "results" / "automl"
SEED = 0

# name: (file, target, task) — the binary, multiclass and regression tables of INDEX.md §6.
TABLES: dict[str, tuple[str, str, str]] = {
    "adult": ("adult/adult.csv", "income", "binary"),
    "bank_marketing": ("bank_marketing/bank_marketing.csv", "subscribe", "binary"),
    "credit_g": ("credit_g/credit_g.csv", "class", "binary"),
    "diabetes_pima": ("diabetes_pima/diabetes_pima.csv", "class", "binary"),
    "titanic": ("titanic/titanic.csv", "Survived", "binary"),
    "kc1": ("kc1/kc1.csv", "defects", "binary"),
    "phoneme": ("phoneme/phoneme.csv", "Class", "binary"),
    "spambase": ("spambase/spambase.csv", "Class", "binary"),
    "wine_quality_red": ("wine_quality_red/wine_quality_red.csv", "quality", "regression"),
    "abalone": ("abalone/abalone.csv", "Rings", "regression"),
    "cpu_act": ("cpu_act/cpu_act.csv", "target", "regression"),
    "car_evaluation": ("car_evaluation/car_evaluation.csv", "deal", "multiclass"),
    "vehicle": ("vehicle/vehicle.csv", "target", "multiclass"),
    "segment": ("segment/segment.csv", "class", "multiclass"),
    "satimage": ("satimage/satimage.csv", "target", "multiclass"),
}
METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}


def _tables(arg: str | None) -> list[str]:
    return [t for t in TABLES if not arg or t in arg.split(",")]


def _meta(name: str) -> dict:
    return json.loads((DATA / name / "meta.json").read_text())


OUT: dict[str, str] = {}  # tool -> results folder name (--out)


def _save(tool: str, name: str, pred: pd.DataFrame, info: dict) -> None:
    out = RESULTS / OUT.get(tool, tool)
    out.mkdir(parents=True, exist_ok=True)
    pred.to_csv(out / f"{name}.csv", index=False)
    (out / f"{name}.json").write_text(json.dumps(info, indent=1))


# --- prepare (project venv) -------------------------------------------------------------------
def prepare(tables: list[str]) -> None:
    from fullcycle.automl.train import split
    from fullcycle.config import Config
    from fullcycle.data.dataset import Dataset
    from fullcycle.problem import define_problem

    for name in tables:
        file, target, task = TABLES[name]
        config = Config.from_dict({"seed": SEED, "problem": {"task": task}})
        dataset = Dataset.read(str(DATASETS / file), target=target)
        problem = define_problem(dataset.target, target, config.problem)
        train_idx, test_idx = split(dataset, problem, config)
        frame = dataset.frame.reset_index(drop=True)
        y = problem.encode_target(dataset.target)
        if problem.is_classification:
            frame[target] = np.asarray(problem.labels, dtype=object)[y]
        folder = DATA / name
        folder.mkdir(parents=True, exist_ok=True)
        frame.to_csv(folder / "full.csv", index=False)
        frame.iloc[train_idx].to_csv(folder / "train.csv", index=False)
        frame.iloc[test_idx].to_csv(folder / "test.csv", index=False)
        meta = {"name": name, "target": target, "task": task, "metric": METRIC[task],
                "labels": problem.labels, "rows": len(frame), "train_rows": len(train_idx),
                "test_rows": len(test_idx), "features": len(dataset.schema.features)}
        (folder / "meta.json").write_text(json.dumps(meta, indent=1))
        print(f"{name}: {len(train_idx)} train / {len(test_idx)} test rows, task {task}")


def _read(name: str, part: str, meta: dict) -> pd.DataFrame:
    if meta["task"] == "regression":
        return pd.read_csv(DATA / name / f"{part}.csv")
    return pd.read_csv(DATA / name / f"{part}.csv", dtype={meta["target"]: str})


# --- FLAML (own venv) -----------------------------------------------------------------------
def run_flaml(tables: list[str], budget: float) -> None:
    from flaml import AutoML

    for name in tables:
        meta = _meta(name)
        train, test = _read(name, "train", meta), _read(name, "test", meta)
        target = meta["target"]
        automl = AutoML()
        t0 = time.perf_counter()
        automl.fit(train.drop(columns=[target]), train[target], time_budget=budget, n_jobs=2,
                   seed=SEED, verbose=0, metric=meta["metric"],
                   task="regression" if meta["task"] == "regression" else "classification")
        fit = time.perf_counter() - t0
        X_test = test.drop(columns=[target])
        if meta["task"] == "regression":
            pred = pd.DataFrame({"prediction": automl.predict(X_test)})
        else:
            proba = automl.predict_proba(X_test)
            pred = pd.DataFrame(proba, columns=[str(c) for c in automl.classes_])
        _save("flaml", name, pred, {"fit_seconds": fit, "best": automl.best_estimator})
        print(f"flaml {name}: {fit:.1f}s best {automl.best_estimator}", flush=True)


# --- AutoGluon (own venv) -------------------------------------------------------------------
def run_autogluon(tables: list[str], budget: float) -> None:
    from autogluon.tabular import TabularPredictor

    ag_metric = {"roc_auc": "roc_auc", "log_loss": "log_loss", "rmse": "root_mean_squared_error"}
    for name in tables:
        meta = _meta(name)
        train, test = _read(name, "train", meta), _read(name, "test", meta)
        path = Path("/tmp") / f"ag-bench-{name}"
        shutil.rmtree(path, ignore_errors=True)
        t0 = time.perf_counter()
        predictor = TabularPredictor(label=meta["target"], eval_metric=ag_metric[meta["metric"]],
                                     problem_type=meta["task"], path=str(path), verbosity=0)
        predictor.fit(train, time_limit=budget, presets="medium_quality", num_cpus=2)
        fit = time.perf_counter() - t0
        X_test = test.drop(columns=[meta["target"]])
        if meta["task"] == "regression":
            pred = pd.DataFrame({"prediction": predictor.predict(X_test).to_numpy()})
        else:
            proba = predictor.predict_proba(X_test)
            pred = pd.DataFrame(proba.to_numpy(), columns=[str(c) for c in proba.columns])
        _save("autogluon", name, pred, {"fit_seconds": fit, "best": predictor.model_best})
        shutil.rmtree(path, ignore_errors=True)
        print(f"autogluon {name}: {fit:.1f}s best {predictor.model_best}", flush=True)


# --- fullcycle (project venv, through the CLI) ------------------------------------------------
def run_fullcycle(tables: list[str], budget: float) -> None:
    from fullcycle.model import Model

    exe = Path(sys.executable).with_name("fullcycle")
    for name in tables:
        meta = _meta(name)
        ws = Path("/tmp") / f"fc-bench-{name}"
        shutil.rmtree(ws, ignore_errors=True)
        ws.mkdir(parents=True)
        (ws / "bench.yaml").write_text(
            f"project: {name}\nseed: {SEED}\nproblem:\n  task: {meta['task']}\n")
        cmd = [str(exe), "train", str(DATA / name / "full.csv"), "--target", meta["target"],
               "--time-budget", str(budget), "--workspace", str(ws),
               "--config", str(ws / "bench.yaml")]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            print(f"fullcycle {name}: FAILED\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
            continue
        model = Model.load(next((ws / "models").glob("*-latest")))
        test = _read(name, "test", meta)
        scores = model.predict_scores(test.drop(columns=[meta["target"]]))
        if meta["task"] == "regression":
            pred = pd.DataFrame({"prediction": scores})
        else:
            pred = pd.DataFrame(scores, columns=model.problem.labels)
        md = model.metadata
        _save("fullcycle", name, pred, {
            "wall_seconds": wall, "best": md.get("best_candidate"),
            "rows_train": md.get("rows_train"), "ensemble": md.get("ensemble"),
            "internal_test_metrics": md.get("test_metrics"), "search": md.get("search")})
        shutil.rmtree(ws, ignore_errors=True)
        print(f"fullcycle {name}: wall {wall:.1f}s best {md.get('best_candidate')}", flush=True)


# --- scoring and the table (project venv) ---------------------------------------------------
def score(name: str, tool: str) -> float | None:
    from sklearn.metrics import log_loss, mean_squared_error, roc_auc_score

    path = RESULTS / OUT.get(tool, tool) / f"{name}.csv"
    if not path.exists():
        return None
    meta = _meta(name)
    test = _read(name, "test", meta)
    pred = pd.read_csv(path)
    y = test[meta["target"]]
    if meta["task"] == "regression":
        return float(np.sqrt(mean_squared_error(y.astype(float), pred["prediction"])))
    # labels compared case-blind: a tool that read "true" as a boolean writes "True"
    labels = [str(v).lower() for v in meta["labels"]]
    y = y.astype(str).str.lower()
    pred.columns = [str(c).lower() for c in pred.columns]
    proba = pred[labels].to_numpy(dtype=float)
    if meta["task"] == "binary":
        return float(roc_auc_score((y == labels[-1]).astype(int), proba[:, 1]))
    proba = np.clip(proba, 1e-15, 1)
    return float(log_loss(y, proba / proba.sum(axis=1, keepdims=True), labels=labels))


def outcome(task: str, ours: float, theirs: float) -> str:
    """win / tie / loss for fullcycle: tie within 0.002 AUC or 1% relative log loss / RMSE."""
    if task == "binary":
        diff = ours - theirs
        return "tie" if abs(diff) <= 0.002 else ("win" if diff > 0 else "loss")
    rel = (theirs - ours) / max(abs(theirs), 1e-12)
    return "tie" if abs(rel) <= 0.01 else ("win" if rel > 0 else "loss")


def table(tables: list[str]) -> str:
    rows, tally = [], {"flaml": {}, "autogluon": {}}
    for name in tables:
        meta = _meta(name)
        ours = score(name, "fullcycle")
        info = RESULTS / "fullcycle" / f"{name}.json"
        wall = json.loads(info.read_text())["wall_seconds"] if info.exists() else None
        cells = [name, meta["task"], meta["metric"], _f(ours)]
        for tool in ("flaml", "autogluon"):
            theirs = score(name, tool)
            res = outcome(meta["task"], ours, theirs) if None not in (ours, theirs) else "-"
            tally[tool][res] = tally[tool].get(res, 0) + 1
            cells += [_f(theirs), res]
        cells.append("-" if wall is None else f"{wall:.1f}")
        rows.append("| " + " | ".join(cells) + " |")
    head = ("| table | task | metric | fullcycle | FLAML | vs FLAML | AutoGluon mq | vs AutoGluon "
            "| fullcycle wall s |\n|---|---|---|---|---|---|---|---|---|")
    summary = "\n".join(
        f"- vs {tool}: " + ", ".join(f"{k} {v}" for k, v in sorted(t.items()))
        for tool, t in tally.items())
    return head + "\n" + "\n".join(rows) + "\n\n" + summary


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=["prepare", "flaml", "autogluon", "fullcycle", "table"])
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--tables", help="comma-separated subset of tables")
    parser.add_argument("--out", help="results folder name for this step's tool (a rerun); "
                        "for `table`, TOOL=FOLDER pairs, comma-separated")
    args = parser.parse_args()
    if args.out and args.step == "table":
        OUT.update(dict(pair.split("=", 1) for pair in args.out.split(",")))
    elif args.out:
        OUT[args.step] = args.out
    tables = _tables(args.tables)
    if args.step == "prepare":
        prepare(tables)
    elif args.step == "flaml":
        run_flaml(tables, args.budget)
    elif args.step == "autogluon":
        run_autogluon(tables, args.budget)
    elif args.step == "fullcycle":
        run_fullcycle(tables, args.budget)
    else:
        print(table(tables))


if __name__ == "__main__":
    main()
