"""The gradient-boosted model `train --cluster` fits on EVERY training row, on the workers.

The family is the one the search on the sample ranked best of those with a Dask trainer:
LightGBM (`lightgbm.dask`) or XGBoost (`xgboost.dask`), with the hyperparameters that search
found. The native preprocessing is fitted on the sample and applied per partition on the
workers; the result is a plain `Pipeline(preprocessing, local model)` that scores without Dask.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from fullcycle.compute.cluster import ClusterError, ClusterSession
from fullcycle.compute.frames import typed
from fullcycle.features.preprocess import build_preprocessor
from fullcycle.taskkind import TrainResult

if TYPE_CHECKING:
    from fullcycle.config import Config
    from fullcycle.problem import Problem

ROUNDS = 400  # distributed boosting rounds at most (no early stopping across partitions)
MIN_ROUNDS = 10  # fewer affordable rounds: keep the sample's model rather than a weak one
MAX_LEARNING_RATE = 0.3  # the most a short full-data fit raises the search's learning rate to
PROBE_ROUNDS = 20  # rounds timed on the sample to price the full fit
COST_SAFETY = 2.0  # reading and transforming partitions, tree building across workers
WATCH_SECONDS = 5.0  # how often the full-data fit checks that its workers are alive
# The families with a Dask trainer, and the settings a full fit starts from when the search on
# the sample did not tune them (those of the search's own defaults).
DEFAULTS: dict[str, dict[str, Any]] = {
    "lightgbm": {"learning_rate": 0.05, "num_leaves": 63},
    "xgboost": {"learning_rate": 0.05, "max_depth": 6},
}
LABELS = {"lightgbm": "LightGBM", "xgboost": "XGBoost"}
# A worker's peak during the full-data fit, in copies of its share of the float32 matrix (the
# persisted partitions included), measured on one worker with 1M rows x 57 columns
# (`bench/scale.py memory`): LightGBM concatenates the partitions and converts the result to one
# array (4.3); XGBoost's DaskQuantileDMatrix quantises them in place (2.1). At 10M rows x 57
# columns on 2 workers of 3 GB, LightGBM on every row got its workers killed by Dask's nanny.
MATRIX_COPIES = {"lightgbm": 4.4, "xgboost": 2.2}
WORKER_BASE_BYTES = 400 * 2**20  # a worker with pandas, LightGBM and XGBoost imported
MEMORY_SHARE = 0.75  # of a worker's limit the fit may plan to use (Dask pauses at 80%)
IMBALANCE = 1.1  # partitions are not spread exactly evenly over the workers
MIN_FRACTION = 0.05  # a smaller share of the rows is not worth a full-data fit


@dataclass(frozen=True)
class FullFit:
    """Which family trains on all rows, and the hyperparameters the sample search gave it."""

    family: str = "lightgbm"
    searched: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return LABELS[self.family]


def searched(result: TrainResult) -> dict[str, FullFit]:
    """Per Dask-trainable family, its best-scored settings in the sample search, best first;
    among the candidates fitted on the target as it is, as the full-data fit is (the search
    may also have tried log1p of a skewed target: search/targetlog.py)."""
    from fullcycle.tasks.tabular.search.catcodes import CAT_CODES
    from fullcycle.tasks.tabular.search.targetlog import TARGET_LOG

    path = result.report_files.get("candidates")
    if path is None or not Path(path).is_file():
        return {}
    sign = result.model.problem.scorer.sign()
    tried = [c for c in json.loads(Path(path).read_text()) if c.get("family") in DEFAULTS
             and c.get("mean") is not None and not (c.get("params") or {}).get(TARGET_LOG)]
    best: dict[str, FullFit] = {}
    for c in sorted(tried, key=lambda c: -sign * float(c["mean"])):
        # the full fit's preprocessing is the plain native one (`native_prep`)
        params = {k: v for k, v in (c.get("params") or {}).items() if k != CAT_CODES}
        best.setdefault(c["family"], FullFit(c["family"], params))
    return best


def choose_full_fit(result: TrainResult) -> FullFit:
    """The best-scored candidate of the sample search among the Dask-trainable families
    (LightGBM when none of them ran)."""
    return next(iter(searched(result).values()), FullFit())


@dataclass(frozen=True)
class Plan:
    """What the workers' memory allows: the family, the share of the training rows, and what
    to tell the user when that is not the search's choice on every row."""

    fit: FullFit
    fraction: float = 1.0
    note: str | None = None


def plan_for_memory(fit: FullFit, others: dict[str, FullFit], rows: int, width: int,
                    memory_limits: list[int]) -> Plan:
    """Keep `fit` on every row if each worker's share fits in its memory; else the family that
    holds rows more compactly (XGBoost quantises partition by partition, LightGBM concatenates
    them and copies the result); else that family on the share of rows the memory holds."""
    if not memory_limits or min(memory_limits) <= 0:  # no limits set: nothing to plan for
        return Plan(fit)
    room = MEMORY_SHARE * min(memory_limits) - WORKER_BASE_BYTES
    share = rows / len(memory_limits) * IMBALANCE * width * 4  # float32 bytes per worker

    def need(family: str) -> float:
        return share * MATRIX_COPIES[family]

    if need(fit.family) <= room:
        return Plan(fit)
    compact = min(MATRIX_COPIES, key=MATRIX_COPIES.__getitem__)
    alt = others.get(compact, FullFit(compact))
    why = (f"{fit.label} on all {rows:,} rows needs ~{need(fit.family) / 2**30:.1f} GiB per "
           f"worker; the workers have {min(memory_limits) / 2**30:.1f} GiB")
    if need(compact) <= room:
        return Plan(alt, 1.0, f"{why}: {alt.label}, which quantises the rows partition by "
                              "partition, trains on every row instead")
    fraction = max(room, 0.0) / need(compact)
    more = "give the workers more memory, or add workers, to train on all"
    if fraction < MIN_FRACTION:
        return Plan(alt, 0.0, f"{why}: too little room for a full-data fit, kept the sample's "
                              f"model ({more})")
    return Plan(alt, fraction, f"{why}: {alt.label} trains on {fraction:.0%} of them, the most "
                               f"the workers hold ({more})")


def full_fit_params(fit: FullFit, rounds: int) -> dict[str, Any]:
    """The search's settings for a full-data fit of `rounds` rounds. Fewer rounds than the
    search used get a learning rate raised to keep its total shrinkage (rate x rounds), up to
    MAX_LEARNING_RATE: a short fit on every row still reaches the search's fit."""
    params = {**DEFAULTS[fit.family], **fit.searched}
    rate = float(params["learning_rate"])
    total = rate * int(params.get("n_estimators") or ROUNDS)
    params["learning_rate"] = min(MAX_LEARNING_RATE, max(rate, total / max(rounds, 1)))
    params["n_estimators"] = rounds
    return params


def native_prep(result: TrainResult, sample: pd.DataFrame, config: Config) -> Any:
    """The native preprocessing fitted on the sample (the documented approximation: category
    levels and imputation statistics from up to `compute.sample_rows` rows)."""
    schema, problem = result.model.schema, result.model.problem
    prep = build_preprocessor(schema, scale=False, family_kind="native",
                              options=config.features, seed=config.seed)
    features = [c.name for c in schema.features]
    prep.fit(sample[features], problem.encode_target(sample[problem.target]))
    return prep


def _local_class(family: str, regression: bool) -> Any:
    if family == "xgboost":
        import xgboost as xgb

        return xgb.XGBRegressor if regression else xgb.XGBClassifier
    import lightgbm as lgb

    return lgb.LGBMRegressor if regression else lgb.LGBMClassifier


def round_seconds(fit: FullFit, regression: bool, X: pd.DataFrame, y: Any, scale: float,
                  workers: int) -> float:
    """Seconds per full-data boosting round: PROBE_ROUNDS of the same family and settings on
    the sample's preprocessed rows `X`, timed here and scaled to the rows per worker (this
    machine's speed, now), with COST_SAFETY for reading and transforming the partitions."""
    params = {**full_fit_params(fit, PROBE_ROUNDS), **_quiet(fit.family), "n_jobs": 1}
    begun = time.perf_counter()
    _local_class(fit.family, regression)(**params).fit(X, y)
    return (time.perf_counter() - begun) / PROBE_ROUNDS * scale / max(workers, 1) * COST_SAFETY


def affordable_rounds(seconds: float, per_round: float) -> int | None:
    """Boosting rounds that fit in `seconds` (at most ROUNDS); None when under MIN_ROUNDS."""
    rounds = int(max(seconds, 0.0) / max(per_round, 1e-6))
    return min(rounds, ROUNDS) if rounds >= MIN_ROUNDS else None


def _quiet(family: str) -> dict[str, Any]:
    if family == "xgboost":
        return {"verbosity": 0, "tree_method": "hist", "enable_categorical": True}
    return {"verbose": -1}


def fit_on_cluster(session: ClusterSession, plan: Plan, prep: Any, problem: Problem,
                   sample: pd.DataFrame, train_part: Any, rounds: int, seed: int) -> Any:
    """A fitted Pipeline(native preprocessing, local model) trained on the plan's share of the
    training rows (all of them unless the workers' memory says otherwise)."""
    import warnings

    from sklearn.pipeline import Pipeline

    fit = plan.fit
    features = list(prep.feature_names_in_)
    native = prep.transform(sample[features].head(2))
    # LightGBM gets float32 category codes (below); XGBoost reads the categories themselves
    narrow = float32_codes if fit.family == "lightgbm" else float32_numbers
    meta = narrow(native).iloc[:0]

    def transform(part: pd.DataFrame) -> pd.DataFrame:  # float32: half the worker memory
        return narrow(prep.transform(typed(part)))

    def encode(part: pd.Series) -> pd.Series:
        return pd.Series(problem.encode_target(typed(part.to_frame())[part.name]),
                         index=part.index)

    if plan.fraction < 1.0:
        train_part = train_part.sample(frac=plan.fraction, random_state=seed)
    regression = problem.task == "regression"
    X = train_part[features].map_partitions(transform, meta=meta)
    y = train_part[problem.target].map_partitions(encode, meta=(problem.target, "f8" if
                                                  regression else "i8"))
    params = {**full_fit_params(fit, rounds), **_quiet(fit.family), "random_state": seed}
    try:
        X, y = session.client.persist([X, y])
        trainer = _lightgbm_trainer if fit.family == "lightgbm" else _xgboost_trainer
        holders, run = trainer(session, X, y, params, regression, native)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # Dask's notices about the graph
            local = fit_watched(session, holders, run, fit.label)
    except ClusterError:
        raise
    except Exception as exc:  # a lost worker or memory limit: say which
        raise ClusterError(f"distributed {fit.label} failed on the cluster ({type(exc).__name__}"
                           f": {exc}); check the workers' memory limits and logs") from None
    return Pipeline([("preprocess", prep), ("model", local)])


Trainer = tuple[list[str], Callable[[], Any]]


def _lightgbm_trainer(session: ClusterSession, X: Any, y: Any, params: dict[str, Any],
                      regression: bool, native: pd.DataFrame) -> Trainer:
    import lightgbm as lgb
    from lightgbm.dask import DaskLGBMClassifier, DaskLGBMRegressor

    cls = DaskLGBMRegressor if regression else DaskLGBMClassifier
    params = {**params, "deterministic": True, "force_col_wise": True}
    # lightgbm.dask prints "Using passed-in 'machines' parameter" unless given a logger
    lgb.register_logger(_quiet_logger())
    machines, holders = _machines(session, X, y)
    if machines:
        params["machines"] = machines

    def run() -> Any:
        estimator = cls(client=session.client, **params).fit(
            X, y, categorical_feature=categorical_names(native) or "auto")
        local = estimator.to_local()
        adopt_categories(local, native)
        return local

    return holders, run


def _xgboost_trainer(session: ClusterSession, X: Any, y: Any, params: dict[str, Any],
                     regression: bool, native: pd.DataFrame) -> Trainer:
    from xgboost.dask import DaskXGBClassifier, DaskXGBRegressor

    cls = DaskXGBRegressor if regression else DaskXGBClassifier

    def run() -> Any:
        import xgboost as xgb

        estimator = cls(**params)
        estimator.client = session.client
        with xgb.config_context(verbosity=0):  # the workers' "got rank N" lines; goes with them
            estimator.fit(X, y)
        # the same model as a plain XGBoost estimator: its saved form keeps the sklearn state
        local = _local_class("xgboost", regression)()
        local.load_model(bytearray(estimator.get_booster().save_raw("ubj")))
        local.set_params(n_jobs=1)
        return local

    return _holders(session, X, y), run


def _quiet_logger() -> Any:
    import logging

    logger = logging.getLogger("fullcycle.lightgbm")
    logger.setLevel(logging.ERROR)  # its warnings are about ignored n_jobs and the like
    return logger


def float32_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers as float32 (categories kept): one int64 column makes a booster copy every row
    as float64."""
    wide = [c for c, t in frame.dtypes.items() if not isinstance(t, pd.CategoricalDtype)
            and t != "float32"]
    return frame.astype(dict.fromkeys(wide, "float32")) if wide else frame


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


def fit_watched(session: ClusterSession, holders: list[str], fit: Callable[[], Any],
                label: str = "LightGBM") -> Any:
    """`fit()` in a thread, watched: the Dask trainers pin their tasks to the workers holding
    the rows, so when one of them dies (e.g. killed at its memory limit) they would wait
    forever. A holder leaving the cluster is a ClusterError naming it."""
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
                               f"{label} fit (killed at its memory limit? see its log); give "
                               "the workers more memory (compute.worker_memory) or more workers")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _holders(session: ClusterSession, *collections: Any) -> list[str]:
    """The workers holding any partition of the persisted collections."""
    from distributed import wait

    wait(list(collections))
    return sorted({w for c in collections for ws in session.client.who_has(c).values()
                   for w in ws})


def _machines(session: ClusterSession, X: Any, y: Any) -> tuple[str | None, list[str]]:
    """LightGBM's `machines`: a free port on every worker holding training rows. lightgbm.dask
    would otherwise hold each port open with a socket kept as a Dask result, which a worker
    over its spill threshold tries to pickle to disk and fails (seen at 10M rows). None (let
    lightgbm choose) when rows and labels do not sit on the same workers: LightGBM waits for
    every listed machine, so the list must be exactly the workers that will train. With the
    workers that hold the rows."""
    from urllib.parse import urlparse

    rows, labels = _holders(session, X), _holders(session, y)
    if rows != labels:
        return None, sorted({*rows, *labels})
    ports = session.client.run(_free_port, workers=rows)
    return (",".join(f"{urlparse(w).hostname}:{port}" for w, port in sorted(ports.items())),
            rows)


def _free_port() -> int:
    """Runs on a worker: a port nothing listens on now (LightGBM binds it moments later)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("", 0))
        return int(probe.getsockname()[1])
