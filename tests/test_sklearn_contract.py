"""A trained fullcycle model under scikit-learn's estimator contract (`model.as_estimator()`):
labels from predict, predict_proba in classes_ order, scorers, permutation_importance,
clone + cross_val_score (refits), FrozenEstimator and CalibratedClassifierCV, and regression."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.inspection import permutation_importance
from sklearn.metrics import get_scorer, roc_auc_score
from sklearn.model_selection import cross_val_score
from sklearn.utils.validation import check_is_fitted

from fullcycle import Config, Project

DATA = Path(__file__).parent / "data" / "churn_small.csv"


def _train(root: Path, families: list[str], trials: int, **data: str) -> object:
    config = Config.from_dict({
        "project": "skl", "seed": 5, "data": {"source": str(DATA), "target": "Churn", **data},
        "split": {"cv_folds": 3}, "train": {"max_trials": trials, "families": families},
    })
    project = Project(config, root)
    project.train()
    return project.load_model("champion")


@pytest.fixture(scope="module")
def frame() -> tuple[pd.DataFrame, np.ndarray]:
    raw = pd.read_csv(DATA)
    return raw.drop(columns=["Churn"]), raw["Churn"].to_numpy(dtype=object)


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> object:
    # linear + lightgbm, three candidates: the final model may be an ensemble
    return _train(tmp_path_factory.mktemp("skl"), ["linear", "lightgbm"], 3).as_estimator()


def test_labels_probabilities_and_fitted_attributes(classifier, frame) -> None:
    X, y = frame
    check_is_fitted(classifier)
    assert list(classifier.classes_) == ["No", "Yes"]
    assert list(classifier.feature_names_in_)[:2] and classifier.n_features_in_ >= 18
    labels = classifier.predict(X)
    assert set(labels) <= {"No", "Yes"} and len(labels) == len(X)
    proba = classifier.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.allclose(proba.sum(axis=1), 1)
    own = classifier.model.predict(X)
    assert (own["prediction"].to_numpy() == labels).all()
    assert np.allclose(own["proba_Yes"].to_numpy(), proba[:, 1])


def test_scorers_and_permutation_importance(classifier, frame) -> None:
    X, y = frame
    auc = get_scorer("roc_auc")(classifier, X, y)
    assert auc == pytest.approx(roc_auc_score(y == "Yes", classifier.predict_proba(X)[:, 1]))
    assert 0.6 < auc <= 1.0
    assert 0.5 < classifier.score(X, y) <= 1.0  # accuracy, ClassifierMixin
    result = permutation_importance(classifier, X.head(200), y[:200], scoring="roc_auc",
                                    n_repeats=1, random_state=0)
    importances = pd.Series(result.importances_mean, index=X.columns)
    assert importances.max() > 0.005  # some input matters


def test_clone_and_cross_val_score_refit(classifier, frame) -> None:
    X, y = frame
    copy = clone(classifier)
    assert copy is not classifier and copy.model is not classifier.model
    scores = cross_val_score(classifier, X, y, cv=2, scoring="roc_auc")
    assert len(scores) == 2 and all(0.6 < s <= 1.0 for s in scores)
    refitted = clone(classifier).fit(X.head(400), y[:400])
    assert refitted.model_ is not refitted.model  # the wrapped model is never changed
    assert not np.allclose(refitted.predict_proba(X.tail(50)),
                           classifier.predict_proba(X.tail(50)))


def test_frozen_and_calibrated(classifier, frame) -> None:
    X, y = frame
    frozen = FrozenEstimator(classifier)
    assert (frozen.predict(X.head(20)) == classifier.predict(X.head(20))).all()
    calibrated = CalibratedClassifierCV(frozen, method="sigmoid").fit(X.head(400), y[:400])
    proba = calibrated.predict_proba(X.tail(100))
    assert proba.shape == (100, 2) and list(calibrated.classes_) == ["No", "Yes"]


def test_regressor(tmp_path: Path, frame) -> None:
    X, _ = frame
    raw = pd.read_csv(DATA)
    data = tmp_path / "reg.csv"
    raw.drop(columns=["TotalCharges"]).to_csv(data, index=False)
    config = Config.from_dict({
        "project": "sklreg", "seed": 5,
        "data": {"source": str(data), "target": "MonthlyCharges"},
        "split": {"cv_folds": 3}, "train": {"max_trials": 1, "families": ["linear"]},
    })
    project = Project(config, tmp_path / "ws")
    project.train()
    est = project.load_model("champion").as_estimator()
    Xr, yr = raw.drop(columns=["TotalCharges", "MonthlyCharges"]), raw["MonthlyCharges"]
    assert not hasattr(est, "predict_proba")
    assert est.predict(Xr).dtype == np.float64
    assert get_scorer("neg_root_mean_squared_error")(est, Xr, yr) < 0
    assert len(cross_val_score(est, Xr, yr, cv=2, scoring="r2")) == 2
