"""Threads per fit follow the machine's idle cores; models always predict with one thread."""

from __future__ import annotations

import time

import numpy as np
import pytest
from automl_support import tiny_frame

from fullcycle.config import Config
from fullcycle.data.dataset import Dataset
from fullcycle.tasks.tabular.search.cpu import (
    CpuWatch,
    _Times,
    fit_threads,
    others_busy,
    threads_for,
    use_threads,
)
from fullcycle.tasks.tabular.search.families import FamilyModel
from fullcycle.tasks.tabular.search.train import train_model


def test_all_cores_only_while_other_programs_leave_them_idle() -> None:
    # the argument: cores other programs keep busy
    assert threads_for(0.1, cores=2) == 2
    assert threads_for(0.5, cores=2) == 1  # half a core busy: OpenMP threads would wait
    assert threads_for(2.0, cores=2) == 1
    assert threads_for(None, cores=8) == 1  # unknown (no /proc): the safe choice
    assert threads_for(0.0, cores=8) == 8


def test_this_process_never_counts_as_another_program() -> None:
    # 2 cores, 1 s (100 ticks each): everything busy, half of it ours -> 1 core is others'
    before = _Times(idle=0.0, total=0.0, own=0.0)
    assert others_busy(before, _Times(idle=0.0, total=200.0, own=100.0), 2) == 1.0
    assert others_busy(before, _Times(idle=0.0, total=200.0, own=200.0), 2) == 0.0
    assert others_busy(before, _Times(idle=190.0, total=200.0, own=0.0), 2) == 0.1


def test_the_watch_reads_this_machine() -> None:
    watch = CpuWatch(sample=0.05)
    end = time.perf_counter() + 0.2
    while time.perf_counter() < end:  # keep one core busy ourselves
        sum(range(1000))
    others = watch.others()
    if others is None:
        pytest.skip("no /proc here: one thread")
    assert 0.0 <= others <= watch.cores
    assert watch.decided == (watch.cores if others <= 0.25 else 1)  # what that reading decided


@pytest.mark.parametrize("family", ["lightgbm", "xgboost", "random_forest", "knn"])
def test_a_model_fitted_on_two_threads_predicts_on_one(family: str) -> None:
    X = np.random.default_rng(0).normal(size=(300, 4))
    y = (X[:, 0] > 0).astype(int)
    with use_threads(2):
        assert fit_threads() == 2
        model = FamilyModel(family=family, task="binary").fit(X, y)
    assert fit_threads() == 1
    assert model.estimator_.get_params()["n_jobs"] == 1
    assert model.predict_proba(X[:5]).shape == (5, 2)


def test_a_counted_search_uses_one_thread_whatever_the_machine() -> None:
    config = Config.from_dict({"seed": 0, "problem": {"task": "binary"},
                               "train": {"families": ["lightgbm"], "max_trials": 1}})
    out = train_model(Dataset.from_frame(tiny_frame("binary"), target="y"), config)
    assert out.model.card.training.search["threads"] == [1]


class _Scripted:
    """A CpuWatch stand-in answering thread counts from a script (the last one repeats)."""

    def __init__(self, answers: list[int]) -> None:
        self.answers = answers
        self.asked = 0

    def threads(self) -> int:
        self.asked += 1
        return self.answers[min(self.asked, len(self.answers)) - 1]


def test_threads_follow_the_other_programs_fold_by_fold() -> None:
    from fullcycle.problem import define_problem
    from fullcycle.tasks.tabular.search.search import Search
    from fullcycle.tasks.tabular.search.train import feature_frame

    dataset = Dataset.from_frame(tiny_frame("binary"), target="y")
    problem = define_problem(dataset.target, "y", Config().problem)
    search = Search(schema=dataset.schema, problem=problem, families=["lightgbm"], folds=4,
                    seed=0, time_budget=1e9, max_trials=1)
    # idle cores for the first fold, then another program starts: one thread from fold 2 on
    search.cpu = _Scripted([2, 1])  # type: ignore[assignment]
    with use_threads(1):
        search.run(feature_frame(dataset), problem.encode_target(dataset.target))
    assert search.threads_used == [2, 1, 1, 1]
