"""The fitted recommender: what a recommend Model's predictor is.

It answers three questions, for batch and for the server:
- `recommend(users, k)`: top-k items per user, items the user had excluded unless asked;
  unknown users get the cold-start answer (most popular items), marked `cold_start`;
- `recommend_for_items(items, k)`: for a new user who names a few items: items similar to them;
- `similar_items(item, k)`: neighbours by interactions, or by metadata for an item nobody has
  interacted with yet (when an items file was given).
Everything it needs is numpy/scipy; nothing here imports `implicit`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from fullcycle.errors import DataError
from fullcycle.tasks.recommend.algos import item_similarity
from fullcycle.tasks.recommend.candidates import Scorer
from fullcycle.tasks.recommend.content import ItemContent
from fullcycle.tasks.recommend.data import Interactions, id_strings
from fullcycle.tasks.recommend.metrics import top_k

SIMILAR_NEIGHBOURS = 100
BATCH_CELLS = 20_000_000  # users x items scored at once (80 MB of float32)


@dataclass
class Answer:
    """Recommendations for one user: item indices best first, their scores, and whether the
    cold-start rule (not the model) produced them."""

    items: np.ndarray
    scores: np.ndarray
    cold_start: bool = False


@dataclass
class Recommender:
    users: np.ndarray
    items: np.ndarray
    seen: sp.csr_matrix  # users x items, aggregated interaction values
    scorer: Scorer
    popularity: np.ndarray  # number of users per item
    similarity: sp.csr_matrix  # item x item, cosine on interactions, pruned
    users_numeric: bool
    items_numeric: bool
    feedback: str
    description: str
    content: ItemContent | None = None
    k_default: int = 10
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._index()

    def _index(self) -> None:
        self.user_index_ = {u: i for i, u in enumerate(self.users)}
        self.item_index_ = {it: i for i, it in enumerate(self.items)}
        self.popular_order_ = np.argsort(-self.popularity, kind="stable")

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._index()

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.endswith("_")}

    @classmethod
    def build(cls, interactions: Interactions, scorer: Scorer, *,
              content: ItemContent | None = None, info: dict[str, Any] | None = None
              ) -> Recommender:
        X = interactions.matrix
        binary = sp.csr_matrix(X, dtype=np.float32, copy=True)
        binary.data[:] = 1.0
        return cls(users=interactions.users, items=interactions.items, seen=X, scorer=scorer,
                   popularity=np.asarray(binary.sum(axis=0), dtype=np.float64).ravel(),
                   similarity=item_similarity(binary, "cosine", SIMILAR_NEIGHBOURS),
                   users_numeric=interactions.users_numeric,
                   items_numeric=interactions.items_numeric, feedback=interactions.feedback,
                   description=scorer.describe(), content=content, info=dict(info or {}))

    # --- ids ------------------------------------------------------------------------------
    def user_rows(self, users: Any) -> np.ndarray:
        """Row of each user id (-1: unknown)."""
        ids = id_strings(users if isinstance(users, list | tuple)
                         else np.asarray(users, dtype=object))
        return np.array([self.user_index_.get(u, -1) for u in ids], dtype=np.int64)

    def item_ids(self, idx: np.ndarray) -> np.ndarray:
        ids = self.items[idx]
        return ids.astype(np.int64) if self.items_numeric else ids

    def user_ids(self, ids: np.ndarray) -> np.ndarray:
        strings = id_strings(ids)
        return strings.astype(np.int64) if self.users_numeric else strings

    # --- scoring --------------------------------------------------------------------------
    def _popular(self, k: int, exclude: np.ndarray | None = None) -> Answer:
        order = self.popular_order_
        if exclude is not None and exclude.size:
            order = order[~np.isin(order, exclude)]
        top = order[:k]
        return Answer(top, self.popularity[top].astype(np.float32), cold_start=True)

    def scores_for_rows(self, rows: np.ndarray, exclude_seen: bool = True) -> np.ndarray:
        """Dense scores of known users (rows), seen items at -inf when excluded."""
        X = self.seen[rows] if len(rows) > 1 else self._one_row(int(rows[0]))
        scores = self.scorer.score(X, rows)
        if exclude_seen:
            counts = np.diff(X.indptr)
            scores[np.repeat(np.arange(X.shape[0]), counts), X.indices] = -np.inf
        return scores

    def _one_row(self, row: int) -> sp.csr_matrix:
        lo, hi = self.seen.indptr[row], self.seen.indptr[row + 1]
        return sp.csr_matrix((self.seen.data[lo:hi], self.seen.indices[lo:hi],
                              np.array([0, hi - lo])), shape=(1, self.seen.shape[1]))

    def recommend_rows(self, rows: np.ndarray, k: int, exclude_seen: bool = True
                       ) -> list[Answer]:
        """Answers for user rows (-1: unknown user -> popular items)."""
        out: list[Answer] = [Answer(np.zeros(0, np.int64), np.zeros(0, np.float32))] * len(rows)
        known = np.flatnonzero(rows >= 0)
        batch = max(1, BATCH_CELLS // max(len(self.items), 1))
        for start in range(0, len(known), batch):
            part = known[start:start + batch]
            scores = self.scores_for_rows(rows[part], exclude_seen)
            top = top_k(scores, k)
            vals = np.take_along_axis(scores, top, axis=1)
            for j, pos in enumerate(part):
                ok = np.isfinite(vals[j])
                out[pos] = Answer(top[j][ok], vals[j][ok])
        cold = self._popular(k) if (rows < 0).any() else None
        for pos in np.flatnonzero(rows < 0):
            out[pos] = cold  # type: ignore[assignment]
        return out

    def recommend_for_items(self, items: list[Any], k: int) -> Answer:
        """A new user who names some items: the sum of those items' neighbours, the named
        items excluded; popular items fill up when there are too few neighbours."""
        idx = [self.item_index_[i] for i in id_strings(np.asarray(items, dtype=object))
               if i in self.item_index_]
        if not idx:
            return self._popular(k)
        scores = np.asarray(self.similarity[idx].sum(axis=0)).ravel().astype(np.float32)
        scores[idx] = -np.inf
        scores[scores <= 0] = -np.inf
        top = top_k(scores[None, :], k)[0]
        top = top[np.isfinite(scores[top])]
        if len(top) < k:
            fill = self._popular(k - len(top), exclude=np.concatenate([top, idx]))
            top = np.concatenate([top, fill.items])
            return Answer(top, np.concatenate([scores[top[:len(top) - len(fill.items)]],
                                               np.zeros(len(fill.items), np.float32)]),
                          cold_start=True)
        return Answer(top, scores[top], cold_start=True)

    def similar_items(self, item: Any, k: int) -> tuple[list[Any], np.ndarray, str]:
        """(item ids, similarity, source) where source is 'interactions' or 'content'."""
        key = str(id_strings(np.asarray([item], dtype=object))[0])
        row = self.item_index_.get(key)
        if row is not None:
            sims = self.similarity[row]
            if sims.nnz:
                order = np.argsort(-sims.data, kind="stable")[:k]
                idx = sims.indices[order]
                return list(self.item_ids(idx)), sims.data[order], "interactions"
        if self.content is not None:
            cindex = self.content.index()
            if key in cindex:
                top, sims_c = self.content.similar(cindex[key], k)
                ids = self.content.items[top]
                return ([int(i) if self.items_numeric and i.lstrip("-").isdigit() else i
                         for i in ids], sims_c, "content")
        raise DataError(f"item {item!r} is unknown: it has no interactions in training"
                        + ("" if self.content is None else " and is not in the items file"))

    # --- batch ----------------------------------------------------------------------------
    def frame(self, users: pd.Series, k: int, user_column: str, item_column: str,
              exclude_seen: bool = True) -> pd.DataFrame:
        """The batch output: user column, rank (1..k), item column, score (one row per item)."""
        rows = self.user_rows(users.to_numpy())
        answers = self.recommend_rows(rows, k, exclude_seen)
        sizes = np.array([len(a.items) for a in answers], dtype=np.int64)
        idx = np.concatenate([a.items for a in answers]) if answers else np.zeros(0, np.int64)
        scores = (np.concatenate([a.scores for a in answers]) if answers
                  else np.zeros(0, np.float32))
        ranks = (np.concatenate([np.arange(1, n + 1) for n in sizes]) if answers
                 else np.zeros(0, np.int64))
        user_vals = np.repeat(users.to_numpy(), sizes)
        return pd.DataFrame({user_column: user_vals, "rank": np.asarray(ranks, dtype=np.int64),
                             item_column: self.item_ids(idx.astype(np.int64)),
                             "score": scores.astype(float)})
