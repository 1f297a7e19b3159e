"""Anomaly detectors and the anomaly kind on small synthetic tables: every detector finds an
obvious outlier, scores are calibrated training percentiles that do not depend on the batch,
the contamination sets the threshold, labels never reach the model, constant and categorical
columns are handled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kind_support import train_kind

from fullcycle.config import Config
from fullcycle.taskkind import PredictOptions, get_kind
from fullcycle.tasks.anomaly.detectors import COPOD, ECOD, DetectorEnsemble, TailCalibrator


def blob(n: int = 300, d: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d))


@pytest.mark.parametrize("name", ["iforest", "knn", "lof", "ecod", "copod"])
def test_each_detector_puts_an_obvious_outlier_first(name: str) -> None:
    X = np.vstack([blob(), [[8.0, -8.0, 8.0, 8.0]]])
    det = DetectorEnsemble(detectors=(name,), seed=1).fit(X)
    assert int(np.argmax(det.train_scores_)) == len(X) - 1
    new = det.score_samples(np.array([[0.0, 0.0, 0.0, 0.0], [9.0, 9.0, -9.0, 9.0]]))
    assert new[0] < 0.8 < new[1] < 1.0


def test_scores_are_training_percentiles_independent_of_the_batch() -> None:
    X = blob(400)
    det = DetectorEnsemble(seed=3).fit(X)
    scores = det.score_samples(X)
    assert scores.min() >= 0 and scores.max() < 1
    # a row scores the same alone, in a small batch or among all rows
    assert np.allclose(det.score_samples(X[:7]), scores[:7])
    assert np.allclose(det.score_samples(X[5:6]), scores[5:6])
    # the calibrated scores of the training rows are close to uniform (percentiles)
    assert abs(np.mean(det.train_scores_ <= 0.5) - 0.5) < 0.05
    # beyond the training range the score keeps rising without reaching 1
    far = det.score_samples(np.array([[20.0] * 4, [40.0] * 4]))
    assert scores.max() < far[0] < far[1] < 1.0


def test_tail_calibrator_is_strictly_increasing_outside_the_training_range() -> None:
    cal = TailCalibrator().fit(np.array([1.0, 2.0, 2.0, 3.0, 10.0]))
    out = cal.transform(np.array([-5.0, 0.0, 1.0, 2.5, 10.0, 11.0, 50.0]))
    assert np.all(np.diff(out) > 0) and out[0] > 0 and out[-1] < 1


def test_ecod_and_copod_score_from_training_tails_only() -> None:
    X = blob(200, 3, seed=4)
    for det in (ECOD().fit(X), COPOD().fit(X)):
        row = np.array([[5.0, 5.0, 5.0]])
        assert det.score_samples(row)[0] > np.quantile(det.train_scores_, 0.99)
        # the same row in another batch: the same score (pyod refits its ECDF per batch)
        both = det.score_samples(np.vstack([row, X[:50]]))
        assert both[0] == pytest.approx(det.score_samples(row)[0])


def _train(frame: pd.DataFrame, tmp_path: Path, **problem: object):
    return train_kind("anomaly", frame, tmp_path, 7, **problem)


def table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"amount": rng.lognormal(3, 0.4, n), "items": rng.poisson(3, n),
                          "channel": rng.choice(["web", "shop", "phone"], n)})
    frame.loc[:4, "amount"] = 5000.0  # five obvious anomalies
    return frame


def test_the_kind_flags_the_planted_anomalies_and_explains_them(tmp_path: Path) -> None:
    frame = table()
    result = _train(frame, tmp_path, contamination=0.02)
    model = result.model
    out = get_kind("anomaly").predict(model, frame, PredictOptions())
    assert list(out.columns) == ["anomaly_score", "is_anomaly"]
    assert out["anomaly_score"].between(0, 1).all()
    assert out["is_anomaly"][:5].all() and 0.01 <= out["is_anomaly"].mean() <= 0.04
    # the same rows predicted as new rows, one at a time: the same answers
    again = pd.concat([get_kind("anomaly").predict(model, frame.iloc[[i]], PredictOptions())
                       for i in (0, 10, 299)], ignore_index=True)
    assert np.allclose(again["anomaly_score"], out["anomaly_score"].iloc[[0, 10, 299]])
    why = model.predictor.stats.unusual(frame.iloc[0])
    assert why and why[0].startswith("amount = 5,000 is high")


def test_contamination_zero_flags_nothing(tmp_path: Path) -> None:
    frame = table()
    model = _train(frame, tmp_path, contamination=0).model
    out = get_kind("anomaly").predict(model, frame, PredictOptions())
    assert not out["is_anomaly"].any() and out["anomaly_score"].iloc[:5].min() > 0.95


def test_auto_contamination_is_estimated_and_small(tmp_path: Path) -> None:
    result = _train(table(), tmp_path)
    info = result.model.card.task_info
    assert info["contamination_estimated"] and 0.001 <= info["contamination"] <= 0.25


def test_labels_rank_candidates_but_never_become_a_feature(tmp_path: Path) -> None:
    frame = table(400).assign(fraud=0)
    frame.loc[:4, "fraud"] = 1
    frame.loc[200:204, "amount"] = 4000.0
    frame.loc[200:204, "fraud"] = 1
    result = _train(frame, tmp_path, label_column="fraud")
    model = result.model
    assert "fraud" not in [c.name for c in model.schema.features]
    assert result.test_metrics["roc_auc"] > 0.9 and len(result.leaderboard) >= 5
    # scoring rows without the label column works: it was never an input
    out = get_kind("anomaly").predict(model, frame.drop(columns="fraud").head(3),
                                      PredictOptions())
    assert len(out) == 3


def test_constant_and_categorical_only_columns(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    cats = pd.DataFrame({"colour": rng.choice(["red", "blue", "green"], 300, p=[.6, .35, .05]),
                         "size": rng.choice(["S", "M", "L"], 300), "site": "A"})
    cats.loc[0, "colour"] = "purple"
    model = _train(cats, tmp_path, contamination=0.01).model
    scores = get_kind("anomaly").predict(model, cats, PredictOptions())["anomaly_score"]
    assert scores.iloc[0] >= scores.quantile(0.95)
    assert "site" not in [c.name for c in model.schema.features]


def test_an_option_of_another_kind_is_refused(tmp_path: Path) -> None:
    from fullcycle.errors import ConfigError

    model = _train(table(), tmp_path).model
    with pytest.raises(ConfigError, match="not an option of an anomaly model"):
        get_kind("anomaly").predict(model, table().head(2), PredictOptions(top_k=3))
    with pytest.raises(ConfigError, match="between 0 and 0.5"):
        get_kind("anomaly").check_config(
            Config.from_dict({"problem": {"task": "anomaly", "contamination": 0.7}}), [])


def test_the_anomaly_score_as_a_feature_of_a_supervised_model() -> None:
    from sklearn.base import clone

    from fullcycle.tasks.anomaly.feature import AnomalyScoreFeature

    frame = table()
    step = AnomalyScoreFeature(seed=2)
    out = clone(step).fit(frame, y=np.zeros(len(frame))).transform(frame)
    assert list(out.columns) == [*frame.columns, "anomaly_score"]
    assert out["anomaly_score"].iloc[:5].min() > out["anomaly_score"].iloc[5:].quantile(0.9)
    assert step.get_params()["seed"] == 2


def test_exported_names() -> None:
    import fullcycle.tasks.anomaly as anomaly
    import fullcycle.tasks.cluster as cluster

    assert anomaly.__all__ == ["COPOD", "ECOD", "AnomalyKind", "DetectorEnsemble", "KNNDistance"]
    assert cluster.__all__ == ["ClusterKind", "Clusterer"]
    assert get_kind("anomaly").needs_target is False and get_kind("cluster").row_wise is True
