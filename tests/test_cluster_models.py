"""Clustering on small synthetic tables: every method assigns a training row again to its
training cluster, k is found on clear blobs, one cluster works, the tied mixture recovers
stretched clusters KMeans splits wrongly, and the kind handles constant and categorical-only
columns, labels kept out of training, and tables without a target (the error suggests both
unsupervised kinds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kind_support import train_kind
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from fullcycle.config import Config
from fullcycle.errors import ConfigError
from fullcycle.taskkind import PredictOptions, get_kind, resolve_task
from fullcycle.tasks.cluster.models import Clusterer


def blobs(n: int = 240, k: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    X, y = make_blobs(n, 3, centers=k, cluster_std=0.6, random_state=seed)
    return X, y


@pytest.mark.parametrize("method", ["auto", "kmeans", "gmm", "hdbscan", "agglomerative",
                                    "birch"])
def test_every_method_assigns_training_rows_to_their_training_cluster(method: str) -> None:
    X, y = blobs()
    model = Clusterer(n_clusters=4, method=method, seed=1).fit(X)
    assert np.array_equal(model.predict(X), model.labels_)
    assert np.array_equal(model.predict(X[10:13]), model.labels_[10:13])
    assert adjusted_rand_score(y, model.labels_) > 0.9


def test_k_is_chosen_on_clear_blobs() -> None:
    X, y = blobs(300, k=4, seed=2)
    model = Clusterer(seed=0).fit(X)
    assert model.n_clusters_ == 4 and model.choice_ is not None
    assert set(model.choice_.votes) == {"silhouette", "calinski_harabasz", "davies_bouldin",
                                        "bic", "stability"}


def test_one_cluster() -> None:
    X, _ = blobs(50, k=1)
    model = Clusterer(n_clusters=1, seed=0).fit(X)
    assert model.n_clusters_ == 1 and set(model.predict(X)) == {0}
    assert np.all(model.distance(X) >= 0)


def test_the_tied_mixture_recovers_stretched_clusters() -> None:
    X, y = make_blobs(600, 2, centers=3, random_state=170)
    X = X @ np.array([[0.6, -0.64], [-0.41, 0.85]])  # stretched along one direction
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    Z = StandardScaler().fit_transform(X)
    kmeans = KMeans(3, n_init=10, random_state=42).fit_predict(Z)
    ours = Clusterer(n_clusters=3, seed=42).fit(Z)
    assert ours.method_ == "gmm"
    assert adjusted_rand_score(y, ours.labels_) > adjusted_rand_score(y, kmeans) + 0.2


def _train(frame: pd.DataFrame, tmp_path: Path, **problem: object):
    return train_kind("cluster", frame, tmp_path, 3, **problem)


def segments(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = np.arange(n) % 3
    return pd.DataFrame({
        "income": np.array([20.0, 60.0, 120.0])[group] + rng.normal(0, 5, n),
        "visits": np.array([2.0, 10.0, 4.0])[group] + rng.normal(0, 1, n),
        "region": np.where(group == 2, "north", rng.choice(["south", "east"], n)),
        "constant": 1.0, "segment": group})


def test_the_kind_finds_profiles_in_words_and_keeps_labels_out(tmp_path: Path) -> None:
    frame = segments()
    result = _train(frame, tmp_path, n_clusters=3, label_column="segment")
    model = result.model
    features = [c.name for c in model.schema.features]
    assert "segment" not in features and "constant" not in features
    assert result.test_metrics["adjusted_rand"] > 0.95
    out = get_kind("cluster").predict(model, frame.drop(columns="segment"), PredictOptions())
    assert list(out.columns) == get_kind("cluster").output_columns(model)
    assert out.columns[0] == "cluster" and out["cluster"].nunique() == 3
    words = " ".join(w for ws in model.predictor.profiles.values() for w in ws)
    assert "income higher" in words and "region = north more often" in words
    # new rows one at a time: the same clusters as in the batch
    one = get_kind("cluster").predict(model, frame.iloc[[5]], PredictOptions())
    assert one["cluster"].iloc[0] == out["cluster"].iloc[5]
    metrics, sections = get_kind("cluster").evaluate(model, frame, Config())
    assert metrics["silhouette"] > 0.5 and {s.key for s in sections} >= {"clusters",
                                                                           "projection"}
    assert "<svg" in next(s.html for s in sections if s.key == "projection")


def test_categorical_only_data_clusters(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    group = rng.integers(0, 2, 200)
    frame = pd.DataFrame({
        "plan": np.where(group == 0, rng.choice(["basic", "free"], 200), "premium"),
        "device": np.where(group == 0, "android", rng.choice(["ios", "mac"], 200))})
    model = _train(frame, tmp_path, n_clusters=2).model
    out = get_kind("cluster").predict(model, frame, PredictOptions())
    assert adjusted_rand_score(group, out["cluster"]) > 0.9


def test_a_table_without_target_suggests_both_unsupervised_kinds() -> None:
    frame = segments().drop(columns="segment")
    with pytest.raises(ConfigError) as err:
        resolve_task(Config(), frame)
    assert "--task cluster" in str(err.value) and "--task anomaly" in str(err.value)


def test_bad_settings_name_the_key() -> None:
    with pytest.raises(ConfigError, match="problem.options.method"):
        get_kind("cluster").check_config(Config.from_dict(
            {"problem": {"task": "cluster", "options": {"method": "kmedoids"}}}), ["a"])
    with pytest.raises(ConfigError, match="label_column"):
        get_kind("cluster").check_config(Config.from_dict(
            {"problem": {"task": "cluster", "label_column": "nope"}}), ["a"])
