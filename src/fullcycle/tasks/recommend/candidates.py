"""A candidate = how the interaction values enter the model (the transform) + a family.

Transforms of the aggregated values (explicit ratings, implicit weights or counts):
- binary: every interaction counts 1;
- value: the value itself as confidence (ratings 1..5 weigh a 5 five times a 1);
- log: 1 + log(1 + value), for heavy-tailed plays and clicks;
- positive: explicit ratings thresholded: only ratings >= the user's own mean are kept (as 1).
Items the user had stay "seen" whatever the transform keeps.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from fullcycle.tasks.recommend.algos import Algo

TRANSFORMS = ("binary", "value", "log", "positive")


def transform(X: sp.csr_matrix, how: str) -> sp.csr_matrix:
    out = sp.csr_matrix(X, dtype=np.float32, copy=True)
    if how == "binary":
        out.data[:] = 1.0
    elif how == "log":
        out.data = (1.0 + np.log1p(out.data)).astype(np.float32)
    elif how == "positive":
        counts = np.diff(out.indptr)
        sums = np.add.reduceat(out.data, out.indptr[:-1]) if out.nnz else np.zeros(0)
        sums = np.where(counts > 0, sums, 0.0)
        means = sums / np.maximum(counts, 1)
        keep = out.data >= np.repeat(means, counts) - 1e-6
        out.data = keep.astype(np.float32)
        out.eliminate_zeros()
    elif how != "value":
        raise ValueError(f"unknown transform {how!r}")
    return out


def standardise(scores: np.ndarray) -> np.ndarray:
    """Per-user z-scores, so families on different scales can be added."""
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return (scores - mean) / np.where(std > 0, std, 1.0)


class Candidate:
    """One transform + one family; `fit` and `score` take the raw aggregated matrix."""

    def __init__(self, *, how: str, algo: Algo) -> None:
        self.how = how
        self.algo = algo

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"how": self.how, "algo": self.algo}

    @property
    def family(self) -> str:
        return self.algo.family

    @property
    def needs_rows(self) -> bool:
        return self.algo.needs_rows

    def fit(self, X: sp.csr_matrix) -> Candidate:
        self.algo.fit(transform(X, self.how))
        return self

    def score(self, X_rows: sp.csr_matrix, rows: np.ndarray | None = None) -> np.ndarray:
        return self.algo.score(transform(X_rows, self.how), rows)

    def describe(self) -> str:
        return f"{self.algo.describe()} on {self.how}"


class Blend:
    """A weighted sum of the standardised scores of fitted candidates."""

    family = "blend"

    def __init__(self, *, members: list[Candidate], weights: list[float]) -> None:
        self.members = members
        self.weights = weights

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"members": self.members, "weights": self.weights}

    @property
    def needs_rows(self) -> bool:
        return any(m.needs_rows for m in self.members)

    def fit(self, X: sp.csr_matrix) -> Blend:
        for member in self.members:
            member.fit(X)
        return self

    def score(self, X_rows: sp.csr_matrix, rows: np.ndarray | None = None) -> np.ndarray:
        total: np.ndarray | None = None
        for member, weight in zip(self.members, self.weights, strict=True):
            part = weight * standardise(member.score(X_rows, rows))
            total = part if total is None else total + part
        assert total is not None  # members is never empty (built by the search)
        return total.astype(np.float32)

    def describe(self) -> str:
        pairs = zip(self.members, self.weights, strict=True)
        return " + ".join(f"{w:g} x {m.describe()}" for m, w in pairs)


class Rerank:
    """A fitted scorer's standardised scores minus `beta` x the standardised log popularity of
    each item: the same model, nudged toward the long tail (wider catalogue coverage)."""

    family = "rerank"

    def __init__(self, *, inner: Candidate | Blend, beta: float) -> None:
        self.inner = inner
        self.beta = beta

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"inner": self.inner, "beta": self.beta}

    @property
    def needs_rows(self) -> bool:
        return self.inner.needs_rows

    @staticmethod
    def penalty(X: sp.csr_matrix) -> np.ndarray:
        pop = np.log1p(np.asarray((X > 0).sum(axis=0), dtype=np.float64).ravel())
        return standardise(pop[None, :])[0].astype(np.float32)

    def fit(self, X: sp.csr_matrix) -> Rerank:
        self.inner.fit(X)
        self.penalty_ = self.penalty(X)
        return self

    def score(self, X_rows: sp.csr_matrix, rows: np.ndarray | None = None) -> np.ndarray:
        base = standardise(self.inner.score(X_rows, rows))
        return (base - self.beta * self.penalty_[None, :]).astype(np.float32)

    def describe(self) -> str:
        return f"({self.inner.describe()}) - {self.beta:g} x popularity"


Scorer = Candidate | Blend | Rerank
