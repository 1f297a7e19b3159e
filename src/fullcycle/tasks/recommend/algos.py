"""The recommender families. Each follows scikit-learn's contract (keyword-only constructor that
only stores its arguments, `fit` sets attributes ending in `_`) and scores a block of users:

    algo.fit(X)                      # X: users x items csr, float32 (already transformed)
    algo.score(X[rows], rows)        # dense (len(rows), n_items) float32; higher is better

Fitted state is plain numpy/scipy, so a saved model never needs `implicit` to load or serve;
`implicit` (ALS, BPR) is imported only to train.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import scipy.sparse as sp

from fullcycle.errors import ConfigError


class Algo:
    """Base: parameters by keyword, `get_params`/`set_params` like scikit-learn."""

    family: str = ""
    _params: tuple[str, ...] = ()

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._params}

    def set_params(self, **params: Any) -> Algo:
        for name, value in params.items():
            if name not in self._params:
                raise ConfigError(f"{self.family} has no parameter {name!r} "
                                  f"(valid: {', '.join(self._params)})")
            setattr(self, name, value)
        return self

    def fit(self, X: sp.csr_matrix) -> Algo:  # pragma: no cover - abstract
        raise NotImplementedError

    def score(self, X_rows: sp.csr_matrix, rows: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover

    @property
    def needs_rows(self) -> bool:
        """True when scores come from fitted user state (factor models): unknown users cannot
        be scored from their items alone."""
        return False

    def describe(self) -> str:
        params = ", ".join(f"{k}={v}" for k, v in self.get_params().items())
        return f"{self.family}({params})"


class Popularity(Algo):
    """Items by the number of users who interacted with them."""

    family = "popularity"

    def fit(self, X: sp.csr_matrix) -> Popularity:
        self.counts_ = np.asarray((X > 0).sum(axis=0), dtype=np.float32).ravel()
        return self

    def score(self, X_rows: sp.csr_matrix, rows: np.ndarray | None = None) -> np.ndarray:
        return np.tile(self.counts_, (X_rows.shape[0], 1))


def bm25_weight(item_user: sp.csr_matrix, k1: float = 100.0, b: float = 0.8) -> sp.csr_matrix:
    """BM25 weighting of an item x user matrix (users are the 'terms')."""
    coo = item_user.tocoo()
    n = float(coo.shape[0])
    idf = np.log(n) - np.log1p(np.bincount(coo.col, minlength=coo.shape[1]))
    lengths = np.asarray(item_user.sum(axis=1)).ravel()
    norm = (1.0 - b) + b * lengths / max(lengths.mean(), 1e-12)
    data = coo.data * (k1 + 1.0) / (k1 * norm[coo.row] + coo.data) * idf[coo.col]
    return sp.csr_matrix((data.astype(np.float32), (coo.row, coo.col)), shape=coo.shape)


def tfidf_weight(item_user: sp.csr_matrix) -> sp.csr_matrix:
    coo = item_user.tocoo()
    n = float(coo.shape[0])
    idf = np.log(n) - np.log1p(np.bincount(coo.col, minlength=coo.shape[1]))
    data = np.sqrt(coo.data) * idf[coo.col]
    return sp.csr_matrix((data.astype(np.float32), (coo.row, coo.col)), shape=coo.shape)


def prune_rows(S: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the k largest entries of each row (the item's k nearest neighbours)."""
    S = S.tocsr()
    S.sort_indices()
    indptr, data = S.indptr, S.data
    keep = np.zeros(len(data), dtype=bool)
    for r in range(S.shape[0]):
        lo, hi = indptr[r], indptr[r + 1]
        if hi - lo <= k:
            keep[lo:hi] = True
        else:
            top = np.argpartition(-data[lo:hi], k - 1)[:k]
            keep[lo + top] = True
    coo = S.tocoo()
    return sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=S.shape,
                         dtype=np.float32)


def unit_rows(M: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(M.multiply(M).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ M, dtype=np.float32)


MAX_PAIRS = 150_000_000  # user-level co-occurrences the item x item product may build


def limit_users(X: sp.csr_matrix, max_pairs: int = MAX_PAIRS, seed: int = 0) -> sp.csr_matrix:
    """X, or a seeded random subset of its users whose co-occurrence count (sum of squared
    activity) fits `max_pairs`: the item x item product stays within memory on any data."""
    degree = np.diff(X.indptr).astype(np.float64)
    if float((degree ** 2).sum()) <= max_pairs:
        return X
    order = np.random.default_rng(seed).permutation(X.shape[0])
    keep = order[np.cumsum(degree[order] ** 2) <= max_pairs]
    return X[np.sort(keep)]


def item_similarity(X: sp.csr_matrix, weighting: str, neighbours: int) -> sp.csr_matrix:
    """Item x item similarity from a users x items matrix, each row pruned to `neighbours`."""
    item_user = sp.csr_matrix(limit_users(X).T, dtype=np.float32)
    if weighting == "bm25":
        W = bm25_weight(item_user)
    elif weighting == "tfidf":
        W = tfidf_weight(item_user)
    elif weighting == "cosine":
        W = unit_rows(item_user)
    else:
        raise ConfigError(f"unknown item-kNN weighting {weighting!r} (valid: cosine, bm25, "
                          "tfidf)")
    S = sp.csr_matrix(W @ W.T, dtype=np.float32)
    S.setdiag(0)
    S.eliminate_zeros()
    return prune_rows(S, neighbours)


class ItemKNN(Algo):
    """Item-based neighbours: score(u, j) = sum over u's items i of sim(i, j)."""

    family = "itemknn"
    _params = ("weighting", "neighbours")

    def __init__(self, *, weighting: str = "cosine", neighbours: int = 100) -> None:
        self.weighting = weighting
        self.neighbours = neighbours

    def fit(self, X: sp.csr_matrix) -> ItemKNN:
        self.similarity_ = item_similarity(X, self.weighting, self.neighbours)
        return self

    def score(self, X_rows: sp.csr_matrix, rows: np.ndarray | None = None) -> np.ndarray:
        return np.asarray((X_rows @ self.similarity_).todense(), dtype=np.float32)


def spd_inverse(G: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix by Cholesky (half the work of LU)."""
    from scipy.linalg import lapack

    potrf, potri = ((lapack.spotrf, lapack.spotri) if G.dtype == np.float32
                    else (lapack.dpotrf, lapack.dpotri))
    c, info = potrf(G, lower=False, overwrite_a=True, clean=False)
    if info != 0:
        raise np.linalg.LinAlgError(f"Gram matrix not positive definite (potrf info {info})")
    inv, info = potri(c, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"inverse failed (potri info {info})")
    upper = np.triu(inv)
    return upper + np.triu(inv, 1).T


class EASE(Algo):
    """Embarrassingly shallow autoencoder (Steck 2019): B = I - P / diag(P), P = (X'X + λI)^-1.
    On catalogues above `max_items` it is fitted on the most popular `max_items` items; the
    others score below every fitted item."""

    family = "ease"
    _params = ("l2", "max_items")

    def __init__(self, *, l2: float = 200.0, max_items: int = 6000) -> None:
        self.l2 = l2
        self.max_items = max_items

    def fit(self, X: sp.csr_matrix) -> EASE:
        n_items = X.shape[1]
        if n_items > self.max_items:
            pop = np.asarray((X > 0).sum(axis=0)).ravel()
            self.subset_: np.ndarray | None = np.sort(
                np.argsort(-pop, kind="stable")[: self.max_items])
            X = X[:, self.subset_]
        else:
            self.subset_ = None
        self.n_items_ = n_items
        self.position_: np.ndarray | None = None  # item -> subset column, built on first use
        G = np.asarray((X.T @ X).todense(), dtype=np.float32)
        G[np.diag_indices_from(G)] += np.float32(self.l2)
        P = spd_inverse(G)
        B = P / (-np.diag(P))
        B[np.diag_indices_from(B)] = 0.0
        self.weights_ = np.ascontiguousarray(B, dtype=np.float32)
        return self

    def score(self, X_rows: sp.csr_matrix, rows: np.ndarray | None = None) -> np.ndarray:
        if self.subset_ is None:
            return np.asarray(X_rows @ self.weights_, dtype=np.float32)
        if self.position_ is None:
            position = np.full(self.n_items_, -1, dtype=np.int64)
            position[self.subset_] = np.arange(len(self.subset_))
            self.position_ = position
        pos = self.position_[X_rows.indices]  # columns remapped without scipy's fancy indexing
        keep = pos >= 0
        rows = np.repeat(np.arange(X_rows.shape[0]), np.diff(X_rows.indptr))[keep]
        sub = sp.csr_matrix((X_rows.data[keep], (rows, pos[keep])),
                            shape=(X_rows.shape[0], len(self.subset_)))
        part = np.asarray(sub @ self.weights_, dtype=np.float32)
        out = np.empty((X_rows.shape[0], self.n_items_), dtype=np.float32)
        out[:] = (part.min(axis=1, initial=0.0) - 1.0)[:, None]
        out[:, self.subset_] = part
        return out


def _threads() -> int:
    return int(os.environ.get("FULLCYCLE_RECOMMEND_THREADS", "0"))  # 0: every core


def _one_blas_thread() -> Any:
    """implicit parallelises itself and warns (and slows) when BLAS threads too."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, "blas")


def implicit_available() -> bool:
    try:
        import implicit  # noqa: F401
    except ImportError:
        return False
    return True


class _Factors(Algo):
    """A factor model trained by `implicit`; only its factor matrices are kept."""

    seed: int = 0

    @property
    def needs_rows(self) -> bool:
        return True

    def _keep(self, model: Any) -> None:
        def dense(a: Any) -> np.ndarray:
            return np.asarray(a.to_numpy() if hasattr(a, "to_numpy") else a, dtype=np.float32)
        self.user_factors_ = dense(model.user_factors)
        self.item_factors_ = dense(model.item_factors)

    def score(self, X_rows: sp.csr_matrix, rows: np.ndarray | None = None) -> np.ndarray:
        if rows is None:
            raise ConfigError(f"{self.family} scores only users seen in training")
        return np.asarray(self.user_factors_[rows] @ self.item_factors_.T, dtype=np.float32)


class ALS(_Factors):
    """Implicit-feedback ALS (Hu, Koren, Volinsky), confidence = 1 + alpha * value."""

    family = "als"
    _params = ("factors", "regularization", "alpha", "iterations", "seed")

    def __init__(self, *, factors: int = 64, regularization: float = 0.05, alpha: float = 1.0,
                 iterations: int = 15, seed: int = 0) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.seed = seed

    def fit(self, X: sp.csr_matrix) -> ALS:
        from implicit.cpu.als import AlternatingLeastSquares

        with _one_blas_thread():
            model = AlternatingLeastSquares(
                factors=self.factors, regularization=self.regularization, alpha=self.alpha,
                iterations=self.iterations, random_state=self.seed, num_threads=_threads())
            model.fit(sp.csr_matrix(X, dtype=np.float32), show_progress=False)
        self._keep(model)
        return self


class BPR(_Factors):
    """Bayesian personalised ranking (Rendle et al.) by SGD, from `implicit`."""

    family = "bpr"
    _params = ("factors", "learning_rate", "regularization", "iterations", "seed")

    def __init__(self, *, factors: int = 64, learning_rate: float = 0.01,
                 regularization: float = 0.01, iterations: int = 100, seed: int = 0) -> None:
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.seed = seed

    def fit(self, X: sp.csr_matrix) -> BPR:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        with _one_blas_thread():
            model = BayesianPersonalizedRanking(
                factors=self.factors, learning_rate=self.learning_rate,
                regularization=self.regularization, iterations=self.iterations,
                random_state=self.seed, num_threads=_threads())
            model.fit(sp.csr_matrix((X > 0).astype(np.float32)), show_progress=False)
        self._keep(model)
        return self


FAMILIES: dict[str, type[Algo]] = {
    "popularity": Popularity, "itemknn": ItemKNN, "ease": EASE, "als": ALS, "bpr": BPR,
}
