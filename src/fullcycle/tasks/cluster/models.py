"""Clustering on a preprocessed numeric matrix: the methods, the choice of k, and assigning new
rows.

`Clusterer` follows scikit-learn's contract. With `method="auto"` it runs KMeans and, when the
data has enough rows to estimate a covariance shared by the clusters (rows >= its d(d+1)/2
parameters), refines the KMeans partition with a tied-covariance Gaussian mixture started from
the KMeans centres: the shared covariance learns which directions the clusters are stretched
along, which KMeans on scaled features cannot (measured in bench/unsupervised.py). Without
`n_clusters`, k is chosen by a vote of internal indices over KMeans fits (silhouette,
Calinski-Harabasz, Davies-Bouldin, BIC) and a stability check under resampling.

Every method assigns a new row from the fitted model alone (KMeans, mixtures, BIRCH: their own
`predict`; HDBSCAN and agglomerative: the label of the nearest training rows), so a training
row predicted again gets its training label."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from fullcycle.errors import ConfigError, DataError, did_you_mean

METHODS = ("auto", "kmeans", "gmm", "hdbscan", "agglomerative", "birch")
LARGE = 20_000  # rows above which MiniBatchKMeans and BIRCH replace the exact methods


def _matrix(X: Any) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(X, dtype="float64"))


def _kmeans(k: int, n: int, seed: int, n_init: int = 10) -> Any:
    from sklearn.cluster import KMeans, MiniBatchKMeans

    if n > LARGE:
        return MiniBatchKMeans(n_clusters=k, n_init=3, random_state=seed, batch_size=2048)
    return KMeans(n_clusters=k, n_init=n_init, random_state=seed)


@dataclass
class KChoice:
    """The internal indices of each k tried and the k they vote for."""

    k: int
    table: list[dict[str, float]]
    votes: dict[str, int]


def _sample(n: int, size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=size, replace=False)) if n > size else np.arange(n)


def _bic_spherical(A: np.ndarray, centers: np.ndarray, labels: np.ndarray) -> float:
    """BIC of KMeans read as a mixture with one shared spherical variance."""
    n, d = A.shape
    k = len(centers)
    inertia = float(((A - centers[labels]) ** 2).sum())
    var = max(inertia / (n * d), 1e-12)
    weights = np.bincount(labels, minlength=k) / n
    dist = ((A[:, None, :] - centers[None]) ** 2).sum(-1)
    logp = -dist / (2 * var) - 0.5 * d * np.log(2 * np.pi * var) + np.log(weights + 1e-12)
    top = logp.max(1, keepdims=True)
    ll = float((top[:, 0] + np.log(np.exp(logp - top).sum(1))).sum())
    return -2 * ll + (k * d + k) * np.log(n)


def choose_k(A: np.ndarray, *, k_max: int, seed: int) -> KChoice:
    """Vote of the internal indices over KMeans fits for k = 2..k_max."""
    from sklearn.metrics import (
        adjusted_rand_score,
        calinski_harabasz_score,
        davies_bouldin_score,
        silhouette_score,
    )

    n = A.shape[0]
    sub = _sample(n, 3000, seed)
    rng = np.random.default_rng(seed)
    table: list[dict[str, float]] = []
    for k in range(2, max(2, k_max) + 1):
        model = _kmeans(k, n, seed).fit(A)
        labels = model.predict(A)
        if len(np.unique(labels)) < 2:
            break
        row = {"k": float(k),
               "silhouette": float(silhouette_score(A[sub], labels[sub])),
               "calinski_harabasz": float(calinski_harabasz_score(A, labels)),
               "davies_bouldin": float(davies_bouldin_score(A, labels)),
               "bic": _bic_spherical(A, model.cluster_centers_, labels)}
        stab = []
        for b in range(3):  # refit on 70% of the rows, compare on all rows
            idx = rng.choice(n, max(k + 1, int(0.7 * n)), replace=False)
            other = _kmeans(k, n, seed + b + 1, n_init=3).fit(A[idx])
            stab.append(adjusted_rand_score(labels, other.predict(A)))
        row["stability"] = float(np.mean(stab))
        table.append(row)
    if not table:
        return KChoice(k=1, table=[], votes={})
    ks = [int(r["k"]) for r in table]
    best = {"silhouette": max, "calinski_harabasz": max, "davies_bouldin": min, "bic": min,
            "stability": max}
    votes = {name: ks[int(np.argmax([r[name] if how is max else -r[name] for r in table]))]
             for name, how in best.items()}
    counts: dict[int, float] = {}
    for name, k in votes.items():
        # BIC of a spherical mixture keeps falling on real data (clusters are not spheres):
        # at the largest k tried it found no optimum and does not vote
        if name != "bic" or k != ks[-1] or len(ks) == 1:
            counts[k] = counts.get(k, 0.0) + 1.0
    if not counts:
        counts = {ks[-1]: 1.0}
    # ties go to the k with the better silhouette
    sil = {int(r["k"]): r["silhouette"] for r in table}
    k = max(counts, key=lambda c: (counts[c], sil[c]))
    return KChoice(k=k, table=table, votes=votes)


class Clusterer(BaseEstimator):
    """Cluster rows of a numeric matrix; `predict` assigns new rows."""

    def __init__(self, *, n_clusters: int | None = None, method: str = "auto",
                 k_max: int = 10, seed: int = 0) -> None:
        self.n_clusters = n_clusters
        self.method = method
        self.k_max = k_max
        self.seed = seed

    def fit(self, X: Any, y: Any = None) -> Clusterer:
        if self.method not in METHODS:
            raise ConfigError(f"unknown clustering method {self.method!r}."
                              + did_you_mean(self.method, METHODS))
        A = _matrix(X)
        n, d = A.shape
        if n == 0:
            raise DataError("no rows to cluster")
        self.choice_: KChoice | None = None
        k = self.n_clusters
        if k is None and self.method not in ("hdbscan",):
            limit = min(self.k_max, max(1, int(np.sqrt(n))), n - 1)
            # the indices are read on a sample of large tables (they need every pairwise
            # distance or many refits)
            rows = _sample(n, LARGE, self.seed)
            self.choice_ = choose_k(A[rows], k_max=limit, seed=self.seed) if limit >= 2 \
                else None
            k = self.choice_.k if self.choice_ else 1
        if k is not None and k > n:
            raise DataError(f"{k} clusters asked for {n} rows; ask for at most {n}")
        self.method_ = self._pick_method(n, d, k)
        self._fit_method(A, k)
        self.labels_ = self.predict(A)
        self.n_clusters_ = int(len(np.unique(self.labels_[self.labels_ >= 0])))
        self.centers_ = np.vstack([A[self.labels_ == c].mean(0) if (self.labels_ == c).any()
                                   else np.full(d, np.nan) for c in range(self.n_clusters_)]) \
            if self.n_clusters_ else np.zeros((0, d))
        return self

    def _pick_method(self, n: int, d: int, k: int | None) -> str:
        if self.method != "auto":
            return self.method
        if k == 1 or k is None:
            return "kmeans"
        if n > LARGE:
            return "kmeans"
        return "gmm" if n >= d * (d + 1) / 2 + k * d else "kmeans"

    def _fit_method(self, A: np.ndarray, k: int | None) -> None:
        n = A.shape[0]
        self.model_: Any = None
        self.nn_: Any = None
        if self.method_ in ("kmeans", "gmm"):
            km = _kmeans(int(k or 1), n, self.seed).fit(A)
            self.model_ = km
            if self.method_ == "gmm" and (k or 1) > 1:
                self.model_ = self._tied_mixture(A, km, int(k or 1))
        elif self.method_ == "birch":
            from sklearn.cluster import Birch

            self.model_ = Birch(n_clusters=k).fit(A)
        else:
            labels = self._fit_graph(A, k)
            from sklearn.neighbors import KNeighborsClassifier

            keep = labels >= 0 if self.method_ == "hdbscan" and (labels >= 0).any() \
                else np.ones(n, bool)
            self.nn_ = KNeighborsClassifier(n_neighbors=min(5, int(keep.sum()))).fit(
                A[keep], labels[keep])

    def _tied_mixture(self, A: np.ndarray, km: Any, k: int) -> Any:
        from sklearn.mixture import GaussianMixture

        try:
            gm = GaussianMixture(n_components=k, covariance_type="tied",
                                 means_init=km.cluster_centers_, reg_covar=1e-4,
                                 random_state=self.seed).fit(A)
        except (ValueError, np.linalg.LinAlgError):
            self.method_ = "kmeans"
            return km
        labels = gm.predict(A)
        # a mixture that empties a cluster has not found k groups: keep KMeans
        if len(np.unique(labels)) < k or np.bincount(labels).min() < max(2, 0.01 * len(A)):
            self.method_ = "kmeans"
            return km
        return gm

    def _fit_graph(self, A: np.ndarray, k: int | None) -> np.ndarray:
        from sklearn.cluster import HDBSCAN, AgglomerativeClustering

        if self.method_ == "hdbscan":
            return np.asarray(HDBSCAN(min_cluster_size=max(5, len(A) // 100),
                                      copy=True).fit_predict(A))
        if len(A) > LARGE:
            raise ConfigError(f"agglomerative clustering holds a {len(A)}x{len(A)} distance "
                              "matrix; use method birch or kmeans for this many rows")
        return np.asarray(AgglomerativeClustering(n_clusters=int(k or 2)).fit_predict(A))

    def predict(self, X: Any) -> np.ndarray:
        A = _matrix(X)
        if self.model_ is not None:
            return np.asarray(self.model_.predict(A), dtype=int)
        return np.asarray(self.nn_.predict(A), dtype=int)

    def predict_proba(self, X: Any) -> np.ndarray | None:
        """Cluster membership probabilities where the method has them (mixtures)."""
        if hasattr(self.model_, "predict_proba"):
            return np.asarray(self.model_.predict_proba(_matrix(X)))
        return None

    def distance(self, X: Any) -> np.ndarray:
        """Euclidean distance of each row to the centre of its assigned cluster."""
        A = _matrix(X)
        labels = self.predict(A)
        out = np.full(len(A), np.nan)
        ok = (labels >= 0) & (labels < len(self.centers_))
        out[ok] = np.sqrt(((A[ok] - self.centers_[labels[ok]]) ** 2).sum(1))
        return out
