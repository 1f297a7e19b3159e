"""The training stage: split, search, improve (ensemble or stack, calibrate, tune the decision
threshold), refit on all training rows, score once on the test set, diagnose, and package
everything as a Model.

The time budget covers this whole function: the search stops early enough to leave time for
the final refit; an ensemble member that would not finish refitting in time is bagged (its
cross-validation fold models averaged) or, when the search did not keep them, dropped."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from fullcycle.card import ModelCard, Provenance, TrainingSummary
from fullcycle.config import Config
from fullcycle.data.dataset import Dataset
from fullcycle.data.schema import date_format, normalise_missing, to_datetime
from fullcycle.errors import ConfigError, DataError
from fullcycle.metrics import score_all
from fullcycle.model import Model
from fullcycle.problem import Problem, define_problem, target_notes
from fullcycle.provenance import code_version, environment_record
from fullcycle.tasks.tabular.search.cpu import CpuWatch, use_threads
from fullcycle.tasks.tabular.search.families import split_keeping_rare
from fullcycle.tasks.tabular.search.improve import _refit_estimate, build_final
from fullcycle.tasks.tabular.search.search import Candidate, Search, SearchResult

log = logging.getLogger(__name__)


@dataclass
class TrainOutcome:
    model: Model
    search: SearchResult
    test_metrics: dict[str, float]
    verdict: dict[str, Any]
    train_index: np.ndarray
    test_index: np.ndarray
    seconds: float
    diagnosis: list[str] = field(default_factory=list)
    final: dict[str, Any] = field(default_factory=dict)  # what the final model is, OOF-scored
    test_scores: np.ndarray | None = None  # the final model's scores on the test rows

    @property
    def leaderboard(self) -> pd.DataFrame:
        return self.search.leaderboard()


def split(dataset: Dataset, problem: Problem, config: Config) -> tuple[np.ndarray, np.ndarray]:
    """The fixed, seeded train/test split of a run: stratified for classification, whole groups
    held out for `group`, the latest rows held out for `time`."""
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    n = len(dataset.frame)
    index = np.arange(n)
    test_rows = int(round(n * config.split.test_size))
    if n < 10 or test_rows < 2:
        raise DataError(f"{dataset.source}: {n} rows is too few to train and test a model; "
                        "need at least 10")
    strategy = config.split.strategy
    if strategy == "time":
        order = np.argsort(_column(dataset, config.split.time_column, "time").to_numpy(),
                           kind="stable")
        return np.sort(order[:-test_rows]), np.sort(order[-test_rows:])
    if strategy == "group":
        groups = _column(dataset, config.split.group_column, "group").astype(str).to_numpy()
        splitter = GroupShuffleSplit(n_splits=1, test_size=config.split.test_size,
                                     random_state=config.seed)
        train_idx, test_idx = next(splitter.split(index, groups=groups))
        return np.sort(train_idx), np.sort(test_idx)
    y = problem.encode_target(dataset.target)
    if problem.is_classification and strategy != "random":
        # stratified; a class of one row stays in training (no model could learn it otherwise)
        return split_keeping_rare(index, y, config.split.test_size, config.seed, stratify=True)
    train_idx, test_idx = train_test_split(index, test_size=config.split.test_size,
                                           random_state=config.seed)
    return np.sort(train_idx), np.sort(test_idx)


def _column(dataset: Dataset, name: str | None, what: str) -> pd.Series:
    if not name:
        raise ConfigError(f"split.strategy is {what} but split.{what}_column is not set; name "
                          "the column to split by")
    if name not in dataset.frame.columns:
        raise ConfigError(f"split.{what}_column {name!r} is not a column of {dataset.source}; "
                          f"columns: {list(dataset.frame.columns)[:20]}")
    column = dataset.frame[name]
    if what == "time":
        return column if column.dtype.kind in "iufM" else _parse_time(dataset, name, column)
    return column


def _parse_time(dataset: Dataset, name: str, column: pd.Series) -> pd.Series:
    """Dates in the layout the schema inferred (05-02-2010 is 5 February, not 2 May): a
    per-value guess would scatter the held-out "future" rows over the whole period."""
    fmt = dataset.schema[name].format if name in dataset.schema.names else None
    if fmt is None:
        fmt = date_format(normalise_missing(column).dropna().astype(str).str.strip())
    return to_datetime(column, fmt)


def _budget_start(budget: float) -> float:
    age = _process_age()
    now = time.perf_counter()
    return now - age if age is not None and age < budget else now


def _process_age() -> float | None:
    """Seconds since this process started (Linux /proc); None where unknown."""
    import os

    try:
        with open("/proc/self/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime") as handle:
            uptime = float(handle.read().split()[0])
        return max(0.0, uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


def feature_frame(dataset: Dataset) -> pd.DataFrame:
    return dataset.frame[[c.name for c in dataset.schema.features]]


# Share of the budget train_model aims to use; the rest is left to the command around it
# (reading data before, registering the model after), so `fullcycle train -b 60` ends near 60 s.
BUDGET_SHARE = 0.85
OWN_BUDGET_SHARE = 0.95  # with `started_at`: what is left covers scoring and packaging
ENSEMBLE_RESERVE = 4  # refits of this many top candidates are kept in reserve for the ensemble


def _post_reserve(budget: float) -> float:
    """Seconds kept after the search for calibration, test scoring and profiling."""
    return min(0.06 * budget + 1.0, 15.0)


def train_model(dataset: Dataset, config: Config, *,
                on_candidate: Callable[[Candidate, int, float], None] | None = None,
                started_at: float | None = None) -> TrainOutcome:
    """Train within `config.train.time_budget` seconds counted from `started_at` (a
    time.perf_counter() value). Default: the process start when the process is younger than
    the budget (a `fullcycle train` command or a fresh script, so imports and data reading
    count too and the command's wall time stays near the budget), else now."""
    start = started_at if started_at is not None else _budget_start(config.train.time_budget)
    target = dataset.schema.target
    if target is None:
        raise DataError("no target column; give --target or set data.target in the config")
    if not dataset.schema.features:
        raise DataError(f"{dataset.source}: no usable feature columns besides the target")
    problem = define_problem(dataset.target, target, config.problem)
    y = problem.encode_target(dataset.target)
    X = feature_frame(dataset)
    train_idx, test_idx = split(dataset, problem, config)
    X_train, y_train, groups, rows = _train_rows(dataset, config, X, y, train_idx)
    tc = config.train
    # an explicit start means the caller keeps no time for itself: only training must fit
    share = BUDGET_SHARE if started_at is None else OWN_BUDGET_SHARE
    budget = tc.time_budget * share - (time.perf_counter() - start)
    post = _post_reserve(tc.time_budget)

    def reserve(cands: list[Candidate]) -> float:
        sign = problem.scorer.sign()
        top = sorted(cands, key=lambda c: -sign * c.score)[:ENSEMBLE_RESERVE if tc.ensemble else 1]
        # the folds the search uses (fewer than configured on slow data: each fold model then
        # saw fewer rows and a refit costs more of a candidate's measured time)
        folds = len(search.cv) or config.split.cv_folds
        return post + sum(_refit_estimate(c, folds, search.preprocess_seconds) for c in top)

    search = Search(schema=dataset.schema, problem=problem, families=tc.families,
                    folds=config.split.cv_folds, seed=config.seed, time_budget=budget,
                    max_trials=tc.max_trials, on_candidate=on_candidate,
                    class_weight=tc.class_weight, strategy=config.split.strategy,
                    groups=groups, adaptive_folds=tc.adaptive_folds, reserve=reserve,
                    features=config.features)
    deadline = None if tc.max_trials is not None else time.perf_counter() + budget - post
    # a counted search uses one thread whatever the machine's state, so it repeats exactly
    watch = None if tc.max_trials is not None else CpuWatch()
    search.cpu = watch
    threads = 1 if watch is None else watch.threads()
    log.info("%d thread(s) per fit to start with", threads)
    with threadpool_limits(1), use_threads(threads), warnings.catch_warnings():
        # one BLAS thread outside the fits (see families.THREADS)
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        result = search.run(X_train, y_train)
        result.rows = rows  # OOF row i is dataset.frame row rows[i] (time order for time CV)
        log.info("search: %d trials, %d finished, %.1fs", result.trials, len(result.candidates),
                 time.perf_counter() - start)
        final = build_final(result, dataset.schema, config, X_train, y_train, deadline=deadline)
    for cand in result.candidates:  # bagged members hold the fold models they use
        cand.fold_models = None
    final.diagnosis[:0] = target_notes(dataset.target, problem, config.problem, len(result.folds))
    log.info("final model ready at %.1fs", time.perf_counter() - start)
    card = ModelCard(
        kind="tabular", task=problem.task, target=problem.target, metric=problem.metric,
        schema=dataset.schema, classes=list(problem.labels), success=dict(problem.success),
        threshold=None if final.threshold is None else final.threshold["threshold"])
    model = Model(final.pipeline, card)
    # The test rows are scored once: metrics, prediction reference and monitoring reuse it.
    test_scores = model.predict_scores(X.iloc[test_idx])
    test_metrics = metrics_from_scores(model, test_scores, y[test_idx])
    verdict = problem.check_success(test_metrics)
    best = result.best
    card.training = TrainingSummary(
        best_candidate=best.name, family=best.family, params=dict(best.params),
        cv_score=final.info["cv_score"], cv_fold_scores=list(final.info["cv_fold_scores"]),
        test_metrics=test_metrics, final_model=final.info, ensemble=final.info.get("members"),
        calibration=final.calibration, threshold_tuning=final.threshold,
        diagnosis=list(final.diagnosis),
        search={"trials": result.trials, "finished": len(result.candidates),
                "pruned": result.pruned, "folds": len(result.folds),
                "seconds": round(result.elapsed, 2), "failures": result.failures,
                "threads": sorted(set(search.threads_used)) or [threads],
                "deterministic": tc.max_trials is not None},
        leaderboard=result.leaderboard().to_dict(orient="records"))
    code = code_version()
    card.provenance = Provenance(
        data_fingerprint=dataset.fingerprint, data_source=str(dataset.source),
        config=config.model_dump(mode="json"), seed=config.seed,
        environment=environment_record(), code_version=code.get("git_commit") or
        code.get("fullcycle"), trained_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        rows_train=int(len(train_idx)), rows_test=int(len(test_idx)))
    log.info("scored and packaged at %.1fs", time.perf_counter() - start)
    return TrainOutcome(model=model, search=result, test_metrics=test_metrics, verdict=verdict,
                        train_index=train_idx, test_index=test_idx,
                        seconds=time.perf_counter() - start, diagnosis=final.diagnosis,
                        final=final.info, test_scores=test_scores)


def _train_rows(dataset: Dataset, config: Config, X: pd.DataFrame, y: np.ndarray,
                train_idx: np.ndarray
                ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None, np.ndarray]:
    """Training rows for the search; sorted by time for time-ordered CV, with group labels for
    grouped CV."""
    idx = train_idx
    if config.split.strategy == "time":
        times = _column(dataset, config.split.time_column, "time").to_numpy()[train_idx]
        idx = train_idx[np.argsort(times, kind="stable")]
    groups = None
    if config.split.strategy == "group":
        groups = _column(dataset, config.split.group_column, "group").astype(str).to_numpy()[idx]
    return X.iloc[idx].reset_index(drop=True), y[idx], groups, idx


def evaluate_on(model: Model, X: pd.DataFrame, y: np.ndarray) -> dict[str, float]:
    """The task's full metric suite of a model on encoded targets."""
    return metrics_from_scores(model, model.predict_scores(X), y)


def metrics_from_scores(model: Model, scores: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """The metric suite from scores already computed (probabilities, or regression values)."""
    problem = model.problem
    if problem.is_classification:
        labels = np.arange(len(problem.labels))
        pred = _encode(problem, model.labels_from_scores(scores)) \
            if model.card.threshold is not None else scores.argmax(axis=1)
        return score_all(problem.task, y, pred, scores, labels)
    return score_all(problem.task, y, scores, None, None)


def _encode(problem: Problem, labels: np.ndarray) -> np.ndarray:
    index = {label: i for i, label in enumerate(problem.labels)}
    return np.asarray([index[v] for v in labels], dtype=np.int64)
