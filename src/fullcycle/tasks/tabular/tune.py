"""Hyperparameter trials of the full-data family, spread over the Dask workers.

Optuna's ask-and-tell: the study lives on the client, each trial's cross-validation on the sample
runs on a worker (the sample is shipped once to every worker). Trials go out in rounds of as
many as the workers have threads and are told back in the order they were asked, so a seeded
run gives the same trials whatever finishes first. No shared Optuna storage is needed: only the
client writes to the study.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fullcycle.compute.cluster import ClusterSession
from fullcycle.tasks.tabular.full_fit import FullFit
from fullcycle.tasks.tabular.search.families import get_family, refit_params
from fullcycle.tasks.tabular.search.search import (
    make_folds,
    make_pipeline,
    predict_scores,
    score_predictions,
)

if TYPE_CHECKING:
    from fullcycle.config import Config
    from fullcycle.data.schema import Schema
    from fullcycle.problem import Problem

FOLDS = 3
COUNTED_ROUNDS = 2  # rounds of trials in deterministic mode (`--max-trials`)


@dataclass(frozen=True)
class Tuned:
    """The settings the full-data fit should use, and what the trials found."""

    fit: FullFit
    trials: int
    rounds: int
    searched_score: float
    best_score: float

    def summary(self, metric: str) -> str:
        kept = "the tuned ones" if self.best_score != self.searched_score else "the search's"
        return (f"tuned {self.fit.label} on the workers: {self.trials} trials in {self.rounds} "
                f"round(s), cross-validated {metric} {self.best_score:.4f} vs "
                f"{self.searched_score:.4f} for the search's settings; the full-data fit uses "
                f"{kept}")


def tune_on_workers(session: ClusterSession, fit: FullFit, schema: Schema, problem: Problem,
                    sample: pd.DataFrame, config: Config, seconds: float) -> Tuned | None:
    """Rounds of Optuna trials of `fit.family` on the workers within `seconds` (COUNTED_ROUNDS
    with `--max-trials`); None when not one round fits."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    family = get_family(fit.family)
    sign = problem.scorer.sign()
    X = sample[[c.name for c in schema.features]]
    y = problem.encode_target(sample[problem.target])
    folds = make_folds(problem, y, FOLDS, config.seed)
    shared = session.client.scatter([X, y, folds], broadcast=True)
    width = max(1, sum(int(w["nthreads"] or 1) for w in session.workers.values()))
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(
        seed=config.seed, n_startup_trials=width, multivariate=True))
    counted = config.train.max_trials is not None
    deadline = time.perf_counter() + seconds
    job = (schema, problem, config.features, config.seed)
    searched, best = None, (float("-inf"), fit)
    rounds = trials = 0
    last = 0.0
    while (counted and rounds < COUNTED_ROUNDS) or \
            (not counted and time.perf_counter() + last < deadline):
        began = time.perf_counter()
        first = rounds == 0
        asked = [study.ask() for _ in range(width - (1 if first else 0))]
        settings = [family.space(t, problem.task) for t in asked]
        if first:  # the search's own settings, scored on the same folds
            settings.insert(0, dict(fit.searched))
        left = None if counted else max(deadline - began, 1.0)
        futures = [session.client.submit(_cross_validate, fit.family, p, *shared, job, left,
                                         pure=False) for p in settings]
        outcomes = _outcomes(futures)
        if first:
            searched = outcomes.pop(0)
            settings.pop(0)
            if searched is not None:
                best = (sign * searched[0], fit)
        for trial, params, outcome in zip(asked, settings, outcomes, strict=True):
            if outcome is None:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                continue
            study.tell(trial, sign * outcome[0])
            if sign * outcome[0] > best[0]:
                best = (sign * outcome[0], FullFit(fit.family, refit_params(family, params,
                                                                            outcome[1])))
        rounds, trials = rounds + 1, trials + len(asked)
        last = time.perf_counter() - began
    if searched is None:  # no round ran, or the search's own settings failed on the workers
        return None
    return Tuned(best[1], trials, rounds, searched[0], sign * best[0])


def _outcomes(futures: list[Any]) -> list[tuple | None]:
    """Each future's result, None for the ones that failed (a worker lost, a fit error)."""
    out: list[tuple | None] = []
    for future in futures:
        try:
            out.append(future.result())
        except Exception:  # a failed trial is told as failed; the others still count
            out.append(None)
    return out


def _cross_validate(family_name: str, params: dict[str, Any], X: pd.DataFrame, y: np.ndarray,
                    folds: list[tuple[np.ndarray, np.ndarray]], job: tuple,
                    seconds: float | None) -> tuple[float, list[int | None]]:
    """Runs on a worker: the mean validation score of `params` over the folds, and each
    fold's early-stopped rounds."""
    schema, problem, features, seed = job
    family = get_family(family_name)
    deadline = None if seconds is None else time.perf_counter() + seconds
    scores, rounds = [], []
    n_classes = len(problem.labels) if problem.labels else None
    for train_idx, valid_idx in folds:
        pipe = make_pipeline(schema, family, problem.task, params, seed, features=features,
                             n_classes=n_classes)
        pipe.named_steps["model"].set_params(deadline=deadline)
        pipe.fit(X.iloc[train_idx], y[train_idx])
        pred = predict_scores(pipe, X.iloc[valid_idx], problem)
        scores.append(score_predictions(problem, y[valid_idx], pred))
        rounds.append(pipe.named_steps["model"].best_iteration_)
    return float(np.mean(scores)), rounds
