"""`ClusterKind.train`: features -> k (given or chosen) -> method -> profiles -> Model.

Clustering has no held-out truth: every row is clustered, and a sample of the rows is kept as
the "holdout" `fullcycle evaluate` and retraining score (internal indices; ARI/NMI when a
`--label-column` is given). The label column never reaches the preprocessing or the model; it
only picks among the methods when it is there."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fullcycle.card import ModelCard, Provenance, TrainingSummary
from fullcycle.errors import ConfigError, did_you_mean
from fullcycle.model import Model
from fullcycle.taskkind import TrainResult
from fullcycle.tasks.cluster.models import METHODS, Clusterer
from fullcycle.tasks.cluster.predictor import ClusterPredictor
from fullcycle.tasks.unsupervised import common, prep
from fullcycle.tasks.unsupervised.profile import describe_group

if TYPE_CHECKING:
    from fullcycle.config import Config
    from fullcycle.data.dataset import Dataset
    from fullcycle.taskkind import TaskKind, TrainResult

SMALL = 5_000  # agglomerative clustering is tried up to this many rows


def method_of(config: Config) -> str:
    method = str(config.problem.options.get("method", "auto"))
    if method not in METHODS:
        raise ConfigError(f"problem.options.method {method!r} is not a clustering method."
                          + did_you_mean(method, METHODS) + f" (one of {', '.join(METHODS)})")
    return method


def internal_metrics(A: np.ndarray, labels: np.ndarray, seed: int) -> dict[str, float]:
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

    keep = labels >= 0
    A, labels = A[keep], labels[keep]
    if len(np.unique(labels)) < 2 or len(labels) < 3:
        return {}
    rows = common.sample_rows(len(A), seed, 5000)
    sub = labels[rows]
    out = {"calinski_harabasz": float(calinski_harabasz_score(A, labels)),
           "davies_bouldin": float(davies_bouldin_score(A, labels))}
    if len(np.unique(sub)) >= 2:
        out["silhouette"] = float(silhouette_score(A[rows], sub))
    return out


def label_metrics(y: pd.Series, labels: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    truth = y.astype("string").fillna("(missing)").to_numpy()
    return {"adjusted_rand": float(adjusted_rand_score(truth, labels)),
            "normalized_mutual_info": float(normalized_mutual_info_score(truth, labels))}


def _candidates(method: str, n: int) -> list[str]:
    if method != "auto":
        return [method]
    out = ["auto", "kmeans", "gmm", "birch", "hdbscan"]
    if n <= SMALL:
        out.insert(3, "agglomerative")
    return out


def _fit(A: np.ndarray, k: int | None, method: str, config: Config) -> Clusterer:
    return Clusterer(n_clusters=k, method=method, seed=config.seed).fit(A)


def _choose(A: np.ndarray, y: pd.Series, k: int | None, config: Config,
            progress: Callable[..., Any] | None) -> tuple[Clusterer, list[dict[str, Any]]]:
    """Each method fitted without the labels; the labels rank them (ARI)."""
    board: list[dict[str, Any]] = []
    fitted: dict[str, Clusterer] = {}
    first = _fit(A, k, "auto", config)  # chooses k once when it is not given
    k = k or first.n_clusters_
    deadline = time.perf_counter() + 0.7 * float(config.train.time_budget)
    for i, method in enumerate(_candidates("auto", len(A)), 1):
        if board and time.perf_counter() > deadline:  # "auto" always runs first
            break
        started = time.perf_counter()
        model = first if method == "auto" else _fit(A, k, method, config)
        fitted[method] = model
        row: dict[str, Any] = {"model": f"{method} ({model.method_})", "method": method,
                               "clusters": model.n_clusters_, **label_metrics(y, model.labels_),
                               "seconds": round(time.perf_counter() - started, 3)}
        board.append(row)
        common.report_candidate(progress, row["model"], method, "adjusted_rand",
                                row["adjusted_rand"], i)
    board.sort(key=lambda r: (-round(r["adjusted_rand"], 3), r["method"] != "auto"))
    return fitted[board[0]["method"]], board


def train_clusters(kind: TaskKind, dataset: Dataset, config: Config, *, reports: Path,
                   progress: Callable[..., Any] | None = None) -> TrainResult:
    started = time.perf_counter()
    X, schema, label = common.features_and_label(dataset, config)
    k = config.problem.n_clusters
    if k is not None and k > len(X):
        raise ConfigError(f"problem.n_clusters {k} (--n-clusters) is more than the {len(X)} "
                          "rows; ask for fewer clusters")
    method = method_of(config)
    pipeline = prep.build(schema, config)
    A = prep.fit_matrix(pipeline, X)
    notes: list[str] = []
    if label is not None and method == "auto" and len(X) >= 10:
        clusterer, board = _choose(A, label, k, config, progress)
        notes.append(f"labels of {label.name!r} ranked {len(board)} methods (never used to "
                     f"train): {board[0]['model']} won")
    else:
        clusterer = _fit(A, k, method, config)
        board = [{"model": clusterer.method_, "method": method,
                  "clusters": clusterer.n_clusters_}]
    labels = clusterer.labels_
    metrics = internal_metrics(A, labels, config.seed)
    if label is not None:
        metrics.update(label_metrics(label, labels))
    choice = clusterer.choice_
    if choice is not None:
        notes.append(f"{clusterer.n_clusters_} clusters chosen by the internal indices "
                     f"(votes: {', '.join(f'{m} {v}' for m, v in choice.votes.items())})")
    sizes = {int(c): int(n) for c, n in zip(*np.unique(labels, return_counts=True), strict=True)}
    profiles = {c: describe_group(X, labels == c, schema) for c in sizes}
    dist = clusterer.distance(A)
    predictor = ClusterPredictor(preprocessor=pipeline, clusterer=clusterer, profiles=profiles,
                                 sizes=sizes, distance_scale=float(np.nanmedian(dist) or 1.0))
    notes.append(f"model: {predictor.description}")
    for c, words in profiles.items():
        notes.append(f"cluster {c} ({sizes[c]} rows): {'; '.join(words)}")
    metric = "silhouette"
    hold = common.sample_rows(len(X), config.seed, max(50, len(X) // 4))
    card = ModelCard(
        kind=kind.name, task="cluster", target=None, metric=metric, schema=schema,
        success=dict(config.problem.success),
        provenance=Provenance(data_fingerprint=dataset.fingerprint, data_source=dataset.source,
                              seed=config.seed, rows_train=int(len(X)), rows_test=len(hold)),
        training=TrainingSummary(best_candidate=predictor.description, family=clusterer.method_,
                                 test_metrics=metrics, leaderboard=board, search={
                                     "k_choice": choice.table if choice else [],
                                     "train_seconds": round(time.perf_counter() - started, 2)}),
        input_example=common.input_example(X, schema),
        task_info={"n_clusters": clusterer.n_clusters_, "method": clusterer.method_,
                   "k_given": k is not None, "sizes": sizes,
                   "shares": {c: n / len(X) for c, n in sizes.items()},
                   "label_column": str(label.name) if label is not None else None,
                   "profiles": profiles})
    card.reference = common.reference(X, schema, dist)
    return TrainResult(model=Model(predictor, card), leaderboard=pd.DataFrame(board),
                       test_metrics=metrics, verdict=common.verdict(config, metrics, metric),
                       holdout=dataset.frame.iloc[hold], notes=notes)
