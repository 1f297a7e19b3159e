"""Model families, registered by key. Each family owns its estimator, a small portfolio of
strong default configurations, its search space, a cost hint and its preprocessing needs;
unknown keys list the valid ones.

Every family is fitted through `FamilyModel`, one sklearn estimator that adds what all
families share: balanced class weights and, for boosting, early stopping of rounds on an
inner validation split (the number of rounds found is reused when the final model is refit)."""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from fullcycle.errors import ConfigError, did_you_mean
from fullcycle.features.compiling import Columns, Scores, Unsupported, compile_estimator, compiles
from fullcycle.tasks.tabular.search import compiled_estimators  # noqa: F401 - registers the library compilers
from fullcycle.tasks.tabular.search.catcodes import CAT_CODES
from fullcycle.tasks.tabular.search.cpu import fit_threads
from fullcycle.tasks.tabular.search.targetlog import TARGET_LOG, from_log, log_cap

Params = dict[str, Any]
ROUNDS_KEY = {"lightgbm": "n_estimators", "xgboost": "n_estimators", "catboost": "iterations"}
EARLY_STOP_ROUNDS = 50
MIN_EARLY_STOP_ROWS = 100  # below this the inner validation split is too small to trust
ROUNDS_WITHOUT_EARLY_STOP = 200  # boosting rounds when early stopping is off and none are set
# One thread per fit by default: on a busy 2-core machine, OpenMP/BLAS thread contention made
# 2-thread LightGBM/XGBoost/MLP fits 10-30x slower than 1-thread ones (measured under load); the
# search raises it when the cores are idle (automl/cpu.py). CatBoost always keeps one.
THREADS = 1


@dataclass(frozen=True)
class Family:
    name: str
    make: Callable[[str, Params, int], Any]  # (task, params, seed) -> estimator
    space: Callable[[Any, str], Params]  # (optuna trial, task) -> params
    cost: int  # relative cost hint: cheaper families are tried first
    multiclass_cost: int | None = None  # the hint for multiclass targets, when it differs
    portfolio: tuple[Params, ...] = ({},)  # strong defaults, tried before any search
    needs_scaling: bool = False
    kind: str = "tree"  # preprocessing kind: linear (scaled), tree, native (categories kept)
    boosting: bool = False  # supports early stopping of rounds on a validation set
    # a boosting family's default learning rate: its rounds, and so its time, go as 1/rate
    rate: float | None = None
    description: str = ""
    tasks: tuple[str, ...] = field(default=("binary", "multiclass", "regression"))
    extra: str | None = None  # the pip extra that installs it, when it is optional

    def cost_for(self, task: str) -> int:
        return self.multiclass_cost if task == "multiclass" and self.multiclass_cost else self.cost

    def time_factor(self, params: Params) -> float:
        """A fit's time with these params over its time at the default learning rate."""
        if self.rate is None:
            return 1.0
        return self.rate / float(params.get("learning_rate") or self.rate)

    @property
    def defaults(self) -> Params:
        return dict(self.portfolio[0])

    def missing(self) -> str | None:
        """Why this family cannot run here (its optional library is not installed), or None."""
        import importlib.util

        if self.extra and importlib.util.find_spec(self.extra) is None:
            return (f"{self.name}: not installed; pip install 'fullcycle[{self.extra}]' to "
                    "search it")
        return None


FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    FAMILIES[family.name] = family
    return family


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        raise ConfigError(f"unknown model family {name!r} in train.families."
                          + did_you_mean(name, FAMILIES))
    return FAMILIES[name]


class OutOfTime(Exception):
    """A fit that ran past its deadline; the search drops the candidate."""


class _CatBoostClock:
    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def after_iteration(self, info: Any) -> bool:
        return time.perf_counter() <= self.deadline  # False stops training


class FamilyModel(BaseEstimator):
    """One model family as a plain sklearn estimator (fitted on the preprocessed matrix)."""

    def __init__(self, *, family: str = "lightgbm", task: str = "binary",
                 params: Params | None = None, seed: int = 0, class_weight: str | None = None,
                 early_stopping: bool = True, deadline: float | None = None,
                 n_classes: int | None = None, time_limit: float | None = None) -> None:
        self.family = family
        self.task = task
        self.params = params
        self.seed = seed
        self.class_weight = class_weight
        self.early_stopping = early_stopping
        self.deadline = deadline  # time.perf_counter() value; boosting stops mid-fit after it
        # all classes of the problem: a fold's training rows may lack a rare one, and the
        # probabilities must still have one column per class (zero for the missing ones)
        self.n_classes = n_classes
        # time.perf_counter() value after which boosting and forests stop adding rounds/trees
        # and keep what they have (a usable model), unlike `deadline`, which drops the fit
        self.time_limit = time_limit

    def fit(self, X: Any, y: np.ndarray) -> FamilyModel:
        from threadpoolctl import threadpool_limits

        y = np.asarray(y)
        self.estimator_: Any = None
        self.best_iteration_: int | None = None
        # models on scaled inputs extrapolate along their slopes: inputs are clipped to the
        # training range at prediction (trees do this by construction)
        self.bounds_ = _input_range(X) if get_family(self.family).kind == "linear" else None
        self.log_cap_: float | None = None  # fitted on log1p(y): predictions mapped back
        if self.task == "regression" and (self.params or {}).get(TARGET_LOG):
            y = np.asarray(y, dtype="float64")
            if y.min(initial=0.0) < 0:
                raise ValueError(f"{TARGET_LOG} needs a non-negative target")
            self.log_cap_ = log_cap(y)
            y = np.log1p(y)
        if self.task != "regression":
            # estimators see consecutive codes 0..m-1 of the classes present (XGBoost needs it)
            self.seen_ = np.unique(y)
            total = int(self.n_classes or (int(self.seen_.max()) + 1))
            self.classes_ = np.arange(max(total, int(self.seen_.max()) + 1))
            y = np.searchsorted(self.seen_, y)
            if len(self.seen_) == 1:  # nothing to learn: always this class
                return self
        with threadpool_limits(fit_threads()):  # BLAS threads fight on a shared machine
            self._fit_all(X, y)
        _predict_single_threaded(self.estimator_)
        self._detach_clock()
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise OutOfTime(f"{self.family} fit ran past the search deadline")
        return self

    def _fit_all(self, X: Any, y: np.ndarray) -> FamilyModel:
        family = get_family(self.family)
        self._extra_fit: dict[str, list[Any]] = {}
        # the search's own keys: the target's form and the preprocessing's (catcodes.py)
        params = {k: v for k, v in (self.params or {}).items() if k not in (TARGET_LOG, CAT_CODES)}
        stop_early = family.boosting and self.early_stopping and len(y) >= MIN_EARLY_STOP_ROWS
        if family.boosting and not stop_early:
            params.setdefault(ROUNDS_KEY[family.name], ROUNDS_WITHOUT_EARLY_STOP)
        self.estimator_ = family.make(self.task, params, self.seed)
        if self._stop_at() is not None and family.boosting:
            self._watch_clock()
        if self.family == "catboost" and hasattr(X, "dtypes"):
            cats = [str(c) for c, t in X.dtypes.items() if isinstance(t, pd.CategoricalDtype)]
            if cats:  # native preprocessing hands CatBoost its categories as they are
                self.estimator_.set_params(cat_features=cats)
        weights = self._weights(np.asarray(y))
        if stop_early:
            self._fit_early_stopped(X, np.asarray(y), weights)
        elif self.family in ("random_forest", "extra_trees"):
            self._fit_forest_in_chunks(X, y, weights)
        else:
            self._fit(X, y, weights)
        return self

    def _stop_at(self) -> float | None:
        """When fitting stops adding rounds: the soft time limit or the hard deadline."""
        times = [t for t in (self.deadline, self.time_limit) if t is not None]
        return min(times) if times else None

    def _watch_clock(self) -> None:
        """Boosting checks the clock every round and stops at the time limit (keeping the
        rounds so far) or at the deadline (the fit is then dropped)."""
        deadline = float(self._stop_at() or 0.0)
        hard = self.deadline if self.deadline is not None else float("inf")
        if self.family == "xgboost":
            import xgboost as xgb

            class Clock(xgb.callback.TrainingCallback):
                def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
                    return time.perf_counter() > deadline

            self.estimator_.set_params(callbacks=[Clock()])
        elif self.family == "catboost":
            self._extra_fit = {"callbacks": [_CatBoostClock(deadline)]}
        elif self.family == "lightgbm":
            import lightgbm as lgb

            def clock(env: Any) -> None:
                now = time.perf_counter()
                if now > hard:
                    raise OutOfTime("lightgbm fit ran past the search deadline")
                if now > deadline:  # keep the rounds so far
                    raise lgb.callback.EarlyStopException(env.iteration,
                                                          env.evaluation_result_list or [])

            self._extra_fit = {"callbacks": [clock]}

    def _detach_clock(self) -> None:
        """Drop the clock callbacks from the fitted model: they are local functions (a model
        holding them does not pickle) and their time is over (fold models are kept and served
        as bagged members)."""
        self._extra_fit = {}
        if self.family == "xgboost" and self.estimator_ is not None:
            self.estimator_.set_params(callbacks=None)

    def _fit_forest_in_chunks(self, X: Any, y: np.ndarray, weights: np.ndarray | None) -> None:
        """Grow the forest a chunk at a time (the same trees as one fit: scikit-learn's warm
        start skips the seeds used) so the fit can stop at the deadline or the time limit, or
        when its trees reach FOREST_BYTES, keeping the trees grown so far: full-depth trees
        grow with the rows (50 extra-trees on 200k rows held 1 GB; at 1M rows a 1-process
        train peaked at 9.7 GB)."""
        total = int(self.estimator_.get_params()["n_estimators"])
        grown, step = 0, FOREST_FIRST_CHUNK
        while grown < total:
            grown = min(total, grown + step)
            self.estimator_.set_params(warm_start=True, n_estimators=grown)
            self._fit(X, y, weights)
            if self.deadline is not None and time.perf_counter() > self.deadline:
                raise OutOfTime(f"{self.family} fit ran past the search deadline")
            stop = self._stop_at()
            if stop is not None and time.perf_counter() > stop:
                break  # the time limit: keep the trees grown so far
            per_tree = forest_bytes(self.estimator_) / grown
            step = min(FOREST_CHUNK, int((FOREST_BYTES - per_tree * grown) / per_tree))
            if step < 1:
                break
        self.estimator_.set_params(warm_start=False)

    def _weights(self, y: np.ndarray) -> np.ndarray | None:
        if self.class_weight != "balanced" or self.task == "regression":
            return None
        counts = np.bincount(y)
        return (len(y) / (len(counts) * np.maximum(counts, 1)))[y]

    def _fit(self, X: Any, y: np.ndarray, weights: np.ndarray | None, **extra: Any) -> None:
        for key, value in getattr(self, "_extra_fit", {}).items():
            extra[key] = list(extra.get(key, [])) + value
        accepts = inspect.signature(self.estimator_.fit).parameters
        if weights is not None and "sample_weight" in accepts:
            extra["sample_weight"] = weights
        self.estimator_.fit(X, y, **extra)

    def _fit_early_stopped(self, X: Any, y: np.ndarray, weights: np.ndarray | None) -> None:
        fit_idx, val_idx = split_keeping_rare(np.arange(len(y)), y, 0.1, self.seed,
                                              stratify=self.task != "regression")
        Xf, Xv = _rows(X, fit_idx), _rows(X, val_idx)
        w = None if weights is None else weights[fit_idx]
        if self.family == "lightgbm":
            import lightgbm as lgb

            self._fit(Xf, y[fit_idx], w, eval_X=(Xv,), eval_y=(y[val_idx],),
                      callbacks=[lgb.early_stopping(EARLY_STOP_ROUNDS, verbose=False,
                                                    min_delta=self._min_delta())])
            self.best_iteration_ = int(self.estimator_.best_iteration_ or 0) or None
        elif self.family == "xgboost":
            self.estimator_.set_params(early_stopping_rounds=EARLY_STOP_ROUNDS)
            self._fit(Xf, y[fit_idx], w, eval_set=[(Xv, y[val_idx])], verbose=False)
            if self.deadline is not None and time.perf_counter() > self.deadline:
                raise OutOfTime("xgboost fit ran past the search deadline")
            try:
                self.best_iteration_ = int(self.estimator_.best_iteration) + 1
            except AttributeError:  # stopped by the clock before early stopping recorded one
                self.best_iteration_ = int(self.estimator_.get_booster().num_boosted_rounds())
        elif self.family == "catboost":
            self._fit(Xf, y[fit_idx], w, eval_set=(Xv, y[val_idx]),
                      early_stopping_rounds=EARLY_STOP_ROUNDS)
            self.best_iteration_ = int(self.estimator_.get_best_iteration()) + 1

    def _min_delta(self) -> float:
        # log loss creeping down by 1e-6 a round on tiny data is not worth 2000 rounds
        return 0.0 if self.task == "regression" else 1e-5

    def predict(self, X: Any) -> np.ndarray:
        if self.task != "regression":
            return np.asarray(self.predict_proba(X).argmax(axis=1))
        pred = self.estimator_.predict(_clip(X, getattr(self, "bounds_", None)))
        cap = getattr(self, "log_cap_", None)
        return np.asarray(pred) if cap is None else from_log(pred, cap)

    def predict_proba(self, X: Any) -> np.ndarray:
        out = np.zeros((_n_rows(X), len(self.classes_)))
        if self.estimator_ is None:
            out[:, self.seen_[0]] = 1.0
        else:
            X = _clip(X, getattr(self, "bounds_", None))
            out[:, self.seen_] = self.estimator_.predict_proba(X)
        return out


Bounds = tuple[np.ndarray, np.ndarray]


def _input_range(X: Any) -> Bounds | None:
    """Per-column minimum and maximum of a dense numeric training matrix or frame; None for
    anything else (sparse text features). A column without values gets no bound."""
    if isinstance(X, pd.DataFrame) and len(X.columns) and \
            all(t.kind in "fiub" for t in X.dtypes):
        X = X.to_numpy(dtype="float64")
    if not isinstance(X, np.ndarray) or X.ndim != 2 or X.dtype.kind not in "fiub" or not len(X):
        return None
    X = X.astype("float64", copy=False)
    finite = np.where(np.isfinite(X), X, np.nan)
    empty = np.asarray(np.isnan(finite).all(axis=0))
    filled = np.where(empty.reshape(1, -1), 0.0, finite)
    low = np.where(empty, -np.inf, np.nanmin(filled, axis=0))
    high = np.where(empty, np.inf, np.nanmax(filled, axis=0))
    return low, high


def _clip(X: Any, bounds: Bounds | None) -> Any:
    if bounds is None or X.shape[1:] != bounds[0].shape:
        return X
    if isinstance(X, pd.DataFrame):
        return X.clip(lower=pd.Series(bounds[0], index=X.columns),
                      upper=pd.Series(bounds[1], index=X.columns), axis=1)
    if not isinstance(X, np.ndarray):
        return X
    return np.clip(X, bounds[0], bounds[1])


def _predict_single_threaded(estimator: Any) -> None:
    """A model fitted with several threads predicts with one: served next to other work, one
    thread is faster (see THREADS)."""
    params = estimator.get_params() if hasattr(estimator, "get_params") else {}
    if int(params.get("n_jobs") or 1) > 1:
        estimator.set_params(n_jobs=1)


def _n_rows(X: Any) -> int:
    return int(X.shape[0])


def split_keeping_rare(idx: np.ndarray, y: np.ndarray, test_size: float, seed: int, *,
                       stratify: bool) -> tuple[np.ndarray, np.ndarray]:
    """Split rows in two, stratified by class where possible; the rows of a class too rare to
    be split (one row) always stay on the fitting side, so a model sees every class."""
    from sklearn.model_selection import train_test_split

    if not stratify:
        fit, held = train_test_split(idx, test_size=test_size, random_state=seed)
        return np.asarray(fit), np.asarray(held)
    values, counts = np.unique(y, return_counts=True)
    rare = np.isin(y, values[counts < 2])
    rest, rest_y = idx[~rare], y[~rare]
    k = len(np.unique(rest_y))
    n_held = math.ceil(len(rest) * test_size)
    strat = rest_y if 1 < k <= min(n_held, len(rest) - n_held) else None
    pos = np.arange(len(rest))
    fit_pos, held_pos = train_test_split(pos, test_size=test_size, random_state=seed,
                                         stratify=strat)
    # a class whose rows all landed on the held side goes back to the fitting side
    missing = ~np.isin(rest_y[held_pos], rest_y[fit_pos])
    fit = np.concatenate([rest[fit_pos], rest[held_pos[missing]], idx[rare]])
    return np.sort(fit), np.sort(rest[held_pos[~missing]])


def _rows(X: Any, idx: np.ndarray) -> Any:
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


def refit_params(family: Family, params: Params, best_iterations: list[int | None]) -> Params:
    """Params for a refit on all rows: boosting rounds fixed to what early stopping found
    across folds (a little more, since the refit sees more rows)."""
    found = [b for b in best_iterations if b]
    if not family.boosting or not found:
        return dict(params)
    return {**params, ROUNDS_KEY[family.name]: _refit_rounds(found)}


def _refit_rounds(found: list[int]) -> int:
    return max(10, int(np.mean(found) * 1.1))


def refit_share(family: Family, best_iterations: list[int | None]) -> float:
    """A refit's seconds on all rows per second of one fold's fit scaled to all rows. An
    early-stopped fold ran its best rounds plus EARLY_STOP_ROUNDS on 90% of its rows; the
    refit runs `refit_params`' rounds without validation. Otherwise the same fit, a little
    longer (x1.1)."""
    found = [b for b in best_iterations if b]
    if not family.boosting or not found:
        return 1.1
    ran = float(np.mean([b + EARLY_STOP_ROUNDS for b in found]))
    return _refit_rounds(found) / ran / 0.9


# --- linear ---------------------------------------------------------------------------------
def _linear(task: str, params: Params, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression, Ridge

    if task == "regression":
        return Ridge(alpha=params.get("alpha", 1.0))
    return LogisticRegression(C=params.get("C", 1.0), max_iter=1000, random_state=seed)


def _linear_space(t: Any, task: str) -> Params:
    if task == "regression":
        return {"alpha": t.suggest_float("alpha", 1e-3, 1e3, log=True)}
    return {"C": t.suggest_float("C", 1e-3, 100, log=True)}


register(Family(name="linear", make=_linear, space=_linear_space, cost=1, needs_scaling=True,
                kind="linear",
                portfolio=({},), description="logistic regression / ridge, L2 regularised"))


# --- k nearest neighbours -------------------------------------------------------------------
def _knn(task: str, params: Params, seed: int) -> Any:
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    cls = KNeighborsRegressor if task == "regression" else KNeighborsClassifier
    return cls(n_jobs=fit_threads(), **{"n_neighbors": 15, "weights": "distance", **params})


register(Family(
    name="knn", make=_knn, cost=3, needs_scaling=True, kind="linear", portfolio=({},),
    description="k nearest neighbours on scaled features",
    space=lambda t, task: {"n_neighbors": t.suggest_int("n_neighbors", 2, 100, log=True),
                           "weights": t.suggest_categorical("weights", ["uniform", "distance"]),
                           "p": t.suggest_categorical("p", [1, 2])},
))


# --- random forest / extra trees -------------------------------------------------------------
FOREST_BYTES = 1 << 30  # one forest's trees at most; more trees past it are not grown
FOREST_FIRST_CHUNK = 10  # trees grown before the first size check
FOREST_CHUNK = 50  # trees grown between checks of the clock and the size
NODE_BYTES = 64  # scikit-learn's tree Node struct


def forest_bytes(forest: Any) -> float:
    """The memory a fitted forest's trees hold: nodes plus their value arrays."""
    return float(sum(t.tree_.node_count * (NODE_BYTES + t.tree_.value[0].nbytes)
                     for t in forest.estimators_))


def _forest(extra: bool) -> Callable[[str, Params, int], Any]:
    def make(task: str, params: Params, seed: int) -> Any:
        from sklearn import ensemble

        kind = ("ExtraTrees" if extra else "RandomForest") + (
            "Regressor" if task == "regression" else "Classifier")
        defaults = {"n_estimators": 200, "max_features": "sqrt" if task != "regression" else 0.5}
        return getattr(ensemble, kind)(n_jobs=fit_threads(), random_state=seed,
                                       **{**defaults, **params})

    return make


def _forest_space(t: Any, task: str) -> Params:
    return {"min_samples_leaf": t.suggest_int("min_samples_leaf", 1, 30, log=True),
            "max_features": t.suggest_float("max_features", 0.1, 1.0),
            "criterion": t.suggest_categorical(
                "criterion", ["squared_error"] if task == "regression" else ["gini", "entropy"])}


register(Family(name="random_forest", make=_forest(False), space=_forest_space, cost=4,
                portfolio=({}, {"min_samples_leaf": 5, "max_features": 0.5}),
                description="random forest"))
register(Family(name="extra_trees", make=_forest(True), space=_forest_space, cost=3,
                portfolio=({}, {"min_samples_leaf": 3, "max_features": 0.7}),
                description="extremely randomised trees"))


# --- gradient boosting ----------------------------------------------------------------------
LIGHTGBM_RATE = XGBOOST_RATE = 0.05
CATBOOST_RATE = 0.08


def _lightgbm(task: str, params: Params, seed: int) -> Any:
    import lightgbm as lgb

    cls = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier
    return cls(random_state=seed, n_jobs=fit_threads(), verbose=-1, deterministic=True,
               force_col_wise=True,
               **{"n_estimators": 2000, "learning_rate": LIGHTGBM_RATE, "num_leaves": 31, **params})


register(Family(
    name="lightgbm", make=_lightgbm, kind="native", cost=2, boosting=True, rate=LIGHTGBM_RATE,
    description="LightGBM gradient boosting, early-stopped",
    portfolio=({},
               {"learning_rate": 0.03, "num_leaves": 15, "min_child_samples": 20,
                "colsample_bytree": 0.6, "subsample": 0.8, "subsample_freq": 1, "reg_lambda": 1.0},
               {"learning_rate": 0.08, "num_leaves": 63, "min_child_samples": 10,
                "colsample_bytree": 0.8, "reg_lambda": 0.1}),
    space=lambda t, task: {
        "learning_rate": t.suggest_float("learning_rate", 0.01, 0.2, log=True),
        "num_leaves": t.suggest_int("num_leaves", 4, 128, log=True),
        "min_child_samples": t.suggest_int("min_child_samples", 3, 100, log=True),
        "subsample": t.suggest_float("subsample", 0.5, 1.0),
        "subsample_freq": 1,
        "colsample_bytree": t.suggest_float("colsample_bytree", 0.3, 1.0),
        "reg_lambda": t.suggest_float("reg_lambda", 1e-3, 10, log=True),
        "min_split_gain": t.suggest_float("min_split_gain", 1e-4, 1.0, log=True),
    },
))


def _xgboost(task: str, params: Params, seed: int) -> Any:
    import xgboost as xgb

    cls = xgb.XGBRegressor if task == "regression" else xgb.XGBClassifier
    return cls(random_state=seed, n_jobs=fit_threads(), tree_method="hist", verbosity=0,
               enable_categorical=True,
               **{"n_estimators": 2000, "learning_rate": XGBOOST_RATE, "max_depth": 6, **params})


register(Family(
    name="xgboost", make=_xgboost, kind="native", cost=3, boosting=True, rate=XGBOOST_RATE,
    description="XGBoost (hist) gradient boosting, early-stopped",
    portfolio=({},
               {"learning_rate": 0.03, "max_depth": 4, "subsample": 0.8, "colsample_bytree": 0.7,
                "min_child_weight": 2}),
    space=lambda t, task: {
        "learning_rate": t.suggest_float("learning_rate", 0.01, 0.2, log=True),
        "max_depth": t.suggest_int("max_depth", 2, 10),
        "min_child_weight": t.suggest_float("min_child_weight", 0.5, 20, log=True),
        "subsample": t.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": t.suggest_float("colsample_bytree", 0.3, 1.0),
        "reg_lambda": t.suggest_float("reg_lambda", 1e-3, 10, log=True),
    },
))


def _catboost(task: str, params: Params, seed: int) -> Any:
    import catboost as cb

    cls = cb.CatBoostRegressor if task == "regression" else cb.CatBoostClassifier
    return cls(random_seed=seed, thread_count=THREADS, verbose=0, allow_writing_files=False,
               **{"iterations": 1500, "learning_rate": CATBOOST_RATE, "depth": 6, **params})


register(Family(
    # multiclass: ~10x LightGBM's time on 4- and 7-class tables of 1-2k rows (vs ~2.5x)
    name="catboost", make=_catboost, kind="native", cost=5, multiclass_cost=20, boosting=True,
    rate=CATBOOST_RATE,
    extra="catboost",
    description="CatBoost gradient boosting, early-stopped",
    portfolio=({},),
    space=lambda t, task: {
        "learning_rate": t.suggest_float("learning_rate", 0.02, 0.3, log=True),
        "depth": t.suggest_int("depth", 3, 8),
        "l2_leaf_reg": t.suggest_float("l2_leaf_reg", 0.5, 30, log=True),
    },
))


# --- neural network -------------------------------------------------------------------------
def _mlp(task: str, params: Params, seed: int) -> Any:
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    cls = MLPRegressor if task == "regression" else MLPClassifier
    params = dict(params)
    width, depth = params.pop("width", 128), params.pop("depth", 2)
    net = cls(hidden_layer_sizes=(width,) * depth, early_stopping=True, max_iter=300,
              n_iter_no_change=10, random_state=seed,
              **{"alpha": 1e-4, "learning_rate_init": 1e-3, **params})
    if task != "regression":
        return net
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler

    return TransformedTargetRegressor(regressor=net, transformer=StandardScaler())  # scaled target


register(Family(
    name="mlp", make=_mlp, cost=4, needs_scaling=True, kind="linear", portfolio=({},),
    description="multi-layer perceptron (scikit-learn), early-stopped",
    space=lambda t, task: {"width": t.suggest_categorical("width", [32, 64, 128, 256]),
                           "depth": t.suggest_int("depth", 1, 3),
                           "alpha": t.suggest_float("alpha", 1e-6, 1e-1, log=True),
                           "learning_rate_init": t.suggest_float("learning_rate_init", 1e-4, 1e-2,
                                                                 log=True)},
))


# The order the portfolio is tried in, across families: the default gradient-boosted model
# (the one that wins most tables, so a short budget already has it), a cheap linear baseline,
# the larger, faster-learning LightGBM (the cheapest boosting variant; more leaves pay on
# larger tables: California housing at 30 s 43,847 -> 43,148 RMSE with it third), then the
# other strong defaults, then variety for the ensemble. Families not listed follow, in cost
# order.
PORTFOLIO_ORDER: list[tuple[str, int]] = [
    ("lightgbm", 0), ("linear", 0), ("lightgbm", 2), ("extra_trees", 0), ("lightgbm", 1),
    ("catboost", 0), ("xgboost", 0), ("random_forest", 0), ("xgboost", 1), ("knn", 0),
    ("mlp", 0), ("extra_trees", 1), ("random_forest", 1),
]


def portfolio(families: list[Family]) -> list[tuple[Family, int]]:
    """(family, portfolio index) pairs for the chosen families, in trying order."""
    chosen = {f.name: f for f in families}
    order = [(chosen[n], i) for n, i in PORTFOLIO_ORDER
             if n in chosen and i < len(chosen[n].portfolio)]
    listed = {(f.name, i) for f, i in order}
    order += [(f, i) for f in families for i in range(len(f.portfolio))
              if (f.name, i) not in listed]
    return order


# --- compiled serving (fullcycle.features.compiling) -----------------------------------------
@compiles("estimator", FamilyModel)
def _compile_family_model(est: Any, cols: Columns, classify: bool) -> tuple[Scores, str]:
    if (est.task == "regression") == classify:
        raise Unsupported("FamilyModel task differs from the problem")
    fn, _ = compile_estimator(est.estimator_, cols, classify)
    bounds, cap = getattr(est, "bounds_", None), getattr(est, "log_cap_", None)
    if bounds is None and cap is None:
        return fn, est.family

    def mapped(matrix: np.ndarray) -> np.ndarray:  # FamilyModel.predict's clip and expm1
        out = fn(_clip(matrix, bounds))
        return out if cap is None else from_log(out, cap)

    return mapped, est.family + (" on log1p(target)" if cap is not None else "")
