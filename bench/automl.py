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

FLAML and fullcycle side by side, interleaved per table so both see the same load (FLAML's venv
is made by bench/peers.py), at 10, 30 and 60 s, on development tables, the EXTRA tables (not
used in development) and the HARD shape tables made from the shared datasets:

    .venv/bin/python bench/automl.py prepare --tables hard_rare_class,hard_int40,...
    nice .venv/bin/python bench/automl.py duel --budgets 10,30,60 --tables adult,telco_churn,...
    .venv/bin/python bench/automl.py duel-table --budgets 10,30,60 --tables adult,telco_churn,...
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
# Shared tables not in the development list above: stand-ins for held-back tables.
EXTRA: dict[str, tuple[str, str, str]] = {
    "telco_churn": ("telco_churn/telco_churn.csv", "Churn", "binary"),
    "bank_churn": ("bank_churn/bank_churn.csv", "Exited", "binary"),
    "creditcard_fraud": ("creditcard_fraud_sample/creditcard_fraud_sample.csv", "Class", "binary"),
    "ames_housing": ("ames_housing/ames_housing.csv", "SalePrice", "regression"),
    "california_housing": ("california_housing/california_housing.csv", "median_house_value",
                           "regression"),
}
METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}


# --- hard-shape tables, made from the shared datasets ------------------------------------------
def _hard_rare_class() -> pd.DataFrame:
    """car_evaluation with its 'vgood' class cut to 2 rows (4 classes, smallest 2 rows)."""
    frame = pd.read_csv(DATASETS / "car_evaluation/car_evaluation.csv")
    rare = frame.index[frame["deal"] == "vgood"][2:]
    return frame.drop(index=rare).reset_index(drop=True)


def _california(rows: int) -> pd.DataFrame:
    frame = pd.read_csv(DATASETS / "california_housing/california_housing.csv")
    return frame.sample(n=rows, random_state=SEED).reset_index(drop=True)


def _hard_int_classes() -> pd.DataFrame:
    """California housing, the house value cut into 40 quantile classes coded 1..40."""
    frame = _california(8000)
    value = frame.pop("median_house_value")
    frame["value_class"] = pd.qcut(value.rank(method="first"), 40, labels=False) + 1
    return frame


def _hard_categorical() -> pd.DataFrame:
    """California housing, position given only as a 500-level grid-cell category."""
    frame = _california(10000)
    lat = pd.qcut(frame.pop("latitude"), 25, labels=False, duplicates="drop")
    lon = pd.qcut(frame.pop("longitude"), 20, labels=False, duplicates="drop")
    frame["cell"] = "c" + lat.astype(str) + "_" + lon.astype(str)
    return frame


def _hard_wide() -> pd.DataFrame:
    """500 rows of spambase with noise columns added up to 300 features."""
    frame = pd.read_csv(DATASETS / "spambase/spambase.csv").sample(n=500, random_state=SEED)
    frame = frame.reset_index(drop=True)
    rng = np.random.default_rng(SEED)
    extra = 300 - (frame.shape[1] - 1)
    noise = pd.DataFrame(rng.normal(size=(500, extra)), columns=[f"noise{i}" for i in range(extra)])
    return pd.concat([frame, noise], axis=1)


def _hard_heavy_tail() -> pd.DataFrame:
    """California housing with the district population (a heavy-tailed count) as target."""
    return _california(10000)


def _hard_many_classes() -> pd.DataFrame:
    """20,000 rows, 16 numeric features, 26 classes coded 1..26 (the shape of UCI letter)."""
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=20000, n_features=16, n_informative=12, n_redundant=2,
                               n_classes=26, n_clusters_per_class=2, class_sep=2.0,
                               random_state=SEED)
    frame = pd.DataFrame(np.round(x, 3), columns=[f"f{i}" for i in range(16)])
    frame["letter"] = y + 1
    return frame


def _hard_rings_classes() -> pd.DataFrame:
    """abalone with the ring count as 28 classes, several of them 1-2 rows."""
    frame = pd.read_csv(DATASETS / "abalone/abalone.csv")
    frame["Rings"] = "r" + frame["Rings"].astype(str)
    return frame


def _hard_rare_positive() -> pd.DataFrame:
    """11,000 rows of the Taiwan credit defaults with 2% positives (a fraud-like rarity)."""
    frame = pd.read_csv(DATASETS / "credit_default_taiwan/credit_default_taiwan.csv")
    target = "default.payment.next.month"
    positive = frame[frame[target] == 1].sample(n=220, random_state=SEED)
    negative = frame[frame[target] == 0].sample(n=10780, random_state=SEED)
    frame = pd.concat([positive, negative]).sample(frac=1.0, random_state=SEED)
    return frame.drop(columns=["ID"]).reset_index(drop=True)


def _hard_digits() -> pd.DataFrame:
    """scikit-learn's bundled 8x8 digits: 1,797 rows, 64 pixel counts, 10 classes."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    frame = pd.DataFrame(x.astype(int), columns=[f"px{i}" for i in range(64)])
    frame["digit"] = y
    return frame


def _hard_crossed(target: str) -> pd.DataFrame:
    """10,000 rows of adult with occupation, education and sex given only as one crossed
    category (about 380 levels, 26 rows each): a many-level column without spatial structure,
    the counterpart of hard_cat500's grid cells."""
    frame = pd.read_csv(DATASETS / "adult/adult.csv").sample(n=10000, random_state=SEED)
    parts = ["occupation", "education", "sex"]
    frame["occupation_education_sex"] = frame[parts].astype(object).fillna("NA").astype(str) \
        .agg("|".join, axis=1)
    frame = frame.drop(columns=parts)
    return frame[[c for c in frame.columns if c != target] + [target]].reset_index(drop=True)


HARD = {
    "hard_many26": (_hard_many_classes, "letter", "multiclass"),
    "hard_rings28": (_hard_rings_classes, "Rings", "multiclass"),
    "hard_rare2pct": (_hard_rare_positive, "default.payment.next.month", "binary"),
    "hard_digits": (_hard_digits, "digit", "multiclass"),
    "hard_rare_class": (_hard_rare_class, "deal", "multiclass"),
    "hard_int40": (_hard_int_classes, "value_class", "multiclass"),
    "hard_cat500": (_hard_categorical, "median_house_value", "regression"),
    "hard_wide300": (_hard_wide, "Class", "binary"),
    "hard_heavy_tail": (_hard_heavy_tail, "population", "regression"),
    "hard_cross380": (lambda: _hard_crossed("income"), "income", "binary"),
    "hard_cross380_age": (lambda: _hard_crossed("age"), "age", "regression"),
}


def _tables(arg: str | None) -> list[str]:
    every = [*TABLES, *EXTRA, *HARD]
    if not arg:
        return list(TABLES)
    wanted = arg.split(",")
    unknown = [t for t in wanted if t not in every]
    if unknown:
        raise SystemExit(f"unknown tables {unknown}; known: {every}")
    return wanted


def _source(name: str) -> tuple[str, str, str]:
    """(csv path, target, task) of a table; hard-shape tables are written on first use."""
    if name in HARD:
        make, target, task = HARD[name]
        path = DATA / name / "source.csv"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            make().to_csv(path, index=False)
        return str(path), target, task
    file, target, task = {**TABLES, **EXTRA}[name]
    return str(DATASETS / file), target, task


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
    from fullcycle.config import Config
    from fullcycle.data.dataset import Dataset
    from fullcycle.problem import define_problem
    from fullcycle.tasks.tabular.search.train import split

    for name in tables:
        file, target, task = _source(name)
        config = Config.from_dict({"seed": SEED, "problem": {"task": task}})
        dataset = Dataset.read(file, target=target)
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
        md = _summary(model)
        _save("fullcycle", name, pred, {
            "wall_seconds": wall, "best": md.get("best_candidate"),
            "rows_train": md.get("rows_train"), "ensemble": md.get("ensemble"),
            "internal_test_metrics": md.get("test_metrics"), "search": md.get("search"),
            "diagnosis": md.get("diagnosis")})
        shutil.rmtree(ws, ignore_errors=True)
        print(f"fullcycle {name}: wall {wall:.1f}s best {md.get('best_candidate')}", flush=True)


def run_fullcycle_api(tables: list[str], budget: float) -> None:
    """fullcycle through its Python stage API, timed like FLAML's `fit`: the clock starts after
    the imports and reading the table and stops when the model is ready (no registration)."""
    from fullcycle.config import Config
    from fullcycle.data.dataset import Dataset
    from fullcycle.tasks.tabular.search.train import train_model

    for name in tables:
        meta = _meta(name)
        config = Config.from_dict({"project": name, "seed": SEED,
                                   "problem": {"task": meta["task"]},
                                   "train": {"time_budget": budget}})
        dataset = Dataset.read(str(DATA / name / "full.csv"), target=meta["target"])
        t0 = time.perf_counter()
        try:
            out = train_model(dataset, config, started_at=t0)
        except Exception as exc:  # a failure is a result of the benchmark
            print(f"fullcycle {name}: FAILED {type(exc).__name__}: {exc}", flush=True)
            continue
        wall = time.perf_counter() - t0
        test = _read(name, "test", meta)
        scores = out.model.predict_scores(test.drop(columns=[meta["target"]]))
        if meta["task"] == "regression":
            pred = pd.DataFrame({"prediction": scores})
        else:
            pred = pd.DataFrame(scores, columns=out.model.problem.labels)
        md = _summary(out.model)
        _save("fullcycle", name, pred, {
            "wall_seconds": wall, "best": md.get("best_candidate"),
            "rows_train": md.get("rows_train"), "ensemble": md.get("ensemble"),
            "internal_test_metrics": md.get("test_metrics"), "search": md.get("search"),
            "diagnosis": md.get("diagnosis"),
            "leaderboard": out.leaderboard.to_dict(orient="records")})
        print(f"fullcycle {name}: wall {wall:.1f}s best {md.get('best_candidate')} "
              f"({md.get('search', {}).get('finished')} models, "
              f"{md.get('search', {}).get('folds')} folds)", flush=True)


def _summary(model: object) -> dict:
    """What training recorded: the model card's training summary (or the older metadata)."""
    card = getattr(model, "card", None)
    if card is None:
        return dict(getattr(model, "metadata", {}))
    from dataclasses import asdict

    return {**asdict(card.training), "rows_train": card.provenance.rows_train}


# --- scoring and the table (project venv) ---------------------------------------------------
def score(name: str, tool: str) -> float | None:
    from sklearn.metrics import mean_squared_error, roc_auc_score

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
    proba = proba / proba.sum(axis=1, keepdims=True)
    # by position in `labels`: sklearn's log_loss would sort string labels ("10" < "2")
    index = {label: i for i, label in enumerate(labels)}
    codes = y.map(index).to_numpy(dtype=int)
    return float(-np.mean(np.log(proba[np.arange(len(codes)), codes])))


TIE_AUC, TIE_RELATIVE = 0.002, 0.01  # ROC-AUC absolute; log loss and RMSE relative


def outcome(task: str, ours: float, theirs: float) -> str:
    """win / tie / loss for fullcycle: tie within 0.002 AUC or 1% relative log loss / RMSE."""
    ahead = margins(task, ours, theirs)
    return "tie" if abs(ahead) <= 1 else ("win" if ahead > 0 else "loss")


def margins(task: str, ours: float, theirs: float) -> float:
    """How far ours is ahead of theirs in tie margins: +1 = one margin better, |x| <= 1 a tie."""
    if task == "binary":
        return (ours - theirs) / TIE_AUC
    return (theirs - ours) / max(abs(theirs), 1e-12) / TIE_RELATIVE


def table(tables: list[str]) -> str:
    rows, tally = [], {"flaml": {}, "autogluon": {}}
    for name in tables:
        meta = _meta(name)
        ours = score(name, "fullcycle")
        info = RESULTS / OUT.get("fullcycle", "fullcycle") / f"{name}.json"
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


# --- FLAML and fullcycle interleaved, per table (project venv) ------------------------------------
FLAML_PACKAGES = ["flaml[automl]==2.7.0", "pandas", "numpy", "scikit-learn"]


def duel(tables: list[str], budgets: list[float], cli: bool = False) -> None:
    """For each budget and table, FLAML then fullcycle (the order alternates between tables), so
    both see the same load; results under results/automl/<tool>-<budget>/, the 1-minute load
    average before each run in loads-<budget>.json."""
    sys.path.insert(0, str(ROOT))
    from peers import peer_python

    pythons = {"flaml": peer_python("flaml", FLAML_PACKAGES), "fullcycle": sys.executable}
    for budget in budgets:
        loads_path = RESULTS / f"loads-{budget:g}.json"
        loads = json.loads(loads_path.read_text()) if loads_path.exists() else {}
        for i, name in enumerate(tables):
            order = ["flaml", "fullcycle"] if i % 2 == 0 else ["fullcycle", "flaml"]
            for tool in order:
                loads.setdefault(name, {})[tool] = round(os.getloadavg()[0], 1)
                step = tool if tool == "flaml" or cli else "fullcycle-api"
                subprocess.run([pythons[tool], __file__, step, "--budget", f"{budget:g}",
                                "--tables", name, "--out", f"{tool}-{budget:g}"], check=False)
            RESULTS.mkdir(parents=True, exist_ok=True)
            loads_path.write_text(json.dumps(loads, indent=1))


def duel_table(tables: list[str], budgets: list[float]) -> str:
    """One table per budget: fullcycle vs FLAML, outcome, relative gap, wall times, load."""
    parts = []
    for budget in budgets:
        OUT.update({"fullcycle": f"fullcycle-{budget:g}", "flaml": f"flaml-{budget:g}"})
        loads_path = RESULTS / f"loads-{budget:g}.json"
        loads = json.loads(loads_path.read_text()) if loads_path.exists() else {}
        rows, tally, gaps = [], {}, []
        for name in tables:
            if not (DATA / name / "meta.json").exists():
                continue
            meta = _meta(name)
            ours, theirs = score(name, "fullcycle"), score(name, "flaml")
            res = outcome(meta["task"], ours, theirs) if None not in (ours, theirs) else (
                "FAIL" if ours is None else "-")
            tally[res] = tally.get(res, 0) + 1
            gap = None
            if ours is not None and theirs is not None:
                gap = (ours - theirs) / abs(theirs) * (1 if meta["task"] == "binary" else -1)
                gaps.append(gap)
            walls = [_wall(name, t) for t in ("fullcycle", "flaml")]
            load = loads.get(name, {})
            rows.append(f"| {name} | {meta['task']} | {meta['rows']} | {meta['metric']} | "
                        f"{_f(ours)} | {_f(theirs)} | {res} | "
                        f"{'-' if gap is None else f'{100 * gap:+.2f}%'} | "
                        f"{walls[0]} | {walls[1]} | {load.get('fullcycle', '-')} / "
                        f"{load.get('flaml', '-')} |")
        mean = f"{100 * float(np.mean(gaps)):+.2f}%" if gaps else "-"
        parts.append(
            f"#### Budget {budget:g} s\n\n| table | task | rows | metric | fullcycle | FLAML | "
            "vs FLAML | gap (+ = fullcycle better) | fullcycle wall s | FLAML fit s | "
            "load 1 min (fc / FLAML) |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
            + "\n".join(rows) + "\n\n- " + ", ".join(f"{k} {v}" for k, v in sorted(
                tally.items())) + f"; mean gap {mean}")
    return "\n\n".join(parts)


def _wall(name: str, tool: str) -> str:
    path = RESULTS / OUT.get(tool, tool) / f"{name}.json"
    if not path.exists():
        return "-"
    info = json.loads(path.read_text())
    seconds = info.get("wall_seconds", info.get("fit_seconds"))
    return "-" if seconds is None else f"{seconds:.1f}"


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=["prepare", "flaml", "autogluon", "fullcycle",
                                         "fullcycle-api", "table", "duel", "duel-table"])
    parser.add_argument("--cli", action="store_true",
                        help="duel: run fullcycle through the CLI (end-to-end wall time, with "
                        "start-up and registration) instead of the in-process API")
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--budgets", default="10,30,60",
                        help="duel / duel-table: comma-separated budgets in seconds")
    parser.add_argument("--tables", help="comma-separated subset of tables")
    parser.add_argument("--out", help="results folder name for this step's tool (a rerun); "
                        "for `table`, TOOL=FOLDER pairs, comma-separated")
    args = parser.parse_args()
    if args.out and args.step == "table":
        OUT.update(dict(pair.split("=", 1) for pair in args.out.split(",")))
    elif args.out:
        OUT[args.step] = args.out
    tables = _tables(args.tables)
    budgets = [float(b) for b in args.budgets.split(",")]
    if args.step == "duel":
        duel(tables, budgets, cli=args.cli)
    elif args.step == "duel-table":
        print(duel_table(tables, budgets))
    elif args.step == "prepare":
        prepare(tables)
    elif args.step == "flaml":
        run_flaml(tables, args.budget)
    elif args.step == "autogluon":
        run_autogluon(tables, args.budget)
    elif args.step == "fullcycle":
        run_fullcycle(tables, args.budget)
    elif args.step == "fullcycle-api":
        OUT.setdefault("fullcycle", OUT.pop("fullcycle-api", "fullcycle"))
        run_fullcycle_api(tables, args.budget)
    else:
        print(table(tables))


if __name__ == "__main__":
    main()
