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

from fullcycle.compute.cluster import ClusterError, ClusterSession, connect
from fullcycle.compute.frames import TableSource, read_partitions, typed
from fullcycle.data.dataset import Dataset
from fullcycle.data.fingerprint import Fingerprinter
from fullcycle.errors import DataError
from fullcycle.features.preprocess import build_preprocessor
from fullcycle.taskkind import TrainResult
from fullcycle.tasks.tabular.search.train import metrics_from_scores

if TYPE_CHECKING:
    from fullcycle.config import Config
    from fullcycle.data.dataset import Dataset

# The kind's own single-machine training (TabularKind.train), run on the sample.
LocalTrain = Callable[..., TrainResult]
TEST_ROWS_CAP = 200_000  # rows of the test slice brought to the client for scoring
# Of the budget left after the two passes over the data, the search on the sample gets this
# share; the rest pays for the full-data LightGBM (which re-reads every partition).
SAMPLE_SHARE_OF_BUDGET = 0.4
MIN_SEARCH_SECONDS = 10.0
ROUNDS = 400  # distributed boosting rounds at most (no early stopping across partitions)
MIN_ROUNDS = 10  # fewer affordable rounds: keep the sample's model rather than a weak one
MAX_LEARNING_RATE = 0.3  # the most a short full-data fit raises the search's learning rate to
PROBE_ROUNDS = 20  # rounds timed on the sample to price the full fit
RESERVED_ROUNDS = 100  # full-data rounds whose time the search on the sample leaves free
COST_SAFETY = 2.0  # reading and transforming partitions, tree building across workers
WATCH_SECONDS = 5.0  # how often the full-data fit checks that its workers are alive
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
    rounds = _affordable_rounds(result, sample, config, left - pass_seconds,
                                n_train / max(len(sample), 1), len(session.workers))
    if rounds is None:
        say("no time left in the budget for LightGBM on every row; kept the sample's model "
            "(raise --time-budget to train on all rows)")
        challenger = None
    else:
        try:
            challenger = _full_lightgbm(session, result, train_part, sample, config, rounds)
        except ClusterError as exc:  # the sample's model is sound: keep it, say why
            say(f"LightGBM on every row failed: {exc}. Kept the sample's model")
            challenger = None
    result = _choose(result, challenger, test, n_train, n_test, session, say)
    result.model.card.provenance.data_fingerprint = version
    result.model.card.training.search["seconds_total"] = round(time.perf_counter() - started, 2)
    return replace(dataset, fingerprint=version), result


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


def _affordable_rounds(result: TrainResult, sample: pd.DataFrame, config: Config, seconds: float,
                       scale: float, workers: int) -> int | None:
    """Boosting rounds the full-data fit can afford in `seconds`: the cost of PROBE_ROUNDS on
    the sample, measured here, scaled to the rows per worker (this machine's speed, now)."""
    import lightgbm as lgb

    if config.train.max_trials is not None:  # deterministic mode: no clock involved
        return ROUNDS
    if seconds <= 0:
        return None
    problem = result.model.problem
    features = [c.name for c in result.model.schema.features]
    prep = _native_prep(result, sample, config)
    X = prep.transform(sample[features])
    y = problem.encode_target(sample[problem.target])
    cls = lgb.LGBMRegressor if problem.task == "regression" else lgb.LGBMClassifier
    begun = time.perf_counter()
    params = {"verbose": -1, **_lgbm_params(result), "n_estimators": PROBE_ROUNDS,
              "n_jobs": 1}
    cls(**params).fit(X, y)
    per_round = (time.perf_counter() - begun) / PROBE_ROUNDS * scale / max(workers, 1)
    rounds = int(seconds / max(per_round, 1e-6) / COST_SAFETY)
    return min(rounds, ROUNDS) if rounds >= MIN_ROUNDS else None


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
    return dict(best.get("params") or {})


def full_fit_params(searched: dict[str, Any], rounds: int) -> dict[str, Any]:
    """The search's LightGBM settings for a full-data fit of `rounds` rounds. Fewer rounds than
    the search used get a learning rate raised to keep its total shrinkage (rate x rounds), up
    to MAX_LEARNING_RATE: a short fit on every row still reaches the search's fit."""
    params = {"learning_rate": 0.05, "num_leaves": 63, **searched}
    rate = float(params["learning_rate"])
    total = rate * int(params.get("n_estimators") or ROUNDS)
    params["learning_rate"] = min(MAX_LEARNING_RATE, max(rate, total / max(rounds, 1)))
    params["n_estimators"] = rounds
    return params


def _native_prep(result: TrainResult, sample: pd.DataFrame, config: Config) -> Any:
    """LightGBM's native preprocessing fitted on the sample (the documented approximation:
    category levels and imputation statistics from up to `compute.sample_rows` rows)."""
    schema, problem = result.model.schema, result.model.problem
    prep = build_preprocessor(schema, scale=False, family_kind="native",
                              options=config.features, seed=config.seed)
    features = [c.name for c in schema.features]
    prep.fit(sample[features], problem.encode_target(sample[problem.target]))
    return prep


def _full_lightgbm(session: ClusterSession, result: TrainResult, train_part: Any,
                   sample: pd.DataFrame, config: Config, rounds: int) -> Any:
    """A fitted Pipeline(native preprocessing, LightGBM) trained on every training row."""
    import warnings

    import lightgbm as lgb
    from lightgbm.dask import DaskLGBMClassifier, DaskLGBMRegressor
    from sklearn.pipeline import Pipeline

    schema, problem = result.model.schema, result.model.problem
    features = [c.name for c in schema.features]
    prep = _native_prep(result, sample, config)
    native = prep.transform(sample[features].head(2))
    meta = float32_codes(native).iloc[:0]

    def transform(part: pd.DataFrame) -> pd.DataFrame:  # float32: half the worker memory
        return float32_codes(prep.transform(typed(part)))

    def encode(part: pd.Series) -> pd.Series:
        return pd.Series(problem.encode_target(typed(part.to_frame())[part.name]),
                         index=part.index)

    X = train_part[features].map_partitions(transform, meta=meta)
    y = train_part[problem.target].map_partitions(encode, meta=(problem.target, "f8" if
                                                  problem.task == "regression" else "i8"))
    cls = DaskLGBMRegressor if problem.task == "regression" else DaskLGBMClassifier
    params = {**full_fit_params(_lgbm_params(result), rounds), "random_state": config.seed,
              "verbose": -1,
              "deterministic": True, "force_col_wise": True}
    # lightgbm.dask prints "Using passed-in 'machines' parameter" unless given a logger
    lgb.register_logger(_quiet_logger())
    try:
        X, y = session.client.persist([X, y])
        machines, holders = _machines(session, X, y)
        if machines:
            params["machines"] = machines

        def fit() -> Any:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # Dask's notices about the graph
                return cls(client=session.client, **params).fit(
                    X, y, categorical_feature=categorical_names(native) or "auto")

        estimator = fit_watched(session, holders, fit)
    except ClusterError:
        raise
    except Exception as exc:  # a lost worker or memory limit: say which
        raise ClusterError(f"distributed LightGBM failed on the cluster ({type(exc).__name__}:"
                           f" {exc}); check the workers' memory limits and logs") from None
    local: lgb.LGBMModel = estimator.to_local()
    adopt_categories(local, native)
    return Pipeline([("preprocess", prep), ("model", local)])


def _quiet_logger() -> Any:
    import logging

    logger = logging.getLogger("fullcycle.lightgbm")
    logger.setLevel(logging.ERROR)  # its warnings are about ignored n_jobs and the like
    return logger


def float32_codes(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as float32, categories as their codes (NaN when missing). LightGBM turns
    category columns into float64 codes itself (`.replace({-1: nan})`), and one float64 or
    int64 column makes it copy the whole matrix as float64: twice the worker memory."""
    out = {c: (frame[c].cat.codes.astype("float32").where(frame[c].cat.codes >= 0)
               if isinstance(t, pd.CategoricalDtype) else frame[c].astype("float32"))
           for c, t in frame.dtypes.items()}
    return pd.DataFrame(out, index=frame.index)


def categorical_names(native: pd.DataFrame) -> list[str]:
    """The native preprocessing's category columns, which LightGBM must split as categories
    once they arrive as float32 codes."""
    return [str(c) for c, t in native.dtypes.items() if isinstance(t, pd.CategoricalDtype)]


def adopt_categories(local: Any, native: pd.DataFrame) -> None:
    """A booster trained on float32 codes made to read the preprocessing's category columns,
    as one trained on them would: LightGBM maps categories to codes with `pandas_categorical`
    (the same codes, since the preprocessing fixes each column's levels)."""
    local.booster_.pandas_categorical = [list(native[c].cat.categories)
                                         for c in categorical_names(native)]


def fit_watched(session: ClusterSession, holders: list[str], fit: Callable[[], Any]) -> Any:
    """`fit()` in a thread, watched: lightgbm.dask pins its tasks to the workers holding the
    rows, so when one of them dies (e.g. killed at its memory limit) it would wait forever.
    A holder leaving the cluster is a ClusterError naming it."""
    import threading

    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fit()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=run, name="full-data-fit", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(WATCH_SECONDS)
        if not thread.is_alive():
            break
        alive = set(session.client.scheduler_info(n_workers=-1)["workers"])
        gone = [w for w in holders if w not in alive]
        if gone:
            raise ClusterError(f"worker {', '.join(gone)} left the cluster during the full-data "
                               "LightGBM fit (killed at its memory limit? see its log); give "
                               "the workers more memory (compute.worker_memory) or more workers")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _machines(session: ClusterSession, X: Any, y: Any) -> tuple[str | None, list[str]]:
    """LightGBM's `machines`: a free port on every worker holding training rows. lightgbm.dask
    would otherwise hold each port open with a socket kept as a Dask result, which a worker
    over its spill threshold tries to pickle to disk and fails (seen at 10M rows). None (let
    lightgbm choose) when rows and labels do not sit on the same workers: LightGBM waits for
    every listed machine, so the list must be exactly the workers that will train. With the
    workers that hold the rows."""
    from urllib.parse import urlparse

    from distributed import wait

    wait([X, y])
    holders = [sorted({w for ws in session.client.who_has(c).values() for w in ws})
               for c in (X, y)]
    if holders[0] != holders[1]:
        return None, sorted({*holders[0], *holders[1]})
    ports = session.client.run(_free_port, workers=holders[0])
    return (",".join(f"{urlparse(w).hostname}:{port}" for w, port in sorted(ports.items())),
            holders[0])


def _free_port() -> int:
    """Runs on a worker: a port nothing listens on now (LightGBM binds it moments later)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("", 0))
        return int(probe.getsockname()[1])


def _choose(result: TrainResult, full: Any | None, test: pd.DataFrame, n_train: int,
            n_test: int, session: ClusterSession, say: Callable[[str], None]) -> TrainResult:
    """Score the sample's model and the full-data LightGBM on the same test slice; keep the
    better one (the card says which, and on how many rows)."""
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
        "chosen": "lightgbm on all rows" if full_wins else "search on the sample",
        f"test_{metric}_sample_model": sample_metrics[metric],
        f"test_{metric}_full_lightgbm": full_metrics[metric]}
    if full is not None:
        say(f"test {metric}: full-data LightGBM {full_metrics[metric]:.4f}, sample search "
            f"{sample_metrics[metric]:.4f} on {len(test):,} rows: kept the "
            f"{'full-data LightGBM' if full_wins else 'sample model'}")
    result.test_metrics = chosen
    result.verdict = problem.check_success(chosen)
    result.holdout = test
    return result
