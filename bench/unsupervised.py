"""Clustering and anomaly detection: fullcycle against scikit-learn's IsolationForest and LOF,
pyod's ECOD, KMeans and Gaussian mixtures, through the acceptance protocol itself
(../shared/tools/wave2: split.py, score.py and the anchors of anchors.py, run in their own venv).

    .venv/bin/python bench/unsupervised.py [--task anomaly|cluster|both] [--sets a,b]
        [--anchors bench/results/unsupervised.jsonl]

Anomaly: stratified 70/30 split by the hidden label (seed 42), fullcycle trains on the 70%
without the label, ROC-AUC and average precision of `anomaly_score` on the 30%. Clustering:
every row, ARI and NMI of `cluster` against the hidden grouping; fullcycle with the true k given
(`--n-clusters`) and with k chosen. Sets: the dev sets of ../shared/datasets (odds_vowels,
seeds, creditcard_fraud_sample), ODDS-style sets made from the labelled tables there (a minority
class downsampled to a few percent, as ADBench builds them), scikit-learn's bundled clustering
tables, and synthetic shapes (global, local, clustered and dependency anomalies; anisotropic,
unequal-variance and unbalanced blobs). Records go to bench/results/unsupervised.jsonl; the
tables are printed as markdown."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"
WAVE2 = SHARED / "tools" / "wave2"
DATASETS = SHARED / "datasets"
RESULTS = HERE / "results"
sys.path.insert(0, str(WAVE2))
sys.path.insert(0, str(HERE))


# --- the sets ---------------------------------------------------------------------------------

def _downsample(df: pd.DataFrame, label: str, is_anomaly: pd.Series, rate: float,
                seed: int = 0) -> pd.DataFrame:
    """ADBench-style: the rows where `is_anomaly`, downsampled to `rate` of the result."""
    normal, anomalous = df[~is_anomaly], df[is_anomaly]
    k = max(10, int(rate * len(normal) / (1 - rate)))
    anomalous = anomalous.sample(min(k, len(anomalous)), random_state=seed)
    out = pd.concat([normal, anomalous]).drop(columns=label)
    out["outlier"] = np.r_[np.zeros(len(normal)), np.ones(len(anomalous))].astype(int)
    return out.sample(frac=1, random_state=seed).reset_index(drop=True)


def _synthetic_anomalies(kind: str, seed: int = 0, n: int = 1500, d: int = 8,
                         rate: float = 0.05) -> pd.DataFrame:
    from sklearn.datasets import make_blobs

    rng = np.random.default_rng(seed)
    X, _ = make_blobs(n, d, centers=4, cluster_std=rng.uniform(0.5, 2.0, 4), random_state=seed)
    X = X @ rng.normal(size=(d, d)) * 0.5 + X
    m = int(rate * n)
    if kind == "global":
        lo, hi = X.min(0), X.max(0)
        A = rng.uniform(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo), (m, d))
    elif kind == "local":
        A = X[rng.integers(0, n, m)] + rng.normal(size=(m, d)) * X.std(0) * 0.6
    elif kind == "clustered":
        A = X.mean(0) + rng.normal(size=d) * X.std(0) * 1.5 + rng.normal(size=(m, d)) * 0.3
    else:  # dependency: each feature drawn from a different normal row
        A = np.column_stack([X[rng.integers(0, n, m), j] for j in range(d)])
    df = pd.DataFrame(np.vstack([X, A]), columns=[f"x{i}" for i in range(d)])
    df["outlier"] = np.r_[np.zeros(n), np.ones(m)].astype(int)
    return df.sample(frac=1, random_state=seed).reset_index(drop=True)


def anomaly_frames() -> dict[str, pd.DataFrame]:
    D = DATASETS
    read = pd.read_csv
    out = {
        "creditcard_fraud": read(D / "creditcard_fraud_sample/creditcard_fraud_sample.csv")
        .rename(columns={"Class": "outlier"}),
        "satimage2": _downsample(sat := read(D / "satimage/satimage.csv"), "target",
                                 sat["target"] == 2, 0.015),
        "phoneme": _downsample(ph := read(D / "phoneme/phoneme.csv"), "Class",
                               ph["Class"] == 2, 0.05),
        "spambase": _downsample(sp := read(D / "spambase/spambase.csv"), "Class",
                                sp["Class"] == sp["Class"].max(), 0.05),
        "pima": read(D / "diabetes_pima/diabetes_pima.csv").assign(
            outlier=lambda d: (d["class"] == "tested_positive").astype(int)).drop(
            columns="class"),
        "wine_quality": _downsample(w := read(D / "wine_quality_red/wine_quality_red.csv"),
                                    "quality", w["quality"] <= 4, 0.05),
        "segment": _downsample(g := read(D / "segment/segment.csv"), "class",
                               g["class"] == g["class"].unique()[0], 0.05),
        "kc1": _downsample(kc := read(D / "kc1/kc1.csv"), "defects",
                           kc["defects"].astype(str).str.lower().isin(["true", "1", "yes"]),
                           0.05),
        "vehicle": _downsample(v := read(D / "vehicle/vehicle.csv"), "target",
                               v["target"] == v["target"].unique()[0], 0.05),
    }
    for kind in ("global", "local", "clustered", "dependency"):
        out[f"synthetic_{kind}"] = _synthetic_anomalies(kind)
    return out


def cluster_frames() -> dict[str, pd.DataFrame]:
    from sklearn import datasets as ds

    out: dict[str, pd.DataFrame] = {}
    for name, load in (("iris", ds.load_iris), ("wine", ds.load_wine),
                       ("breast_cancer", ds.load_breast_cancer), ("digits", ds.load_digits)):
        b = load()
        out[name] = pd.DataFrame(b.data, columns=[f"f{i}" for i in range(b.data.shape[1])]) \
            .assign(label=b.target)
    v = pd.read_csv(DATASETS / "vehicle/vehicle.csv")
    out["vehicle"] = v.rename(columns={"target": "label"})
    g = pd.read_csv(DATASETS / "segment/segment.csv")
    out["segment"] = g.rename(columns={"class": "label"})
    s = pd.read_csv(DATASETS / "satimage/satimage.csv").sample(2000, random_state=0)
    out["satimage"] = s.rename(columns={"target": "label"})

    def blobs(X: np.ndarray, y: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]).assign(label=y)

    out["blobs_unequal_var"] = blobs(*ds.make_blobs(600, 4, centers=4,
                                                    cluster_std=[0.5, 1, 1.5, 2.5],
                                                    random_state=1))
    X, y = ds.make_blobs(600, 2, centers=3, random_state=170)
    out["blobs_anisotropic"] = blobs(X @ np.array([[0.6, -0.64], [-0.41, 0.85]]), y)
    out["blobs_unbalanced"] = blobs(*ds.make_blobs([400, 100, 40], 5, centers=None,
                                                   random_state=3))
    out["blobs_10d"] = blobs(*ds.make_blobs(800, 10, centers=5, cluster_std=2.0,
                                            random_state=4))
    return out


def register_sets(task: str, root: Path, only: list[str] | None) -> list[tuple[str, Path]]:
    """Write the constructed sets under `root` and add them to split.SETS; returns
    (set name, data root) pairs, the shared dev sets first."""
    import split

    pairs: list[tuple[str, Path]] = []
    shared = {"anomaly": ["odds_vowels"], "cluster": ["seeds"]}[task]
    pairs += [(n, DATASETS) for n in shared]
    frames = anomaly_frames() if task == "anomaly" else cluster_frames()
    label = "outlier" if task == "anomaly" else "label"
    for name, frame in frames.items():
        if only and name not in only:
            continue
        (root / name).mkdir(parents=True, exist_ok=True)
        frame.to_csv(root / name / f"{name}.csv", index=False)
        split.SETS[name] = (f"{name}/{name}.csv", task, {"label": label})
        pairs.append((name, root))
    return [(n, r) for n, r in pairs if not only or n in only]


# --- fullcycle --------------------------------------------------------------------------------

def run_fullcycle(task: str, wd: Path, meta: dict, k: int | None = None) -> tuple[pd.DataFrame,
                                                                                  float]:
    from fullcycle.config import Config
    from fullcycle.data.dataset import Dataset
    from fullcycle.taskkind import PredictOptions, get_kind

    problem = {"task": task, **({"n_clusters": k} if k else {})}
    config = Config.from_dict({"seed": 42, "problem": problem})
    train = pd.read_csv(wd / ("train.csv" if task == "anomaly" else "data.csv"))
    started = time.perf_counter()
    kind = get_kind(task)
    dataset = Dataset.from_frame(train, config=config.data, drop_duplicates=False)
    with tempfile.TemporaryDirectory() as reports:
        result = kind.train(dataset, config, reports=Path(reports))
    rows = pd.read_csv(wd / "test.csv") if task == "anomaly" else train
    pred = kind.predict(result.model, rows, PredictOptions())
    return pred, time.perf_counter() - started


# --- anchors in their own venv ----------------------------------------------------------------

ANCHOR_RUNNER = """
import json, os, sys, time
sys.path.insert(0, {wave2!r})
import split, anchors
from score import score
split.SETS.update({{k: tuple(v) for k, v in json.loads({sets!r}).items()}})
for name, root in json.loads({pairs!r}):
    wd = os.path.join({work!r}, name)
    meta = split.make_split(name, root, wd)
    for anchor, run in getattr(anchors, {task!r})(wd, meta):
        rec = {{"dataset": name, "task": {task!r}, "tool": anchor}}
        try:
            pred, rec["fit_s"], rec["predict_s"] = run()
            pred.to_csv(f"{{wd}}/pred_{{anchor}}.csv", index=False)
            rec["scores"] = score(wd, f"{{wd}}/pred_{{anchor}}.csv")
        except Exception as e:
            rec["error"] = f"{{type(e).__name__}}: {{e}}"[-400:]
        print(json.dumps(rec), flush=True)
"""


def run_anchors(task: str, pairs: list[tuple[str, Path]], work: Path) -> list[dict]:
    import split
    from peers import peer_python

    python = peer_python("unsupervised", ["pandas<3", "pyod", "scikit-learn"])
    sets = {n: list(split.SETS[n]) for n, _ in pairs}
    code = ANCHOR_RUNNER.format(wave2=str(WAVE2), sets=json.dumps(sets), task=task,
                                pairs=json.dumps([(n, str(r)) for n, r in pairs]),
                                work=str(work))
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env)
    if out.returncode:
        print(out.stderr[-2000:], file=sys.stderr)
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


# --- the run ----------------------------------------------------------------------------------

def bench(task: str, only: list[str] | None, work: Path, anchors: Path | None) -> list[dict]:
    from score import score
    from split import make_split

    pairs = register_sets(task, work / "data", only)
    if anchors:  # anchor records of an earlier run (the anchors do not change with fullcycle)
        names = {n for n, _ in pairs}
        records = [r for r in map(json.loads, anchors.read_text().splitlines())
                   if r.get("task") == task and r["dataset"] in names
                   and not r["tool"].startswith("fullcycle")]
    else:
        records = run_anchors(task, pairs, work / "splits")
    for name, root in pairs:
        wd = work / "splits" / name
        meta = make_split(name, str(root), str(wd))
        runs = [("fullcycle", None)]
        if task == "cluster":
            runs = [("fullcycle_true_k", meta["k"]), ("fullcycle_auto_k", None)]
        for tool, k in runs:
            rec: dict = {"dataset": name, "task": task, "tool": tool}
            try:
                pred, rec["fit_s"] = run_fullcycle(task, wd, meta, k)
                pred.to_csv(wd / f"pred_{tool}.csv", index=False)
                rec["scores"] = score(str(wd), str(wd / f"pred_{tool}.csv"))
            except Exception as exc:  # one failure must not stop the table
                rec["error"] = f"{type(exc).__name__}: {exc}"[-400:]
            print(json.dumps(rec), flush=True)
            records.append(rec)
    return records


def table(records: list[dict], task: str) -> str:
    key = "roc_auc" if task == "anomaly" else "ari"
    rows: dict[str, dict[str, float]] = {}
    for r in records:
        if r.get("task") == task and "scores" in r:
            rows.setdefault(r["dataset"], {})[r["tool"]] = r["scores"][key]
            if task == "cluster" and r["tool"] == "fullcycle_auto_k":
                rows[r["dataset"]]["auto_k"] = r["scores"]["n_clusters"]
                rows[r["dataset"]]["true_k"] = r["scores"]["true_k"]
    frame = pd.DataFrame(rows).T
    numeric = frame.drop(columns=[c for c in ("auto_k", "true_k") if c in frame.columns])
    frame.loc["mean"] = numeric.mean()
    cols = list(frame.columns)
    lines = ["| set | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in frame.iterrows():
        cells = ["" if pd.isna(row[c]) else (f"{row[c]:.3f}" if c not in ("auto_k", "true_k")
                                             else f"{row[c]:.0f}") for c in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["anomaly", "cluster", "both"], default="both")
    parser.add_argument("--sets", default=None, help="comma-separated set names")
    parser.add_argument("--work", default=None, help="work folder (default: a temp folder)")
    parser.add_argument("--anchors", default=None, type=Path,
                        help="reuse the anchor records of an earlier results file")
    args = parser.parse_args()
    only = args.sets.split(",") if args.sets else None
    work = Path(args.work or tempfile.mkdtemp(prefix="unsupervised-bench-"))
    RESULTS.mkdir(exist_ok=True)
    tasks = ["anomaly", "cluster"] if args.task == "both" else [args.task]
    load = os.getloadavg()[0]
    for task in tasks:
        records = bench(task, only, work, args.anchors)
        with open(RESULTS / "unsupervised.jsonl", "a") as handle:
            for rec in records:
                handle.write(json.dumps({**rec, "load": round(load, 1)}) + "\n")
        metric = "ROC-AUC on the 30% test part" if task == "anomaly" else "ARI on every row"
        print(f"\n### {task}: {metric} (2 cores, load {load:.1f})\n")
        print(table(records, task))


if __name__ == "__main__":
    main()
