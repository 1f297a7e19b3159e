"""Targets of every shape train: rare classes (fewer rows than folds, one row), many classes,
integer-coded classes, case/whitespace variants of labels, heavy-tailed regression targets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fullcycle.config import Config
from fullcycle.data.dataset import Dataset
from fullcycle.metrics import get_metric
from fullcycle.problem import define_problem, guess_task, target_notes
from fullcycle.tasks.tabular.search.families import FamilyModel, split_keeping_rare
from fullcycle.tasks.tabular.search.train import train_model


def _classes(sizes: dict[str, int], seed: int = 0) -> pd.DataFrame:
    """One informative numeric column per class mean, plus noise and a categorical."""
    rng = np.random.default_rng(seed)
    labels = np.concatenate([[k] * n for k, n in sizes.items()])
    rng.shuffle(labels)
    codes = pd.Series(labels).astype("category").cat.codes.to_numpy()
    return pd.DataFrame({"x1": codes + rng.normal(scale=0.7, size=len(labels)),
                         "x2": rng.normal(size=len(labels)),
                         "colour": rng.choice(["red", "green"], size=len(labels)),
                         "y": labels})


def _train(frame: pd.DataFrame, families: list[str], trials: int = 3, **problem: object):
    config = Config.from_dict({"seed": 3, "problem": problem,
                               "train": {"families": families, "max_trials": trials}})
    return train_model(Dataset.from_frame(frame, target="y"), config)


@pytest.mark.parametrize("family", ["linear", "lightgbm", "xgboost"])
def test_a_class_with_two_rows_trains_every_family(family: str) -> None:
    # the crash: "number of classes in labels is different from that in y_prob"
    frame = _classes({"a": 120, "b": 90, "c": 60, "rare": 2})
    out = _train(frame, [family], trials=1)
    assert out.search.candidates, out.search.failures
    assert not out.search.failures
    assert out.search.best.oof.shape[1] == 4
    proba = out.model.predict_scores(frame.drop(columns="y").head(5))
    assert proba.shape == (5, 4)
    assert len(out.search.folds) == 5  # folds were not cut to the rare class's row count
    assert any("rare classes 'rare' (2 rows)" in line for line in out.diagnosis)


def test_a_class_of_one_row_stays_in_training_and_gets_a_column() -> None:
    frame = _classes({"a": 100, "b": 100, "once": 1})
    out = _train(frame, ["lightgbm", "linear"], trials=3)
    once = int(np.flatnonzero(frame["y"] == "once")[0])
    assert once in out.train_index  # never held out, so some model saw it
    assert not out.search.failures
    assert out.model.predict_scores(frame.drop(columns="y").head(3)).shape == (3, 3)


def test_family_model_gives_every_class_a_column_when_a_fold_lacks_one() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = np.array([0, 1] * 30)  # class 2 of 3 never appears in these training rows
    model = FamilyModel(family="xgboost", task="multiclass", n_classes=3).fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (60, 3)
    assert np.all(proba[:, 2] == 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert set(model.predict(X)) <= {0, 1}


def test_metrics_score_a_fold_without_some_class() -> None:
    y = np.array([0, 0, 1, 1, 2, 2])
    proba = np.full((6, 4), 0.25)
    proba[np.arange(6), y] = 0.7
    labels = np.arange(4)  # class 3 is absent from this fold
    assert get_metric("log_loss")(y, proba / proba.sum(1, keepdims=True), labels) > 0
    assert get_metric("roc_auc")(y, proba, labels) == pytest.approx(1.0)


def test_split_keeping_rare_never_holds_out_a_lone_row() -> None:
    y = np.array([0] * 50 + [1] * 30 + [2])
    fit, held = split_keeping_rare(np.arange(len(y)), y, 0.2, 0, stratify=True)
    assert 80 in fit and 80 not in held
    assert set(y[held]) == {0, 1}
    assert len(np.intersect1d(fit, held)) == 0 and len(fit) + len(held) == len(y)


def test_sixty_integer_coded_classes() -> None:
    frame = _classes({str(i): 8 for i in range(60)})
    frame["y"] = frame["y"].astype(int)
    out = _train(frame, ["linear", "lightgbm"], trials=2, task="multiclass")
    assert len(out.model.problem.labels) == 60
    assert out.search.best.oof.shape[1] == 60
    assert np.isfinite(out.test_metrics["log_loss"])


def test_integer_class_codes_are_detected_and_explained() -> None:
    rng = np.random.default_rng(1)
    letters = pd.Series(rng.integers(1, 27, size=5000))  # 26 classes coded 1..26
    guess = guess_task(letters)
    assert guess.task == "multiclass"
    assert "look like class codes" in guess.evidence and "regression" in guess.hint
    counts = pd.Series(np.round(rng.gamma(3, 3, size=5000)) + 1)  # a skewed count: a quantity
    guess = guess_task(counts)
    assert guess.task == "regression"
    assert "problem.task: multiclass" in guess.hint
    notes = target_notes(letters, define_problem(letters, "letter"))
    assert notes[0].startswith("task multiclass (detected: 26 distinct whole numbers")


def test_labels_with_spaces_and_case_variants_are_one_class() -> None:
    frame = _classes({"Yes": 100, "No": 100})
    frame.loc[frame.index[:4], "y"] = [" yes", "YES ", "Yes ", " No"]
    problem = define_problem(frame["y"], "y")
    assert problem.task == "binary" and problem.labels == ["No", "Yes"]
    assert set(problem.encode_target(frame["y"])) == {0, 1}
    out = _train(frame, ["linear"], trials=1)
    assert any("read as class 'Yes'" in line for line in out.diagnosis)
    letters = pd.Series(["A", "a", "b"] * 30)  # equally used: two real classes
    assert len(define_problem(letters, "t").labels) == 3


def test_heavy_tailed_regression_target() -> None:
    rng = np.random.default_rng(2)
    n = 400
    x = rng.normal(size=n)
    y = np.exp(2.0 * x + rng.normal(scale=0.5, size=n))
    y[:3] = [1e9, 5e8, 2e9]  # a few huge values
    frame = pd.DataFrame({"x": x, "z": rng.normal(size=n), "y": y})
    out = _train(frame, ["linear", "lightgbm"], trials=3)
    assert not out.search.failures
    pred = out.model.predict_scores(frame.drop(columns="y"))
    assert np.all(np.isfinite(pred))
    assert out.model.problem.task == "regression"


@pytest.mark.parametrize("family", ["lightgbm", "xgboost", "extra_trees"])
def test_a_fit_past_its_time_limit_keeps_the_rounds_so_far(family: str) -> None:
    import time

    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 3))
    y = (X[:, 0] + rng.normal(scale=0.3, size=300) > 0).astype(int)
    model = FamilyModel(family=family, task="binary", n_classes=2,
                        time_limit=time.perf_counter() - 1.0).fit(X, y)
    assert model.predict_proba(X).shape == (300, 2)  # a usable model, not an error
    full = FamilyModel(family=family, task="binary", n_classes=2).fit(X, y)
    if family == "extra_trees":
        assert len(model.estimator_.estimators_) < len(full.estimator_.estimators_)
    else:
        assert (model.best_iteration_ or 0) < (full.best_iteration_ or 10**6)


def test_the_default_gradient_boosted_model_is_tried_first() -> None:
    from fullcycle.tasks.tabular.search.families import get_family, portfolio

    order = portfolio([get_family(f) for f in ("linear", "knn", "lightgbm", "extra_trees")])
    assert (order[0][0].name, order[0][1]) == ("lightgbm", 0)
    frame = _classes({"a": 60, "b": 60})
    out = _train(frame, ["linear", "lightgbm"], trials=2)
    assert out.search.candidates[0].family == "lightgbm"
