"""`fullcycle train --cluster`: a supervised table larger than one machine, on Dask.

1. The workers read the source in partitions; a seeded random split keeps a test slice aside.
2. A bounded random sample of the training part (`compute.sample_rows`) comes to the client:
   the usual search runs on it with part of the budget, so every family (linear, k-NN, MLP,
   CatBoost included) competes, and it fixes the problem, schema and hyperparameters.
3. LightGBM trains on ALL training rows with `lightgbm.dask`: the native preprocessing is fitted
   on the sample (documented approximation: category levels and imputation statistics from up
   to `sample_rows` rows) and applied per partition on the workers; the winning LightGBM
   hyperparameters of step 2 are reused.
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

from fullcycle.compute.cluster import ClusterError, ClusterSession
from fullcycle.compute.frames import read_partitions, typed
from fullcycle.errors import DataError
from fullcycle.taskkind import TrainResult

if TYPE_CHECKING:
    from fullcycle.config import Config
    from fullcycle.data.dataset import Dataset

TEST_ROWS_CAP = 200_000  # rows of the test slice brought to the client for scoring
SAMPLE_SHARE_OF_BUDGET = 0.45  # the single-machine search on the sample
ROUNDS = 400  # distributed boosting rounds (no early stopping across partitions)


def train_from_source(config: Config, *, reports: Path,
                      progress: Callable[..., None] | None = None,
                      note: Callable[[str], None] | None = None) -> tuple[Dataset, TrainResult]:
    """`Project.train` with `compute.cluster` set: connect, train, and return the dataset the
    registry records (the sample's schema, the FULL data's fingerprint) with the result."""
    from fullcycle.compute.cluster import connect

    address = config.compute.cluster or "local"
    with connect(address, worker_memory=config.compute.worker_memory) as session:
        return train_on_cluster(session, config, reports=reports, progress=progress, note=note)


def train_on_cluster(session: ClusterSession, config: Config, *, reports: Path,
                     progress: Callable[..., None] | None = None,
                     note: Callable[[str], None] | None = None) -> tuple[Dataset, TrainResult]:
    say = note or (lambda _text: None)
    started = time.perf_counter()
    source, target = config.data.source, config.data.target
    if not source or not target:
        raise DataError("train --cluster needs a data source and a target column")
    frame = read_partitions(source, blocksize=config.compute.blocksize)
    if target not in frame.columns:
        raise DataError(f"{source}: no column {target!r}; columns: {list(frame.columns)[:20]}")
    frame = frame[frame[target].notnull()]
    train_part, test_part = frame.random_split(
        [1 - config.split.test_size, config.split.test_size], random_state=config.seed)
    n_train, n_test = (int(x) for x in session.client.compute(
        [train_part.shape[0], test_part.shape[0]], sync=True))
    version = distributed_fingerprint(session, read_partitions(
        source, blocksize=config.compute.blocksize))
    say(f"{n_train:,} training rows and {n_test:,} test rows in {frame.npartitions} "
        f"partitions on {session.describe()}")
    sample = _sample(train_part, n_train, config.compute.sample_rows, config.seed)
    test = _sample(test_part, n_test, TEST_ROWS_CAP, config.seed + 1)
    dataset, result = _search_sample(sample, config, reports, progress)
    say(f"search on a {len(sample):,}-row sample: best {result.model.card.training.best_candidate}")
    challenger = _full_lightgbm(session, result, train_part, sample, config)
    result = _choose(result, challenger, test, n_train, n_test, session, say)
    result.model.card.provenance.data_fingerprint = version
    result.model.card.training.search["seconds_total"] = round(time.perf_counter() - started, 2)
    return replace(dataset, fingerprint=version), result


def distributed_fingerprint(session: ClusterSession, frame: Any) -> str:
    """The data version of the whole source, as `fullcycle inspect` computes it on one
    machine: per-partition multiset hashes added up on the client (only two numbers travel)."""
    import dask

    from fullcycle.data.fingerprint import Fingerprinter

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
    return total.hexdigest()


def _sample(part: Any, rows: int, cap: int, seed: int) -> pd.DataFrame:
    if rows == 0:
        raise DataError("the data has no rows with a target value")
    frac = min(1.0, cap / rows)
    picked = part.sample(frac=frac, random_state=seed) if frac < 1 else part
    return typed(picked.compute()).reset_index(drop=True)


def _search_sample(sample: pd.DataFrame, config: Config, reports: Path,
                   progress: Callable[..., None] | None) -> tuple[Dataset, TrainResult]:
    from fullcycle.data.dataset import Dataset
    from fullcycle.tasks.tabular.kind import TabularKind

    budget = config.train.time_budget * SAMPLE_SHARE_OF_BUDGET
    local = config.model_copy(deep=True)
    local.train.time_budget = budget
    dataset = Dataset.from_frame(sample, target=config.data.target, roles=config.data.roles,
                                 source=str(config.data.source), config=config.data)
    return dataset, TabularKind().train(dataset, local, reports=reports, progress=progress)


def _lgbm_params(result: TrainResult) -> dict[str, Any]:
    """The best LightGBM hyperparameters the sample search found (defaults if none ran)."""
    import json

    path = result.report_files.get("candidates")
    if path is None or not Path(path).is_file():
        return {}
    sign = result.model.problem.scorer.sign()
    tried = [c for c in json.loads(Path(path).read_text()) if c.get("family") == "lightgbm"
             and c.get("mean") is not None]
    if not tried:
        return {}
    best = max(tried, key=lambda c: sign * float(c["mean"]))
    return {k: v for k, v in (best.get("params") or {}).items() if k != "n_estimators"}


def _full_lightgbm(session: ClusterSession, result: TrainResult, train_part: Any,
                   sample: pd.DataFrame, config: Config) -> Any:
    """A fitted Pipeline(native preprocessing, LightGBM) trained on every training row."""
    import lightgbm as lgb
    from lightgbm.dask import DaskLGBMClassifier, DaskLGBMRegressor
    from sklearn.pipeline import Pipeline

    from fullcycle.features.preprocess import build_preprocessor

    schema, problem = result.model.schema, result.model.problem
    features = [c.name for c in schema.features]
    prep = build_preprocessor(schema, scale=False, family_kind="native",
                              options=config.features, seed=config.seed)
    y_sample = problem.encode_target(sample[problem.target])
    prep.fit(sample[features], y_sample)
    meta = prep.transform(sample[features].head(2)).iloc[:0]

    def transform(part: pd.DataFrame) -> pd.DataFrame:
        return prep.transform(typed(part))

    def encode(part: pd.Series) -> pd.Series:
        return pd.Series(problem.encode_target(typed(part.to_frame())[part.name]),
                         index=part.index)

    X = train_part[features].map_partitions(transform, meta=meta)
    y = train_part[problem.target].map_partitions(encode, meta=(problem.target, "f8" if
                                                  problem.task == "regression" else "i8"))
    classifier = problem.task != "regression"
    cls = DaskLGBMClassifier if classifier else DaskLGBMRegressor
    params = {"n_estimators": ROUNDS, "learning_rate": 0.05, "num_leaves": 63,
              **_lgbm_params(result), "random_state": config.seed, "verbose": -1,
              "deterministic": True, "force_col_wise": True}
    import logging
    import warnings

    logging.getLogger("lightgbm.dask").setLevel(logging.WARNING)  # "finding open ports"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "n_jobs will be ignored"
            estimator = cls(client=session.client, **params).fit(X, y)
    except Exception as exc:  # noqa: BLE001 - a lost worker or memory limit: say which
        raise ClusterError(f"distributed LightGBM failed on the cluster ({type(exc).__name__}:"
                           f" {exc}); check the workers' memory limits and logs") from None
    local: lgb.LGBMModel = estimator.to_local()
    return Pipeline([("preprocess", prep), ("model", local)])


def _choose(result: TrainResult, full: Any, test: pd.DataFrame, n_train: int, n_test: int,
            session: ClusterSession, say: Callable[[str], None]) -> TrainResult:
    """Score the sample's model and the full-data LightGBM on the same test slice; keep the
    better one (the card says which, and on how many rows)."""
    from fullcycle.automl.train import metrics_from_scores

    model = result.model
    problem = model.problem
    y = problem.encode_target(test[problem.target])
    X = test[[c.name for c in model.schema.features]]
    sample_metrics = metrics_from_scores(model, model.predict_scores(X), y)
    full_scores = full.predict_proba(X) if problem.task != "regression" else full.predict(X)
    full_scores = np.asarray(full_scores, dtype="float64")
    full_metrics = metrics_from_scores(model, full_scores, y)
    metric = problem.metric
    sign = problem.scorer.sign()
    full_wins = sign * full_metrics[metric] > sign * sample_metrics[metric]
    chosen = full_metrics if full_wins else sample_metrics
    if full_wins:
        model.predictor = full
    model.card.training.test_metrics = chosen
    model.card.task_info["cluster"] = {
        "address": session.address, "workers": len(session.workers),
        "rows_train": n_train, "rows_test": n_test, "test_rows_scored": len(test),
        "sample_rows": int(result.model.card.provenance.rows_train or 0),
        "chosen": "lightgbm on all rows" if full_wins else "search on the sample",
        f"test_{metric}_sample_model": sample_metrics[metric],
        f"test_{metric}_full_lightgbm": full_metrics[metric]}
    say(f"test {metric}: full-data LightGBM {full_metrics[metric]:.4f}, sample search "
        f"{sample_metrics[metric]:.4f} on {len(test):,} rows: kept the "
        f"{'full-data LightGBM' if full_wins else 'sample model'}")
    result.test_metrics = chosen
    result.verdict = problem.check_success(chosen)
    result.holdout = test
    return result
