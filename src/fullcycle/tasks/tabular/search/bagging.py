"""Bagged members: a candidate's cross-validation fold models, averaged, used as a final
ensemble member when its refit on all training rows would not finish within the time budget
(as AutoGluon bags its fold models instead of refitting). Each fold model was fitted on (k-1)/k
of the rows; their average predicts like the candidate the cross-validation scored, so the
ensemble chosen on out-of-fold predictions keeps the member instead of losing it.

The search keeps fold models only for its best few candidates and within a memory cap
(`keep_fold_models`): forests on many rows are large, and k copies of them larger."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone

from fullcycle.tasks.tabular.search.families import forest_bytes

KEEP_BAGS = 10  # candidates whose fold models are kept, best first
KEEP_BYTES = 512 * 2**20  # and at most this many bytes of fold models in all


class FoldBag(BaseEstimator):
    """Fold pipelines (Pipeline[preprocess, model], each fitted on one fold's training rows)
    predicting as their average."""

    def __init__(self, *, members: list[Any] | None = None, task: str = "binary",
                 seed: int = 0) -> None:
        self.members = members
        self.task = task
        self.seed = seed

    def fit(self, X: Any, y: Any) -> FoldBag:
        """Bag again on new rows (cross-validated evaluation, `as_estimator().fit`): one fold
        model per member, each fitted on the training rows of its own fold."""
        from sklearn.model_selection import KFold, StratifiedKFold

        members: list[Any] = self.members or []
        y = np.asarray(y)
        if len(members) < 2:
            self.members = [clone(m).fit(X, y) for m in members]
            return self
        index = np.zeros((len(y), 1))
        if self.task != "regression" and int(np.bincount(y).min()) >= len(members):
            folds = StratifiedKFold(len(members), shuffle=True, random_state=self.seed)
            splits = list(folds.split(index, y))
        else:
            splits = list(KFold(len(members), shuffle=True, random_state=self.seed).split(index))
        self.members = [clone(m).fit(_rows(X, train), y[train])
                        for m, (train, _) in zip(members, splits, strict=True)]
        return self

    def _outputs(self, X: Any) -> np.ndarray:
        members: list[Any] = self.members or []
        if self.task == "regression":
            return np.mean([np.asarray(m.predict(X), dtype="float64").reshape(-1)
                            for m in members], axis=0)
        return np.mean([np.asarray(m.predict_proba(X), dtype="float64") for m in members],
                       axis=0)

    def predict_proba(self, X: Any) -> np.ndarray:
        if self.task == "regression":
            raise AttributeError("a regression bag has no predict_proba")
        return self._outputs(X)

    def predict(self, X: Any) -> np.ndarray:
        if self.task == "regression":
            return self._outputs(X)
        return np.asarray(self._outputs(X).argmax(axis=1))


def _rows(X: Any, idx: np.ndarray) -> Any:
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


def bag_size(member: Any) -> int:
    """Fold models in a final member: k for a bag, 1 for a refit pipeline."""
    return len(member.members or []) if isinstance(member, FoldBag) else 1


# --- memory ---------------------------------------------------------------------------------
def model_bytes(pipelines: Sequence[Any]) -> int:
    """Approximate memory of fitted fold pipelines (their models; the fold preprocessings are
    shared by every candidate of a kind and counted nowhere). Tree ensembles are counted from
    their node counts (pickling hundreds of megabytes to weigh them would cost seconds), the
    rest by their pickled size."""
    return sum(_estimator_bytes(getattr(p, "steps", [(None, p)])[-1][1]) for p in pipelines)


def _estimator_bytes(model: Any) -> int:
    est = getattr(model, "estimator_", model)
    trees = getattr(est, "estimators_", None)
    if isinstance(trees, list) and trees and hasattr(trees[0], "tree_"):
        return int(forest_bytes(est))
    booster = getattr(est, "booster_", None)
    if booster is not None and hasattr(booster, "num_trees"):
        leaves = int(est.get_params().get("num_leaves") or 31)
        return int(booster.num_trees()) * leaves * 200  # model text ~ 200 bytes a leaf
    try:
        return len(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # unpicklable: never kept
        return KEEP_BYTES + 1


def keep_fold_models(ranked: list[Any], count: int = KEEP_BAGS, size: int = KEEP_BYTES) -> None:
    """Keep the fold models of the best candidates (`ranked`, best first, each with
    `fold_models` and `fold_bytes`): at most `count` of them, `size` bytes in all; drop the
    others' (a candidate that fell out can never come back, so its models are released)."""
    kept = used = 0
    for cand in ranked:
        if cand.fold_models is None:
            continue
        if kept < count and used + cand.fold_bytes <= size:
            kept += 1
            used += cand.fold_bytes
        else:
            cand.fold_models = None
