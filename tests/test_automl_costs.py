"""What a candidate is expected to cost: its preprocessing, its folds and its refit."""

from __future__ import annotations

import numpy as np
from automl_support import saturating as _saturating

from fullcycle.config import Config
from fullcycle.data.dataset import Dataset


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

    from fullcycle.problem import define_problem
    from fullcycle.tasks.tabular.search.search import Search, _Stop

    dataset = Dataset.from_frame(_saturating(50, 0, noise=1.0), target="y")
    problem = define_problem(dataset.target, "y", Config().problem)
    search = Search(schema=dataset.schema, problem=problem, families=["linear"], folds=5,
                    seed=0, time_budget=60)
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
