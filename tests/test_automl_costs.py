"""What a candidate is expected to cost: its preprocessing, its folds and its refit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from automl_support import saturating as _saturating

from fullcycle.config import Config
from fullcycle.data.dataset import Dataset


def _small_search() -> Any:
    """A clock-driven search on 50 regression rows, 5 folds; its tests set what they need."""
    from fullcycle.problem import define_problem
    from fullcycle.tasks.tabular.search.search import Search

    dataset = Dataset.from_frame(_saturating(50, 0, noise=1.0), target="y")
    problem = define_problem(dataset.target, "y", Config().problem)
    return Search(schema=dataset.schema, problem=problem, families=["linear"], folds=5, seed=0,
                  time_budget=60)


def test_the_cost_guess_of_a_family_counts_its_missing_preprocessing() -> None:
    from fullcycle.problem import define_problem
    from fullcycle.tasks.tabular.search.families import get_family
    from fullcycle.tasks.tabular.search.search import Search

    frame = _saturating(200, 0, noise=1.0)
    dataset = Dataset.from_frame(frame, target="y")
    config = Config.from_dict({"problem": {"task": "regression"}})
    problem = define_problem(dataset.target, "y", config.problem)
    search = Search(schema=dataset.schema, problem=problem, families=["linear"], folds=3,
                    seed=0, time_budget=60, max_trials=1)
    search.run(frame.drop(columns="y"), problem.encode_target(dataset.target))
    assert search.preprocess_seconds > 0
    # linear's scaled preprocessing is fitted on every fold; the boosting kind on none yet
    assert search._preprocess_guess(get_family("linear")) == 0
    assert search._preprocess_guess(get_family("lightgbm")) == \
        3 * search.preprocess_seconds


def test_a_candidate_that_would_eat_its_own_refit_time_is_stopped() -> None:
    import time

    import pytest

    from fullcycle.tasks.tabular.search.search import _Stop

    search = _small_search()
    search.cv = [(np.arange(1), np.arange(1))] * 5
    now = time.perf_counter()
    search.deadline = now + 50.0  # 50 s left
    # fold 0 took 10 s: 4 more folds (40 s) fit in 50 s, but not with the refit (~14 s)
    with pytest.raises(_Stop):
        search._check(0, [1.0], now - 10.0, prune=False, baggable=False)
    # ... unless its fold models can stand in for the refit (bagged at the end)
    search._check(0, [1.0], now - 10.0, prune=False, baggable=True)
    search.deadline = now + 60.0
    search._check(0, [1.0], now - 10.0, prune=False, baggable=False)  # 54 s of 60: goes on
    search.deadline = now + 35.0
    with pytest.raises(_Stop):  # its folds alone do not fit
        search._check(0, [1.0], now - 10.0, prune=False, baggable=True)


def test_a_refit_is_priced_by_the_rounds_it_runs_and_the_folds_the_search_used() -> None:
    from fullcycle.tasks.tabular.search.families import EARLY_STOP_ROUNDS, get_family, refit_share
    from fullcycle.tasks.tabular.search.improve import _refit_estimate
    from fullcycle.tasks.tabular.search.search import Candidate

    # folds ran 100 rounds + the patience on 90% of their rows; the refit runs 110 on all
    share = refit_share(get_family("lightgbm"), [100, 100])
    assert share == 110 / (100 + EARLY_STOP_ROUNDS) / 0.9
    assert refit_share(get_family("lightgbm"), [None, None]) == 1.1  # not early-stopped
    assert refit_share(get_family("linear"), [None]) == 1.1
    cand = Candidate(name="c", family="lightgbm", params={}, fold_scores=[1.0, 1.0],
                     fit_seconds=10.0, predict_ms_per_row=0.1, oof=np.zeros(1),
                     refit_share=share)
    # 2 folds: each fold model saw half the rows, so the refit costs the two folds' time
    assert _refit_estimate(cand, 2) == 10.0 * share
    assert _refit_estimate(cand, 5) == 10.0 / 4 * share


def test_an_unmeasured_boosting_family_is_priced_from_boosting_not_from_a_linear_fit() -> None:
    import time

    from fullcycle.tasks.tabular.search.families import get_family

    search = _small_search()
    search.deadline = float("inf")
    catboost, forest = get_family("catboost"), get_family("random_forest")
    search._cost = {"linear": 0.5}  # many classes: a linear fit says little about boosting
    assert search._guess_cost(catboost) == 0.5 * catboost.cost / get_family("linear").cost
    assert search._slack(catboost) == float("inf")  # (times 2: a rough guess)
    search.deadline = time.perf_counter() + 100.0  # 100 s left
    search._cost = {"linear": 0.5, "lightgbm": 7.0}
    assert search._guess_cost(catboost) == 7.0 * catboost.cost / get_family("lightgbm").cost
    assert search._guess_cost(forest) == 0.5 * forest.cost / get_family("linear").cost
    left = search._left()
    assert search._slack(catboost) == pytest.approx(left, abs=1.0)  # a boosting guess: as is
    assert search._slack(forest) == pytest.approx(2 * left, abs=1.0)


def test_a_first_fold_stops_where_the_check_after_it_would_stop_the_candidate() -> None:
    import time

    from fullcycle.tasks.tabular.search.families import get_family
    from fullcycle.tasks.tabular.search.search import Candidate

    search = _small_search()
    search.deadline = time.perf_counter() + 100.0
    catboost = get_family("catboost")
    assert search._hard_deadline(catboost) is None  # the first candidate always finishes
    search.candidates = [Candidate(name="lightgbm", family="lightgbm", params={},
                                   fold_scores=[1.0], fit_seconds=1.0, predict_ms_per_row=0.1,
                                   oof=np.zeros(1))]
    now = time.perf_counter()
    end = search._hard_deadline(catboost)
    assert end is not None and now + 100.0 <= end <= now + 102.0  # the end of the search
    assert search._hard_deadline(catboost, first_fold_by=now + 20.0) == now + 20.0
    search.max_trials = 3  # a counted search never looks at the clock
    assert search._hard_deadline(catboost, first_fold_by=now + 20.0) is None


def test_once_a_boosted_model_scored_a_candidate_may_take_half_the_time_left() -> None:
    import time

    from fullcycle.problem import define_problem
    from fullcycle.tasks.tabular.search.families import get_family
    from fullcycle.tasks.tabular.search.search import DEAR_SHARE, Candidate, Search

    frame = _saturating(60, 0, noise=1.0)
    frame["y"] = np.where(frame["y"] > frame["y"].median(), "a", "b")
    frame.loc[:19, "y"] = "c"
    dataset = Dataset.from_frame(frame, target="y")
    problem = define_problem(dataset.target, "y", Config().problem)
    assert problem.task == "multiclass"
    search = Search(schema=dataset.schema, problem=problem, families=["linear"], folds=5,
                    seed=0, time_budget=60)
    search.deadline = time.perf_counter() + 100.0
    catboost, xgboost = get_family("catboost"), get_family("xgboost")
    search._cost = {"lightgbm": 2.0}
    # multiclass CatBoost is priced as such (10x LightGBM), XGBoost by its usual hint
    assert search._guess_cost(catboost) == 2.0 * 20 / 2
    assert search._guess_cost(xgboost) == 2.0 * 3 / 2
    assert search._slack(catboost) == pytest.approx(100.0, abs=1.0)  # nothing boosted yet
    search.candidates = [Candidate(name="lightgbm", family="lightgbm", params={},
                                   fold_scores=[1.0], fit_seconds=2.0, predict_ms_per_row=0.1,
                                   oof=np.zeros(1))]
    assert search._slack(catboost) == pytest.approx(DEAR_SHARE * 100.0, abs=1.0)


def test_a_boosting_trial_that_would_not_fit_is_sized_by_its_learning_rate() -> None:
    import time

    from fullcycle.tasks.tabular.search.families import LIGHTGBM_RATE, get_family
    from fullcycle.tasks.tabular.search.search import (
        DEAR_SHARE,
        FASTEST_RATE,
        Candidate,
    )

    search = _small_search()
    lightgbm, forest = get_family("lightgbm"), get_family("random_forest")
    # measured at the default rate: time goes as 1/rate
    search._cost = {"lightgbm": 10.0, "random_forest": 30.0}
    assert search._guess_cost(lightgbm, {"learning_rate": 2 * LIGHTGBM_RATE}) == 5.0
    assert search._guess_cost(lightgbm, {}) == 10.0
    search.candidates = [Candidate(name="lightgbm", family="lightgbm", params={},
                                   fold_scores=[1.0], fit_seconds=10.0, predict_ms_per_row=0.1,
                                   oof=np.zeros(1))]
    search.deadline = time.perf_counter() + 100.0  # slack: half of 100 s
    fits = {"learning_rate": 0.05, "num_leaves": 31}
    assert search._sized(lightgbm, fits) is fits
    search.deadline = time.perf_counter() + 12.0  # slack ~6 s: 0.05 would take 10 s
    sized = search._sized(lightgbm, fits)
    assert sized["num_leaves"] == 31
    assert 0.05 * 10.0 / (DEAR_SHARE * 12.0) < sized["learning_rate"] <= FASTEST_RATE
    assert search._guess_cost(lightgbm, sized) <= search._slack(lightgbm)
    slow = {"learning_rate": 0.01}  # 50 s at its rate
    assert search._guess_cost(lightgbm, search._sized(lightgbm, slow)) <= \
        search._slack(lightgbm)
    search._cost["lightgbm"] = 100.0  # 25 s even at the fastest rate: capped there
    assert search._sized(lightgbm, fits)["learning_rate"] == FASTEST_RATE
    # many classes: sized from the rate that runs (at least 0.1), not the one asked
    search._cost["lightgbm"], search._n_classes = 20.0, 26
    many = search._sized(lightgbm, {"learning_rate": 0.02})
    assert search._guess_cost(lightgbm, search._adapt(lightgbm, many)) <= \
        search._slack(lightgbm)
    assert search._sized(forest, {"n_estimators": 300}) == {"n_estimators": 300}  # no rate
    search.max_trials = 3  # a counted search never looks at the clock
    assert search._sized(lightgbm, fits) is fits


def test_the_tuner_learns_from_the_learning_rate_a_sized_trial_ran_at() -> None:
    import optuna

    from fullcycle.problem import define_problem
    from fullcycle.tasks.tabular.search.search import FASTEST_RATE, Search

    frame = _saturating(300, 0, noise=0.5)
    frame["y"] = np.where(frame["y"] > 0, "up", "down")
    dataset = Dataset.from_frame(frame, target="y")
    problem = define_problem(dataset.target, "y", Config().problem)
    told: list[optuna.trial.FrozenTrial] = []

    class Sized(Search):  # every tuning trial sized, as on a slow machine
        def _sized(self, family, params):  # type: ignore[no-untyped-def]
            return {**params, "learning_rate": FASTEST_RATE}

    original = optuna.study.Study.add_trial
    try:
        optuna.study.Study.add_trial = lambda study, trial: (told.append(trial),  # type: ignore
                                                             original(study, trial))[1]
        search = Sized(schema=dataset.schema, problem=problem, families=["lightgbm"], folds=3,
                       seed=0, time_budget=60, max_trials=5)
        result = search.run(frame.drop(columns="y"), problem.encode_target(dataset.target))
    finally:
        optuna.study.Study.add_trial = original  # type: ignore[method-assign]
    tuned = [c for c in result.candidates if "_t" in c.name]
    assert tuned and all(c.params["learning_rate"] == FASTEST_RATE for c in tuned)
    # the sampler was told the rate that ran, with the score it got (a pruned trial: nothing)
    assert [t.params["learning_rate"] for t in told] == [FASTEST_RATE] * len(tuned)
    assert sorted(float(t.value or 0.0) for t in told) == sorted(c.score for c in tuned)


def test_a_family_stopped_for_time_is_priced_by_its_stop_and_not_started_again() -> None:
    import time

    from fullcycle.tasks.tabular.search.families import OutOfTime, get_family
    from fullcycle.tasks.tabular.search.search import Candidate, _Stop

    search = _small_search()
    search.cv = [(np.arange(1), np.arange(1))] * 5
    search.candidates = [Candidate(name="lightgbm", family="lightgbm", params={},
                                   fold_scores=[1.0], fit_seconds=1.0, predict_ms_per_row=0.1,
                                   oof=np.zeros(1))]
    search._cost = {"lightgbm": 1.0}
    forest, mlp, lightgbm = (get_family(n) for n in ("extra_trees", "mlp", "lightgbm"))
    # stopped within its second fold after 4 s: 5 folds take at least 10 s
    search._learn_stopped(forest, {}, 4.0, 2)
    assert search._cost["extra_trees"] == 10.0
    search._learn_stopped(lightgbm, {}, 40.0, 1)  # a measured family keeps its measure
    assert search._cost["lightgbm"] == 1.0
    search.start = time.perf_counter()
    search.deadline = search.start + 12.0  # it may take ~6 s now: refused, not started
    trials = search.trials
    assert search._try(forest, {}, None, None, "extra_trees", prune=False) is None
    assert search.trials == trials

    def stop(reason: str) -> Any:
        def evaluate(*args: Any) -> None:
            search._folds_done = 1
            raise OutOfTime() if reason == "deadline" else _Stop(reason)
        return evaluate

    search.deadline = time.perf_counter() + 100.0
    search._evaluate = stop("pruned")  # type: ignore[method-assign]
    search._try(mlp, {}, None, None, "mlp", prune=True)
    assert "mlp" not in search._cost  # pruned for its score, not its time: nothing learnt
    for reason in ("time", "deadline"):
        search._cost.pop("mlp", None)
        search._evaluate = stop(reason)  # type: ignore[method-assign]
        search._try(mlp, {}, None, None, "mlp", prune=False)
        assert "mlp" in search._cost
    search._cost.pop("mlp")
    search.max_trials = 3  # a counted search never looks at the clock
    search._try(mlp, {}, None, None, "mlp", prune=False)
    assert "mlp" not in search._cost
