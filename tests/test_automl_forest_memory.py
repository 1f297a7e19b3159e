"""Forests are grown in chunks: the same trees as one fit, and no more trees once they hold
FOREST_BYTES (full-depth trees grow with the rows: unbounded, a 1M-row train peaked at 9.7 GB)."""

from __future__ import annotations

import numpy as np
import pytest

from fullcycle.tasks.tabular.search import families
from fullcycle.tasks.tabular.search.families import FamilyModel, forest_bytes


def _data(n: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 6))
    y = ((X[:, 0] + rng.normal(size=n)) > 0).astype(int)  # noisy: deep trees, many leaves
    return X, y


@pytest.mark.parametrize("family", ["random_forest", "extra_trees"])
def test_chunked_forest_is_the_forest_of_one_fit(family: str) -> None:
    from sklearn import ensemble

    X, y = _data()
    model = FamilyModel(family=family, task="binary", params={"n_estimators": 70}).fit(X, y)
    kind = "RandomForestClassifier" if family == "random_forest" else "ExtraTreesClassifier"
    one = getattr(ensemble, kind)(n_estimators=70, random_state=0, n_jobs=1,
                                  max_features="sqrt").fit(X, y)
    assert len(model.estimator_.estimators_) == 70
    np.testing.assert_array_equal(model.predict_proba(X), one.predict_proba(X))


def test_a_forest_stops_growing_at_its_memory_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = _data()
    full = FamilyModel(family="extra_trees", task="binary",
                       params={"n_estimators": 200}).fit(X, y)
    per_tree = forest_bytes(full.estimator_) / 200
    monkeypatch.setattr(families, "FOREST_BYTES", per_tree * 35)  # room for ~35 trees
    capped = FamilyModel(family="extra_trees", task="binary",
                         params={"n_estimators": 200}).fit(X, y)
    grown = len(capped.estimator_.estimators_)
    assert 25 <= grown <= 40 and forest_bytes(capped.estimator_) <= per_tree * 35 * 1.2
    assert capped.predict_proba(X).shape == (len(X), 2)  # a usable, smaller forest
