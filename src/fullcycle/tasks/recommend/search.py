"""The search: candidates scored by nDCG@k on a per-user holdout of the training interactions,
within a time budget.

Plan (every step checks the clock and skips what its cost estimate says will not fit):
1. defaults of every family (popularity, EASE, item-kNN, ALS, BPR) on binary interactions;
2. the other value transforms (ratings as confidence, thresholded positives, log weights) for
   the two best families;
3. coordinate search over each family's grid, best family first (move one parameter one step,
   keep going in a direction while nDCG improves);
4. a blend of the best candidate of each family (weights on standardised validation scores,
   no refit needed), kept only when it beats the best single candidate;
5. the three best scorers re-ranked with a popularity penalty (several strengths, no refit).
The winner is the best nDCG among the candidates whose catalogue coverage reaches that of the
strongest classic baseline at its library defaults (item-kNN, ALS or BPR: a recommender should
not collapse onto popular items to win accuracy); among candidates within `TIE` of it the one
with the widest coverage wins.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from fullcycle.tasks.recommend.algos import (
    ALS,
    BPR,
    EASE,
    Algo,
    ItemKNN,
    Popularity,
    implicit_available,
)
from fullcycle.tasks.recommend.candidates import Blend, Candidate, Rerank, Scorer, standardise
from fullcycle.tasks.recommend.data import holdout_split
from fullcycle.tasks.recommend.metrics import ranking_metrics, top_k

TIE = 0.01  # relative nDCG difference treated as a tie (then coverage decides)
BETAS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.8, 1.2)  # popularity penalties
RERANK_TOP = 3  # how many of the best scorers get the popularity penalty
BASELINES = ("itemknn", "als", "bpr")  # whose default coverage is the floor
MAX_SCORE_CELLS = 6_000_000  # validation users x items (kept per family for the blend)
FINAL_METRIC_CALLS = 60  # blend weightings + re-rankings scored after the tuning
CHUNK_CELLS = 20_000_000  # validation users x items scored at once

# each family: ordered grids (a parameter moves one step at a time) and the starting value
GRIDS: dict[str, dict[str, list[Any]]] = {
    "ease": {"l2": [2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0,
                    6400.0],
             "max_items": [1000, 2000, 3000, 4500, 6000, 8000, 10000]},
    "itemknn": {"weighting": ["cosine", "bm25", "tfidf"],
                "neighbours": [10, 20, 50, 100, 200, 400, 800]},
    "als": {"factors": [16, 32, 64, 128, 256],
            "regularization": [0.001, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 20.0, 50.0, 100.0],
            "alpha": [0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 40.0],
            "iterations": [8, 15, 30]},
    "bpr": {"factors": [32, 64, 128, 256],
            "learning_rate": [0.005, 0.01, 0.02, 0.05, 0.1],
            "regularization": [0.0001, 0.001, 0.01, 0.05],
            "iterations": [50, 100, 200, 400]},
}
START: dict[str, dict[str, Any]] = {
    "ease": {"l2": 200.0, "max_items": 2000},
    "itemknn": {"weighting": "cosine", "neighbours": 20},  # the libraries' defaults
    "als": {"factors": 64, "regularization": 0.01, "alpha": 1.0, "iterations": 15},
    "bpr": {"factors": 64, "learning_rate": 0.01, "regularization": 0.01, "iterations": 100},
}
CATEGORICAL = {"weighting"}


def make_algo(family: str, params: dict[str, Any], seed: int) -> Algo:
    if family == "popularity":
        return Popularity()
    if family == "ease":
        return EASE(**params)
    if family == "itemknn":
        return ItemKNN(**params)
    if family == "als":
        return ALS(**params, seed=seed)
    return BPR(**params, seed=seed)


@dataclass
class Trial:
    family: str
    how: str
    params: dict[str, Any]
    metrics: dict[str, float]
    fit_s: float
    scorer: Scorer | None = None
    scores: np.ndarray | None = None  # standardised validation scores (blend, rerank inputs)

    @property
    def ndcg(self) -> float:
        return self.metrics.get("ndcg", 0.0)

    def row(self) -> dict[str, Any]:
        params = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in self.params.items())
        return {"model": self.family, "input": self.how, "params": params,
                **{f"val_{k}": v for k, v in self.metrics.items() if k != "users"},
                "fit_s": round(self.fit_s, 3)}


@dataclass
class Validation:
    """The holdout of the training interactions every candidate is scored on."""

    train: sp.csr_matrix
    rows: np.ndarray  # the validation users (row indices)
    relevant: sp.csr_matrix  # their held-out items
    seen: sp.csr_matrix  # their training items (excluded from the lists)
    popularity: np.ndarray  # share of training users per item
    k: int

    @classmethod
    def make(cls, X: sp.csr_matrix, k: int, seed: int, share: float = 0.25) -> Validation:
        train, held = holdout_split(X, share, seed)
        has = np.flatnonzero(np.diff(held.indptr) > 0)
        limit = max(300, min(3000, MAX_SCORE_CELLS // max(X.shape[1], 1)))
        if len(has) > limit:
            has = np.sort(np.random.default_rng(seed).choice(has, limit, replace=False))
        pop = np.asarray((train > 0).sum(axis=0), dtype=np.float64).ravel()
        return cls(train=train, rows=has, relevant=held[has], seen=train[has],
                   popularity=pop / max(train.shape[0], 1), k=k)

    def scores(self, scorer: Scorer) -> np.ndarray:
        chunk = max(1, CHUNK_CELLS // max(self.train.shape[1], 1))
        blocks = [scorer.score(self.seen[i:i + chunk], self.rows[i:i + chunk])
                  for i in range(0, len(self.rows), chunk)]
        return np.vstack(blocks) if blocks else np.zeros((0, self.train.shape[1]), np.float32)

    timings: list[float] = field(default_factory=list)  # seconds of each scoring of lists

    @property
    def metric_s(self) -> float:
        """The median seconds to score one candidate's lists (0 before any)."""
        return float(np.median(self.timings)) if self.timings else 0.0

    def metrics(self, scores: np.ndarray) -> dict[str, float]:
        t0 = time.perf_counter()
        try:
            return self._metrics(scores)
        finally:
            self.timings.append(time.perf_counter() - t0)

    def _metrics(self, scores: np.ndarray) -> dict[str, float]:
        masked = scores.copy()
        seen = self.seen.tocoo()
        masked[seen.row, seen.col] = -np.inf
        return ranking_metrics(top_k(masked, self.k), self.relevant, self.k, self.popularity)


@dataclass
class SearchResult:
    best: Scorer
    trials: list[Trial]
    validation_metrics: dict[str, float]
    notes: list[str] = field(default_factory=list)

    def leaderboard(self) -> list[dict[str, Any]]:
        return [t.row() for t in sorted(self.trials, key=lambda t: -t.ndcg)]


class Search:
    """One search run (see the module docstring)."""

    def __init__(self, X: sp.csr_matrix, *, feedback: str, budget_s: float, seed: int,
                 k: int = 10, progress: Callable[[str], None] | None = None,
                 families: tuple[str, ...] | None = None,
                 on_trial: Callable[[Trial, float], None] | None = None,
                 max_fit_s: float | None = None) -> None:
        self.on_trial = on_trial
        # the winner is refit on every interaction after the search: no candidate (or blend)
        # may cost more than the time kept for that
        self.max_fit_s = max_fit_s if max_fit_s is not None else budget_s / 3
        self.t0 = time.perf_counter()
        self.budget = budget_s
        self.seed = seed
        self.feedback = feedback
        self.progress = progress or (lambda message: None)
        self.val = Validation.make(X, k, seed)
        self.trials: list[Trial] = []
        self.kept: dict[str, tuple[Trial, np.ndarray]] = {}  # family -> best trial, std scores
        self.cost: dict[str, float] = {}
        self.deadline = float("inf")
        self.reserve = 0.0  # kept for the blend and re-ranking while the families are tuned
        self.notes: list[str] = []
        fams = families or ("popularity", "ease", "itemknn", "als", "bpr")
        if not implicit_available():
            dropped = [f for f in fams if f in ("als", "bpr")]
            fams = tuple(f for f in fams if f not in ("als", "bpr"))
            if dropped:
                self.notes.append("ALS and BPR skipped: install fullcycle[recommend] (the "
                                  "`implicit` package) to search them")
        self.families = fams

    # --- clock --------------------------------------------------------------------------------
    def left(self) -> float:
        """Seconds left for the current step (a family's share while tuning)."""
        return min(self.budget - self.reserve - (time.perf_counter() - self.t0),
                   self.deadline - time.perf_counter())

    def estimate(self, family: str, params: dict[str, Any]) -> float:
        base = self.cost.get(family, 1.0)
        scale = 1.0
        start = START.get(family, {})
        if family == "ease":  # the inverse: cubic in the items it keeps
            n = self.val.train.shape[1]
            return base * (min(params["max_items"], n) / min(start["max_items"], n)) ** 3
        for name in ("factors", "iterations"):
            if name in params and name in start:
                scale *= params[name] / start[name]
        if "factors" in params:
            scale = max(scale, params["iterations"] / start["iterations"])
        return base * max(scale, 0.3)

    # --- one trial ----------------------------------------------------------------------------
    def run(self, family: str, how: str, params: dict[str, Any]) -> Trial | None:
        for done in self.trials:
            if done.family == family and done.how == how and done.params == params:
                return done
        cheap = family in ("popularity", "itemknn") and family not in self.cost
        guess = self.estimate(family, params)
        if self.trials and not cheap and (guess * 1.2 > self.left()
                                          or (family in self.cost and guess > self.max_fit_s)):
            return None  # (the first popularity and item-kNN run whatever the clock says)
        scorer = Candidate(how=how, algo=make_algo(family, params, self.seed))
        t0 = time.perf_counter()
        try:
            scorer.fit(self.val.train)
            scores = self.val.scores(scorer)
        except (np.linalg.LinAlgError, MemoryError, ValueError) as exc:
            self.notes.append(f"{family} {params} failed: {exc}")
            return None
        elapsed = time.perf_counter() - t0
        if family not in self.cost or params == self.start(family):
            self.cost[family] = elapsed
        elif family == "ease":  # refresh the base from this fit, rescaled to the start size
            n = self.val.train.shape[1]
            ratio = min(START["ease"]["max_items"], n) / min(params["max_items"], n)
            self.cost["ease"] = elapsed * ratio ** 3
        trial = Trial(family, how, dict(params), self.val.metrics(scores), elapsed, scorer)
        self.trials.append(trial)
        self.progress(f"{scorer.describe()}: nDCG@{self.val.k} {trial.ndcg:.4f} "
                      f"({elapsed:.1f} s)")
        if self.on_trial is not None:
            self.on_trial(trial, max(self.left(), 0.0))
        best = self.kept.get(family)
        if best is None or trial.ndcg > best[0].ndcg:
            if best is not None:
                best[0].scores = None
            trial.scores = standardise(scores)
            self.kept[family] = (trial, trial.scores)
        return trial

    def start(self, family: str) -> dict[str, Any]:
        params = dict(START.get(family, {}))
        if family == "ease":
            params["max_items"] = min(params["max_items"], self.val.train.shape[1])
        return params

    def best_of(self, family: str) -> Trial | None:
        kept = self.kept.get(family)
        return kept[0] if kept else None

    # --- the plan -----------------------------------------------------------------------------
    def transforms(self) -> list[str]:
        if self.feedback == "explicit":
            return ["binary", "value", "positive"]
        if self.feedback == "implicit":
            return ["binary", "log"]
        many = bool(self.val.train.nnz and self.val.train.data.max() > 1)
        return ["binary", "log"] if many else ["binary"]

    def tune(self, family: str) -> None:
        """Coordinate search from the family's best trial."""
        best = self.best_of(family)
        if best is None or family not in GRIDS:
            return
        improved = True
        while improved and self.left() > 0:
            improved = False
            for name, grid in GRIDS[family].items():
                best = self.best_of(family)
                assert best is not None
                if name in CATEGORICAL:
                    options = [v for v in grid if v != best.params[name]]
                    for value in options:
                        trial = self.run(family, best.how, {**best.params, name: value})
                        improved |= bool(trial and trial is self.best_of(family))
                    continue
                improved |= self._walk(family, name, grid)

    def _walk(self, family: str, name: str, grid: list[Any]) -> bool:
        if name == "max_items":  # sizes up to the catalogue, the catalogue itself last
            n = self.val.train.shape[1]
            grid = [v for v in grid if v < n] + [n]
        best = self.best_of(family)
        assert best is not None
        at = grid.index(best.params[name]) if best.params[name] in grid else 0
        moved = False
        for step in (1, -1):
            i = at + step
            while 0 <= i < len(grid):
                current = self.best_of(family)
                assert current is not None
                trial = self.run(family, current.how, {**current.params, name: grid[i]})
                if trial is None or trial is not self.best_of(family):
                    break
                moved = True
                i += step
            if moved:
                break
        return moved

    def blend(self) -> Trial | None:
        """Weighted blends of the best trial of each family (two or three members): every
        weighting becomes a trial (the coverage floor may prefer one that is not the most
        accurate); the most accurate keeps its scores for the popularity re-ranking."""
        pool = sorted((v for f, v in self.kept.items() if f != "popularity"
                       and v[0].fit_s <= self.max_fit_s), key=lambda v: -v[0].ndcg)[:3]
        if len(pool) < 2:
            return None

        def mix(ws: list[float], members: list[int]) -> np.ndarray:
            total = np.zeros_like(pool[0][1])
            for w, m in zip(ws, members, strict=True):
                total += w * pool[m][1]
            return total

        best: Trial | None = None
        weights = [0.2, 0.35, 0.5, 0.65, 0.8]
        for size in (2, 3):
            for combo in itertools.combinations(range(len(pool)), size):
                cost = sum(pool[m][0].fit_s for m in combo)
                if cost > self.max_fit_s:  # its refit would not fit the budget
                    continue
                grid = ([[w, 1 - w] for w in weights] if size == 2 else
                        [[a, b, 1 - a - b] for a in weights for b in weights if a + b < 0.95])
                for ws in grid:
                    if best is not None and self.left() < -0.05 * self.budget:
                        break
                    members = [pool[m][0] for m in combo]
                    scorer = Blend(members=[t.scorer for t in members],  # type: ignore[misc]
                                   weights=list(ws))
                    params = {"members": " + ".join(t.family for t in members),
                              "weights": "/".join(f"{w:g}" for w in ws)}
                    trial = Trial("blend", "mixed", params,
                                  self.val.metrics(mix(list(ws), list(combo))), cost, scorer)
                    self.trials.append(trial)
                    if best is None or trial.ndcg > best.ndcg:
                        best, best_mix = trial, (list(ws), list(combo))
        if best is None:
            return None
        best.scores = standardise(mix(*best_mix))
        self.progress(f"best blend {best.params}: nDCG@{self.val.k} {best.ndcg:.4f}")
        return best

    def execute(self) -> SearchResult:
        for family in self.families:
            self.run(family, "binary", self.start(family))
        ranked = sorted((f for f in self.kept if f != "popularity"),
                        key=lambda f: -self.kept[f][0].ndcg)
        for family in ranked[:2]:
            for how in self.transforms()[1:]:
                self.run(family, how, dict(self.kept[family][0].params))
        self.reserve = FINAL_METRIC_CALLS * self.val.metric_s
        for i, family in enumerate(ranked):  # the best family gets the largest share
            share = 0.5 if i < len(ranked) - 1 else 1.0
            self.deadline = time.perf_counter() + share * max(self.left(), 0.0)
            self.tune(family)
            self.deadline = float("inf")
        self.reserve = 0.0
        self.rerank()  # the single scorers first: cheap, and often what reaches the coverage
        best_blend = self.blend()
        if best_blend is not None:
            self.rerank([best_blend])
        return self.result()

    def rerank(self, pool: list[Trial] | None = None) -> None:
        """The best scorer of each of the top families (or the given trials) with a
        popularity penalty, for each of BETAS (no refit: the kept validation scores are
        re-ranked)."""
        if pool is None:
            pool = sorted((t for t in self.trials if t.scores is not None
                           and t.family not in ("popularity", "rerank", "blend")),
                          key=lambda t: -t.ndcg)[:RERANK_TOP]
        penalty = Rerank.penalty(self.val.train)
        for best in pool:
            base = best.scores
            assert base is not None and best.scorer is not None
            for beta in BETAS:  # no fit: only the lists are re-ranked and scored
                if self.left() < -0.05 * self.budget:
                    return
                metrics = self.val.metrics(base - beta * penalty[None, :])
                scorer = Rerank(inner=best.scorer, beta=beta)  # type: ignore[arg-type]
                scorer.penalty_ = penalty  # the inner scorer is fitted on the same part
                self.trials.append(Trial("rerank", best.how, {"of": best.family,
                                                               "beta": beta},
                                         metrics, best.fit_s, scorer))
                self.progress(f"{scorer.describe()}: nDCG@{self.val.k} "
                              f"{metrics['ndcg']:.4f}, coverage {metrics['coverage']:.3f}")

    def coverage_floor(self) -> float:
        """The catalogue coverage of the strongest classic baseline at its library defaults
        (item-kNN, ALS, BPR): the pick must show at least as much of the catalogue."""
        defaults = [t for t in self.trials if t.family in BASELINES
                    and t.params == self.start(t.family) and t.how == "binary"]
        if not defaults:
            return 0.0
        return max(defaults, key=lambda t: t.ndcg).metrics.get("coverage", 0.0)

    def result(self) -> SearchResult:
        """Best nDCG among the trials whose coverage reaches the floor (all of them when none
        does); within TIE of it, the widest coverage."""
        floor = self.coverage_floor()
        limit = max(1.5 * self.max_fit_s, 0.5 * self.budget)  # its refit must fit the rest
        affordable = [t for t in self.trials if t.fit_s <= limit
                      or t.family == "popularity"] or self.trials
        feasible = [t for t in affordable if t.metrics.get("coverage", 0.0) >= floor]
        if not feasible:
            self.notes.append(f"no candidate reached the baseline's catalogue coverage "
                              f"{floor:.3f}; picked by nDCG alone")
            feasible = affordable
        top = max(t.ndcg for t in feasible)
        close = [t for t in feasible if t.ndcg >= top * (1 - TIE)]
        winner = max(close, key=lambda t: (t.metrics.get("coverage", 0.0), t.ndcg))
        assert winner.scorer is not None
        return SearchResult(best=winner.scorer, trials=self.trials,
                            validation_metrics=winner.metrics, notes=self.notes)


def refit(scorer: Scorer, X: sp.csr_matrix, seed: int, grow: float = 1.0) -> Scorer:
    """A fresh copy of the winner's configuration, fitted on every training interaction.
    `grow` (all interactions / validation-train interactions) scales EASE's λ, whose best value
    grows with the Gram matrix it regularises."""
    if isinstance(scorer, Rerank):
        inner = refit(scorer.inner, X, seed, grow)
        fitted = Rerank(inner=inner, beta=scorer.beta)  # type: ignore[arg-type]
        fitted.penalty_ = Rerank.penalty(X)
        return fitted
    if isinstance(scorer, Blend):
        members = [refit(m, X, seed, grow) for m in scorer.members]
        return Blend(members=members, weights=list(scorer.weights))  # type: ignore[arg-type]
    params = _own_params(scorer.algo)
    if scorer.algo.family == "ease":
        params["l2"] = float(params["l2"]) * grow
    fresh = Candidate(how=scorer.how, algo=make_algo(scorer.algo.family, params, seed))
    return fresh.fit(X)


def _own_params(algo: Algo) -> dict[str, Any]:
    return {k: v for k, v in algo.get_params().items() if k != "seed"}
