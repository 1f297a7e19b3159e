"""Improvement on out-of-fold predictions: the Caruana ensemble is never worse than the best
single model and respects the prediction-cost cap; calibration, threshold tuning and the
diagnosis do what they say. Synthetic OOF predictions: no model fits, so these are instant."""

from __future__ import annotations

import pickle
from types import SimpleNamespace

import numpy as np
import pytest

from fullcycle.errors import ConfigError
from fullcycle.problem import Problem
from fullcycle.tasks.tabular.search.calibrate import calibrate, tune_threshold
from fullcycle.tasks.tabular.search.diagnose import baseline_score, diagnose
from fullcycle.tasks.tabular.search.ensemble import (
    EnsembleModel,
    _score,
    blend,
    caruana,
    stacking_oof,
)
from fullcycle.tasks.tabular.search.search import score_predictions

BINARY = Problem("binary", "y", "roc_auc", ["no", "yes"])
MULTI = Problem("multiclass", "y", "log_loss", ["a", "b", "c"])
REG = Problem("regression", "y", "rmse")


def _noisy_binary(rng: np.random.Generator, y: np.ndarray, noise: float) -> np.ndarray:
    p = 1 / (1 + np.exp(-(2 * y - 1) * 1.5 - rng.normal(scale=noise, size=len(y))))
    return np.column_stack([1 - p, p])


def _pool(problem: Problem, seed: int, n: int = 400, k: int = 6):
    rng = np.random.default_rng(seed)
    if problem.task == "regression":
        y = rng.normal(size=n)
        oofs = [y + rng.normal(scale=s, size=n) for s in np.linspace(1.0, 1.3, k)]
    elif problem.task == "binary":
        y = rng.integers(0, 2, n)
        oofs = [_noisy_binary(rng, y, s) for s in np.linspace(2.0, 2.5, k)]
    else:
        y = rng.integers(0, 3, n)
        oofs = []
        for s in np.linspace(1.0, 1.3, k):
            logits = np.eye(3)[y] * 2 + rng.normal(scale=s, size=(n, 3))
            e = np.exp(logits)
            oofs.append(e / e.sum(axis=1, keepdims=True))
    sign = problem.scorer.sign()
    oofs.sort(key=lambda o: -sign * score_predictions(problem, y, o))
    return y, oofs


@pytest.mark.parametrize("problem", [BINARY, MULTI, REG], ids=lambda p: p.task)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ensemble_is_never_worse_than_the_best_single_model(problem: Problem, seed: int) -> None:
    y, oofs = _pool(problem, seed)
    selection = caruana(oofs, y, problem)
    best_single = problem.scorer.sign() * score_predictions(problem, y, oofs[0])
    blended = problem.scorer.sign() * score_predictions(problem, y, blend(oofs, selection))
    assert blended >= best_single - 1e-12
    assert blended == pytest.approx(selection.score)
    assert sum(selection.weights) == pytest.approx(1.0)
    # independent models with comparable skill: averaging them should actually help
    assert len(selection.members) > 1 and blended > best_single


def test_fast_scores_agree_with_the_metric_registry() -> None:
    for problem in (BINARY, MULTI, REG):
        y, oofs = _pool(problem, 5)
        assert _score(problem, y, oofs[1]) == pytest.approx(
            problem.scorer.sign() * score_predictions(problem, y, oofs[1]))


def test_prediction_cost_cap_keeps_the_ensemble_small() -> None:
    y, oofs = _pool(BINARY, 3)
    costs = [0.4, 0.3, 0.3, 0.2, 0.2, 0.2]
    free = caruana(oofs, y, BINARY, costs=costs)
    capped = caruana(oofs, y, BINARY, costs=costs, max_cost=0.75)
    assert sum(costs[i] for i in free.members) > 0.75  # the cap binds
    assert sum(costs[i] for i in capped.members) <= 0.75
    assert capped.score >= BINARY.scorer.sign() * score_predictions(BINARY, y, oofs[0])


def test_stacker_oof_and_ensemble_model_predict() -> None:
    y, oofs = _pool(MULTI, 4, k=3)
    folds = [(np.arange(400)[np.arange(400) % 4 != f], np.arange(400)[np.arange(400) % 4 == f])
             for f in range(4)]
    stacked = stacking_oof(oofs, y, MULTI, folds, seed=0)
    assert stacked.shape == (400, 3)
    np.testing.assert_allclose(stacked.sum(axis=1), 1.0)

    class Fixed:  # a fitted "pipeline" that returns given probabilities
        def __init__(self, proba: np.ndarray) -> None:
            self.proba = proba

        def predict_proba(self, X: np.ndarray) -> np.ndarray:
            return self.proba[X[:, 0].astype(int)]

    members = [Fixed(o) for o in oofs]
    model = EnsembleModel(members=members, weights=[0.5, 0.25, 0.25], names=["a", "b", "c"],
                          task="multiclass")
    X = np.arange(400).reshape(-1, 1)
    expected = 0.5 * oofs[0] + 0.25 * oofs[1] + 0.25 * oofs[2]
    np.testing.assert_allclose(model.predict_proba(X), expected)
    assert (model.predict(X) == expected.argmax(axis=1)).all()
    assert model.describe()[0] == {"model": "a", "weight": 0.5}


def test_ensemble_model_pickles() -> None:
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 3)), rng.normal(size=50)
    members = [Ridge(alpha=a).fit(X, y) for a in (0.1, 10.0)]
    model = EnsembleModel(members=members, weights=[0.5, 0.5], names=["r1", "r2"],
                          task="regression")
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(again.predict(X), model.predict(X))
    with pytest.raises(AttributeError):
        model.predict_proba(X)


def test_temperature_scaling_fixes_overconfidence_and_keeps_ranking() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    logit = (2 * y - 1) * 1.0 + rng.normal(scale=1.5, size=2000)
    p = 1 / (1 + np.exp(-4 * logit))  # far too confident
    proba = np.column_stack([1 - p, p])
    folds = [(np.arange(2000)[np.arange(2000) % 5 != f], np.arange(2000)[np.arange(2000) % 5 == f])
             for f in range(5)]
    calibrator, record = calibrate("auto", proba, y, folds)
    assert calibrator is not None and record["method"] == "temperature"
    assert record["oof_log_loss_after"] < record["oof_log_loss_before"]
    fixed = calibrator.transform(proba)
    assert np.argsort(fixed[:, 1], kind="stable").tolist() == \
        np.argsort(proba[:, 1], kind="stable").tolist()
    # already calibrated probabilities are left alone by auto
    fair = 1 / (1 + np.exp(-logit * 0.9))
    none, rec = calibrate("auto", np.column_stack([1 - fair, fair]), y, folds)
    assert none is None or rec["oof_log_loss_after"] < rec["oof_log_loss_before"]
    for method in ("sigmoid", "isotonic"):
        cal, rec = calibrate(method, proba, y, folds)
        assert cal is not None and rec["oof_log_loss_after"] < rec["oof_log_loss_before"]
    with pytest.raises(ConfigError, match="binary"):
        calibrate("sigmoid", np.full((10, 3), 1 / 3), np.zeros(10, dtype=int), folds[:1])


def test_threshold_tuning_for_f1_and_for_costs() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random(3000) < 0.1).astype(int)  # imbalanced
    p1 = np.clip(0.08 + 0.25 * y + rng.normal(scale=0.1, size=3000), 0, 1)
    assert tune_threshold("auto", p1, y, None) is None
    f1 = tune_threshold("f1", p1, y, None)
    assert f1["threshold"] < 0.5 and f1["oof_f1"] > f1["oof_f1_at_0.5"]
    costly_misses = tune_threshold("auto", p1, y, [[0, 1], [20, 0]])
    assert costly_misses["objective"] == "cost"
    assert costly_misses["oof_cost_per_row"] < costly_misses["oof_cost_per_row_at_0.5"]
    costly_alarms = tune_threshold("cost", p1, y, [[0, 20], [1, 0]])
    assert costly_alarms["threshold"] > costly_misses["threshold"]
    with pytest.raises(ConfigError, match="2x2"):
        tune_threshold("cost", p1, y, [[0, 1, 2]])


def test_diagnosis_in_plain_words() -> None:
    y = np.array([0, 1] * 50)
    base = baseline_score(BINARY, y)
    assert base == pytest.approx(0.5)
    overfit = SimpleNamespace(name="knn", score=0.80, std=0.01, train_score=0.99,
                              fold_scores=[0.8])
    lines = diagnose(BINARY, overfit, base, curve=(0.70, 0.80))
    assert lines[0].startswith("Overfitting: knn scores roc_auc 0.9900")
    assert any("Learning curve still rising" in line for line in lines)
    weak = SimpleNamespace(name="linear", score=0.505, std=0.002, train_score=0.51,
                           fold_scores=[0.505])
    text = " ".join(diagnose(BINARY, weak, base))
    assert "No sign of overfitting" in text and "Underfitting" in text
    shaky = SimpleNamespace(name="lgbm", score=3.0, std=0.6, train_score=2.0, fold_scores=[3.0])
    assert any("Unstable across folds" in line for line in diagnose(REG, shaky, 5.0))
