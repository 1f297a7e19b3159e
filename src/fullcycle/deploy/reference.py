"""The serving reference model: the pipeline the deployment issue measures against, built from
plain scikit-learn parts (contract coercion, median impute + indicator, one-hot, scale,
LightGBM or logistic regression) and registered like any trained model.

Used by `bench/serving.py` and the serving tests, so that speed and hot-swap are measured on a
known pipeline independent of what the AutoML search picks on a given day."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fullcycle.config import Config
from fullcycle.data.dataset import Dataset
from fullcycle.features.preprocess import SchemaCoercer
from fullcycle.model import Model
from fullcycle.monitor.reference import build_reference
from fullcycle.problem import define_problem
from fullcycle.registry.open import open_registry
from fullcycle.workspace import Workspace


def reference_pipeline(schema: Any, estimator: str = "lightgbm", seed: int = 0) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = schema.by_role("numeric") + schema.by_role("boolean")
    categorical = schema.by_role("categorical")
    parts = [("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True,
                                                 keep_empty_features=True), StandardScaler()),
              numeric),
             ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="__missing__",
                                                 keep_empty_features=True),
                                   OneHotEncoder(handle_unknown="infrequent_if_exist",
                                                 min_frequency=5, max_categories=50,
                                                 sparse_output=False)), categorical)]
    pre = Pipeline([("coerce", SchemaCoercer(schema=schema.to_dict())),
                    ("columns", ColumnTransformer([p for p in parts if p[2]]))])
    if estimator == "lightgbm":
        import lightgbm as lgb

        model: Any = lgb.LGBMClassifier(n_estimators=200, learning_rate=0.05, num_leaves=31,
                                        random_state=seed, n_jobs=1, verbose=-1)
    else:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(max_iter=2000, random_state=seed)
    return Pipeline([("preprocess", pre), ("model", model)])


def build_reference_model(source: str, target: str, *, roles: dict[str, str] | None = None,
                          estimator: str = "lightgbm", seed: int = 0) -> Model:
    """Fit the reference pipeline on a classification dataset (all rows)."""
    data = Dataset.read(source, target=target, roles=roles)
    problem = define_problem(data.target, target)
    features = data.frame[[c.name for c in data.schema.features]]
    pipeline = reference_pipeline(data.schema, estimator, seed)
    pipeline.fit(features, problem.encode_target(data.target))
    example = {k: (None if v != v else v.item() if hasattr(v, "item") else v)
               for k, v in features.iloc[0].items()}
    model = Model.for_table(pipeline, problem, data.schema, input_example=example,
                            reference=build_reference(features, data.schema))
    model.card.training.family = estimator
    model.card.training.best_candidate = f"reference-{estimator}"
    model.card.provenance.data_fingerprint = data.fingerprint
    model.card.provenance.trained_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    return model


def register_reference(workspace: str | Path, model: Model, *, alias: str | None = "champion",
                       name: str = "reference", config: Config | None = None) -> str:
    """Save and register `model` in a workspace's registry; returns the version."""
    ws = Workspace.at(workspace)
    cfg = ws.load_config(config)
    if not ws.config_path.exists():
        ws.config_path.write_text(cfg.to_yaml())
    folder = model.save(ws.models / f"{name}-{time.time_ns()}")
    return open_registry(ws, cfg).register(
        folder, params={"family": model.card.training.family}, metrics={},
        tags={"source": "fullcycle reference"}, alias=alias, reason="serving reference model")
