"""Model families, registered by key. Each family owns its estimator, its default
configuration, its search space and a cost hint; unknown keys list the valid ones."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fullcycle.errors import ConfigError, did_you_mean

Params = dict[str, Any]


@dataclass(frozen=True)
class Family:
    name: str
    make: Callable[[str, Params, int], Any]  # (task, params, seed) -> estimator
    defaults: Params
    space: Callable[[Any], Params]  # optuna trial -> params
    cost: int  # relative cost hint: cheaper families are tried first
    needs_scaling: bool = False


FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    FAMILIES[family.name] = family
    return family


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        raise ConfigError(f"unknown model family {name!r} in train.families."
                          + did_you_mean(name, FAMILIES))
    return FAMILIES[name]


def _linear(task: str, params: Params, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression, Ridge

    if task == "regression":
        return Ridge(alpha=params.get("alpha", 1.0), random_state=seed)
    return LogisticRegression(C=params.get("C", 1.0), max_iter=2000, random_state=seed)


register(Family(
    name="linear", make=_linear, defaults={}, cost=1, needs_scaling=True,
    space=lambda t: {"C": t.suggest_float("C", 1e-3, 100, log=True),
                     "alpha": t.suggest_float("alpha", 1e-3, 100, log=True)},
))


def _forest(extra: bool) -> Callable[[str, Params, int], Any]:
    def make(task: str, params: Params, seed: int) -> Any:
        from sklearn import ensemble

        kind = ("ExtraTrees" if extra else "RandomForest") + (
            "Regressor" if task == "regression" else "Classifier")
        return getattr(ensemble, kind)(n_jobs=-1, random_state=seed, **{
            "n_estimators": 300, "min_samples_leaf": 1, "max_features": "sqrt" if task != "regression" else 0.5,
            **params})

    return make


def _forest_space(t: Any) -> Params:
    return {"min_samples_leaf": t.suggest_int("min_samples_leaf", 1, 20, log=True),
            "max_features": t.suggest_float("max_features", 0.1, 1.0)}


register(Family(name="random_forest", make=_forest(False), defaults={}, cost=3, space=_forest_space))
register(Family(name="extra_trees", make=_forest(True), defaults={}, cost=2, space=_forest_space))


def _lightgbm(task: str, params: Params, seed: int) -> Any:
    import lightgbm as lgb

    cls = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier
    return cls(random_state=seed, n_jobs=2, verbose=-1, deterministic=True, force_col_wise=True,
               **{"n_estimators": 300, "learning_rate": 0.05, "num_leaves": 31, **params})


register(Family(
    name="lightgbm", make=_lightgbm, defaults={}, cost=2,
    space=lambda t: {
        "n_estimators": t.suggest_int("n_estimators", 50, 1000, log=True),
        "learning_rate": t.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "num_leaves": t.suggest_int("num_leaves", 4, 128, log=True),
        "min_child_samples": t.suggest_int("min_child_samples", 5, 100, log=True),
        "subsample": t.suggest_float("subsample", 0.5, 1.0),
        "subsample_freq": 1,
        "colsample_bytree": t.suggest_float("colsample_bytree", 0.3, 1.0),
        "reg_lambda": t.suggest_float("reg_lambda", 1e-3, 10, log=True),
    },
))
