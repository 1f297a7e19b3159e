"""Splitting strategies, their matching CV splitters, and the representativeness check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fullcycle.errors import ConfigError, DataError
from fullcycle.features import adversarial_validation, holdout_split, make_splitter
from fullcycle.features.split import resolve_strategy


@pytest.fixture()
def frame() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 300
    when = pd.Series(pd.date_range("2023-01-01", periods=n, freq="D")).sample(frac=1,
                                                                              random_state=1)
    X = pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(list("abc"), n),
                      "when": when.to_numpy()})
    y = (rng.random(n) < 0.2).astype(int)
    groups = rng.integers(0, 40, n)
    return X, y, groups


def test_auto_strategy_and_errors() -> None:
    assert resolve_strategy(True, "auto") == "stratified"
    assert resolve_strategy(False, "auto") == "random"
    assert resolve_strategy(False, "auto", groups=[1]) == "group"
    assert resolve_strategy(True, "auto", groups=[1], time=[1]) == "time"
    with pytest.raises(ConfigError, match="group_column"):
        resolve_strategy(True, "group")
    with pytest.raises(ConfigError, match="Did you mean 'random'"):
        resolve_strategy(True, "randon")
    with pytest.raises(ConfigError, match="classification"):
        resolve_strategy(False, "stratified")


def test_holdouts(frame: tuple) -> None:
    X, y, groups = frame
    train, test = holdout_split(y, stratify=True, strategy="time", test_size=0.2,
                                time=X["when"])
    assert X["when"].iloc[train].max() < X["when"].iloc[test].min() and len(test) == 60
    train, test = holdout_split(y, stratify=True, strategy="group", groups=groups, seed=3)
    assert not set(groups[train]) & set(groups[test])
    train, test = holdout_split(y, stratify=True, test_size=0.25, seed=3)
    assert abs(y[test].mean() - y.mean()) < 0.02 and len(set(train) | set(test)) == len(y)
    with pytest.raises(DataError, match="missing"):
        holdout_split(y, stratify=True, strategy="time", time=[None] * len(y))


def test_cv_splitters(frame: tuple) -> None:
    X, y, groups = frame
    for fit, val in make_splitter(True, "group", 5, 0, groups=groups).split(X, y):
        assert not set(groups[fit]) & set(groups[val])
    folds = list(make_splitter(False, "time", 4, 0, time=X["when"]).split(X, y))
    assert len(folds) == 4
    for fit, val in folds:
        assert X["when"].iloc[fit].max() < X["when"].iloc[val].min()
    strat = list(make_splitter(True, "stratified", 3, 0).split(X, y))
    assert all(abs(y[v].mean() - y.mean()) < 0.03 for _, v in strat)
    with pytest.raises(DataError, match="groups"):
        make_splitter(True, "group", 5, 0, groups=[1, 2] * 150)


def test_adversarial_validation_flags_a_shifted_split(frame: tuple) -> None:
    X, y, _ = frame
    train, test = holdout_split(y, stratify=True, seed=0)
    fair = adversarial_validation(X.iloc[train][["x", "c"]], X.iloc[test][["x", "c"]])
    assert fair["representative"] and fair["auc"] < 0.6
    train, test = holdout_split(y, stratify=True, strategy="time", time=X["when"])
    shifted = adversarial_validation(X.iloc[train], X.iloc[test])
    assert not shifted["representative"] and shifted["auc"] > 0.9
    assert shifted["features"][0]["feature"] == "when" and shifted["features"][0]["test"] == "ks"
