"""Every model family fits and predicts on a tiny frame; unknown names list the valid ones."""

from __future__ import annotations

import numpy as np
import pytest
from automl_support import tiny_frame

from fullcycle.config import Config
from fullcycle.data.dataset import Dataset
from fullcycle.errors import ConfigError
from fullcycle.problem import define_problem
from fullcycle.tasks.tabular.search.families import FAMILIES, FamilyModel, get_family, refit_params
from fullcycle.tasks.tabular.search.search import Search, make_pipeline
from fullcycle.tasks.tabular.search.train import train_model

# Every family on at least one task and every task on several families (kept small: the
# machine is shared and each fit costs a little).
CASES = [("linear", "binary"), ("linear", "multiclass"), ("linear", "regression"),
         ("knn", "multiclass"), ("knn", "regression"), ("random_forest", "binary"),
         ("extra_trees", "multiclass"), ("extra_trees", "regression"), ("lightgbm", "binary"),
         ("lightgbm", "regression"), ("xgboost", "multiclass"), ("xgboost", "regression"),
         ("catboost", "binary"), ("mlp", "binary"), ("mlp", "regression")]


def test_cases_cover_every_family_and_task() -> None:
    assert {n for n, _ in CASES} == set(FAMILIES)
    assert {t for _, t in CASES} == {"binary", "multiclass", "regression"}


@pytest.mark.parametrize(("name", "task"), CASES)
def test_family_fits_and_predicts(name: str, task: str) -> None:
    frame = tiny_frame(task)
    dataset = Dataset.from_frame(frame, target="y")
    problem = define_problem(dataset.target, "y")
    assert problem.task == task
    y = problem.encode_target(dataset.target)
    X = dataset.frame[[c.name for c in dataset.schema.features]]
    family = get_family(name)
    pipe = make_pipeline(dataset.schema, family, task, family.defaults, 0).fit(X, y)
    if task == "regression":
        pred = pipe.predict(X.head(7))
        assert pred.shape == (7,) and np.isfinite(pred).all()
        assert np.corrcoef(pipe.predict(X), y)[0, 1] > 0.5  # it learned something
    else:
        proba = pipe.predict_proba(X.head(7))
        assert proba.shape == (7, len(problem.labels))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    model = pipe.named_steps["model"]
    if family.boosting:  # early stopping ran on an inner split and found a round count
        assert model.best_iteration_ and model.best_iteration_ < 2000


def test_unknown_family_lists_valid_ones() -> None:
    with pytest.raises(ConfigError) as err:
        get_family("lightgmb")
    message = str(err.value)
    assert "lightgmb" in message and "lightgbm" in message
    for name in FAMILIES:
        assert name in message
    frame = tiny_frame("binary", n=60)
    dataset = Dataset.from_frame(frame, target="y")
    problem = define_problem(dataset.target, "y")
    with pytest.raises(ConfigError, match="unknown model family 'forest'"):
        Search(schema=dataset.schema, problem=problem, families=["linear", "forest"], folds=3,
               seed=0, time_budget=5)


def test_eight_families_are_registered() -> None:
    assert set(FAMILIES) == {"linear", "knn", "random_forest", "extra_trees", "lightgbm",
                             "xgboost", "catboost", "mlp"}
    for family in FAMILIES.values():
        assert family.cost >= 1 and family.portfolio and family.description


def test_refit_uses_the_rounds_early_stopping_found() -> None:
    lgb = get_family("lightgbm")
    assert refit_params(lgb, {"learning_rate": 0.1}, [100, 120, None])["n_estimators"] == 121
    assert refit_params(get_family("linear"), {"C": 2.0}, [None]) == {"C": 2.0}
    assert refit_params(get_family("catboost"), {}, [50])["iterations"] == 55


def test_balanced_class_weight_shifts_predictions_to_the_minority() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] + rng.normal(scale=1.0, size=300) > 1.6).astype(int)  # ~10% positive
    plain = FamilyModel(family="linear", task="binary", params={}).fit(X, y)
    balanced = FamilyModel(family="linear", task="binary", params={},
                           class_weight="balanced").fit(X, y)
    assert balanced.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean() + 0.1


@pytest.mark.parametrize("name", ["lightgbm", "xgboost", "catboost"])
def test_boosting_stops_at_the_deadline(name: str) -> None:
    import time

    from fullcycle.tasks.tabular.search.families import OutOfTime

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] + rng.normal(size=300) > 0).astype(int)
    late = FamilyModel(family=name, task="binary", params={"learning_rate": 0.001},
                       deadline=time.perf_counter() + 0.05)
    with pytest.raises(OutOfTime):
        late.fit(X, y)
    # without a deadline the same configuration trains to the end
    fitted = FamilyModel(family=name, task="binary", params={"learning_rate": 0.3}).fit(X, y)
    assert fitted.predict_proba(X).shape == (300, 2)


def test_xgboost_takes_columns_whose_names_it_would_refuse() -> None:
    """XGBoost refuses feature names with [, ] or < (it failed on two benchmark tables)."""
    frame = tiny_frame("binary").rename(columns={"x1": "size<10 [m]", "colour": "colour<"})
    config = Config.from_dict({"seed": 0, "problem": {"task": "binary"},
                               "train": {"families": ["xgboost"], "max_trials": 1}})
    out = train_model(Dataset.from_frame(frame, target="y"), config)
    assert not out.search.failures and out.search.best.family == "xgboost"
