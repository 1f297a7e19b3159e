"""`fullcycle train --cluster`: a supervised table larger than one machine, on Dask.

1. The workers read the source in partitions; a seeded random split keeps a test slice aside.
2. A bounded random sample of the training part (`compute.sample_rows`) comes to the client:
   the usual search runs on it with part of the budget, so every family (linear, k-NN, MLP,
   CatBoost included) competes, and it fixes the problem, schema and hyperparameters.
3. The gradient-boosted family step 2 ranked best of those with a Dask trainer (LightGBM or
   XGBoost, `full_fit.py`) trains on ALL training rows with its hyperparameters from step 2: the
   native preprocessing is fitted on the sample (documented approximation: category levels and
   imputation statistics from up to `sample_rows` rows) and applied per partition on the
   workers.
4. Both models are scored on the same test slice; the better one becomes the Model — the same
   kind of Model as on one machine, which serves, packages and monitors without Dask.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fullcycle.compute.cluster import ClusterError, ClusterSession, connect
from fullcycle.compute.frames import TableSource, read_partitions, typed
from fullcycle.data.dataset import Dataset
from fullcycle.data.fingerprint import Fingerprinter
from fullcycle.errors import DataError
from fullcycle.taskkind import TrainResult
from fullcycle.tasks.tabular.full_fit import (
    COST_SAFETY,
    PROBE_ROUNDS,
    ROUNDS,
    Plan,
    affordable_rounds,
    choose_full_fit,
    fit_on_cluster,
    native_prep,
    plan_for_memory,
    round_seconds,
    searched,
)
from fullcycle.tasks.tabular.search.train import metrics_from_scores
from fullcycle.tasks.tabular.tune import tune_on_workers

if TYPE_CHECKING:
    from fullcycle.config import Config
    from fullcycle.data.dataset import Dataset

# The kind's own single-machine training (TabularKind.train), run on the sample.
LocalTrain = Callable[..., TrainResult]
TEST_ROWS_CAP = 200_000  # rows of the test slice brought to the client for scoring
# Of the budget left after the two passes over the data, the search on the sample gets this
# share; the rest pays for the full-data fit (which re-reads every partition).
SAMPLE_SHARE_OF_BUDGET = 0.4
MIN_SEARCH_SECONDS = 10.0
RESERVED_ROUNDS = 100  # full-data rounds whose time the search on the sample leaves free
MIN_TUNE_SECONDS = 20.0  # less spare time than this: no trials on the workers
BUDGET_SHARE = 0.85  # as train_model: the rest is registration and reports


def train_from_source(config: Config, *, train: LocalTrain, reports: Path,
                      progress: Callable[..., None] | None = None,
                      note: Callable[[str], None] | None = None) -> tuple[Dataset, TrainResult]:
    """`Project.train` with `compute.cluster` set: connect, train, and return the dataset the
    registry records (the sample's schema, the FULL data's fingerprint) with the result."""
    address = config.compute.cluster or "local"
    with connect(address, worker_memory=config.compute.worker_memory) as session:
        return train_on_cluster(session, config, train=train, reports=reports,
                                progress=progress, note=note)


def train_on_cluster(session: ClusterSession, config: Config, *, train: LocalTrain,
                     reports: Path, progress: Callable[..., None] | None = None,
                     note: Callable[[str], None] | None = None) -> tuple[Dataset, TrainResult]:
    say = note or (lambda _text: None)
    started = time.perf_counter()
    source, target = config.data.source, config.data.target
    if not source or not target:
        raise DataError("train --cluster needs a data source and a target column")
    frame = read_partitions(source, blocksize=config.compute.blocksize, sql=TableSource(
        table=config.data.table, query=config.data.query, key=config.compute.sql_key))
    if target not in frame.columns:
        raise DataError(f"{source}: no column {target!r}; columns: {list(frame.columns)[:20]}")
    # pass 1: the data version of the whole source, and its row count
    version, total = distributed_fingerprint(session, frame)
    pass_seconds = time.perf_counter() - started
    # pass 2: the split, its counts and both bounded samples, in one computation
    labelled = frame[frame[target].notnull()]
    share = config.split.test_size
    train_part, test_part = labelled.random_split([1 - share, share], random_state=config.seed)
    wanted = [train_part.shape[0], test_part.shape[0],
              _draw(train_part, total * (1 - share), config.compute.sample_rows, config.seed),
              _draw(test_part, total * share, TEST_ROWS_CAP, config.seed + 1)]
    n_train, n_test, sample, test = session.client.compute(wanted, sync=True)
    n_train, n_test = int(n_train), int(n_test)
    if n_train == 0 or len(test) == 0:
        raise DataError(f"{source}: no rows with a {target!r} value to train and test on")
    sample, test = typed(sample).reset_index(drop=True), typed(test).reset_index(drop=True)
    parts = frame.npartitions
    say(f"{n_train:,} training rows and {n_test:,} test rows in {parts} "
        f"partition{'s' if parts != 1 else ''} on {session.describe()}")
    left = config.train.time_budget * BUDGET_SHARE - (time.perf_counter() - started)
    # the full-data fit is what a cluster is for: its time is set aside before the search
    reserve = 0.0 if config.train.max_trials is not None else \
        pass_seconds + RESERVED_ROUNDS * COST_SAFETY * _round_price(
            sample, target, n_train / max(len(sample), 1), len(session.workers))
    search_budget = max(MIN_SEARCH_SECONDS, min(left * SAMPLE_SHARE_OF_BUDGET, left - reserve))
    dataset, result = _search_sample(train, sample, config, reports, progress, search_budget)
    say(f"search on a {len(sample):,}-row sample: best {result.model.card.training.best_candidate}")
    left = config.train.time_budget * BUDGET_SHARE - (time.perf_counter() - started)
    plan, challenger = _full_data_model(session, result, train_part, sample, config,
                                          left - pass_seconds, n_train, say)
    result = _choose(result, plan, challenger, test, n_train, n_test, session, say)
    result.model.card.provenance.data_fingerprint = version
    result.model.card.training.search["seconds_total"] = round(time.perf_counter() - started, 2)
    return replace(dataset, fingerprint=version), result


def _full_data_model(session: ClusterSession, result: TrainResult, train_part: Any,
                     sample: pd.DataFrame, config: Config, seconds: float, n_train: int,
                     say: Callable[[str], None]) -> tuple[Plan, Any | None]:
    """The family that trains on every row (the search's best Dask-trainable one, or what the
    workers' memory allows) and its fitted model, or None when the budget or the cluster
    cannot give it (the reason is said)."""
    problem = result.model.problem
    regression = problem.task == "regression"
    began = time.perf_counter()
    prep = native_prep(result, sample, config)
    X = prep.transform(sample[list(prep.feature_names_in_)])
    y = problem.encode_target(sample[problem.target])
    workers = session.workers
    plan = plan_for_memory(choose_full_fit(result), searched(result), n_train, X.shape[1],
                           [int(w["memory_limit"] or 0) for w in workers.values()])
    if plan.note:
        say(plan.note)
    if plan.fraction == 0:
        return plan, None
    scale = n_train * plan.fraction / max(len(sample), 1)
    per_round = round_seconds(plan.fit, regression, X, y, scale, len(workers))
    # time the full fit cannot use (it stops at ROUNDS) goes to trials on the workers
    spare = seconds - ROUNDS * per_round - (time.perf_counter() - began)
    counted = config.train.max_trials is not None
    if counted or spare >= MIN_TUNE_SECONDS:
        tuned = tune_on_workers(session, plan.fit, result.model.schema, problem, sample, config,
                                spare)
        if tuned is not None:
            say(tuned.summary(problem.metric))
            result.model.card.task_info["cluster_tuning"] = {
                "family": tuned.fit.family, "trials": tuned.trials, "rounds": tuned.rounds,
                f"cv_{problem.metric}_searched": tuned.searched_score,
                f"cv_{problem.metric}_best": tuned.best_score, "params": tuned.fit.searched}
            plan = replace(plan, fit=tuned.fit)
            per_round = round_seconds(plan.fit, regression, X, y, scale, len(workers))
    rounds = ROUNDS if counted else affordable_rounds(seconds - (time.perf_counter() - began),
                                                      per_round)
    if rounds is None:
        say(f"no time left in the budget for {plan.fit.label} on every row; kept the sample's "
            "model (raise --time-budget to train on all rows)")
        return plan, None
    try:
        return plan, fit_on_cluster(session, plan, prep, problem, sample, train_part, rounds,
                                    config.seed)
    except ClusterError as exc:  # the sample's model is sound: keep it, say why
        say(f"{plan.fit.label} on every row failed: {exc}. Kept the sample's model")
        return plan, None


def _draw(part: Any, expected_rows: float, cap: int, seed: int) -> Any:
    """A seeded sample of about `cap` rows (all of them when there are fewer)."""
    frac = min(1.0, cap / max(expected_rows, 1.0))
    return part.sample(frac=frac, random_state=seed) if frac < 1 else part


def _round_price(sample: pd.DataFrame, target: str, scale: float, workers: int) -> float:
    """Seconds per full-data boosting round, before any search: PROBE_ROUNDS of a plain
    LightGBM on the sample's raw columns (text as categories), scaled to the rows per worker."""
    import lightgbm as lgb

    X = sample.drop(columns=[target])
    X = X.astype({c: "category" for c, t in X.dtypes.items()
                  if not pd.api.types.is_numeric_dtype(t)})
    y = pd.factorize(sample[target])[0] if not pd.api.types.is_numeric_dtype(sample[target]) \
        else sample[target].to_numpy()
    begun = time.perf_counter()
    lgb.LGBMRegressor(n_estimators=PROBE_ROUNDS, num_leaves=63, n_jobs=1, verbose=-1).fit(X, y)
    return (time.perf_counter() - begun) / PROBE_ROUNDS * scale / max(workers, 1)


def distributed_fingerprint(session: ClusterSession, frame: Any) -> tuple[str, int]:
    """The data version of the whole source, as `fullcycle inspect` computes it on one
    machine: per-partition multiset hashes added up on the client (only two numbers travel);
    with the row count."""
    import dask


    def part(chunk: pd.DataFrame) -> tuple[int, int, list[str]]:
        printer = Fingerprinter()
        printer.update(chunk)
        return printer.rows, int(printer.total), printer.columns or []

    pieces = session.client.compute([dask.delayed(part)(p) for p in frame.to_delayed()],
                                    sync=True)
    total = Fingerprinter()
    for rows, subtotal, columns in pieces:
        total.columns = columns
        total.rows += rows
        with np.errstate(over="ignore"):
            total.total = np.uint64(total.total + np.uint64(subtotal))
    return total.hexdigest(), total.rows


def _search_sample(train: LocalTrain, sample: pd.DataFrame, config: Config, reports: Path,
                   progress: Callable[..., None] | None, budget: float
                   ) -> tuple[Dataset, TrainResult]:
    local = config.model_copy(deep=True)
    local.train.time_budget = budget
    dataset = Dataset.from_frame(sample, target=config.data.target, roles=config.data.roles,
                                 source=str(config.data.source), config=config.data)
    return dataset, train(dataset, local, reports=reports, progress=progress)


def _choose(result: TrainResult, plan: Plan, full: Any | None, test: pd.DataFrame,
            n_train: int, n_test: int, session: ClusterSession,
            say: Callable[[str], None]) -> TrainResult:
    """Score the sample's model and the full-data model on the same test slice; keep the
    better one (the card says which, and on how many rows each was trained)."""
    model = result.model
    problem = model.problem
    y = problem.encode_target(test[problem.target])
    X = test[[c.name for c in model.schema.features]]
    sample_metrics = metrics_from_scores(model, model.predict_scores(X), y)
    metric = problem.metric
    full_metrics = {metric: float("nan")}
    if full is not None:
        full_scores = full.predict_proba(X) if problem.task != "regression" else full.predict(X)
        full_scores = np.asarray(full_scores, dtype="float64")
        full_metrics = metrics_from_scores(model, full_scores, y)
    sign = problem.scorer.sign()
    full_wins = full is not None and sign * full_metrics[metric] > sign * sample_metrics[metric]
    chosen = full_metrics if full_wins else sample_metrics
    if full_wins:
        model.predictor = full
    model.card.training.test_metrics = chosen
    model.card.task_info["cluster"] = {
        "address": session.address, "workers": len(session.workers),
        "rows_train": n_train, "rows_test": n_test, "test_rows_scored": len(test),
        "sample_rows": int(result.model.card.provenance.rows_train or 0),
        "full_data_family": plan.fit.family,
        "rows_full_data_fit": round(n_train * plan.fraction) if full is not None else 0,
        "chosen": f"{plan.fit.family} on {plan.fraction:.0%} of the training rows" if full_wins
        else "search on the sample",
        f"test_{metric}_sample_model": sample_metrics[metric],
        f"test_{metric}_full_data_model": full_metrics[metric]}
    if full is not None:
        label = f"full-data {plan.fit.label}"
        say(f"test {metric}: {label} {full_metrics[metric]:.4f}, sample search "
            f"{sample_metrics[metric]:.4f} on {len(test):,} rows: kept the "
            f"{label if full_wins else 'sample model'}")
    result.test_metrics = chosen
    result.verdict = problem.check_success(chosen)
    result.holdout = test
    return result
