"""The serving reference model: the pipeline the deployment issue measures against, built from
plain scikit-learn parts (contract coercion, median impute + indicator, one-hot, scale,
LightGBM or logistic regression) and registered like any trained model.

Used by `bench/serving.py` and the serving tests, so that speed and hot-swap are measured on a
known pipeline independent of what the AutoML search picks on a given day."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fullcycle.model import Model


def reference_pipeline(schema: Any, estimator: str = "lightgbm", seed: int = 0) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from fullcycle.features.preprocess import SchemaCoercer

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
    from fullcycle.data.dataset import Dataset
    from fullcycle.explore.profile import profile_frame
    from fullcycle.problem import define_problem

    data = Dataset.read(source, target=target, roles=roles)
    problem = define_problem(data.target, target)
    features = data.frame[[c.name for c in data.schema.features]]
    pipeline = reference_pipeline(data.schema, estimator, seed)
    pipeline.fit(features, problem.encode_target(data.target))
    example = {k: (None if v != v else v.item() if hasattr(v, "item") else v)
               for k, v in features.iloc[0].items()}
    return Model(pipeline=pipeline, problem=problem, schema=data.schema,
                 reference=profile_frame(features, data.schema),
                 metadata={"family": estimator, "best_candidate": f"reference-{estimator}",
                           "input_example": example, "data_fingerprint": data.fingerprint,
                           "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})


def register_reference(workspace: str | Path, model: Model, *, alias: str | None = "champion",
                       name: str = "reference") -> str:
    """Save and register `model` in a workspace's registry; returns the version."""
    from fullcycle.config import Config
    from fullcycle.project import Project

    ws = Path(workspace)
    project = Project.open(ws) if (ws / "fullcycle.yaml").exists() else Project(Config(), ws)
    if not project.workspace.config_path.exists():
        project.save_config()
    folder = model.save(project.workspace.models / f"{name}-{time.time_ns()}")
    return project.registry.register(folder, params={"family": model.metadata.get("family")},
                                     metrics={}, tags={"source": "fullcycle reference"},
                                     alias=alias, reason="serving reference model")
