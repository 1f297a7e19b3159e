"""Model search under a wall-clock budget, scored by k-fold cross-validation.

Strong defaults of every family first (cheap families first), then Optuna TPE over families and
hyperparameters while time remains. Every candidate keeps its out-of-fold predictions so the
leaderboard is honest and ensembles can be built on it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline

from fullcycle.automl.families import Family, Params, get_family
from fullcycle.data.schema import Schema
from fullcycle.errors import ModelError
from fullcycle.features.preprocess import build_preprocessor
from fullcycle.problem import Problem


@dataclass
class Candidate:
    name: str
    family: str
    params: Params
    fold_scores: list[float]
    fit_seconds: float
    predict_ms_per_row: float
    oof: np.ndarray = field(repr=False)

    @property
    def score(self) -> float:
        return float(np.mean(self.fold_scores))

    @property
    def std(self) -> float:
        return float(np.std(self.fold_scores))


@dataclass
class SearchResult:
    candidates: list[Candidate]
    problem: Problem
    elapsed: float

    def ranked(self) -> list[Candidate]:
        sign = self.problem.scorer.sign()
        return sorted(self.candidates, key=lambda c: -sign * c.score)

    @property
    def best(self) -> Candidate:
        return self.ranked()[0]

    def leaderboard(self) -> pd.DataFrame:
        rows = [{"rank": i + 1, "model": c.name, "family": c.family,
                 f"cv_{self.problem.metric}": round(c.score, 5), "cv_std": round(c.std, 5),
                 "fit_seconds": round(c.fit_seconds, 2),
                 "predict_ms_per_row": round(c.predict_ms_per_row, 4)}
                for i, c in enumerate(self.ranked())]
        return pd.DataFrame(rows)


def make_pipeline(schema: Schema, family: Family, task: str, params: Params, seed: int) -> Pipeline:
    return Pipeline([("preprocess", build_preprocessor(schema, scale=family.needs_scaling)),
                     ("model", family.make(task, params, seed))])


def predict_scores(pipeline: Pipeline, X: pd.DataFrame, problem: Problem) -> np.ndarray:
    """Probabilities (n, k) for classification, values (n,) for regression."""
    if problem.is_classification:
        return pipeline.predict_proba(X)
    return pipeline.predict(X)


def score_predictions(problem: Problem, y: np.ndarray, scores: np.ndarray) -> float:
    metric = problem.scorer
    labels = np.arange(len(problem.labels)) if problem.is_classification else None
    if metric.needs == "label":
        return metric(y, scores.argmax(axis=1), labels)
    return metric(y, scores, labels)


def splitter(problem: Problem, folds: int, seed: int) -> KFold | StratifiedKFold:
    if problem.is_classification:
        return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return KFold(n_splits=folds, shuffle=True, random_state=seed)


class Search:
    """One model search. `run` returns every candidate scored out-of-fold."""

    def __init__(self, *, schema: Schema, problem: Problem, families: list[str], folds: int,
                 seed: int, time_budget: float, max_trials: int | None = None,
                 on_candidate: Callable[[Candidate, int, float], None] | None = None) -> None:
        self.schema, self.problem, self.seed = schema, problem, seed
        self.families = sorted((get_family(f) for f in families), key=lambda f: f.cost)
        self.folds, self.time_budget, self.max_trials = folds, time_budget, max_trials
        self.on_candidate = on_candidate
        self.candidates: list[Candidate] = []
        self._family_cost: dict[str, float] = {}

    def run(self, X: pd.DataFrame, y: np.ndarray) -> SearchResult:
        self.start = time.perf_counter()
        self.deadline = self.start + self.time_budget
        n_classes = max(len(self.problem.labels), 2) if self.problem.is_classification else 0
        min_class = int(np.bincount(y).min()) if n_classes else len(y)
        folds = max(2, min(self.folds, min_class)) if n_classes else min(self.folds, len(y))
        self.cv = list(splitter(self.problem, folds, self.seed).split(X, y))
        for family in self.families:
            if self._done():
                break
            self._evaluate(family, dict(family.defaults), X, y, f"{family.name}")
        if not self._done():
            self._tune(X, y)
        if not self.candidates:
            raise ModelError(
                f"no model finished within the time budget of {self.time_budget:g} s; "
                "raise train.time_budget (or --time-budget)")
        return SearchResult(self.candidates, self.problem, time.perf_counter() - self.start)

    def _done(self) -> bool:
        if self.max_trials is not None:
            return len(self.candidates) >= self.max_trials
        return time.perf_counter() >= self.deadline

    def _fits_in_budget(self, family: Family) -> bool:
        if self.max_trials is not None:
            return True
        expected = self._family_cost.get(family.name, 0.0)
        return time.perf_counter() + expected <= self.deadline

    def _evaluate(self, family: Family, params: Params, X: pd.DataFrame, y: np.ndarray,
                  name: str) -> Candidate | None:
        if not self._fits_in_budget(family):
            return None
        t0 = time.perf_counter()
        oof: np.ndarray | None = None
        scores, predict_seconds = [], 0.0
        for train_idx, valid_idx in self.cv:
            pipe = make_pipeline(self.schema, family, self.problem.task, params, self.seed)
            pipe.fit(X.iloc[train_idx], y[train_idx])
            t1 = time.perf_counter()
            pred = predict_scores(pipe, X.iloc[valid_idx], self.problem)
            predict_seconds += time.perf_counter() - t1
            if oof is None:
                oof = np.zeros((len(y),) + pred.shape[1:])
            oof[valid_idx] = pred
            scores.append(score_predictions(self.problem, y[valid_idx], pred))
            if self.max_trials is None and time.perf_counter() > self.deadline + 2.0:
                return None  # a candidate that overruns the budget is not kept half-scored
        elapsed = time.perf_counter() - t0
        self._family_cost[family.name] = elapsed
        assert oof is not None
        cand = Candidate(name=name, family=family.name, params=params, fold_scores=scores,
                         fit_seconds=elapsed, predict_ms_per_row=1000 * predict_seconds / len(y),
                         oof=oof)
        self.candidates.append(cand)
        if self.on_candidate:
            self.on_candidate(cand, len(self.candidates), self.deadline - time.perf_counter())
        return cand

    def _tune(self, X: pd.DataFrame, y: np.ndarray) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = optuna.samplers.TPESampler(seed=self.seed, n_startup_trials=5)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        sign = self.problem.scorer.sign()
        names = [f.name for f in self.families]
        trial_no = 0
        while not self._done():
            trial = study.ask()
            family = get_family(trial.suggest_categorical("family", names))
            params = family.space(trial)
            trial_no += 1
            cand = self._evaluate(family, params, X, y, f"{family.name}_t{trial_no}")
            if cand is None:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                if self.max_trials is None and not any(self._fits_in_budget(f) for f in self.families):
                    break
                continue
            study.tell(trial, sign * cand.score)
