"""The search: deterministic under a trial count, honours a time budget, keeps OOF predictions,
splits folds as the data needs; the trained Model (possibly an ensemble) round-trips."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from automl_support import tiny_frame

from fullcycle.config import Config
from fullcycle.data.dataset import Dataset
from fullcycle.model import Model
from fullcycle.problem import define_problem
from fullcycle.tasks.tabular.search.search import Search, make_folds
from fullcycle.tasks.tabular.search.train import train_model

TIMING = ["fit_seconds", "predict_ms_per_row"]  # wall-clock columns: never reproducible


def _config(**train: object) -> Config:
    return Config.from_dict({"seed": 7, "split": {"cv_folds": 3},
                             "train": {"families": ["linear", "lightgbm", "knn"], **train}})


def test_same_seed_and_trial_count_give_the_same_leaderboard() -> None:
    dataset = Dataset.from_frame(tiny_frame("binary", n=240), target="y")
    config = _config(max_trials=6)
    first = train_model(dataset, config)
    second = train_model(dataset, config)
    board1, board2 = first.leaderboard, second.leaderboard
    assert len(board1) >= 5  # portfolio and TPE trials both ran (some may be pruned)
    pd.testing.assert_frame_equal(board1.drop(columns=TIMING), board2.drop(columns=TIMING))
    for a, b in zip(first.search.candidates, second.search.candidates, strict=True):
        np.testing.assert_array_equal(a.oof, b.oof)
    assert first.test_metrics == second.test_metrics
    assert first.final["members"] == second.final["members"]
    assert first.model.card.training.search["deterministic"] is True


def test_a_small_time_budget_is_honoured() -> None:
    dataset = Dataset.from_frame(tiny_frame("regression", n=300), target="y")
    problem = define_problem(dataset.target, "y")
    X = dataset.frame[[c.name for c in dataset.schema.features]]
    y = problem.encode_target(dataset.target)
    budget = 3.0
    search = Search(schema=dataset.schema, problem=problem, families=["linear", "lightgbm"],
                    folds=3, seed=0, time_budget=budget)
    start = time.perf_counter()
    result = search.run(X, y)
    took = time.perf_counter() - start
    # without a trial cap only the clock stops the search: it must have stopped on its own,
    # and it overran the budget by at most the one candidate that was running
    slowest = max(c.fit_seconds for c in result.candidates)
    assert took <= budget + slowest + 1.0
    assert result.trials >= 2 and result.candidates


def test_every_candidate_keeps_out_of_fold_predictions() -> None:
    dataset = Dataset.from_frame(tiny_frame("multiclass", n=200), target="y")
    outcome = train_model(dataset, _config(max_trials=4))
    result = outcome.search
    assert result.oof_mask is not None and result.oof_mask.all()
    for cand in result.candidates:
        assert cand.oof.shape == (len(result.y), 3)
        np.testing.assert_allclose(cand.oof.sum(axis=1), 1.0, atol=1e-6)
        assert len(cand.fold_scores) == len(result.folds) == 3
    board = outcome.leaderboard
    assert list(board.columns) == ["rank", "model", "family", "cv_log_loss", "cv_std",
                                   "fit_seconds", "predict_ms_per_row"]
    assert board["cv_log_loss"].is_monotonic_increasing  # lower log loss ranks first


def test_final_model_round_trips_and_records_what_evaluation_needs(tmp_path) -> None:
    dataset = Dataset.from_frame(tiny_frame("binary", n=240, seed=3), target="y")
    outcome = train_model(dataset, _config(max_trials=6, threshold="f1"))
    model = outcome.model
    training = model.card.training
    assert training.final_model and training.leaderboard and training.search
    assert training.threshold_tuning and training.ensemble
    assert model.card.threshold is not None
    assert training.diagnosis and all(isinstance(line, str) for line in training.diagnosis)
    assert len(training.cv_fold_scores) == 3
    folder = model.save(tmp_path / "m")
    loaded = Model.load(folder)
    rows = dataset.frame.drop(columns=["y"]).head(25)
    pd.testing.assert_frame_equal(model.predict(rows), loaded.predict(rows))
    # the tuned threshold decides the labels
    proba = loaded.predict(rows)["proba_yes"].to_numpy()
    expected = np.where(proba >= model.card.threshold, "yes", "no")
    assert (loaded.predict(rows)["prediction"].to_numpy() == expected).all()


def test_group_folds_keep_groups_together_and_time_folds_look_forward() -> None:
    frame = tiny_frame("binary", n=120)
    problem = define_problem(frame["y"], "y")
    y = problem.encode_target(frame["y"])
    groups = np.repeat(np.arange(30), 4)
    for train_idx, valid_idx in make_folds(problem, y, 4, 0, strategy="group", groups=groups):
        assert not set(groups[train_idx]) & set(groups[valid_idx])
    for train_idx, valid_idx in make_folds(problem, y, 4, 0, strategy="time"):
        assert train_idx.max() < valid_idx.min()


def test_time_split_trains_on_the_past() -> None:
    frame = tiny_frame("regression", n=200)
    frame["when"] = pd.date_range("2024-01-01", periods=200, freq="D")[::-1]  # newest first
    dataset = Dataset.from_frame(frame, target="y")
    config = Config.from_dict({"seed": 0, "split": {"strategy": "time", "time_column": "when",
                                                    "cv_folds": 3},
                               "train": {"families": ["linear"], "max_trials": 1}})
    outcome = train_model(dataset, config)
    when = dataset.frame["when"]
    assert when.iloc[outcome.train_index].max() < when.iloc[outcome.test_index].min()
    assert outcome.search.oof_mask is not None and not outcome.search.oof_mask.all()
    rows = outcome.search.rows  # OOF rows are in time order; rows maps them to the dataset
    assert sorted(rows) == sorted(outcome.train_index)
    assert when.iloc[rows].is_monotonic_increasing


def test_unknown_split_column_is_a_config_error() -> None:
    from fullcycle.errors import ConfigError

    dataset = Dataset.from_frame(tiny_frame("binary", n=60), target="y")
    config = Config.from_dict({"split": {"strategy": "group", "group_column": "shop"},
                               "train": {"max_trials": 1}})
    with pytest.raises(ConfigError, match="group_column 'shop' is not a column"):
        train_model(dataset, config)
