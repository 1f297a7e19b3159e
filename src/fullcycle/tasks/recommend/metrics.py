"""Ranking metrics at k over users with at least one relevant (held-out) item, as the wave-2
protocol and Microsoft Recommenders define them: binary relevance, nDCG with the ideal DCG of
min(k, #relevant) hits, precision = hits / k, recall = hits / #relevant, MAP = AP / min(k,
#relevant), hit rate = share of users with >= 1 hit; catalogue coverage = distinct items
recommended / items in training; popularity bias = mean training popularity (share of users) of
the recommended items."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

METRICS = ("ndcg", "precision", "recall", "map", "hit_rate", "coverage", "popularity_bias")


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best scores of each row, best first (stable on ties: lower index)."""
    k = min(k, scores.shape[1])
    if k <= 0:
        return np.zeros((scores.shape[0], 0), dtype=np.int64)
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    return np.take_along_axis(part, order, axis=1)


def per_user(top: np.ndarray, relevant: sp.csr_matrix, k: int) -> dict[str, np.ndarray]:
    """Metric values per user (rows of `top` and `relevant` aligned); -1 in `top` = no item."""
    n_rel = np.diff(relevant.indptr)
    hits = np.zeros(top.shape, dtype=bool)
    for r in range(top.shape[0]):
        row = relevant.indices[relevant.indptr[r]:relevant.indptr[r + 1]]
        hits[r] = np.isin(top[r], row) & (top[r] >= 0)
    width = top.shape[1]
    disc = 1.0 / np.log2(np.arange(2, width + 2))
    dcg = (hits * disc).sum(axis=1)
    ideal_n = np.minimum(n_rel, k)
    cum = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))])
    idcg = cum[ideal_n]
    n_hits = hits.sum(axis=1)
    prec_at = np.cumsum(hits, axis=1) / np.arange(1, width + 1)
    ap = (prec_at * hits).sum(axis=1)
    safe = np.maximum(ideal_n, 1)
    return {"ndcg": dcg / np.where(idcg > 0, idcg, 1.0), "precision": n_hits / k,
            "recall": n_hits / np.maximum(n_rel, 1), "map": ap / safe,
            "hit_rate": (n_hits > 0).astype(float)}


def ranking_metrics(top: np.ndarray, relevant: sp.csr_matrix, k: int,
                    popularity: np.ndarray | None = None) -> dict[str, float]:
    """Mean metrics over users with >= 1 relevant item; coverage over every row's list."""
    has = np.diff(relevant.indptr) > 0
    values = per_user(top[has], relevant[has], k) if has.any() else {}
    out = {name: float(v.mean()) for name, v in values.items()}
    shown = top[top >= 0]
    if popularity is not None:
        n_items = len(popularity)
        out["coverage"] = float(len(np.unique(shown)) / max(int((popularity > 0).sum()), 1))
        out["popularity_bias"] = float(popularity[shown].mean()) if shown.size else 0.0
        del n_items
    out["users"] = float(has.sum())
    return out
