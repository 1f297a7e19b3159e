"""The training stage: split, search, refit the best candidate, score it once on the test set,
and package everything as a Model."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from fullcycle.automl.families import get_family
from fullcycle.automl.search import Candidate, Search, SearchResult, make_pipeline
from fullcycle.config import Config
from fullcycle.data.dataset import Dataset
from fullcycle.errors import DataError
from fullcycle.evaluate.metrics import score_all
from fullcycle.explore.profile import profile_frame
from fullcycle.model import Model
from fullcycle.problem import Problem, define_problem
from fullcycle.provenance import environment_record


@dataclass
class TrainOutcome:
    model: Model
    search: SearchResult
    test_metrics: dict[str, float]
    verdict: dict[str, Any]
    train_index: np.ndarray
    test_index: np.ndarray
    seconds: float

    @property
    def leaderboard(self) -> pd.DataFrame:
        return self.search.leaderboard()


def split(dataset: Dataset, problem: Problem, config: Config) -> tuple[np.ndarray, np.ndarray]:
    """The fixed, seeded train/test split of a run (stratified for classification)."""
    n = len(dataset.frame)
    index = np.arange(n)
    y = problem.encode_target(dataset.target)
    stratify = y if problem.is_classification and np.bincount(y).min() >= 2 else None
    test_rows = int(round(n * config.split.test_size))
    if n < 10 or test_rows < 2:
        raise DataError(f"{dataset.source}: {n} rows is too few to train and test a model; "
                        "need at least 10")
    train_idx, test_idx = train_test_split(index, test_size=config.split.test_size,
                                           random_state=config.seed, stratify=stratify)
    return np.sort(train_idx), np.sort(test_idx)


def feature_frame(dataset: Dataset) -> pd.DataFrame:
    return dataset.frame[[c.name for c in dataset.schema.features]]


def train_model(dataset: Dataset, config: Config, *,
                on_candidate: Callable[[Candidate, int, float], None] | None = None) -> TrainOutcome:
    start = time.perf_counter()
    target = dataset.schema.target
    if target is None:
        raise DataError("no target column; give --target or set data.target in the config")
    if not dataset.schema.features:
        raise DataError(f"{dataset.source}: no usable feature columns besides the target")
    problem = define_problem(dataset.target, target, config.problem)
    y = problem.encode_target(dataset.target)
    X = feature_frame(dataset)
    train_idx, test_idx = split(dataset, problem, config)
    search = Search(schema=dataset.schema, problem=problem, families=config.train.families,
                    folds=config.split.cv_folds, seed=config.seed,
                    time_budget=config.train.time_budget, max_trials=config.train.max_trials,
                    on_candidate=on_candidate)
    result = search.run(X.iloc[train_idx].reset_index(drop=True), y[train_idx])
    best = result.best
    pipeline = make_pipeline(dataset.schema, get_family(best.family), problem.task, best.params,
                             config.seed)
    pipeline.fit(X.iloc[train_idx], y[train_idx])
    reference = profile_frame(X.iloc[train_idx], dataset.schema)
    model = Model(pipeline=pipeline, problem=problem, schema=dataset.schema, reference=reference)
    test_metrics = evaluate_on(model, X.iloc[test_idx], y[test_idx])
    verdict = problem.check_success(test_metrics)
    model.metadata.update({
        "best_candidate": best.name, "family": best.family, "params": best.params,
        f"cv_{problem.metric}": best.score, "test_metrics": test_metrics,
        "data_fingerprint": dataset.fingerprint, "data_source": dataset.source,
        "rows_train": int(len(train_idx)), "rows_test": int(len(test_idx)),
        "config": config.model_dump(mode="json"), "environment": environment_record(),
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "input_example": _example(X.iloc[train_idx]),
        "prediction_reference": _prediction_reference(model, X.iloc[test_idx]),
    })
    return TrainOutcome(model=model, search=result, test_metrics=test_metrics, verdict=verdict,
                        train_index=train_idx, test_index=test_idx,
                        seconds=time.perf_counter() - start)


def evaluate_on(model: Model, X: pd.DataFrame, y: np.ndarray) -> dict[str, float]:
    """The task's full metric suite of a model on encoded targets."""
    problem = model.problem
    scores = model.predict_scores(X)
    if problem.is_classification:
        labels = np.arange(len(problem.labels))
        return score_all(problem.task, y, scores.argmax(axis=1), scores, labels)
    return score_all(problem.task, y, scores, None, None)


def _example(X: pd.DataFrame) -> dict[str, Any]:
    row = X.iloc[0]
    return {k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v) for k, v in row.items()}


def _prediction_reference(model: Model, X: pd.DataFrame) -> dict[str, Any]:
    """Distribution of the model's own outputs on test rows, for prediction drift."""
    from fullcycle.explore.profile import numeric_profile

    scores = model.predict_scores(X)
    values = scores[:, -1] if scores.ndim == 2 else scores
    return numeric_profile(pd.Series(values))
