"""Model search under a wall-clock budget, scored by k-fold cross-validation.

Order of work: the portfolio (a few strong default configurations of every family, cheap
families first), then Optuna TPE, one study per family, the next trial going to the family with
the best expected gain per second (how close its best is to the leader, how little it has been
tried, how cheap it is). Bad trials are pruned after their first folds; a candidate whose
projected cost overruns the budget is stopped. Every finished candidate keeps its out-of-fold
predictions so the leaderboard is honest and ensembles can be built on it.

Determinism: with `max_trials` the search is bounded by trial count and every decision uses
scores and the families' static cost hints, never the clock, so the same seed, data and config
give the same leaderboard (timing columns aside). With a time budget, how many trials fit
depends on the machine's speed and load, so the leaderboard can differ between runs."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from fullcycle.data.schema import Schema
from fullcycle.errors import ModelError
from fullcycle.features.preprocess import SchemaCoercer, build_preprocessor
from fullcycle.problem import Problem
from fullcycle.tasks.tabular.search.bagging import KEEP_BYTES, keep_fold_models, model_bytes
from fullcycle.tasks.tabular.search.catcodes import CAT_CODES, codes_mode
from fullcycle.tasks.tabular.search.cpu import CpuWatch, fit_threads, set_threads
from fullcycle.tasks.tabular.search.families import (
    Family,
    FamilyModel,
    OutOfTime,
    Params,
    get_family,
    portfolio,
    refit_params,
    refit_share,
)
from fullcycle.tasks.tabular.search.targetlog import TARGET_LOG, Mode, log_target_mode

Folds = list[tuple[np.ndarray, np.ndarray]]
log = logging.getLogger(__name__)


@dataclass
class Candidate:
    name: str
    family: str
    params: Params
    fold_scores: list[float]
    fit_seconds: float
    predict_ms_per_row: float
    oof: np.ndarray = field(repr=False)
    refit_params: Params = field(default_factory=dict)  # params for the refit on all rows
    train_score: float | None = None  # in-sample score on the first fold's training rows
    metric: str = ""  # the metric fold_scores are in
    greater_is_better: bool = True
    # Pipeline[preprocess, model] of each fold, fitted on the fold's training rows: the member
    # used when the refit on all rows does not fit in the time left (bagging.FoldBag); None when
    # not kept (only the best few candidates keep theirs, see bagging.keep_fold_models)
    fold_models: list[Any] | None = field(default=None, repr=False)
    fold_bytes: int = 0
    # a refit's seconds per second of fold fitting scaled to all rows (families.refit_share)
    refit_share: float = 1.1

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
    folds: Folds = field(default_factory=list, repr=False)  # (train, valid) row positions
    y: np.ndarray | None = field(default=None, repr=False)  # encoded targets the CV scored
    oof_mask: np.ndarray | None = field(default=None, repr=False)  # rows with OOF predictions
    trials: int = 0  # candidates started, including pruned and stopped ones
    pruned: int = 0
    failures: list[str] = field(default_factory=list)
    coerced: pd.DataFrame | None = field(default=None, repr=False)  # rows after the contract
    rows: np.ndarray | None = field(default=None, repr=False)  # dataset row of each OOF row
    preprocess_seconds: float = 0.0  # mean time to fit one fold's preprocessing

    def ranked(self) -> list[Candidate]:
        """Best first; among candidates tied with the best within CV noise, the family that
        generalises more safely leads (`prefer_on_ties`)."""
        sign = self.problem.scorer.sign()
        return prefer_on_ties(sorted(self.candidates, key=lambda c: (-sign * c.score, c.name)),
                              sign)

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


TIE_SE = 1.0  # within this many standard errors of the paired fold differences: a tie


def tied_with(best: Candidate, other: Candidate, sign: float) -> bool:
    """True when `other` is behind `best` by no more than the noise of their cross-validation:
    the mean of the per-fold differences (the same folds score both) is within TIE_SE standard
    errors of it."""
    k = len(best.fold_scores)
    if k < 2 or len(other.fold_scores) != k:
        return False
    diff = sign * (np.asarray(best.fold_scores) - np.asarray(other.fold_scores))
    se = float(np.std(diff, ddof=1)) / math.sqrt(k)
    return float(np.mean(diff)) <= TIE_SE * se


def _safety(family: str) -> int:
    """How safely a family's models behave on rows unlike the training rows, most first: a
    boosted or forest model predicts within the range of targets it saw, while a linear model
    (or k-NN on scaled inputs, an MLP) extrapolates along its slopes."""
    fam = get_family(family)
    return 0 if fam.boosting else (1 if fam.kind == "tree" else 2)


def prefer_on_ties(ranked: list[Candidate], sign: float) -> list[Candidate]:
    """`ranked` (best first) with the safest family among those tied with the best moved to
    the front: a CV difference inside the folds' noise says nothing about which one is better,
    so the one less likely to go wrong on unusual rows is kept (and refit first, and is where
    the ensemble starts)."""
    if len(ranked) < 2:
        return ranked
    tied = [c for c in ranked if c is ranked[0] or tied_with(ranked[0], c, sign)]
    lead = min(tied, key=lambda c: (_safety(c.family), tied.index(c)))
    return [lead] + [c for c in ranked if c is not lead]


def make_pipeline(schema: Schema, family: Family, task: str, params: Params, seed: int, *,
                  class_weight: str | None = None, early_stopping: bool = True,
                  features: Any = None, n_classes: int | None = None) -> Pipeline:
    model = FamilyModel(family=family.name, task=task, params=params, seed=seed,
                        class_weight=_weighting(class_weight), early_stopping=early_stopping,
                        n_classes=n_classes)
    pre = build_preprocessor(schema, **preprocess_options(family, features, seed, params))
    return Pipeline([("preprocess", pre),
                     ("model", model)])


def predict_scores(pipeline: Any, X: pd.DataFrame, problem: Problem) -> np.ndarray:
    """Probabilities (n, k) for classification, values (n,) for regression."""
    if problem.is_classification:
        return np.asarray(pipeline.predict_proba(X), dtype="float64")
    return np.asarray(pipeline.predict(X), dtype="float64").reshape(-1)


def score_predictions(problem: Problem, y: np.ndarray, scores: np.ndarray) -> float:
    metric = problem.scorer
    labels = np.arange(len(problem.labels)) if problem.is_classification else None
    if metric.needs == "label":
        return metric(y, scores.argmax(axis=1), labels)
    if problem.is_classification:
        scores = np.clip(scores, 1e-15, 1.0)
        scores = scores / scores.sum(axis=1, keepdims=True)
    return metric(y, scores, labels)


def make_folds(problem: Problem, y: np.ndarray, folds: int, seed: int, *, strategy: str = "auto",
               groups: np.ndarray | None = None) -> Folds:
    """CV folds as the data needs: stratified (classification), grouped (rows of one group stay
    together), time-ordered (rows must already be sorted by time; each fold validates on the
    period after its training rows), or plain shuffled k-fold."""
    from sklearn.model_selection import (
        GroupKFold,
        KFold,
        StratifiedGroupKFold,
        StratifiedKFold,
        TimeSeriesSplit,
    )

    index = np.zeros((len(y), 1))
    if strategy == "time":
        return list(TimeSeriesSplit(n_splits=folds).split(index))
    if strategy == "group":
        if groups is None:
            raise ModelError("split.strategy is group but no group column was given; set "
                             "split.group_column")
        folds = min(folds, len(np.unique(groups)))
        if problem.is_classification:
            cv: Any = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        else:
            cv = GroupKFold(n_splits=folds)
        return list(cv.split(index, y, groups))
    if problem.is_classification and strategy in ("auto", "stratified"):
        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        return list(cv.split(index, y))
    return list(KFold(n_splits=folds, shuffle=True, random_state=seed).split(index))


def preprocess_options(family: Family, features: Any = None, seed: int = 0,
                       params: Params | None = None) -> dict[str, Any]:
    """Keyword options of `build_preprocessor` for this family: its kind (scaled linear,
    tree, or native categories for the boosting libraries), the config's features section,
    and whether many-level columns keep their codes (`CAT_CODES` in `params`: catcodes.py)."""
    return {"scale": family.needs_scaling, "family_kind": family.kind, "options": features,
            "seed": seed, "keep_codes": _keeps_codes(family, params)}


def _keeps_codes(family: Family, params: Params | None) -> bool:
    return family.kind == "native" and bool((params or {}).get(CAT_CODES))


def _weighting(class_weight: str | None) -> str | None:
    return None if class_weight in (None, "none") else class_weight


def _take(Z: Any, rows: np.ndarray) -> Any:
    return Z.iloc[rows] if hasattr(Z, "iloc") else Z[rows]


@dataclass
class _FoldData:
    train: Any
    valid: Any
    transform_seconds: float  # per row, added to the candidates' prediction cost
    pre: Any = None  # the whole fitted preprocessing (contract step included), for fold models


@dataclass
class _FoldFit:
    pred: np.ndarray
    score: float
    best_iteration: int | None
    predict_seconds: float
    train_score: float | None
    seconds: float  # fit and predict, without the (shared) preprocessing
    model: Any = None  # the fitted Pipeline[preprocess, model] of the fold


MANY_CLASSES = 10
FASTEST_RATE = 0.2  # a tuning trial sized to the time left learns at most this fast
FIRST_SHARE = 0.5  # at most this share of the search for the first candidate's folds
# once a boosted model has scored, a candidate may take at most this share of the time left:
# one slow bet (a 4-class CatBoost took 12.5 s of the 16 s left on 1,300 rows) costs the
# several cheaper trials that usually gain more
DEAR_SHARE = 0.5
CANDIDATE_SHARE = 1 / 3  # fewer folds when one candidate would cost more of the budget
SMALL_ROWS = 5000  # below this many training rows, never fewer than 3 folds


class _Stop(Exception):
    """A candidate stopped early: pruned (bad) or out of time."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class Search:
    """One model search. `run` returns every candidate scored out-of-fold."""

    def __init__(self, *, schema: Schema, problem: Problem, families: list[str], folds: int,
                 seed: int, time_budget: float, max_trials: int | None = None,
                 on_candidate: Callable[[Candidate, int, float], None] | None = None,
                 class_weight: str = "none", strategy: str = "auto",
                 groups: np.ndarray | None = None, adaptive_folds: bool = True,
                 reserve: Callable[[list[Candidate]], float] | None = None,
                 features: Any = None) -> None:
        self.schema, self.problem, self.seed = schema, problem, seed
        chosen = [get_family(f) for f in dict.fromkeys(families)]
        # an optional family that is not installed is skipped, and said so in the failures
        self.families = sorted((f for f in chosen if not f.missing()),
                               key=lambda f: (f.cost, f.name))
        self.folds, self.time_budget, self.max_trials = folds, time_budget, max_trials
        self.on_candidate = on_candidate
        self.class_weight, self.strategy, self.groups = class_weight, strategy, groups
        self.adaptive_folds = adaptive_folds
        self.features = features  # FeaturesConfig for build_preprocessor; None = its defaults
        self.reserve = reserve or (lambda cands: 0.0)  # seconds to keep for what follows
        self.candidates: list[Candidate] = []
        self.cv: Folds = []  # made by `run`, re-made with fewer folds on slow data
        self.trials = self.pruned = 0
        self.failures: list[str] = [str(f.missing()) for f in chosen if f.missing()]
        # family -> measured seconds of one candidate, at the family's default learning rate
        self._cost: dict[str, float] = {}
        self._folds_done = 0  # folds the running candidate has finished (see _learn_stopped)
        self._broken: set[str] = set()
        self._folds_cache: dict[tuple[Any, ...], _FoldData] = {}
        self._coerced_rows: pd.DataFrame | None = None
        self._coercer: SchemaCoercer | None = None
        self._coerce_per_row = 0.0
        self._setup_seconds = 0.0
        self._setups = 0  # fold preprocessings fitted (the cache is emptied when folds change)
        self._n_classes = len(problem.labels) if problem.is_classification else None
        self._probe: tuple[str, str, int, _FoldFit] | None = None  # fold 0 of the first
        self._log: Mode = "never"  # log1p of the target: never, try it, on all (targetlog.py)
        self._codes: Mode = "never"  # native codes next to target encodings (catcodes.py)
        self.cpu: CpuWatch | None = None  # when set, threads per fit follow the idle cores
        self.threads_used: list[int] = []

    @property
    def preprocess_seconds(self) -> float:
        """Mean seconds to fit and apply one fold's preprocessing, measured so far."""
        return self._setup_seconds / max(self._setups, 1)

    # --- driver ---------------------------------------------------------------------------
    def run(self, X: pd.DataFrame, y: np.ndarray) -> SearchResult:
        self.start = time.perf_counter()
        self.deadline = self.start + self.time_budget
        self.cv = make_folds(self.problem, y, self._n_folds(y), self.seed,
                             strategy=self.strategy, groups=self.groups)
        self._log = log_target_mode(self.problem.task, y, self.features)
        self._choose_folds(X, y)
        fold_rows = min(len(train) for train, _ in self.cv)
        self._codes = codes_mode(self.schema, X, fold_rows, self.features)
        for family, name, params in self._plan():
            if self._done() and self.candidates:  # some model always comes out
                break
            self._try(family, params, X, y, name, prune=False)
        if not self._done():
            self._tune(X, y)
        if not self.candidates:
            detail = f" ({'; '.join(self.failures[:3])})" if self.failures else ""
            raise ModelError(
                f"no model finished within the time budget of {self.time_budget:g} s{detail}; "
                "raise train.time_budget (or --time-budget)")
        mask = np.zeros(len(y), dtype=bool)
        for _, valid in self.cv:
            mask[valid] = True
        return SearchResult(self.candidates, self.problem, time.perf_counter() - self.start,
                            folds=self.cv, y=y, oof_mask=mask, trials=self.trials,
                            pruned=self.pruned, failures=self.failures,
                            coerced=self._coerced_rows,
                            preprocess_seconds=self.preprocess_seconds)

    def _choose_folds(self, X: pd.DataFrame, y: np.ndarray) -> None:
        """Fewer folds when the data is slow to fit on this machine now: the first candidate
        (the default gradient-boosted model) is fitted on fold 0, and if a full cross-validation
        of it would cost more than CANDIDATE_SHARE of the time left, the rows are re-split into
        3 or 2 folds, so that several candidates fit in the budget. A counted search (max_trials)
        never looks at the clock."""
        if self.max_trials is not None or not self.adaptive_folds or len(self.cv) <= 2:
            return
        family, i = next(((f, i) for f, i in self._portfolio() if f.boosting),
                         self._portfolio()[0])
        params = self._adapt(family, dict(family.portfolio[i]))
        try:
            fold = self._fit_fold(family, params, 0, X, y)
        except Exception:  # the search proper reports the failure
            return
        k = len(self.cv)
        left = self._left()
        per_row = fold.seconds / ((k - 1) / k)  # seconds per fold, per share of rows fitted
        chosen = k
        # small tables keep 3 folds at least: selection on 2 folds of a few thousand rows is
        # noise, and their fits are cheap
        options = (k, 3) if len(y) < SMALL_ROWS else (k, 3, 2)
        for folds in options:
            chosen = folds
            if per_row * (folds - 1) <= CANDIDATE_SHARE * left:
                break
        if chosen == k:
            self._probe = (family.name, repr(params), 0, fold)
            return
        self.cv = make_folds(self.problem, y, chosen, self.seed, strategy=self.strategy,
                             groups=self.groups)
        self._folds_cache.clear()

    def _adapt(self, family: Family, params: Params) -> Params:
        """Boosting on many classes grows one tree per class and round: a learning rate of at
        least 0.1 and 63 bins keep a 26-class fit within a short budget. A regression target
        goes to log1p as `targetlog` says, and many-level columns keep their codes as
        `catcodes` says (boosting follows the form that won so far)."""
        if self._log == "all" or (self._log == "try" and family.boosting and
                                  TARGET_LOG not in params and self._won(TARGET_LOG)):
            params = {**params, TARGET_LOG: True}
        if family.kind == "native" and CAT_CODES not in params and (self._codes == "all" or (
                self._codes == "try" and self._won(CAT_CODES))):
            params = {**params, CAT_CODES: True}
        if not family.boosting or (self._n_classes or 0) <= MANY_CLASSES:
            return params
        lr = float(params.get("learning_rate", 0.0) or 0.0)
        out = {**params, "learning_rate": max(lr, 0.1)}
        if family.name in ("lightgbm", "xgboost"):
            out.setdefault("max_bin", 63)
        return out

    def _plan(self) -> list[tuple[Family, str, Params]]:
        """The portfolio as (family, candidate name, params); when log1p of the target is to be
        tried, the first boosting default is tried on it right after its raw-target twin, and
        when a column's codes are, the first native default is then tried with them (in the
        target's form that won)."""
        plan: list[tuple[Family, str, Params]] = []
        for family, i in self._portfolio():
            name = family.name if i == 0 else f"{family.name}_p{i + 1}"
            plan.append((family, name, dict(family.portfolio[i])))
            if self._log == "try" and family.boosting and \
                    not any(TARGET_LOG in p for _, _, p in plan):
                plan.append((family, f"{name}_log", {**family.portfolio[i], TARGET_LOG: True}))
            if self._codes == "try" and family.kind == "native" and \
                    not any(CAT_CODES in p for _, _, p in plan):
                plan.append((family, f"{name}_codes", {**family.portfolio[i], CAT_CODES: True}))
        return plan

    def _won(self, key: str) -> bool:
        """The best boosting candidate so far has `key` (TARGET_LOG or CAT_CODES) set."""
        sign = self.problem.scorer.sign()
        boosted = [c for c in self.candidates if get_family(c.family).boosting]
        return bool(boosted) and bool(max(boosted, key=lambda c: sign * c.score)
                                      .params.get(key))

    def _n_folds(self, y: np.ndarray) -> int:
        folds = self.folds
        if self.adaptive_folds and self.max_trials is None and len(y) > 20_000:
            folds = min(folds, 3)
        if self.problem.task == "binary":  # every fold must validate on both classes
            folds = min(folds, int(np.bincount(y).min()))
        # multiclass: a class with fewer rows than folds stays in training and is missing
        # from some folds; the models and metrics are given the full label set
        return max(2, min(folds, len(y)))

    def _done(self) -> bool:
        if self.max_trials is not None:
            return self.trials >= self.max_trials
        return self._left() <= 0

    def _left(self) -> float:
        return self.deadline - self.reserve(self.candidates) - time.perf_counter()

    def _expected_cost(self, family: Family) -> float:
        if self.max_trials is not None:
            return float(family.cost)  # static hint: the clock never steers a counted search
        return self._cost.get(family.name, 0.0)

    def _hard_deadline(self, family: Family, first_fold_by: float | None = None) -> float | None:
        """When a running fit must stop: the end of the search (plus a little), except for the
        guaranteed candidates (see `_guaranteed`), which are bounded by soft limits instead.
        The first fold also stops at `first_fold_by`, past which `_check` would stop the
        candidate anyway (its folds could not all finish): the rest of that fold is saved."""
        if self.max_trials is not None or self._guaranteed(family):
            return None
        end = time.perf_counter() + self._left() + 1.0
        return end if first_fold_by is None else min(end, first_fold_by)

    def _guaranteed(self, family: Family) -> bool:
        """The first candidate, and the first of a boosting family (the model that wins most
        tables), always finish, so that a model, and a strong one, comes out: their rounds are
        capped by time instead (`_time_limit`)."""
        if not self.candidates:
            return True
        return family.boosting and not any(get_family(c.family).boosting
                                           for c in self.candidates)

    def _elapsed(self) -> float:
        return time.perf_counter() - self.start

    def _slack(self, family: Family) -> float:
        """How long a candidate of this family may be expected to take and still be started:
        the time left, or twice that for a family not measured yet (its guess comes from cost
        hints, which are rough: linear models on many classes are far cheaper than boosting),
        since a candidate that overruns is stopped at the deadline after its first fold. A
        boosting family guessed from a measured one is guessed well (CatBoost started on such
        a guess twice the time left ran until the deadline and was dropped: 10 s lost)."""
        sure = family.name in self._cost or (family.boosting and any(
            get_family(f).boosting for f in self._cost))
        return self._share(family) * self._left() * (1.0 if sure else 2.0)

    def _share(self, family: Family) -> float:
        """The share of the time left a candidate of this family may take (DEAR_SHARE)."""
        boosted = any(get_family(c.family).boosting for c in self.candidates)
        return DEAR_SHARE if boosted and not self._guaranteed(family) else 1.0

    def _guess_cost(self, family: Family, params: Params | None = None) -> float:
        """Seconds one candidate of this family (with `params`: at their learning rate) is
        expected to take: measured if it has run, else scaled by cost hints from the families
        that have, boosting from boosting (a boosted model grows a tree per class and round, so
        a cheap linear fit on 26 classes says little of what CatBoost will take there)."""
        alike = {f: c for f, c in self._cost.items()
                 if get_family(f).boosting == family.boosting}
        task = self.problem.task
        guesses = [c * family.cost_for(task) / get_family(f).cost_for(task)
                   for f, c in (alike or self._cost).items()]
        fit = self._cost.get(family.name, min(guesses) if guesses else 0.0)
        if params is not None:
            fit *= family.time_factor(params)
        return fit + self._preprocess_guess(family, params)

    def _sized(self, family: Family, params: Params) -> Params:
        """A tuning trial sized to the time it may take: a boosting trial that would not fit
        gets a higher learning rate (fewer rounds, up to FASTEST_RATE). Without it the end of a
        search on a slow table went to dozens of cheap, pruned linear trials while the leading
        family waited (the last 14 s of 60 on a 10-class table)."""
        if self.max_trials is not None or family.rate is None:
            return params
        adapted = self._adapt(family, params)  # the rate that would run (many classes: >= 0.1)
        guess, slack = self._guess_cost(family, adapted), self._slack(family)
        rate = float(adapted.get("learning_rate") or family.rate)
        if guess <= slack or rate >= FASTEST_RATE:
            return params
        return {**params, "learning_rate": min(FASTEST_RATE, rate * guess / max(slack, 1e-3) * 1.1)}

    def _preprocess_guess(self, family: Family, params: Params | None = None) -> float:
        """Seconds to fit this family's preprocessing on the folds that do not have it yet (a
        wide table's preprocessing can cost more than the model): measured per fold so far."""
        missing = sum((k, *self._prep_key(family, params)) not in self._folds_cache
                      for k in range(len(self.cv)))
        return missing * self.preprocess_seconds

    def _try(self, family: Family, params: Params, X: pd.DataFrame, y: np.ndarray, name: str,
             prune: bool) -> Candidate | None:
        if family.name in self._broken:
            return None
        params = self._adapt(family, params)
        if self.max_trials is None and self.candidates and \
                self._guess_cost(family, params) > self._slack(family):
            return None
        self.trials += 1
        for key, tag in ((TARGET_LOG, "log"), (CAT_CODES, "codes")):  # as `_adapt` set them
            if params.get(key) and tag not in name.split("_"):
                name += f"_{tag}"
        started = getattr(self.on_candidate, "started", None)  # optional: progress displays
        if callable(started):
            started(name, family.name)
        t0, self._folds_done = time.perf_counter(), 0
        try:
            return self._evaluate(family, params, X, y, name, prune)
        except _Stop as stop:
            if stop.reason == "pruned":
                self.pruned += 1
            else:
                self._learn_stopped(family, params, time.perf_counter() - t0, self._folds_done)
            log.info("%s stopped (%s) at %.1fs", name, stop.reason, self._elapsed())
            return None
        except OutOfTime:  # within a fold: that fold would have taken longer still
            self._learn_stopped(family, params, time.perf_counter() - t0, self._folds_done + 1)
            log.info("%s stopped at the deadline at %.1fs", name, self._elapsed())
            return None
        except Exception as exc:  # one family failing must not end the search
            self._broken.add(family.name)
            self.failures.append(f"{name}: {type(exc).__name__}: {str(exc)[:200]}")
            return None

    def _learn_stopped(self, family: Family, params: Params, seconds: float, folds: int) -> None:
        """A family stopped for time before it was ever measured gets the cost its stop
        implies (`folds` folds' worth took `seconds`), at least: priced by cost hints, it would
        be started and stopped again. On California housing at 30 s, forests and the MLP were
        stopped nine times, 15 s of the search's 23, while LightGBM, leading, went untuned."""
        if self.max_trials is None and family.name not in self._cost:
            self._cost[family.name] = seconds * len(self.cv) / max(folds, 1) / \
                family.time_factor(params)

    # --- one candidate ----------------------------------------------------------------------
    @staticmethod
    def _prep_key(family: Family, params: Params | None) -> tuple[Any, ...]:
        """What a candidate's fold preprocessing depends on, besides the fold."""
        return family.kind, family.needs_scaling, _keeps_codes(family, params)

    def _fold_data(self, family: Family, k: int, X: pd.DataFrame, y: np.ndarray,
                   params: Params | None = None) -> _FoldData:
        """Preprocessed matrices of fold k, fitted on the fold's training rows once and shared
        by every candidate with the same preprocessing needs."""
        options = preprocess_options(family, self.features, self.seed, params)
        key = (k, *self._prep_key(family, params))
        if key not in self._folds_cache:
            train_idx, valid_idx = self.cv[k]
            pre = build_preprocessor(self.schema, **options)
            t_start = time.perf_counter()
            rows, rest = self._coerced(pre, X)
            Z_train = rest.fit_transform(rows.iloc[train_idx], y[train_idx])
            t0 = time.perf_counter()
            Z_valid = rest.transform(rows.iloc[valid_idx])
            per_row = (time.perf_counter() - t0) / max(len(valid_idx), 1) + self._coerce_per_row
            self._folds_cache[key] = _FoldData(Z_train, Z_valid, per_row, self._whole(pre, rest))
            self._setup_seconds += time.perf_counter() - t_start  # one-time, not the family's
            self._setups += 1
        return self._folds_cache[key]

    def _whole(self, pre: Pipeline, rest: Pipeline) -> Pipeline:
        """The fitted preprocessing of a fold as one pipeline: the contract step fitted once
        (`_coerced`) followed by the fold's fitted steps."""
        if rest is pre or self._coercer is None:
            return pre
        return Pipeline([(pre.steps[0][0], self._coercer)] + list(rest.steps))

    def _coerced(self, pre: Pipeline, X: pd.DataFrame) -> tuple[pd.DataFrame, Pipeline]:
        """Apply the data contract (a stateless, row-wise step) once for all folds and return
        the rest of the preprocessing pipeline; any other pipeline shape is used whole."""
        if not (isinstance(pre, Pipeline) and isinstance(pre.steps[0][1], SchemaCoercer)):
            return X, pre
        if self._coerced_rows is None:
            t0 = time.perf_counter()
            self._coercer = pre.steps[0][1].fit(X)
            self._coerced_rows = self._coercer.transform(X)
            self._coerce_per_row = (time.perf_counter() - t0) / max(len(X), 1)
        return self._coerced_rows, pre[1:]

    def _fit_fold(self, family: Family, params: Params, k: int, X: pd.DataFrame,
                  y: np.ndarray, first_fold_by: float | None = None) -> _FoldFit:
        """Fit one candidate on fold k's training rows and predict its validation rows."""
        if (family.name, repr(params), k) == (self._probe or (None, None, None))[:3]:
            assert self._probe is not None
            return self._probe[3]  # fitted while choosing the number of folds
        train_idx, valid_idx = self.cv[k]
        data = self._fold_data(family, k, X, y, params)
        if self.cpu is not None:  # other programs started or stopped: follow them, fold by fold
            set_threads(self.cpu.threads())  # (a 2-thread fit slows down manyfold beside them)
        self.threads_used.append(fit_threads())
        t0, setup0 = time.perf_counter(), self._setup_seconds
        model = FamilyModel(family=family.name, task=self.problem.task, params=params,
                            seed=self.seed, class_weight=_weighting(self.class_weight),
                            deadline=self._hard_deadline(family, first_fold_by),
                            n_classes=self._n_classes,
                            time_limit=self._time_limit(family, k))
        model.fit(data.train, y[train_idx])
        t1 = time.perf_counter()
        pred = predict_scores(model, data.valid, self.problem)
        predict_seconds = time.perf_counter() - t1 + data.transform_seconds * len(valid_idx)
        train_score = self._train_score(model, data.train, y[train_idx]) if k == 0 else None
        seconds = time.perf_counter() - t0 - (self._setup_seconds - setup0)
        model.set_params(deadline=None, time_limit=None)  # a kept fold model holds no clock
        return _FoldFit(pred, score_predictions(self.problem, y[valid_idx], pred),
                        model.best_iteration_, predict_seconds, train_score, seconds,
                        Pipeline([("preprocess", data.pre), ("model", model)]))

    def _time_limit(self, family: Family, k: int) -> float | None:
        """Soft limit on fold k for a guaranteed candidate: its rounds stop (the model is kept)
        once its remaining folds would take more than FIRST_SHARE of the time left."""
        if self.max_trials is not None or not self._guaranteed(family):
            return None
        return time.perf_counter() + FIRST_SHARE * max(self._left(), 1.0) / (len(self.cv) - k)

    def _portfolio(self) -> list[tuple[Family, int]]:
        """The portfolio order; with many classes the linear model (one multinomial fit, cheap
        whatever the class count) goes first, as boosting grows a tree per class and round."""
        order = portfolio(self.families)
        if (self._n_classes or 0) > MANY_CLASSES:
            order.sort(key=lambda entry: entry[0].name != "linear")
        return order

    def _evaluate(self, family: Family, params: Params, X: pd.DataFrame, y: np.ndarray,
                  name: str, prune: bool) -> Candidate:
        t0, elapsed, left0 = time.perf_counter(), 0.0, self._left()
        oof: np.ndarray | None = None
        scores: list[float] = []
        best_iters: list[int | None] = []
        predict_seconds, train_score = 0.0, None
        models: list[Any] = []
        baggable = True
        for k, (_, valid_idx) in enumerate(self.cv):
            # after fold 0, `_check` stops a candidate whose folds would not all finish in the
            # time left: past this point fold 0 already says so (a first CatBoost fold on
            # segment ran 15 s to be stopped there, with 39 s left for 5 folds); nor in its
            # share of it (DEAR_SHARE)
            by = t0 + (self._share(family) * left0 + 0.5) / len(self.cv) if k == 0 else None
            fold = self._fit_fold(family, params, k, X, y, first_fold_by=by)
            models.append(fold.model)
            best_iters.append(fold.best_iteration)
            predict_seconds += fold.predict_seconds
            elapsed += fold.seconds
            if oof is None:
                oof = np.zeros((len(y),) + fold.pred.shape[1:])
            oof[valid_idx] = fold.pred
            scores.append(fold.score)
            self._folds_done = k + 1
            if k == 0:
                train_score = fold.train_score
                # its fold models can stand in for its refit (bagging.py) unless too large
                baggable = model_bytes(models) * len(self.cv) <= KEEP_BYTES
            self._check(k, scores, t0, prune, guaranteed=self._guaranteed(family),
                        baggable=baggable)
        self._probe = None
        self._cost[family.name] = elapsed / family.time_factor(params)
        assert oof is not None
        n_valid = sum(len(v) for _, v in self.cv)
        cand = Candidate(name=name, family=family.name, params=params, fold_scores=scores,
                         fit_seconds=elapsed, predict_ms_per_row=1000 * predict_seconds / n_valid,
                         oof=oof, refit_params=refit_params(family, params, best_iters),
                         refit_share=refit_share(family, best_iters),
                         train_score=train_score, metric=self.problem.metric,
                         greater_is_better=self.problem.scorer.greater_is_better,
                         fold_models=models, fold_bytes=model_bytes(models))
        self.candidates.append(cand)
        sign = self.problem.scorer.sign()
        keep_fold_models(sorted(self.candidates, key=lambda c: -sign * c.score))
        log.info("%s scored %.5f in %.1fs (%d folds) at %.1fs; %.1fs left", name, cand.score,
                 elapsed, len(self.cv), self._elapsed(), self._left())
        if self.on_candidate:
            self.on_candidate(cand, len(self.candidates), self._left())
        return cand

    def _train_score(self, model: FamilyModel, Z: Any, y: np.ndarray) -> float | None:
        """In-sample score on (a sample of) the fold's training rows, for the diagnosis."""
        rows = np.arange(0, len(y), max(1, len(y) // 2000))
        try:
            return score_predictions(self.problem, y[rows],
                                     predict_scores(model, _take(Z, rows), self.problem))
        except ValueError:  # e.g. a sample with one class only
            return None

    def _check(self, k: int, scores: list[float], t0: float, prune: bool, *,
               guaranteed: bool = False, baggable: bool = True) -> None:
        """After fold k: stop a candidate that cannot finish in time or is clearly bad."""
        folds = len(self.cv)
        if k == folds - 1:
            return
        if self.max_trials is None and not guaranteed:  # guaranteed ones always finish
            per_fold = (time.perf_counter() - t0) / (k + 1)
            # its folds, and its refit on all rows should it enter the ensemble, unless its
            # fold models can be bagged instead (a candidate that uses the time kept for
            # refits and cannot be bagged is dropped at the refit: wasted)
            refit = 0.0 if baggable else per_fold * folds / (folds - 1) * 1.1
            if per_fold * (folds - k - 1) + refit > self._left() + 0.5:
                raise _Stop("time")
        if not prune or k > 1 or len(self.candidates) < 4:
            return
        sign = self.problem.scorer.sign()
        partial = sign * float(np.mean(scores))
        others = [sign * float(np.mean(c.fold_scores[: k + 1])) for c in self.candidates]
        if partial < float(np.median(others)):
            raise _Stop("pruned")

    # --- Bayesian search --------------------------------------------------------------------
    def _tune(self, X: pd.DataFrame, y: np.ndarray) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        studies = {
            f.name: optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(
                seed=self.seed + i, n_startup_trials=4, multivariate=True))
            for i, f in enumerate(self.families)}
        counts = {f.name: 0 for f in self.families}
        sign = self.problem.scorer.sign()
        while not self._done():
            family = self._next_family(counts)
            if family is None:
                break
            counts[family.name] += 1
            if not any(c.family == family.name for c in self.candidates):
                self._try(family, family.defaults, X, y, family.name, prune=False)
                continue
            study = studies[family.name]
            trial = study.ask()
            asked = family.space(trial, self.problem.task)
            params = self._sized(family, asked)
            cand = self._try(family, params, X, y, f"{family.name}_t{counts[family.name]}",
                             prune=True)
            if params is not asked:
                # the sampler learns from the learning rate that ran, not the one it asked for
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                if cand is not None:
                    study.add_trial(optuna.trial.create_trial(
                        params={k: params[k] for k in trial.params},
                        distributions=trial.distributions, value=sign * cand.score))
            elif cand is None:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                study.tell(trial, sign * cand.score)

    def _next_family(self, counts: dict[str, int]) -> Family | None:
        """The family with the best expected gain per second: close to the leader (in units of
        the leader's fold spread), seldom tried, and cheap."""
        sign = self.problem.scorer.sign()
        best: dict[str, Candidate] = {}
        for c in self.candidates:
            if c.family not in best or sign * c.score > sign * best[c.family].score:
                best[c.family] = c
        untried = [f for f in self.families if f.name not in best and f.name not in self._broken
                   and counts.get(f.name, 0) == 0
                   and (self.max_trials is not None or self._guess_cost(f) <= self._slack(f))]
        if untried:
            return untried[0]  # a family skipped by the portfolio gets its defaults tried first
        if not best:
            return None
        leader = max(best.values(), key=lambda c: sign * c.score)
        spread = max(leader.std, 1e-3 * max(abs(leader.score), 1e-3))
        costs = {f: max(self._expected_cost(get_family(f)), 1e-3) for f in best}
        cheapest = min(costs.values())
        options = []
        for name, cand in best.items():
            family = get_family(name)
            if name in self._broken:
                continue
            # one that `_try` would refuse even sized to the time left (`_sized`) is not chosen
            fastest = family.time_factor({"learning_rate": FASTEST_RATE})
            if self.max_trials is None and \
                    costs[name] * min(fastest, 1.0) > self._slack(family):
                continue
            gap = sign * (cand.score - leader.score) / spread  # <= 0
            priority = gap + 1.5 / math.sqrt(1 + counts[name]) - 0.3 * math.log(
                costs[name] / cheapest)
            options.append((priority, -family.cost, name))
        if not options:
            return None
        return get_family(max(options)[2])
