"""Training end to end without the stages: interactions -> search -> refit -> Recommender.

    rec, result = fit_recommender(frame, user="userId", item="movieId", rating="rating",
                                  budget_s=120, seed=42)
    rec.frame(users, k=10, user_column="userId", item_column="movieId")

The search gets `SEARCH_SHARE` of the budget; the rest pays for the refit on every interaction
(estimated from the winner's validation fit time) and the work after it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from fullcycle.tasks.recommend.content import ItemContent
from fullcycle.tasks.recommend.data import Interactions, build_interactions
from fullcycle.tasks.recommend.recommender import Recommender
from fullcycle.tasks.recommend.search import Search, SearchResult, refit

SEARCH_SHARE = 0.7


@dataclass
class FitResult:
    recommender: Recommender
    search: SearchResult
    interactions: Interactions
    seconds: float


def fit_interactions(inter: Interactions, *, budget_s: float, seed: int, k: int = 10,
                     content: ItemContent | None = None,
                     progress: Callable[[str], None] | None = None) -> FitResult:
    t0 = time.perf_counter()
    search = Search(inter.matrix, feedback=inter.feedback, budget_s=budget_s * SEARCH_SHARE,
                    seed=seed, k=k, progress=progress, max_fit_s=0.15 * budget_s)
    result = search.execute()
    grow = inter.nnz / max(search.val.train.nnz, 1)
    scorer = refit(result.best, inter.matrix, seed, grow)
    info = {"validation": result.validation_metrics, "feedback": inter.feedback,
            "n_users": inter.n_users, "n_items": inter.n_items, "n_interactions": inter.nnz,
            "trials": len(result.trials)}
    rec = Recommender.build(inter, scorer, content=content, info=info)
    return FitResult(rec, result, inter, time.perf_counter() - t0)


def fit_recommender(frame: pd.DataFrame, *, user: str, item: str, rating: str | None = None,
                    time_column: str | None = None, budget_s: float = 120.0, seed: int = 0,
                    k: int = 10, content: ItemContent | None = None,
                    progress: Callable[[str], None] | None = None) -> FitResult:
    inter = build_interactions(frame, user, item, rating, time_column)
    return fit_interactions(inter, budget_s=budget_s, seed=seed, k=k, content=content,
                            progress=progress)
