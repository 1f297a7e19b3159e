"""Benchmark: fullcycle's automatic preprocessing vs a plain impute + one-hot + scale baseline.

Same models (LightGBM with fixed hyperparameters; logistic regression / ridge), same folds, same
typed input (both start with fullcycle's SchemaCoercer, so only the preprocessing differs).
Scores are k-fold cross-validated on the benchmark tables in ../shared/datasets (rows capped);
cost is the wall-clock seconds of fit + predict over all folds. A second table shows the
leakage of a naive global target encoding next to fullcycle's out-of-fold encoding.

    .venv/bin/python bench/preprocessing.py [--datasets a,b] [--folds 3] [--max-rows 20000]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
TABLES = {  # name: target (INDEX.md section 6, plus churn and house prices)
    "adult": "income", "bank_marketing": "subscribe", "credit_g": "class",
    "diabetes_pima": "class", "titanic": "Survived", "kc1": "defects", "phoneme": "Class",
    "spambase": "Class", "wine_quality_red": "quality", "abalone": "Rings", "cpu_act": "target",
    "car_evaluation": "deal", "vehicle": "target", "segment": "class", "satimage": "target",
    "telco_churn": "Churn", "california_housing": "median_house_value",
    "ames_housing": "SalePrice",
}


def baseline_preprocessor(schema, scale: bool):
    """What a careful-but-plain pipeline does: median impute + scale numbers, most-frequent
    impute + one-hot everything else (dates and text as categories)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from fullcycle.features.preprocess import SchemaCoercer

    numeric = schema.by_role("numeric") + schema.by_role("boolean")
    other = schema.by_role("categorical") + schema.by_role("text") + schema.by_role("datetime")
    parts = []
    if numeric:
        steps = [SimpleImputer(strategy="median", keep_empty_features=True)]
        parts.append(("num", make_pipeline(*steps, *([StandardScaler()] if scale else [])),
                      numeric))
    if other:
        parts.append(("cat", make_pipeline(
            _Stringify(), SimpleImputer(strategy="most_frequent", keep_empty_features=True),
            OneHotEncoder(handle_unknown="ignore", sparse_output=False)), other))
    return Pipeline([("coerce", SchemaCoercer(schema=schema.to_dict())),
                     ("columns", ColumnTransformer(parts))])


class _Stringify:
    """Datetimes and mixed values as strings, so the baseline one-hot encoder accepts them."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return pd.DataFrame(X).astype(object).where(pd.DataFrame(X).notna(), np.nan) \
            .map(lambda v: v if v is np.nan else str(v))

    def get_params(self, deep: bool = True) -> dict:
        return {}

    def set_params(self, **params: object) -> _Stringify:
        return self


def make_model(name: str, task: str):
    import lightgbm as lgb
    from sklearn.linear_model import LogisticRegression, Ridge

    if name == "lightgbm":
        cls = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier
        return cls(n_estimators=300, learning_rate=0.05, num_leaves=31, random_state=0,
                   n_jobs=1, verbose=-1)
    return Ridge(alpha=1.0) if task == "regression" else LogisticRegression(max_iter=3000)


def make_pipeline(variant: str, model_name: str, schema, task: str):
    from sklearn.pipeline import Pipeline

    from fullcycle.features import FeatureConfig, build_preprocessor, wrap_estimator

    model = make_model(model_name, task)
    linear = model_name == "linear"
    if variant == "baseline":
        return Pipeline([("pre", baseline_preprocessor(schema, scale=linear)), ("model", model)])
    opts = FeatureConfig(generate=variant.endswith("+generate"))
    kind = "linear" if linear else ("tree" if variant.startswith("fullcycle_tree") else "native")
    pre = build_preprocessor(schema, scale=linear, family_kind=kind, options=opts, seed=0)
    model = wrap_estimator(model, numeric_target=task == "regression", options=opts)
    return Pipeline([("pre", pre), ("model", model)])


def score(task: str, y: np.ndarray, pred: np.ndarray) -> float:
    from sklearn.metrics import log_loss, mean_squared_error, roc_auc_score

    if task == "binary":
        return float(roc_auc_score(y, pred[:, 1]))
    if task == "multiclass":
        return float(log_loss(y, np.clip(pred, 1e-15, 1), labels=np.arange(pred.shape[1])))
    return float(np.sqrt(mean_squared_error(y, pred)))


METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}


def load(name: str, max_rows: int):
    from fullcycle.data.dataset import Dataset
    from fullcycle.problem import define_problem

    frame = pd.read_csv(DATA / name / f"{name}.csv", low_memory=False)
    if len(frame) > max_rows:
        frame = frame.sample(max_rows, random_state=0).reset_index(drop=True)
    ds = Dataset.from_frame(frame, target=TABLES[name], source=name)
    problem = define_problem(ds.target, TABLES[name])
    X = ds.frame[[c.name for c in ds.schema.features]]
    return ds.schema, problem, X, problem.encode_target(ds.target)


def cross_validate(variant: str, model_name: str, schema, problem, X, y, folds: int) -> dict:
    from sklearn.model_selection import KFold, StratifiedKFold

    task = problem.task
    cv = (KFold if task == "regression" else StratifiedKFold)(folds, shuffle=True,
                                                              random_state=0)
    oof = np.zeros((len(y), len(problem.labels))) if task != "regression" else np.zeros(len(y))
    start = time.perf_counter()
    for fit_idx, val_idx in cv.split(X, y):
        pipe = make_pipeline(variant, model_name, schema, task)
        pipe.fit(X.iloc[fit_idx], y[fit_idx])
        if task == "regression":
            oof[val_idx] = pipe.predict(X.iloc[val_idx])
        else:
            proba = pipe.predict_proba(X.iloc[val_idx])
            oof[np.ix_(val_idx, pipe.classes_)] = proba
    return {"score": score(task, y, oof), "seconds": time.perf_counter() - start}


def leakage_rows(max_rows: int) -> list[dict]:
    """Naive global target encoding vs fullcycle's out-of-fold encoding of a high-cardinality
    column, both cross-validated with the same logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import Pipeline

    from fullcycle.features import CategoryEncoder
    from fullcycle.features.encode import category_text, naive_target_encoding

    rows = []
    cases = [("titanic", "Ticket", None), ("titanic", "Cabin", None),
             ("adult", "noise_id (random, 3000 levels)", 3000)]
    for name, column, noise_levels in cases:
        schema, problem, X, y = load(name, max_rows)
        if noise_levels:
            codes = pd.Series(np.random.default_rng(0).integers(0, noise_levels, len(X)))
        else:
            codes = category_text(X[column])
        cv = StratifiedKFold(5, shuffle=True, random_state=0)
        naive = naive_target_encoding(codes, y).reshape(-1, 1)
        naive_auc = roc_auc_score(y, cross_val_predict(LogisticRegression(), naive, y, cv=cv,
                                                       method="predict_proba")[:, 1])
        pipe = Pipeline([("enc", CategoryEncoder(one_hot_max=15, seed=0)),
                         ("model", LogisticRegression())])
        frame = pd.DataFrame({"c": codes.astype(str)})
        honest = roc_auc_score(y, cross_val_predict(pipe, frame, y, cv=cv,
                                                    method="predict_proba")[:, 1])
        rows.append({"dataset": name, "column": column, "levels": int(codes.nunique()),
                     "naive_cv_auc": round(float(naive_auc), 4),
                     "fullcycle_oof_cv_auc": round(float(honest), 4),
                     "gap": round(float(naive_auc - honest), 4)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(TABLES))
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--max-rows", type=int, default=20_000)
    parser.add_argument("--variants", default="baseline,fullcycle")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" /
                                             "preprocessing.json"))
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    results = []
    for name in args.datasets.split(","):
        schema, problem, X, y = load(name, args.max_rows)
        for model_name in ("lightgbm", "linear"):
            row = {"dataset": name, "rows": len(X), "cols": X.shape[1], "task": problem.task,
                   "metric": METRIC[problem.task], "model": model_name}
            for variant in args.variants.split(","):
                r = cross_validate(variant, model_name, schema, problem, X, y, args.folds)
                row[variant] = round(r["score"], 4)
                row[f"{variant}_s"] = round(r["seconds"], 1)
            results.append(row)
            print(json.dumps(row), flush=True)
    table = pd.DataFrame(results)
    leak = pd.DataFrame(leakage_rows(args.max_rows))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"cv": results, "leakage": leak.to_dict("records")},
                                         indent=1))
    print(markdown(table))
    print()
    print(markdown(leak))


def markdown(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |",
             "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
